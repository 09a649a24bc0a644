"""The ONNX folder that :func:`skempathy.export.to_onnx` writes, as a format.

A folder holds ``model.onnx`` (the encoder, pooling and task heads as one graph), the tokenizer
files and ``skempathy_onnx.json``: the manifest, which says what the graph's inputs and outputs
mean, the tokenizer settings, the files the folder is read from (``files``: plain names inside
the folder) and, for a fine-tuned estimator, its parameters and fitted state as JSON (the record
of ``save_pretrained``). :func:`read_onnx_folder` checks a folder and its manifest;
:class:`~skempathy.export.OnnxPredictor` runs what it returns.
"""

from pathlib import Path

FORMAT = "skempathy-onnx/1"
MANIFEST = "skempathy_onnx.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
KINDS = ("finetuned", "sentence", "transformer")

__all__ = [
    "FORMAT",
    "KINDS",
    "MANIFEST",
    "MODEL_FILE",
    "TOKENIZER_FILE",
    "is_onnx_folder",
    "read_onnx_folder",
]


def is_onnx_folder(path):
    """Whether ``path`` is a folder with the ``skempathy_onnx.json`` of ``to_onnx``."""
    return Path(path).is_dir() and (Path(path) / MANIFEST).is_file()


def _member(folder, name, manifest_path):
    """``folder / name`` for a file name from the manifest: a plain relative name of a plain
    file inside ``folder``, else :class:`~skempathy.io.UnsafeFileError` or
    ``FileNotFoundError``."""
    import os

    from ..utils._files import UnsafeFileError, check_member_name

    try:
        check_member_name(name)
    except UnsafeFileError as exc:
        raise UnsafeFileError(f"{manifest_path}: {exc}") from None
    path = folder / name
    root = os.path.realpath(folder)
    if os.path.commonpath([root, os.path.realpath(path)]) != root:
        raise UnsafeFileError(f"{manifest_path}: {name!r} leads outside {folder}")
    if not path.is_file():
        raise FileNotFoundError(f"{manifest_path} names {name!r}, which is not in {folder}")
    return path


def read_onnx_folder(path, *, stacklevel=3):
    """Check an ONNX folder and read its manifest.

    Parameters
    ----------
    path : str or path-like
        The folder.
    stacklevel : int, default=3
        Of the version warning.

    Returns
    -------
    dict
        ``manifest`` (the JSON object), ``model_file`` and ``tokenizer_file`` (paths inside the
        folder) and ``estimator``: for a fine-tuned export, the estimator rebuilt from its JSON
        state without weights (else None).

    Raises
    ------
    FileNotFoundError
        No manifest, or no file that it names.
    UnsafeFileError
        Links or special files in the folder, or a file name in the manifest that leaves it.
    ValueError
        A manifest that is not JSON, of another format, kind or class.

    Warns
    -----
    SkempathyVersionWarning
        When another skempathy version wrote the folder.
    """
    from ..base import _warn_if_saved_by_another_version
    from ._hf_folder import estimator_class, estimator_from_record, read_json_manifest

    folder = Path(path)
    manifest_path = folder / MANIFEST
    manifest = read_json_manifest(
        manifest_path,
        expected_format=FORMAT,
        what="an ONNX export of skempathy",
        writer="skempathy.export.to_onnx",
    )
    if manifest.get("kind") not in KINDS:
        raise ValueError(f"{manifest_path}: unknown kind {manifest.get('kind')!r}")
    files = manifest.get("files", {"model": MODEL_FILE, "tokenizer": TOKENIZER_FILE})
    if not isinstance(files, dict):
        raise ValueError(f"{manifest_path}: 'files' is not an object")
    model_file = _member(folder, files.get("model"), manifest_path)
    tokenizer_file = _member(folder, files.get("tokenizer"), manifest_path)
    _warn_if_saved_by_another_version(
        str(folder), manifest["skempathy_version"], stacklevel=stacklevel + 1
    )
    estimator = None
    if manifest["kind"] == "finetuned":
        cls = estimator_class(manifest.get("class"), manifest_path)
        estimator = estimator_from_record(cls, manifest["estimator"])
    return {
        "manifest": manifest,
        "model_file": model_file,
        "tokenizer_file": tokenizer_file,
        "estimator": estimator,
    }
