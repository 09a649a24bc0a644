"""Scorers for ``cross_validate`` / ``GridSearchCV`` and metric lookup by name."""

from functools import partial

from sklearn.metrics import accuracy_score, f1_score, make_scorer
from sklearn.metrics import get_scorer as _sklearn_get_scorer
from sklearn.metrics import get_scorer_names as _sklearn_scorer_names

from ._regression import average_pearson, pearson_score

__all__ = [
    "get_scorer",
    "get_scorer_names",
    "pearson_scorer",
    "average_pearson_scorer",
    "get_metric",
]

pearson_scorer = make_scorer(pearson_score)
average_pearson_scorer = make_scorer(average_pearson)

_SCORERS = {
    "pearson": pearson_scorer,
    "average_pearson": average_pearson_scorer,
    "macro_f1": make_scorer(f1_score, average="macro", zero_division=0),
    "micro_f1": make_scorer(f1_score, average="micro", zero_division=0),
}

_METRICS = {
    "pearson": pearson_score,
    "average_pearson": average_pearson,
    "macro_f1": partial(f1_score, average="macro", zero_division=0),
    "micro_f1": partial(f1_score, average="micro", zero_division=0),
    "accuracy": accuracy_score,
}


def get_scorer_names():
    """All names :func:`get_scorer` accepts: skempathy's plus sklearn's."""
    return sorted(set(_SCORERS) | set(_sklearn_scorer_names()))


def get_scorer(scoring):
    """Return a scorer by name, adding the WASSA metrics to sklearn's names.

    Parameters
    ----------
    scoring : str or callable
        ``"pearson"``, ``"average_pearson"``, ``"macro_f1"``, ``"micro_f1"``,
        any sklearn scorer name (``"f1_macro"``, ``"r2"``, ...), or a scorer
        callable (returned unchanged).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``, usable as ``scoring=`` in
        ``cross_validate`` and ``GridSearchCV``.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones).

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.model_selection import cross_val_score
    >>> from skempathy.metrics import get_scorer
    >>> X = [[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]]
    >>> y = [0.1, 0.9, 2.2, 2.8, 4.1, 5.0]
    >>> scores = cross_val_score(Ridge(), X, y, cv=2, scoring=get_scorer("pearson"))
    """
    if callable(scoring):
        return scoring
    if isinstance(scoring, str):
        if scoring in _SCORERS:
            return _SCORERS[scoring]
        try:
            return _sklearn_get_scorer(scoring)
        except ValueError:
            pass
    raise ValueError(f"Unknown scoring {scoring!r}. Valid names: {', '.join(get_scorer_names())}.")


def get_metric(metric):
    """Return a ``metric(y_true, y_pred)`` function by name (or the callable itself).

    Parameters
    ----------
    metric : str or callable
        A name of :func:`get_scorer_names` or a ``metric(y_true, y_pred)`` function.
    """
    if callable(metric):
        return metric
    if metric in _METRICS:
        return _METRICS[metric]
    raise ValueError(
        f"Unknown metric {metric!r}; expected a callable or one of {sorted(_METRICS)}."
    )
