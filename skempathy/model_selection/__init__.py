"""Cross-validated model comparison with grouped folds.

:func:`compare_models` fits many estimators on identical (by default
writer-grouped) folds, scores their out-of-fold predictions with the official
WASSA metrics and tests them against a baseline with a paired bootstrap. The
helpers build and check grouped splits.
"""

from ._compare import compare_models
from ._result import ComparisonResult
from ._split import (
    check_group_cv,
    check_no_group_leakage,
    make_splits,
    resolve_groups,
    train_dev_test_split,
)

__all__ = [
    "ComparisonResult",
    "check_group_cv",
    "check_no_group_leakage",
    "compare_models",
    "make_splits",
    "resolve_groups",
    "train_dev_test_split",
]
