"""List the public estimators of skempathy (like ``sklearn.utils.all_estimators``)."""

import importlib
import inspect

from sklearn.base import BaseEstimator

__all__ = ["all_estimators"]

# Public submodules whose ``__all__`` may hold estimators. Missing ones are skipped
# so the list grows with the package.
_PUBLIC_MODULES = [
    "skempathy.text",
    "skempathy.compose",
    "skempathy.neural",
    "skempathy.augment",
    "skempathy.ensemble",
    "skempathy.dialogue",
    "skempathy.model_selection",
]


def all_estimators():
    """Return ``(name, class)`` for every public estimator, sorted by name.

    Examples
    --------
    >>> from skempathy.utils import all_estimators
    >>> names = [name for name, _ in all_estimators()]
    """
    found = {}
    for module_name in _PUBLIC_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator) and not name.startswith("_"):
                found[name] = obj
    return sorted(found.items())
