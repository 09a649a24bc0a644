"""TransformerEmbedder: pooled hidden states of a plain ``transformers`` encoder."""

from numbers import Integral

import numpy as np

from ..utils._sklearn_compat import StrOptions
from .._models import apply_precision
from ._base import _BaseEmbedder

__all__ = ["TransformerEmbedder"]


class TransformerEmbedder(_BaseEmbedder):
    """Embed texts with pooled hidden states of a frozen ``transformers.AutoModel``.

    This is the encoder the WASSA papers fine-tune (BERT, RoBERTa, ELECTRA)
    used as a frozen featurizer. Texts are sorted by length, batched with
    dynamic padding (each batch padded to its longest text only), run under
    ``torch.inference_mode`` and returned on CPU in input order.

    Parameters
    ----------
    model : str or path-like, default="all-MiniLM-L6-v2"
        Embedded name, local folder or hub name of a checkpoint loadable with
        ``AutoModel`` and ``AutoTokenizer``.
    pooling : {"mean", "cls", "max"}, default="mean"
        Token pooling: attention-masked mean, the first (``[CLS]``) token, or
        masked max.
    layers : tuple of int or "all", default=(-1,)
        Hidden-state layers to use (``-1`` is the last, ``0`` the embeddings);
        several layers are averaged before pooling, so the output size stays
        the hidden size. ``"all"`` averages every transformer layer (all but
        the embedding output), whatever the model's depth. For emotion and
        empathy the middle layers of sentence-transformers checkpoints carry
        more than the last one, which their training tuned for semantic
        similarity: on WASSA 2021, ``"all"`` raised writer-grouped CV
        macro-F1 of a logistic regression on frozen all-mpnet-base-v2 from
        0.39 to 0.46 (docs/results.md).
    batch_size : int, default=32
        Texts per forward pass.
    device : str, default="auto"
        ``"auto"`` picks cuda, then mps, then cpu.
    normalize : bool, default=False
        L2-normalise the pooled vectors.
    max_length : int or None, default=None
        Maximum tokens per text; None uses the tokenizer's limit capped at 512.
    cache : None, bool, "memory", str, path-like or joblib.Memory, default=None
        See :class:`SentenceEmbedder`.
    show_progress : bool or "auto", default="auto"
        Show a tqdm bar over batches.
    precision : {"fp32", "bf16", "int8", "auto"}, default="fp32"
        Inference precision; see :class:`SentenceEmbedder`.
    embed_weights : bool, default=False
        Store the encoder's files inside the pickle; see :class:`SentenceEmbedder`.

    Attributes
    ----------
    model_path_ : str
        The resolved checkpoint location.
    device_ : str
        The device the model runs on.
    precision_ : str
        The precision ``precision`` resolved to.
    embedding_dim_ : int
        Hidden size of the model (number of output features).
    model_identity_ : str
        Identity of the weights at fit time.
    n_features_in_ : int
        Always 1 (one text column).
    feature_names_in_ : ndarray of shape (1,)
        Name of the text column, when fitted on a one-column DataFrame.

    See Also
    --------
    SentenceEmbedder : sentence-transformers models (their own pooling head).

    Examples
    --------
    >>> from skempathy.text import TransformerEmbedder
    >>> emb = TransformerEmbedder(pooling="cls", device="cpu")
    >>> emb.fit_transform(["I feel so sorry for them.", "Awful news."]).shape
    (2, 384)
    """

    _parameter_constraints = {
        **_BaseEmbedder._parameter_constraints,
        "pooling": [StrOptions({"mean", "cls", "max"})],
        "layers": [tuple, list, Integral, StrOptions({"all"})],
    }

    def __init__(
        self,
        model="all-MiniLM-L6-v2",
        *,
        pooling="mean",
        layers=(-1,),
        batch_size=32,
        device="auto",
        normalize=False,
        max_length=None,
        cache=None,
        show_progress="auto",
        precision="fp32",
        embed_weights=False,
    ):
        self.model = model
        self.pooling = pooling
        self.layers = layers
        self.batch_size = batch_size
        self.device = device
        self.normalize = normalize
        self.max_length = max_length
        self.cache = cache
        self.show_progress = show_progress
        self.precision = precision
        self.embed_weights = embed_weights

    def _apply_precision(self, model, precision, device):
        return dict(model, model=apply_precision(model["model"], precision, device))

    def _layer_list(self, n_layers=None):
        """The layer indices (``n_layers`` counts the embedding output too), or "all"."""
        if isinstance(self.layers, str):
            if self.layers != "all":
                raise ValueError(f'layers must be a tuple of ints or "all", got {self.layers!r}')
            return "all"
        layers = [self.layers] if isinstance(self.layers, Integral) else list(self.layers)
        if not layers or not all(isinstance(i, Integral) for i in layers):
            raise ValueError(f"layers must be a non-empty tuple of ints, got {self.layers!r}")
        if n_layers is not None:
            for i in layers:
                if not -n_layers <= i < n_layers:
                    raise ValueError(
                        f"layers={self.layers!r}: layer {i} out of range for a model "
                        f"with {n_layers - 1} layers plus embeddings."
                    )
        return [int(i) for i in layers]

    def _load_model(self, path, device):
        from transformers import AutoModel, AutoTokenizer

        from ..utils._progress import transformers_progress_off

        tokenizer = AutoTokenizer.from_pretrained(path)
        with transformers_progress_off():
            model = AutoModel.from_pretrained(path).to(device).eval()
        return {"model": model, "tokenizer": tokenizer, "device": device}

    def _embedding_dim(self, model):
        n_layers = getattr(model["model"].config, "num_hidden_layers", None)
        self._layer_list(None if n_layers is None else n_layers + 1)  # validate in fit
        return model["model"].config.hidden_size

    def _max_length(self, tokenizer):
        if self.max_length is not None:
            return int(self.max_length)
        limit = getattr(tokenizer, "model_max_length", 512) or 512
        return int(min(limit, 512))

    def _output_settings(self, model):
        import transformers

        return {
            "pooling": self.pooling,
            "layers": self._layer_list(),
            "max_length": self._max_length(model["tokenizer"]),
            "normalize": bool(self.normalize),
            "library": "transformers " + ".".join(transformers.__version__.split(".")[:2]),
        }

    def _embed_batch(self, net, input_ids, attention_mask):
        """Pooled (and normalised) vectors of one tokenised batch; the graph
        :func:`skempathy.export.to_onnx` exports."""
        import torch

        from .._engine import pool

        layers = self._layer_list()
        need_hidden = layers != [-1]
        result = net(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=need_hidden
        )
        if need_hidden:
            states = result.hidden_states
            picked = states[1:] if layers == "all" else [states[i] for i in layers]
            hidden = torch.stack(list(picked)).mean(0)
        else:
            hidden = result.last_hidden_state
        # pool in fp32 whatever the weights' precision
        pooled = pool(hidden.float(), attention_mask, self.pooling)
        if self.normalize:
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return pooled

    def _encode(self, model, texts, show_progress):
        from .. import _engine as T

        net, tokenizer = model["model"], model["tokenizer"]
        if not len(texts):
            return np.empty((0, net.config.hidden_size), dtype=np.float32)
        max_length = self._max_length(tokenizer)
        # grouped by character length and tokenised one batch at a time: little memory,
        # and the batches, so the floats, match embeddings already in users' caches
        order = T.length_grouped_batches([len(t) for t in texts], self.batch_size)
        batches = (
            (
                rows,
                tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=max_length,
                    return_tensors="pt",
                ),
            )
            for rows in order
        )

        def forward(net, batch):
            return self._embed_batch(net, batch["input_ids"], batch["attention_mask"])

        # the weights already carry the precision, so no autocast
        return T.predict_loop(
            net,
            batches,
            forward,
            len(texts),
            device=model["device"],
            precision="fp32",
            show_progress=show_progress,
            desc=type(self).__name__,
            n_batches=len(order),
        )
