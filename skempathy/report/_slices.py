"""Metrics broken down by demographic group."""

import warnings

import numpy as np
import pandas as pd

__all__ = ["slice_report", "DEFAULT_BINS"]

#: Default bin edges for numeric demographics (right-open intervals).
DEFAULT_BINS = {
    "age": ([-np.inf, 25, 35, 45, 55, np.inf], ["<25", "25-34", "35-44", "45-54", "55+"]),
    "income": (
        [-np.inf, 25_000, 50_000, 75_000, 100_000, np.inf],
        ["<25k", "25k-50k", "50k-75k", "75k-100k", "100k+"],
    ),
}
_DEFAULT_COLUMNS = ["gender", "race", "age", "income", "education"]


def _group_labels(values, column, bins, codebooks):
    """Map one demographic column to group labels (str), binned or decoded."""
    series = pd.Series(values).reset_index(drop=True)
    if column in bins:
        spec = bins[column]
        edges, labels = spec if isinstance(spec, tuple) else (spec, None)
        numeric = pd.to_numeric(series, errors="coerce")
        cut = pd.cut(numeric, bins=edges, labels=labels, right=False)
        out = cut.astype(object).where(cut.notna(), "missing").astype(str)
        order = [str(c) for c in (cut.cat.categories if hasattr(cut, "cat") else [])]
        return out, order
    codebook = codebooks.get(column, {})
    if pd.api.types.is_numeric_dtype(series) and series.nunique() > 12 and not codebook:
        cut = pd.qcut(series, 4, duplicates="drop")
        out = cut.astype(str).where(cut.notna(), "missing")
        return out, [str(c) for c in cut.cat.categories]

    def decode(v):
        if pd.isna(v):
            return "missing"
        key = v
        if isinstance(v, float) and v.is_integer():
            key = int(v)
        return str(codebook.get(key, v))

    out = series.map(decode)
    order = sorted(series.dropna().unique().tolist(), key=lambda v: (str(type(v)), v))
    return out, list(dict.fromkeys(decode(v) for v in order))


def slice_report(
    y_true,
    y_pred,
    demographics,
    *,
    columns=None,
    bins=None,
    codebooks=None,
    scoring=None,
    groups=None,
    min_count=20,
):
    """Metrics per demographic group, with counts: does a model serve groups equally?

    Parameters
    ----------
    y_true, y_pred : array-like
        Gold targets and predictions (1-D, or one column per target).
    demographics : DataFrame
        Row-aligned with ``y_true`` (e.g. ``load_wassa("train").data``).
    columns : list of str, default=None
        Columns to slice by (default: those of gender, race, age, income,
        education present).
    bins : dict, default=None
        Column -> bin edges, or ``(edges, labels)``; intervals are
        right-open. Merged over :data:`DEFAULT_BINS` (age: <25, 25-34, 35-44,
        45-54, 55+; income: <25k, 25k-50k, 50k-75k, 75k-100k, 100k+). Other
        numeric columns with more than 12 values are cut in quartiles.
    codebooks : dict, default=None
        Column -> {code: label}; defaults to the WASSA codebooks (gender,
        race, education). Unknown codes are shown as they are.
    scoring : None, str, list, callable or dict, default=None
        As in :func:`~skempathy.model_selection.compare_models` (default:
        official WASSA metrics).
    groups : array-like of shape (n_samples,), default=None
        Writer ids; adds an ``n_groups`` column (WASSA writers wrote 5 essays
        each, so 20 essays may be 4 people).
    min_count : int, default=20
        Groups with fewer samples get NaN metrics (counts are still shown):
        a Pearson r over a handful of essays says nothing.

    Returns
    -------
    DataFrame
        Columns ``attribute``, ``group``, ``count`` (``n_groups``), one column per metric
        and, for a single regression target, ``mean_gold`` and ``mean_pred``
        (a systematic offset shows up there). The first row is ``overall``.

    Examples
    --------
    >>> import numpy as np
    >>> from skempathy.datasets import load_wassa
    >>> from skempathy.report import slice_report
    >>> wassa = load_wassa("dev")
    >>> y = wassa.target["empathy"]
    >>> noisy = y + np.random.default_rng(0).normal(0, 1, len(y))
    >>> table = slice_report(y, noisy, wassa.data, columns=["gender"])
    >>> table[["group", "count"]].values.tolist()
    [['all', 270], ['male', 150], ['female', 115], ['other', 5]]
    """
    from skempathy.metrics._task import infer_task, resolve_metrics

    if not hasattr(demographics, "columns"):
        raise TypeError(
            "demographics must be a DataFrame with the demographic columns, got "
            f"{type(demographics).__name__}."
        )
    n = len(np.asarray(y_true))
    if len(demographics) != n or len(np.asarray(y_pred)) != n:
        raise ValueError(
            f"y_true ({n}), y_pred ({len(np.asarray(y_pred))}) and demographics "
            f"({len(demographics)}) must have the same number of rows."
        )
    if columns is None:
        columns = [c for c in _DEFAULT_COLUMNS if c in demographics.columns]
        if not columns:
            raise ValueError(
                "demographics has none of the default columns "
                f"{_DEFAULT_COLUMNS}; pass columns=[...] (got {list(demographics.columns)[:8]})."
            )
    else:
        missing = [c for c in columns if c not in demographics.columns]
        if missing:
            raise ValueError(
                f"Column {missing[0]!r} is not in demographics "
                f"(columns: {list(demographics.columns)})."
            )
    all_bins = dict(DEFAULT_BINS)
    all_bins.update(bins or {})
    if codebooks is None:
        try:
            from skempathy.datasets import WASSA_CODEBOOKS as codebooks
        except ImportError:  # pragma: no cover
            codebooks = {}
    task = infer_task(y_true)
    metrics = resolve_metrics(scoring, task, y_true)
    y_pred_arr = np.asarray(y_pred)
    if groups is not None:
        groups = np.asarray(groups)
        if len(groups) != n:
            raise ValueError(f"groups has {len(groups)} entries, expected {n}.")
    from ..utils._sklearn_compat import _safe_indexing

    def row(attribute, group, idx):
        out = {"attribute": attribute, "group": group, "count": int(len(idx))}
        if groups is not None:
            out["n_groups"] = int(len(np.unique(groups[idx])))
        yt = _safe_indexing(y_true, idx)
        yp = y_pred_arr[idx]
        if len(idx) >= max(min_count, 2):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    out.update(metrics(yt, yp))
                except ValueError:
                    out.update({m: np.nan for m in metrics.names})
        else:
            out.update({m: np.nan for m in metrics.names})
        if task == "regression" and y_pred_arr.ndim == 1:
            out["mean_gold"] = float(np.mean(np.asarray(yt, dtype=float)))
            out["mean_pred"] = float(np.mean(yp.astype(float)))
        return out

    rows = [row("overall", "all", np.arange(n))]
    for column in columns:
        labels, order = _group_labels(demographics[column].to_numpy(), column, all_bins, codebooks)
        labels = labels.to_numpy()
        present = [g for g in order if g in set(labels)]
        present += sorted(set(labels) - set(present))
        for group in present:
            rows.append(row(column, group, np.flatnonzero(labels == group)))
    return pd.DataFrame(rows)
