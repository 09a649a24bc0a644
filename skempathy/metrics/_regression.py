"""Pearson correlation scores: the official WASSA Track 1 metric."""

import numpy as np
from scipy import stats
from sklearn.utils.validation import check_consistent_length

__all__ = ["pearson_score", "average_pearson"]


def _as_2d_float(y, name):
    array = np.asarray(y, dtype=float)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D, got {array.ndim} dimensions.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return array


def pearson_score(y_true, y_pred, *, multioutput="uniform_average"):
    """Pearson correlation between gold and predicted scores (higher is better).

    The official metric of WASSA Track 1 (empathy and distress). A constant
    prediction has no defined correlation; it scores 0.0 (and warns nothing),
    so model selection treats it as uninformative rather than crashing.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Gold scores.
    y_pred : array-like of the same shape
        Predicted scores.
    multioutput : {"uniform_average", "raw_values"}, default="uniform_average"
        For 2-D input, average the per-output correlations or return them all.

    Returns
    -------
    score : float or ndarray of shape (n_outputs,)

    Examples
    --------
    >>> from skempathy.metrics import pearson_score
    >>> round(pearson_score([1, 2, 3, 4], [1.1, 2.3, 2.9, 4.2]), 4)
    0.9912
    """
    true = _as_2d_float(y_true, "y_true")
    pred = _as_2d_float(y_pred, "y_pred")
    check_consistent_length(true, pred)
    if true.shape[1] != pred.shape[1]:
        raise ValueError(f"y_true has {true.shape[1]} outputs but y_pred has {pred.shape[1]}.")
    if len(true) < 2:
        raise ValueError("Pearson correlation needs at least 2 samples.")
    scores = np.empty(true.shape[1])
    for j in range(true.shape[1]):
        if np.ptp(true[:, j]) == 0 or np.ptp(pred[:, j]) == 0:
            scores[j] = 0.0
        else:
            scores[j] = stats.pearsonr(true[:, j], pred[:, j])[0]
    if multioutput == "raw_values":
        return scores
    if multioutput != "uniform_average":
        raise ValueError(
            f"multioutput must be 'uniform_average' or 'raw_values', got {multioutput!r}"
        )
    return float(scores.mean())


def average_pearson(y_true, y_pred):
    """Mean Pearson r over outputs: the official WASSA 2021 Track 1 score.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 2)
        Empathy and distress, gold and predicted (any number of outputs works).

    Returns
    -------
    float

    Examples
    --------
    >>> from skempathy.metrics import average_pearson
    >>> round(average_pearson([[1, 2], [2, 1], [3, 3]], [[1, 2], [2, 1], [3, 3]]), 6)
    1.0
    """
    return pearson_score(y_true, y_pred, multioutput="uniform_average")
