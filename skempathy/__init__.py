"""skempathy: empathy, distress and emotion prediction as scikit-learn estimators.

Submodules are imported lazily (as in ``sklearn/__init__.py``) so that
``import skempathy`` stays fast and does not pull in torch or transformers.

>>> import skempathy
>>> from skempathy.datasets import load_wassa
"""

import importlib

__version__ = "0.1.0"

_submodules = [
    "augment",
    "base",
    "batch",
    "cli",
    "compose",
    "datasets",
    "dialogue",
    "distill",
    "ensemble",
    "export",
    "io",
    "metrics",
    "model_selection",
    "neural",
    "recipes",
    "report",
    "text",
    "utils",
]

__all__ = _submodules + ["__version__", "show_versions"]


def __dir__():
    return __all__


def __getattr__(name):
    if name in _submodules:
        return importlib.import_module(f"skempathy.{name}")
    if name == "show_versions":  # as sklearn.show_versions, for bug reports
        return importlib.import_module("skempathy.utils").show_versions
    raise AttributeError(f"module 'skempathy' has no attribute {name!r}")
