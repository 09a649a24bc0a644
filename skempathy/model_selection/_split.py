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

__all__ = [
    "check_group_cv",
    "resolve_groups",
    "check_no_group_leakage",
    "make_splits",
    "train_dev_test_split",
]


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
        splits = [(np.asarray(train), np.asarray(test)) for train, test in cv.split(X, y, groups)]
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


def train_dev_test_split(
    *arrays, dev_size=0.1, test_size=0.1, groups=None, stratify=None, random_state=None
):
    """Split arrays into random train, development and test parts.

    The protocol of corpora without an official split (e.g. an 80/10/10
    random split of NewsEmp in Hosseini & Caragea 2021): two calls of
    :func:`sklearn.model_selection.train_test_split`, or of
    :class:`~sklearn.model_selection.GroupShuffleSplit` when ``groups`` keeps
    every group (e.g. a writer) on one side.

    Parameters
    ----------
    *arrays : sequence of indexables of the same length
        Lists, arrays, Series or DataFrames.
    dev_size, test_size : float in (0, 1) or int, default=0.1
        Share (or count) of the samples (of the groups, with ``groups``) in the
        development and test parts; the rest is the training part.
    groups : array-like of shape (n_samples,), default=None
        Group labels; no group is split across parts. Sizes then count groups.
    stratify : array-like of shape (n_samples,), default=None
        Class labels to keep in the same proportions in every part (not with
        ``groups``).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    splitting : list of length ``3 * len(arrays)``
        ``train, dev, test`` of each array in turn, as ``train_test_split``
        orders them.

    Examples
    --------
    >>> import numpy as np
    >>> from skempathy.model_selection import train_dev_test_split
    >>> X, y = np.arange(40).reshape(20, 2), np.arange(20) % 2
    >>> X_tr, X_dev, X_te, y_tr, y_dev, y_te = train_dev_test_split(
    ...     X, y, stratify=y, random_state=0)
    >>> len(y_tr), len(y_dev), len(y_te), y_dev.tolist()
    (16, 2, 2, [0, 1])
    """
    from sklearn.model_selection import GroupShuffleSplit, train_test_split
    from sklearn.utils import check_random_state

    from ..utils._sklearn_compat import _safe_indexing

    if not arrays:
        raise ValueError("At least one array is required.")
    n = _num_samples(arrays[0])
    for a in arrays[1:]:
        if _num_samples(a) != n:
            raise ValueError(
                "Found input arrays with inconsistent numbers of samples: "
                f"{[_num_samples(a) for a in arrays]}."
            )
    shares = [
        isinstance(size, numbers.Real) and not isinstance(size, numbers.Integral)
        for size in (dev_size, test_size)
    ]
    for name, size, share in (
        ("dev_size", dev_size, shares[0]),
        ("test_size", test_size, shares[1]),
    ):
        if not (0 < size < 1 if share else isinstance(size, numbers.Integral) and size >= 1):
            raise ValueError(f"{name} must be in (0, 1) or a positive count, got {size}.")
    if all(shares) and dev_size + test_size >= 1:
        raise ValueError(f"dev_size + test_size must be below 1, got {dev_size + test_size}.")
    if groups is not None and stratify is not None:
        raise ValueError("Pass groups or stratify, not both.")
    if groups is not None:
        groups = resolve_groups(groups, arrays[0], n)
    # Shares are of all samples (groups), so both become counts before the second split,
    # which only sees what the first one left.
    n_units = n if groups is None else len(np.unique(groups))
    dev_n, test_n = (
        max(1, int(round(size * n_units))) if share else size
        for size, share in zip((dev_size, test_size), shares)
    )
    rng = check_random_state(random_state)
    index = np.arange(n)
    if groups is not None:
        rest, test = next(
            GroupShuffleSplit(1, test_size=test_n, random_state=rng).split(index, groups=groups)
        )
        train, dev = next(
            GroupShuffleSplit(1, test_size=dev_n, random_state=rng).split(rest, groups=groups[rest])
        )
        train, dev = rest[train], rest[dev]
    else:
        strat = None if stratify is None else np.asarray(stratify)
        rest, test = train_test_split(index, test_size=test_n, random_state=rng, stratify=strat)
        train, dev = train_test_split(
            rest, test_size=dev_n, random_state=rng, stratify=None if strat is None else strat[rest]
        )
    out = []
    for a in arrays:
        out.extend(_safe_indexing(a, part) for part in (train, dev, test))
    return out


def _num_samples(X):
    from ..utils._sklearn_compat import _num_samples as n

    return n(X)


def _isnull(values):
    import pandas as pd

    return np.asarray(pd.isna(values), dtype=bool).reshape(len(values))
