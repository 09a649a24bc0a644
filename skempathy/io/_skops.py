"""skops-based dump / load with the trusted types of skempathy's estimators."""

import inspect
import os


def _skops_io():
    try:
        import skops.io as sio
    except ImportError as exc:
        raise ImportError("Safe persistence needs skops: pip install 'skempathy[skops]' "
                          "(or skops)") from exc
    return sio


# scikit-learn containers that fitted meta-estimators hold (skops does not trust them
# by default; they are plain data holders).
_SKLEARN_HELPERS = ("sklearn.utils._bunch.Bunch",)


def get_trusted_types():
    """The skempathy types that :func:`load` trusts, as ``"module.Class"`` names.

    Every public estimator (:func:`skempathy.utils.all_estimators`), by the
    module that defines it, and scikit-learn's ``Bunch`` (a plain container
    of fitted meta-estimators).

    Returns
    -------
    types : list of str

    Examples
    --------
    >>> from skempathy.io import get_trusted_types
    >>> "skempathy.text._sentence.SentenceEmbedder" in get_trusted_types()
    True
    """
    from ..utils import all_estimators

    ours = {f"{cls.__module__}.{cls.__qualname__}" for _, cls in all_estimators()
            if inspect.isclass(cls)}
    return sorted(ours | set(_SKLEARN_HELPERS))


def dump(estimator, path):
    """Write ``estimator`` (or a dict holding estimators) to a ``.skops`` file, atomically.

    Parameters
    ----------
    estimator : object
        A fitted estimator, pipeline or a dict of them (a CLI bundle).
    path : str or path-like
        The file to write.

    Returns
    -------
    path : str
    """
    from ..utils._files import write_atomic

    sio = _skops_io()
    write_atomic(path, lambda tmp: sio.dump(estimator, tmp))
    return str(path)


def load(path, trusted=None):
    """Read a ``.skops`` file written by :func:`dump`.

    Parameters
    ----------
    path : str or path-like
        The file.
    trusted : list of str, default=None
        More types to trust (``"module.Class"``), beyond skempathy's and those
        skops trusts itself. Inspect ``skops.io.get_untrusted_types(file=path)``
        before trusting a file from elsewhere.

    Returns
    -------
    estimator : object

    Raises
    ------
    TypeError
        If the file holds types that nobody trusted; the message lists them.
    """
    sio = _skops_io()
    path = os.fspath(path)
    untrusted = sio.get_untrusted_types(file=path)
    allowed = set(get_trusted_types()) | set(trusted or ())
    unknown = sorted(t for t in untrusted if t not in allowed)
    if unknown:
        raise TypeError(f"{path} holds types that are not trusted: {unknown}. Check them, then "
                        "pass trusted=[...] to skempathy.io.load.")
    return sio.load(path, trusted=list(untrusted))
