"""The model file, and the one reader of every format skempathy writes.

``skempathy wassa`` and ``skempathy train`` write the model file, ``skempathy predict`` /
``evaluate`` / ``distill`` and :class:`~skempathy.batch.BatchPredictor` read it. A model file is
a dict (``format`` = :data:`MODEL_FORMAT`): the ``estimator``, its ``task`` and ``targets``, the
``columns`` it reads and its ``text_column``, its dev scores and the skempathy version that
wrote it. It is stored as ``.skops`` (no code runs on load; types are checked) or, on request,
as a pickle (joblib), which loads only with ``allow_pickle=True``.

:func:`read_model` reads it and every other format by content: a bare fitted estimator in
either file format, the Hugging Face folder of ``save_pretrained`` and the ONNX folder of
:func:`skempathy.export.to_onnx`, each as a model file with defaults; :func:`load_model` returns
just the estimator.
"""

import warnings
import zipfile
from pathlib import Path

from ..utils._docstring import Substitution
from ..utils._files import UnsafeFileError, write_atomic

__all__ = [
    "MODEL_FORMAT",
    "PickleRefusedError",
    "UnknownModelFormatError",
    "load_model",
    "read_model",
    "write_model",
]

MODEL_FORMAT = "skempathy-model/1"


class PickleRefusedError(UnsafeFileError):
    """A pickle that ``read_model`` was not allowed to load (``allow_pickle=False``)."""


ACCEPTED = (
    "a .skops file (skempathy.io.dump, or a model file of write_model, skempathy train or "
    "skempathy wassa), a pickle (joblib, .pkl; only with allow_pickle=True), a Hugging Face "
    "folder written by save_pretrained (with skempathy.json) or an ONNX folder written by "
    "skempathy.export.to_onnx (with skempathy_onnx.json)"
)


class UnknownModelFormatError(ValueError):
    """A path that holds none of the formats :func:`read_model` reads (``path``: that path).

    Examples
    --------
    >>> from skempathy.io import UnknownModelFormatError
    >>> issubclass(UnknownModelFormatError, ValueError)
    True
    """

    def __init__(self, path, what):
        self.path = str(path)
        super().__init__(f"{path} is {what}, not a model skempathy reads; it reads {ACCEPTED}")


# The first bytes of a pickle of protocol 2 or later, and of joblib's compressed files.
_PICKLE_MAGIC = (
    b"\x80",  # PROTO opcode
    b"ZF",
    b"\x78",
    b"\x1f\x8b",
    b"BZ",
    b"\xfd7zXZ",
    b"\x5d\x00",
    b"\x04\x22\x4d\x18",
)


def _format_of(path):
    """``"skops"``, ``"pickle"``, ``"hf-folder"``, ``"onnx-folder"`` or ``None`` (a file of
    none of them), by content: the name of a file does not count."""
    from ._hf_folder import is_hf_folder
    from ._onnx_folder import is_onnx_folder

    path = Path(path)
    if path.is_dir():
        if is_onnx_folder(path):
            return "onnx-folder"
        if is_hf_folder(path):
            return "hf-folder"
        raise UnknownModelFormatError(
            path, "a folder with neither skempathy_onnx.json nor skempathy.json"
        )
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            names = []
        if "schema.json" not in names:  # what every skops file holds
            raise UnknownModelFormatError(path, "a zip archive that is not a .skops file")
        return "skops"
    with open(path, "rb") as fh:
        head = fh.read(8)
    return "pickle" if head.startswith(_PICKLE_MAGIC) else None


def write_model(bundle, path):
    """Write ``bundle`` (a model-file dict) atomically: skops for a ``.skops`` path, else joblib.

    Parameters
    ----------
    bundle : dict
        ``estimator`` and the metadata; ``format`` and ``skempathy_version`` are added.
    path : str or path-like
    """
    import joblib

    from .. import __version__

    bundle = {"format": MODEL_FORMAT, **bundle, "skempathy_version": __version__}
    if Path(path).suffix.lower() == ".skops":  # the safe format: no pickle code on load
        from ._skops import dump

        dump(bundle, path)
    else:
        write_atomic(path, lambda tmp: joblib.dump(bundle, tmp))


# the parameters of read_model and load_model, described once
_READ_PARAMETERS = """path : str or path-like
        A file or a folder.
    allow_pickle : bool, default=False
        Load a pickle. Unpickling runs whatever code the file carries: only for files you
        trust.
    trusted : sequence of str, default=()
        Types a ``.skops`` file may hold besides skempathy's and scikit-learn's.
    device : str, default="auto"
        Where a Hugging Face folder's model runs (``"auto"``: cuda, then mps, then cpu) and
        which onnxruntime provider an ONNX folder uses (``"auto"``: CUDA where available,
        ``"cpu"``: the CPU). Files keep the device they were saved with (the CPU when it is
        not here)."""


@Substitution(read_parameters=_READ_PARAMETERS)
def read_model(path, *, allow_pickle=False, trusted=(), device="auto"):
    """Read a saved model, whatever skempathy wrote, as a model-file dict.

    The format is recognised by content, not by name: a ``.skops`` file (a model file or a
    bare estimator), a pickle of either (``.joblib``, ``.pkl``; only with ``allow_pickle``), a
    Hugging Face folder written by ``save_pretrained`` (the fitted estimator, as
    ``from_pretrained`` of its class loads it) or an ONNX folder written by
    :func:`skempathy.export.to_onnx` (an :class:`~skempathy.export.OnnxPredictor`).

    Parameters
    ----------
    {read_parameters}

    Returns
    -------
    dict
        ``estimator``, ``task``, ``targets``, ``columns``, ``text_column``, ``dev_scores``...
        (``None`` where a bare estimator or a folder does not say; ``task`` is ``"emotion"``
        for a bare classifier).

    Raises
    ------
    FileNotFoundError
        No such file or folder.
    PickleRefusedError
        A pickle without ``allow_pickle`` (an :class:`UnsafeFileError`).
    UntrustedTypesError
        A ``.skops`` file with an untrusted type (a ``TypeError``).
    UnsafeFileError
        A folder with links, a manifest naming files outside its folder, a zip bomb.
    UnknownModelFormatError
        None of the formats (a ``ValueError``; the message lists those read).
    TypeError
        A file that holds no fitted estimator.

    Warns
    -----
    SkempathyVersionWarning
        Once per file, when another skempathy version wrote it.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.dummy import DummyRegressor
    >>> from skempathy.io import read_model, write_model
    >>> path = os.path.join(tempfile.mkdtemp(), "model.joblib")
    >>> write_model({{"estimator": DummyRegressor().fit([[0], [1]], [0, 1])}}, path)
    >>> read_model(path)["estimator"]
    Traceback (most recent call last):
    ...
    skempathy.io._model_file.PickleRefusedError: ... is a pickle, ...
    >>> read_model(path, allow_pickle=True)["estimator"]
    DummyRegressor()
    """
    return _read(path, allow_pickle=allow_pickle, trusted=trusted, device=device, stacklevel=3)


def _read(path, *, allow_pickle, trusted, device, stacklevel):
    """:func:`read_model`, warning at ``stacklevel`` (that of its caller's caller)."""
    from ..base import SkempathyVersionWarning

    path = Path(path)
    kind = _format_of(path)
    if kind == "pickle" and not allow_pickle:
        raise PickleRefusedError(
            f"{path} is a pickle, and loading a pickle runs any code it carries; pass "
            "allow_pickle=True if you trust this file, or save the model as .skops"
        )
    if kind is None and not allow_pickle:
        raise UnknownModelFormatError(path, "a file of no known format")
    # every estimator in the file warns about its version: say it once, below
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkempathyVersionWarning)
        obj = _load(path, kind, trusted=trusted, device=device)
    stale = []
    for w in caught:  # other warnings (e.g. scikit-learn's own version warning) as usual
        if issubclass(w.category, SkempathyVersionWarning):
            stale.append(str(w.message))
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    bundle = _as_bundle(obj, path)
    from .. import __version__

    saved = bundle.get("skempathy_version")
    if saved is not None and saved != __version__:  # the file's own version says it best
        stale = [f"{path} was saved by skempathy {saved}; this is skempathy {__version__}"]
    if stale:  # one file, one version: one warning
        warnings.warn(stale[0], SkempathyVersionWarning, stacklevel=stacklevel)
    return bundle


@Substitution(read_parameters=_READ_PARAMETERS)
def load_model(path, *, allow_pickle=False, trusted=(), device="auto"):
    """Load the estimator of a saved model, whatever skempathy wrote.

    :func:`read_model` without the model file's metadata: the fitted estimator of a
    ``.skops`` file, a pickle (with ``allow_pickle``), a model file or a Hugging Face folder
    (``save_pretrained``), or an :class:`~skempathy.export.OnnxPredictor` for an ONNX folder
    (:func:`skempathy.export.to_onnx`). The errors are those of :func:`read_model`.

    Parameters
    ----------
    {read_parameters}

    Returns
    -------
    estimator : fitted estimator or OnnxPredictor

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.dummy import DummyClassifier
    >>> from skempathy.io import dump, load_model
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skops")
    >>> _ = dump(DummyClassifier().fit([[0], [1]], ["joy", "sadness"]), path)
    >>> load_model(path).predict([[0]]).tolist()
    ['joy']
    """
    bundle = _read(path, allow_pickle=allow_pickle, trusted=trusted, device=device, stacklevel=3)
    return bundle["estimator"]


def _load(path, kind, *, trusted, device):
    if kind == "skops":
        from ._skops import load

        return load(path, trusted=list(trusted))
    if kind == "hf-folder":
        from ._hf_folder import read_hf_folder

        return read_hf_folder(path, device=device)
    if kind == "onnx-folder":
        from ..export import OnnxPredictor

        return OnnxPredictor(path, providers=_onnx_providers(device))
    import joblib  # a pickle, or (allowed to unpickle) a file of no known format

    try:
        return joblib.load(path)
    except Exception as exc:
        if kind == "pickle":
            raise
        raise UnknownModelFormatError(path, "a file of no known format") from exc


def _onnx_providers(device):
    """onnxruntime providers for a ``device`` of the torch estimators (None: onnxruntime's
    choice of CUDA where available, then the CPU)."""
    device = str(device)
    if device == "auto":
        return None
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    raise ValueError(f"an ONNX folder runs on device 'auto', 'cpu' or 'cuda', not {device!r}")


def _is_classifier(obj):
    from sklearn.base import is_classifier

    try:
        return is_classifier(obj)
    except AttributeError:  # no scikit-learn tags (an ONNX export of a frozen embedder)
        return False


def _as_bundle(obj, path):
    if isinstance(obj, dict) and obj.get("format") == MODEL_FORMAT:
        if not hasattr(obj.get("estimator"), "predict"):
            raise TypeError(
                f"{path} is a skempathy model file, but what it holds under 'estimator' "
                f"is a {type(obj.get('estimator')).__name__}, not a fitted estimator"
            )
        return obj
    if hasattr(obj, "predict") or hasattr(obj, "transform"):
        task = "emotion" if _is_classifier(obj) else None
        return {
            "format": MODEL_FORMAT,
            "estimator": obj,
            "task": task,
            "targets": None if task is None else ["emotion"],
            "head": None,
            "features": None,
            "columns": None,
            "text_column": None,
            "dev_scores": None,
        }
    raise TypeError(
        f"{path} does not hold a skempathy model or a fitted estimator (it holds "
        f"a {type(obj).__name__})"
    )
