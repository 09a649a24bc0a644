"""The model file: a fitted estimator with what scoring it needs, written and read in one place.

``skempathy wassa`` and ``skempathy train`` write it, ``skempathy predict`` / ``evaluate`` /
``distill`` and :class:`~skempathy.batch.BatchPredictor` read it. A model file is a dict
(``format`` = :data:`MODEL_FORMAT`): the ``estimator``, its ``task`` and ``targets``, the
``columns`` it reads and its ``text_column``, its dev scores and the skempathy version that
wrote it. It is stored as ``.skops`` (no code runs on load; types are checked) or, on request,
as a pickle (joblib), which loads only with ``allow_pickle=True``. A bare fitted estimator in
either format reads as a model file with defaults.
"""

import warnings
import zipfile
from pathlib import Path

from ..utils._files import UnsafeFileError, write_atomic

__all__ = ["MODEL_FORMAT", "PickleRefusedError", "read_model", "write_model"]

MODEL_FORMAT = "skempathy-model/1"


class PickleRefusedError(UnsafeFileError):
    """A pickle that ``read_model`` was not allowed to load (``allow_pickle=False``)."""


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


def read_model(path, *, allow_pickle=False, trusted=()):
    """Read a model file, or a bare fitted estimator, as a model-file dict.

    Parameters
    ----------
    path : str or path-like
        A ``.skops`` file or a pickle (``.joblib``, ``.pkl``).
    allow_pickle : bool, default=False
        Load a pickle. Unpickling runs whatever code the file carries: only for files you
        trust.
    trusted : sequence of str, default=()
        Types a ``.skops`` file may hold besides skempathy's and scikit-learn's.

    Returns
    -------
    dict
        ``estimator``, ``task``, ``targets``, ``columns``, ``text_column``, ``dev_scores``...
        (``None`` where a bare estimator does not say; ``task`` is ``"emotion"`` for a bare
        classifier).

    Raises
    ------
    FileNotFoundError
        No such file.
    PickleRefusedError
        A pickle without ``allow_pickle`` (an :class:`UnsafeFileError`).
    UntrustedTypesError
        A ``.skops`` file with an untrusted type (a ``TypeError``).
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
    >>> write_model({"estimator": DummyRegressor().fit([[0], [1]], [0, 1])}, path)
    >>> read_model(path)["estimator"]
    Traceback (most recent call last):
    ...
    skempathy.io._model_file.PickleRefusedError: ... is a pickle, ...
    >>> read_model(path, allow_pickle=True)["estimator"]
    DummyRegressor()
    """
    from ..base import SkempathyVersionWarning

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    is_skops = zipfile.is_zipfile(path)
    if not is_skops and not allow_pickle:
        raise PickleRefusedError(
            f"{path} is a pickle, and loading a pickle runs any code it carries; pass "
            "allow_pickle=True if you trust this file, or save the model as .skops"
        )
    # every estimator in the file warns about its version: say it once, below
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkempathyVersionWarning)
        if is_skops:
            from ._skops import load

            obj = load(path, trusted=list(trusted))
        else:
            import joblib

            obj = joblib.load(path)
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
        warnings.warn(stale[0], SkempathyVersionWarning, stacklevel=2)
    return bundle


def _as_bundle(obj, path):
    if isinstance(obj, dict) and obj.get("format") == MODEL_FORMAT:
        if not hasattr(obj.get("estimator"), "predict"):
            raise TypeError(
                f"{path} is a skempathy model file, but what it holds under 'estimator' "
                f"is a {type(obj.get('estimator')).__name__}, not a fitted estimator"
            )
        return obj
    if hasattr(obj, "predict") or hasattr(obj, "transform"):
        from sklearn.base import is_classifier

        task = "emotion" if is_classifier(obj) else None
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
