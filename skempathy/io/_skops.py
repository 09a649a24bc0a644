"""skops-based dump / load with the trusted types of skempathy's estimators."""

import inspect
import os


def _skops_io():
    try:
        import skops.io as sio
    except ImportError as exc:
        raise ImportError(
            "Safe persistence needs skops (a dependency of skempathy): pip install skops"
        ) from exc
    return sio


# Types inside the models that skempathy itself builds, beyond its estimators: plain data
# holders of fitted scikit-learn and XGBoost heads (``skempathy train --head ...``) and the
# GoEmotions pool that recipe ``best`` reads in fit. skops does not trust them by default.
_OWN_OUTPUT_TYPES = (
    "sklearn.utils._bunch.Bunch",
    "sklearn.tree._tree.Tree",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
    "xgboost.sklearn.XGBRegressor",
    "functools.partial",
    "skempathy.augment.goemotions_pool",
)


def get_trusted_types():
    """The skempathy types that :func:`load` trusts, as ``"module.Class"`` names.

    Every public estimator (:func:`skempathy.utils.all_estimators`), by the
    module that defines it, and the data holders inside the models that
    skempathy's recipes and ``skempathy train`` heads build (scikit-learn's
    ``Bunch``, fitted trees and MLP optimizers, XGBoost's estimators and
    boosters, the GoEmotions pool of recipe ``best``).

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

    ours = {
        f"{cls.__module__}.{cls.__qualname__}"
        for _, cls in all_estimators()
        if inspect.isclass(cls)
    }
    return sorted(ours | set(_OWN_OUTPUT_TYPES))


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


# A zip whose contents claim far more bytes than the file holds is a decompression bomb;
# real model files compress their weights by well under this factor.
_MAX_EXPANSION = 20
_MIN_ALLOWED = 1 << 30


def _check_archive(path):
    """Refuse a file that is not a zip, or whose members would expand past
    ``max(1 GiB, 20 x its size)`` once read."""
    import zipfile

    from ..utils._files import UnsafeFileError

    if not zipfile.is_zipfile(path):
        raise UnsafeFileError(f"{path} is not a .skops file (not a zip archive)")
    with zipfile.ZipFile(path) as archive:
        claimed = sum(info.file_size for info in archive.infolist())
    limit = max(_MIN_ALLOWED, _MAX_EXPANSION * os.path.getsize(path))
    if claimed > limit:
        raise UnsafeFileError(
            f"{path} would expand to {claimed} bytes from "
            f"{os.path.getsize(path)}; refused as a decompression bomb"
        )


class UntrustedTypesError(TypeError):
    """A ``.skops`` file holds types that are not trusted (``types``: their names)."""

    def __init__(self, path, types):
        self.path, self.types = path, list(types)
        super().__init__(
            f"{path} holds types that are not trusted: {self.types}. Check them, then "
            "pass trusted=[...] to skempathy.io.load."
        )


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
    UnsafeFileError
        If the file is not a zip archive, would expand to far more bytes than
        it holds, or carries weights whose file names leave their folder or
        whose digest does not match; nothing from it is used or written.

    Examples
    --------
    >>> import tempfile, os
    >>> from skempathy.io import dump, load
    >>> from skempathy.text import LexiconFeaturizer
    >>> path = os.path.join(tempfile.mkdtemp(), "lexicon.skops")
    >>> _ = dump(LexiconFeaturizer(), path)
    >>> type(load(path)).__name__
    'LexiconFeaturizer'
    """
    sio = _skops_io()
    path = os.fspath(path)
    _check_archive(path)
    untrusted = sio.get_untrusted_types(file=path)
    allowed = set(get_trusted_types()) | set(trusted or ())
    unknown = sorted(t for t in untrusted if t not in allowed)
    if unknown:
        raise UntrustedTypesError(path, unknown)
    return sio.load(path, trusted=list(untrusted))
