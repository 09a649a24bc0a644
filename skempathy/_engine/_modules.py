"""The multi-task module: an encoder, pooling, optional numeric side inputs and one linear head
per task."""


def pool(hidden, attention_mask, pooling="mean"):
    """Pool token states: ``"mean"`` or ``"max"`` over non-padding tokens, or
    ``"cls"`` (first token). Shared by the frozen and the fine-tuned encoders."""
    if pooling == "cls":
        return hidden[:, 0]
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    if pooling == "max":
        return hidden.masked_fill(mask == 0, float("-inf")).max(1).values
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


_CLASSES = {}


def _module_classes():
    """Build (once) the ``torch.nn`` classes; keeps torch out of module import."""
    if _CLASSES:
        return _CLASSES
    import torch
    from torch import nn

    class MultiTaskHead(nn.Module):
        """One linear layer per task on a shared input vector.

        Parameters
        ----------
        in_features : int
        head_dims : dict of str -> int
            Output size of each task's head (n_classes, n_labels or n_outputs).
        dropout : float
        """

        def __init__(self, in_features, head_dims, dropout=0.1):
            super().__init__()
            self.dropout = nn.Dropout(dropout)
            self.heads = nn.ModuleDict(
                {name: nn.Linear(in_features, int(dim)) for name, dim in head_dims.items()}
            )

        def forward(self, features):
            features = self.dropout(features)
            return {name: head(features) for name, head in self.heads.items()}

    class TransformerModule(nn.Module):
        """Encoder + pooling (+ numeric side inputs) + one head per task.

        ``forward(input_ids, attention_mask, extra=None)`` returns
        ``{task: logits}``; ``embed(...)`` the pooled text vectors.
        """

        def __init__(self, encoder, head_dims, *, pooling="mean", n_extra=0, dropout=0.1):
            super().__init__()
            self.encoder = encoder
            self.pooling = pooling
            self.n_extra = int(n_extra)
            hidden = int(encoder.config.hidden_size)
            self.head = MultiTaskHead(hidden + self.n_extra, head_dims, dropout=dropout)

        def embed(self, input_ids, attention_mask, **_):
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
            return pool(out.last_hidden_state, attention_mask, self.pooling)

        def forward(self, input_ids, attention_mask, extra=None, **_):
            pooled = self.embed(input_ids, attention_mask)
            if self.n_extra:
                pooled = torch.cat([pooled, extra.to(pooled.dtype)], dim=1)
            return self.head(pooled)

    _CLASSES.update(MultiTaskHead=MultiTaskHead, TransformerModule=TransformerModule)
    return _CLASSES


def make_transformer_module(encoder, head_dims, *, pooling="mean", n_extra=0, dropout=0.1):
    """Build a :class:`TransformerModule` (encoder + pooling + multi-task heads)."""
    cls = _module_classes()["TransformerModule"]
    return cls(encoder, head_dims, pooling=pooling, n_extra=n_extra, dropout=dropout)


def make_multitask_head(in_features, head_dims, dropout=0.1):
    """Build a :class:`MultiTaskHead` (one ``nn.Linear`` per task)."""
    return _module_classes()["MultiTaskHead"](in_features, head_dims, dropout=dropout)
