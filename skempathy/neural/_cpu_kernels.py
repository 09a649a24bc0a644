"""Faster training kernels on CPU, switched on by the training loop while it trains.

Two parts of a transformer's training step cost far more on CPU than their
arithmetic:

* **Dropout masks.** torch draws them with ``aten::bernoulli_``, a serial
  Mersenne Twister (about 160 M draws/s on one core): a quarter of a bf16
  MiniLM step on a CPU with AMX. Inside :func:`cpu_training_kernels` the CPU
  kernel of ``bernoulli_(p)`` draws 16-bit uniform integers from NumPy's SFC64
  generator instead (about 1.2 G/s), so every dropout (``nn.Dropout``,
  ``F.dropout``, the attention dropout inside ``scaled_dot_product_attention``)
  gets its mask several times faster. The keep probability is ``p`` rounded
  to a multiple of 1/65536. The generator is seeded from torch's, so a
  ``random_state`` still fixes the fit.
* **Masked softmax of SDPA.** With attention dropout on, SDPA on CPU takes
  its math path, whose softmax also checks for fully masked rows
  (``isneginf``, ``all``, ``where``). transformers models attend with their
  eager implementation while training instead: the same arithmetic, without
  those checks (needs transformers' ``set_attn_implementation``).

Both are undone when the scope ends, so inference, other threads after the
fit, and pickles see torch and transformers as configured. Gradient
checkpointing, which replays torch's RNG state to redraw a forward pass's
masks, would draw other masks here; the library's models do not checkpoint.
"""

import contextlib
import contextvars
import threading
import warnings

import numpy as np

_GENERATOR = contextvars.ContextVar("skempathy_dropout_generator", default=None)
_LOCK = threading.Lock()
_ACTIVE = {"count": 0, "library": None}


def _bernoulli_(self, p=0.5, *, generator=None):
    """``aten::bernoulli_.float`` on CPU: ``self`` filled with 1 with probability ``p``."""
    import torch

    if not 0 <= p <= 1:
        raise ValueError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    rng = _GENERATOR.get()
    if rng is None or generator is not None:
        # a thread outside the scope, or a caller that passes its own generator
        return self.copy_(torch.rand(self.shape, generator=generator) < p)
    threshold = int(round(float(p) * 65536)) - 32768
    if threshold in (-32768, 32768):  # p rounds to 0 or 1 (and 32768 overflows int16)
        return self.fill_(int(threshold > 0))
    draws = rng.integers(-32768, 32768, self.numel(), dtype=np.int16)
    if self.dtype == torch.float32 and self.is_contiguous():
        # compare and convert in one pass, straight into the tensor's memory
        np.less(draws, threshold, out=self.detach().numpy().reshape(-1), casting="unsafe")
        return self
    return self.copy_(torch.from_numpy(draws).view(self.shape) < threshold)


def _register():
    import torch

    with _LOCK:
        if _ACTIVE["count"] == 0:
            library = torch.library.Library("aten", "IMPL")
            with warnings.catch_warnings():  # torch notes that a kernel is overridden
                warnings.simplefilter("ignore", UserWarning)
                library.impl("bernoulli_.float", _bernoulli_, "CPU")
            _ACTIVE["library"] = library
        _ACTIVE["count"] += 1


def _unregister():
    with _LOCK:
        _ACTIVE["count"] -= 1
        if _ACTIVE["count"] == 0:
            library, _ACTIVE["library"] = _ACTIVE["library"], None
            library._destroy()  # torch's own kernel is back


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


@contextlib.contextmanager
def _eager_attention(model):
    switched = []
    for pretrained in _pretrained_models(model):
        current = getattr(pretrained.config, "_attn_implementation", None)
        if current != "sdpa" or not hasattr(pretrained, "set_attn_implementation"):
            continue
        try:
            pretrained.set_attn_implementation("eager")
        except (ValueError, ImportError):  # a model without an eager path: keep SDPA
            continue
        switched.append((pretrained, current))
    try:
        yield
    finally:
        for pretrained, previous in switched:
            pretrained.set_attn_implementation(previous)


@contextlib.contextmanager
def cpu_training_kernels(model, device="cpu"):
    """Train ``model`` with the faster CPU kernels of this module (no-op off CPU).

    Parameters
    ----------
    model : torch.nn.Module
    device : str or torch.device, default="cpu"

    Examples
    --------
    >>> import torch
    >>> with cpu_training_kernels(torch.nn.Linear(2, 2)):
    ...     mask = torch.empty(100_000).bernoulli_(0.9)
    >>> 0.89 < float(mask.mean()) < 0.91
    True
    """
    import torch

    if str(device).split(":")[0] != "cpu":
        yield
        return
    seed = int(torch.randint(0, 2**62, (), dtype=torch.int64))
    token = _GENERATOR.set(np.random.Generator(np.random.SFC64(seed)))
    _register()
    try:
        with _eager_attention(model):
            yield
    finally:
        _unregister()
        _GENERATOR.reset(token)
