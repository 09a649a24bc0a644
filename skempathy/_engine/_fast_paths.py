"""Faster training steps on CPU, local to the model being trained.

Two parts of a transformer's training step cost far more on CPU than their arithmetic:

* **Dropout masks.** torch draws them with a serial Mersenne Twister (about 160 M draws/s on
  one core): a quarter of a bf16 MiniLM step on a CPU with AMX. While a model trains inside
  :func:`fast_training_paths`, its own ``nn.Dropout`` modules are swapped for
  ``FastDropout`` modules, whose masks are 16-bit uniform integers from NumPy's SFC64 generator
  (about 1.2 G/s). The keep probability is rounded to a multiple of 1/65536.
* **Masked softmax of SDPA.** With attention dropout on, SDPA on CPU takes its math path,
  whose softmax also checks for fully masked rows (``isneginf``, ``all``, ``where``). Models
  that dispatch attention through transformers' ``AttentionInterface`` attend with
  ``"skempathy_fast_training"``, registered there: the eager arithmetic without those checks,
  with the same fast dropout masks.

Nothing outside the model changes: no torch kernel is replaced, and other threads and other
models draw their random numbers as before. Each fit has its own generator, seeded from
the fit's torch random state, so ``random_state`` still fixes the fit. The model is restored
when training ends, so inference and pickles see it as it was built. Gradient checkpointing
recomputes a forward pass and would draw other masks there: it is refused
(``fast_paths=False`` trains with torch's own kernels).
"""

import contextlib

import numpy as np

__all__ = ["ATTENTION", "fast_dropout", "fast_training_paths"]

ATTENTION = "skempathy_fast_training"
_CLASSES = {}


def _keep_mask(shape, keep, rng, dtype):
    """A float mask of ``shape`` (1 with probability ``keep``), or None when every entry is 1."""
    import torch

    threshold = int(round(float(keep) * 65536)) - 32768
    if threshold >= 32768:  # keep rounds to 1 (and 32768 overflows int16)
        return None
    if threshold <= -32768:
        return torch.zeros(shape, dtype=dtype)
    n = int(np.prod(shape))
    draws = rng.integers(-32768, 32768, n, dtype=np.int16)
    if dtype == torch.float32:
        # compare and convert in one pass, straight into the mask's memory
        mask = torch.empty(shape, dtype=torch.float32)
        np.less(draws, threshold, out=mask.numpy().reshape(-1), casting="unsafe")
        return mask
    return torch.from_numpy(draws < threshold).view(shape).to(dtype)


def fast_dropout(x, p, rng):
    """Inverted dropout of the CPU tensor ``x`` with a mask drawn from ``rng`` (NumPy)."""
    if p <= 0:
        return x
    if p >= 1:
        return x * 0.0
    mask = _keep_mask(tuple(x.shape), 1.0 - p, rng, x.dtype)
    if mask is None:
        return x
    return x * mask.div_(1.0 - p)  # as torch's dropout scales its mask


def _classes():
    if _CLASSES:
        return _CLASSES
    from torch import nn

    class FastDropout(nn.Module):
        """``nn.Dropout`` with masks from a NumPy SFC64 generator (CPU tensors only).

        Parameters
        ----------
        p : float
            Probability of an element to be zeroed.
        rng : numpy.random.Generator
            The fit's generator; every swapped module of one model shares it.
        """

        def __init__(self, p, rng):
            super().__init__()
            self.p = float(p)
            self.rng = rng

        def forward(self, x):
            if not self.training or self.p == 0:
                return x
            return fast_dropout(x, self.p, self.rng)

        def extra_repr(self):
            return f"p={self.p}"

    _CLASSES["FastDropout"] = FastDropout
    return _CLASSES


def _attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **_):
    """transformers' eager attention, with the fast masks of the module's own ``FastDropout``."""
    import torch

    if key.shape[1] != query.shape[1]:  # grouped key/value heads
        groups = query.shape[1] // key.shape[1]
        key = key.repeat_interleave(groups, dim=1)
        value = value.repeat_interleave(groups, dim=1)
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    weights = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        weights = weights + attention_mask[:, :, :, : key.shape[-2]]
    weights = torch.nn.functional.softmax(weights, dim=-1)
    own = getattr(module, "dropout", None)
    if module.training and dropout > 0:
        if isinstance(own, _classes()["FastDropout"]):
            weights = fast_dropout(weights, float(dropout), own.rng)
        else:
            weights = torch.nn.functional.dropout(weights, p=float(dropout), training=True)
    output = torch.matmul(weights, value).transpose(1, 2).contiguous()
    return output, weights


def _register_attention():
    """Add the attention function (and its additive mask) to transformers' registries."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, eager_mask

    if ATTENTION not in AttentionInterface._global_mapping:
        AttentionInterface.register(ATTENTION, _attention)
        AttentionMaskInterface.register(ATTENTION, eager_mask)


def _pretrained_models(model):
    """The outermost transformers models inside ``model`` (``model`` itself included)."""
    from transformers import PreTrainedModel

    found, inside = [], set()
    for module in model.modules():
        if id(module) in inside or not isinstance(module, PreTrainedModel):
            continue
        found.append(module)
        inside.update(id(m) for m in module.modules())
    return found


def _can_switch_attention(pretrained):
    """Whether transformers can switch this model's attention function (it says so itself; a
    model with its own attention code, MPNet for one, would only log a warning and keep it)."""
    if not hasattr(pretrained, "set_attn_implementation"):
        return False
    can_set = getattr(type(pretrained), "_can_set_attn_implementation", None)
    return can_set is None or bool(can_set())


@contextlib.contextmanager
def _fast_attention(pretrained_models):
    switched = []
    for pretrained in pretrained_models:
        current = getattr(pretrained.config, "_attn_implementation", None)
        if current not in ("sdpa", "eager") or not _can_switch_attention(pretrained):
            continue
        _register_attention()
        try:
            pretrained.set_attn_implementation(ATTENTION)
        except (ValueError, ImportError, KeyError):  # a model that cannot switch: keep its own
            continue
        switched.append((pretrained, current))
    try:
        yield
    finally:
        for pretrained, previous in switched:
            pretrained.set_attn_implementation(previous)


@contextlib.contextmanager
def _fast_dropout_modules(model, rng):
    from torch import nn

    fast = _classes()["FastDropout"]
    swapped = []
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Dropout:
                parent.register_module(name, fast(child.p, rng).train(child.training))
                swapped.append((parent, name, child))
    try:
        yield
    finally:
        for parent, name, child in swapped:
            parent.register_module(name, child)


def _checkpoints(pretrained):
    for name in ("is_activation_checkpointing", "is_gradient_checkpointing"):  # new name first
        if hasattr(type(pretrained), name):
            return bool(getattr(pretrained, name))
    return False


@contextlib.contextmanager
def fast_training_paths(model, device="cpu", *, seed=0, enabled=True):
    """Train ``model`` with the fast CPU paths of this module (no-op off CPU or when disabled).

    Parameters
    ----------
    model : torch.nn.Module
    device : str or torch.device, default="cpu"
    seed : int, default=0
        Seed of the fit's mask generator.
    enabled : bool, default=True
        False leaves the model to torch's own kernels.

    Raises
    ------
    ValueError
        When a transformers model inside ``model`` checkpoints its gradients.

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.1))
    >>> with fast_training_paths(model, seed=0):
    ...     type(model[1]).__name__
    'FastDropout'
    >>> type(model[1]).__name__
    'Dropout'
    """
    if not enabled or str(device).split(":")[0] != "cpu":
        yield
        return
    pretrained_models = _pretrained_models(model)
    if any(_checkpoints(m) for m in pretrained_models):
        raise ValueError(
            "Gradient checkpointing recomputes the forward pass and would draw other dropout "
            "masks there; train with fast_paths=False to checkpoint."
        )
    rng = np.random.Generator(np.random.SFC64(int(seed)))
    with _fast_dropout_modules(model, rng), _fast_attention(pretrained_models):
        yield
