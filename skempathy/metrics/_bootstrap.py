"""Paired bootstrap significance test (Berg-Kirkpatrick et al., 2012)."""

from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length

from ._scorer import get_metric
from ._wassa import _aligned, _mixed_frame, _track_of

__all__ = ["bootstrap_test", "BootstrapResult"]


@dataclass(frozen=True)
class BootstrapResult:
    """Outcome of :func:`bootstrap_test`.

    Attributes
    ----------
    p_value : float
        Probability of seeing A's advantage by chance; small means A is
        significantly better than B. 1.0 when A does not beat B at all.
    score_a, score_b : float
        The metric of each system on the full data.
    delta : float
        ``score_a - score_b``.
    n_resamples : int
        Number of bootstrap samples.
    sample_size : int
        Items (or groups, with ``groups``) per bootstrap sample.
    """

    p_value: float
    score_a: float
    score_b: float
    delta: float
    n_resamples: int
    sample_size: int


def bootstrap_test(
    y_true,
    pred_a,
    pred_b,
    metric="macro_f1",
    *,
    n_resamples=1000,
    sample_fraction=0.3,
    groups=None,
    random_state=None,
):
    """Paired bootstrap test that system A beats system B.

    The procedure of the MilaNLP WASSA 2021 system paper (and their BooStSa
    tool), after Berg-Kirkpatrick et al. (2012): with ``delta`` = metric(A) -
    metric(B) on all items, draw ``n_resamples`` samples of
    ``sample_fraction`` of the items with replacement, recompute the
    difference ``delta_i`` on each, and count how often ``delta_i > 2 *
    delta`` (the bootstrap distribution shifted to the null hypothesis). The
    p-value is that count over ``n_resamples``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Gold labels or scores. A DataFrame with both label and score columns (a
        multi-task frame such as WASSA 2022's ``emotion``, ``empathy``, ``distress``)
        is tested on the columns that ``metric``, a key of :func:`wassa_evaluate`'s
        result for it, scores.
    pred_a, pred_b : array-like
        Predictions of system A and system B for the same items (for a multi-task
        frame, frames with its columns or arrays in its column order).
    metric : str or callable, default="macro_f1"
        Higher-is-better ``metric(y_true, y_pred)``, or a name: ``"pearson"``,
        ``"average_pearson"``, ``"macro_f1"``, ``"micro_f1"``, ``"accuracy"``. For a
        multi-task frame: ``"average_pearson"``, ``"<score column>_pearson"``,
        or ``"macro_f1"``, ``"micro_f1"``, ``"accuracy"`` of its label column
        (``"<label column>_macro_f1"`` and so on when it has several).
    n_resamples : int, default=1000
    sample_fraction : float, default=0.3
        Size of each sample as a fraction of the items (of the groups, with
        ``groups``).
    groups : array-like of shape (n_samples,), default=None
        Cluster ids (e.g. the WASSA writer ``response_id``). Items of one
        group are not independent (each writer wrote 5 essays with the same
        demographics), so with ``groups`` the bootstrap draws whole groups
        with replacement, keeping all their items: the p-value then accounts
        for the within-writer correlation instead of over-stating
        significance. None resamples items, as the MilaNLP paper did.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible p-values.

    Returns
    -------
    BootstrapResult
        With ``p_value``, ``score_a``, ``score_b``, ``delta``.

    Examples
    --------
    >>> from skempathy.metrics import bootstrap_test
    >>> y = ["joy", "anger", "sadness", "joy"] * 25
    >>> good = list(y)
    >>> bad = ["joy"] * 100
    >>> result = bootstrap_test(y, good, bad, "macro_f1", random_state=0)
    >>> result.p_value < 0.05
    True
    """
    if _mixed_frame(y_true) and isinstance(metric, str):
        columns, metric = _track_of(y_true, metric)
        pred_a, pred_b = (_aligned(y_true, pred)[columns] for pred in (pred_a, pred_b))
        if metric.endswith("pearson"):  # score columns may come back as objects
            pred_a, pred_b = pred_a.astype(float), pred_b.astype(float)
        y_true = y_true[columns]
        if len(columns) == 1:
            y_true, pred_a, pred_b = (frame.iloc[:, 0] for frame in (y_true, pred_a, pred_b))
    score = get_metric(metric)
    check_consistent_length(y_true, pred_a, pred_b)
    if not 0 < sample_fraction <= 1:
        raise ValueError(f"sample_fraction must be in (0, 1], got {sample_fraction}")
    if int(n_resamples) < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    y_true, pred_a, pred_b = (np.asarray(a) for a in (y_true, pred_a, pred_b))
    if groups is None:
        members = None
        n = len(y_true)
    else:
        check_consistent_length(y_true, groups)
        _, codes = np.unique(np.asarray(groups), return_inverse=True)
        order = np.argsort(codes, kind="stable")
        members = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)
        n = len(members)
    size = max(2, int(round(sample_fraction * n)))
    score_a, score_b = float(score(y_true, pred_a)), float(score(y_true, pred_b))
    delta = score_a - score_b
    if delta <= 0:
        return BootstrapResult(1.0, score_a, score_b, delta, int(n_resamples), size)
    rng = check_random_state(random_state)
    exceed = 0
    for _ in range(int(n_resamples)):
        idx = rng.randint(0, n, size)
        if members is not None:
            idx = np.concatenate([members[g] for g in idx])
        delta_i = score(y_true[idx], pred_a[idx]) - score(y_true[idx], pred_b[idx])
        exceed += delta_i > 2 * delta
    return BootstrapResult(
        exceed / int(n_resamples), score_a, score_b, delta, int(n_resamples), size
    )
