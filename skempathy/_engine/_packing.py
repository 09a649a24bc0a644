"""Loading pretrained transformers and device-independent pickling of trained ones."""

import io
import tempfile

from ._loop import cpu_state_dict


def load_pretrained(model, auto_class="AutoModel", *, show_progress=True, **kwargs):
    """Load ``(tokenizer, model)`` for an embedded name, a local path or a hub name.

    Parameters
    ----------
    model : str or os.PathLike
        Resolved with :func:`skempathy.base.resolve_model`.
    auto_class : str, default="AutoModel"
        Name of the ``transformers`` auto class (``"AutoModelForSeq2SeqLM"``,
        ``"AutoModelForMaskedLM"``, ...).
    show_progress : bool, default=True
        Whether transformers shows its weight-loading bar (restored after).
    **kwargs
        Passed to ``from_pretrained`` of the model.
    """
    import transformers

    from .._models import resolve_model

    from ..utils._progress import transformers_progress_off

    path = resolve_model(model)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    with transformers_progress_off(None if show_progress else True):
        net = getattr(transformers, auto_class).from_pretrained(path, **kwargs)
    return tokenizer, net


def unpickled_device(device):
    """The device a model unpickled here goes to: the fitted one, or the CPU
    when it was fitted on CUDA and this machine has none."""
    if str(device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            return "cpu"
    return device


class PackedModelPickling:
    """Pickles the fitted ``model_`` and ``tokenizer_`` as the pretrained files plus the
    trained weights (:func:`pack_pretrained`, :func:`pack_state_dict`), so an estimator
    unpickles without the hub, and on the CPU when it was fitted on a GPU this machine lacks.

    ``_auto_class`` names the transformers class that rebuilds the pretrained part;
    ``_pretrained_part`` and ``_rebuild_model`` map between it and ``model_`` where the model
    wraps an encoder.
    """

    _auto_class = "AutoModel"

    def _pretrained_part(self, model):
        return model

    def _rebuild_model(self, pretrained):
        return pretrained

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_cw", None)  # per-sample training weights: not needed after fit
        model = state.pop("model_", None)
        tokenizer = state.pop("tokenizer_", None)
        if model is not None:
            state["_packed_model"] = {
                "pretrained": pack_pretrained(self._pretrained_part(model), tokenizer),
                "state_dict": pack_state_dict(model),
            }
        return state

    def __setstate__(self, state):
        state = dict(state)
        packed = state.pop("_packed_model", None)
        super().__setstate__(state)
        if packed is not None:
            tokenizer, pretrained = unpack_pretrained(
                packed["pretrained"], auto_class=self._auto_class
            )
            model = self._rebuild_model(pretrained)
            model.load_state_dict(unpack_state_dict(packed["state_dict"]))
            self.device_ = device = unpickled_device(self.device_)
            self.model_ = model.to(device).eval()
            self.tokenizer_ = tokenizer


def pack_state_dict(module):
    """Serialise ``module.state_dict()`` as CPU tensors to safetensors bytes.

    Safetensors holds tensors only, so loading runs no code (also inside a
    skops file). ``cpu_state_dict`` copies every tensor, so tied weights do not
    share storage (which safetensors refuses) and are stored once per name.
    """
    from safetensors.torch import save

    return save({k: v.contiguous() for k, v in cpu_state_dict(module).items()})


def unpack_state_dict(data):
    """Inverse of :func:`pack_state_dict`, on CPU; also reads the ``torch.save``
    bytes of earlier pickles (``weights_only=True``)."""
    if bytes(data[:2]) == b"PK":  # a torch.save zip archive
        import torch

        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    from safetensors.torch import load

    return load(bytes(data))


def pack_pretrained(model, tokenizer=None):
    """Config + tokenizer files as bytes (no weights) for a transformers model.

    Returns
    -------
    dict
        ``{"files": {name: bytes}, "class": model class name}``. Store the
        weights separately with :func:`pack_state_dict` (or of a wrapper
        module holding the model).
    """
    from ..utils._files import read_folder

    with tempfile.TemporaryDirectory() as tmp:
        model.config.save_pretrained(tmp)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        files = read_folder(tmp)
    return {"files": files, "class": type(model).__name__}


def unpack_pretrained(packed, auto_class="AutoModel", with_tokenizer=True):
    """Rebuild ``(tokenizer, model)`` (random weights) from :func:`pack_pretrained`.

    Load the weights afterwards with ``load_state_dict(unpack_state_dict(...))``.
    """
    import transformers

    from ..utils._files import write_folder

    with tempfile.TemporaryDirectory() as tmp:
        write_folder(packed["files"], tmp)
        config = transformers.AutoConfig.from_pretrained(tmp)
        tokenizer = transformers.AutoTokenizer.from_pretrained(tmp) if with_tokenizer else None
    model = getattr(transformers, auto_class).from_config(config)
    return tokenizer, model
