"""Metrics: the official WASSA 2021 scores, scorers and a paired bootstrap test."""

from ._bootstrap import BootstrapResult, bootstrap_test
from ._regression import average_pearson, pearson_score
from ._scorer import (
    average_pearson_scorer,
    get_metric,
    get_scorer,
    get_scorer_names,
    pearson_scorer,
)
from ._wassa import wassa_evaluate

__all__ = [
    "BootstrapResult",
    "average_pearson",
    "average_pearson_scorer",
    "bootstrap_test",
    "get_metric",
    "get_scorer",
    "get_scorer_names",
    "pearson_score",
    "pearson_scorer",
    "wassa_evaluate",
]
