"""Grouped cross-validation helpers.

Every WASSA writer (``response_id``) wrote 5 essays and reported one set of
demographics, so a plain ``KFold`` puts essays of the same writer on both sides
of a split and rewards models that memorise writers. These helpers pick a
group-aware splitter when groups are known and check that no group straddles
train and test.
"""

import numbers
import warnings

import numpy as np
from sklearn.model_selection import (
    GroupKFold,
    StratifiedGroupKFold,
    check_cv,
)

__all__ = ["check_group_cv", "resolve_groups", "check_no_group_leakage", "make_splits"]


def resolve_groups(groups, X, n_samples=None):
    """Return group labels as a 1-D array, reading a column of ``X`` if named.

    Parameters
    ----------
    groups : array-like of shape (n_samples,), str or None
        Group labels (e.g. the writer id), or the name of a column of the
        DataFrame ``X`` holding them (``"response_id"`` for WASSA frames).
    X : array-like or DataFrame
        The features; only used to look up a named column and its length.
    n_samples : int, default=None
        Expected length; defaults to ``len(X)``.

    Returns
    -------
    groups : ndarray of shape (n_samples,) or None

    Raises
    ------
    ValueError
        If a named column is missing, the length does not match, or a group
        label is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from skempathy.model_selection import resolve_groups
    >>> X = pd.DataFrame({"essay": ["a", "b"], "response_id": ["w1", "w1"]})
    >>> resolve_groups("response_id", X)
    array(['w1', 'w1'], dtype=object)
    """
    if groups is None:
        return None
    if n_samples is None:
        n_samples = _num_samples(X)
    if isinstance(groups, str):
        columns = getattr(X, "columns", None)
        if columns is None:
            raise ValueError(
                f"groups={groups!r} names a column, but X is a {type(X).__name__} without "
                "columns. Pass a DataFrame that holds the column or an array of group labels."
            )
        if groups not in columns:
            raise ValueError(
                f"groups={groups!r} is not a column of X (columns: {list(columns)}). For "
                "WASSA, the writer id 'response_id' is in load_wassa(...).frame and in "
                "load_wassa(...).groups; pass that column or the array itself."
            )
        values = X[groups].to_numpy()
    else:
        values = np.asarray(getattr(groups, "to_numpy", lambda: groups)())
        if values.ndim != 1:
            raise ValueError(f"groups must be 1-D, got an array of shape {values.shape}.")
    if len(values) != n_samples:
        raise ValueError(
            f"groups has {len(values)} entries but X has {n_samples} samples; they must "
            "be row-aligned."
        )
    missing = _isnull(values)
    if missing.any():
        raise ValueError(
            f"groups has {int(missing.sum())} missing labels (first at position "
            f"{int(np.flatnonzero(missing)[0])}); every sample needs a group."
        )
    return values


def check_group_cv(cv=5, y=None, *, groups=None, classifier=False, random_state=None):
    """Return a cross-validation splitter, group-aware when groups are given.

    Parameters
    ----------
    cv : int, cross-validation splitter or iterable, default=5
        An int is the number of folds. With ``groups`` it gives
        :class:`~sklearn.model_selection.GroupKFold` (regression) or
        :class:`~sklearn.model_selection.StratifiedGroupKFold` (classification);
        without groups, sklearn's ``KFold`` / ``StratifiedKFold``. Splitters and
        iterables are passed through :func:`sklearn.model_selection.check_cv`.
    y : array-like, default=None
        Targets, used to decide on stratification for classifiers.
    groups : array-like or None, default=None
        Group labels; only their presence matters here.
    classifier : bool, default=False
        Whether the task is classification (stratified folds).
    random_state : int, RandomState or None, default=None
        With an int ``cv``, shuffles the group-to-fold assignment with this
        seed; None keeps sklearn's deterministic assignment.

    Returns
    -------
    splitter : cross-validation splitter

    Examples
    --------
    >>> from skempathy.model_selection import check_group_cv
    >>> check_group_cv(5, groups=[0, 0, 1, 1, 2, 2])
    GroupKFold(n_splits=5, random_state=None, shuffle=False)
    """
    if cv is None:
        cv = 5
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv must be at least 2 folds, got {cv}.")
        if groups is not None:
            shuffle = random_state is not None
            kwargs = {"n_splits": int(cv), "shuffle": shuffle}
            if shuffle:
                kwargs["random_state"] = random_state
            if classifier:
                return StratifiedGroupKFold(**kwargs)
            return GroupKFold(**kwargs)
        if random_state is not None:
            from sklearn.model_selection import KFold, StratifiedKFold

            cls = StratifiedKFold if classifier and _is_stratifiable(y) else KFold
            return cls(n_splits=int(cv), shuffle=True, random_state=random_state)
    return check_cv(cv, y, classifier=classifier and _is_stratifiable(y))


def _is_stratifiable(y):
    if y is None:
        return False
    from sklearn.utils.multiclass import type_of_target

    return type_of_target(y) in ("binary", "multiclass")


def make_splits(cv, X, y=None, groups=None):
    """Materialise the folds of ``cv`` as a list of ``(train, test)`` index arrays.

    Calling this once and reusing the list is what makes folds identical for
    every model in :func:`compare_models`.

    Parameters
    ----------
    cv : cross-validation splitter
    X, y : array-like
    groups : array-like or None

    Returns
    -------
    splits : list of tuple of ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GroupKFold
    >>> from skempathy.model_selection import make_splits
    >>> splits = make_splits(GroupKFold(2), np.zeros((4, 1)), groups=[0, 0, 1, 1])
    >>> sorted(test.tolist() for _, test in splits)
    [[0, 1], [2, 3]]
    """
    with warnings.catch_warnings():
        # sklearn warns that KFold ignores groups; check_no_group_leakage says more
        warnings.filterwarnings("ignore", message="The groups parameter is ignored")
        splits = [(np.asarray(train), np.asarray(test))
                  for train, test in cv.split(X, y, groups)]
    if not splits:
        raise ValueError(f"The splitter {cv!r} produced no folds.")
    return splits


def check_no_group_leakage(splits, groups, *, raise_error=True):
    """Check that no group has samples in both the train and test side of a fold.

    Parameters
    ----------
    splits : list of (train, test) index arrays
    groups : array-like of shape (n_samples,)
    raise_error : bool, default=True
        Raise on leakage; otherwise warn.

    Returns
    -------
    leaked : list of int
        Per fold, the number of groups present in both train and test.

    Raises
    ------
    ValueError
        If a group straddles train and test and ``raise_error`` is True.

    Examples
    --------
    >>> from skempathy.model_selection import check_no_group_leakage
    >>> check_no_group_leakage([([0, 1], [2, 3])], ["a", "a", "b", "b"])
    [0]
    """
    groups = np.asarray(groups)
    leaked = []
    for train, test in splits:
        both = np.intersect1d(groups[np.asarray(train)], groups[np.asarray(test)])
        leaked.append(int(len(both)))
    if any(leaked):
        fold = next(i for i, n in enumerate(leaked) if n)
        msg = (
            f"{leaked[fold]} groups have samples in both train and test of fold {fold} "
            f"(per fold: {leaked}). With one writer's essays on both sides the scores are "
            "optimistic; use a group-aware splitter (GroupKFold) or cv=<int> with groups."
        )
        if raise_error:
            raise ValueError(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
    return leaked


def _num_samples(X):
    from ..utils._sklearn_compat import _num_samples as n

    return n(X)


def _isnull(values):
    import pandas as pd

    return np.asarray(pd.isna(values), dtype=bool).reshape(len(values))
