"""The one place skempathy imports scikit-learn's private helpers.

scikit-learn may rename or move anything whose name starts with an underscore in a minor
release. Importing those names here, and nowhere else, keeps a new scikit-learn release to one
file to fix; ``pyproject.toml`` caps scikit-learn at the newest minor version the tests ran
against. ``tests/test_sklearn_compat.py`` fails when another module imports a private name.
"""

from sklearn.base import _fit_context
from sklearn.metrics._scorer import _BaseScorer
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
    validate_params,
)
from sklearn.utils._set_output import _wrap_data_with_container
from sklearn.utils.metadata_routing import _routing_enabled
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import _check_sample_weight, _num_samples

__all__ = [
    "HasMethods",
    "Interval",
    "RealNotInt",
    "StrOptions",
    "_BaseComposition",
    "_BaseScorer",
    "_check_sample_weight",
    "_fit_context",
    "_num_samples",
    "_routing_enabled",
    "_safe_indexing",
    "_wrap_data_with_container",
    "validate_params",
]
