"""Plots for model comparisons (matplotlib, imported lazily, Agg canvas).

Figures are created with :class:`matplotlib.figure.Figure` and an Agg canvas
rather than ``pyplot``, so plotting works headless and leaves no global
figure state behind.
"""

import base64
import io
import os
import textwrap

import numpy as np

__all__ = [
    "plot_scores",
    "plot_confusion_matrix",
    "plot_predictions",
    "save_figure",
    "figure_to_base64",
]


def _new_figure(figsize):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError(
            "Plots need matplotlib: pip install 'skempathy[plots]' (or matplotlib)."
        ) from exc
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _stars(p, alpha):
    if p != p:  # NaN
        return ""
    if p < 0.001 and alpha >= 0.001:
        return "***"
    if p < 0.01 and alpha >= 0.01:
        return "**"
    if p < alpha:
        return "*"
    return "n.s."


def plot_scores(result, metric=None, *, ax=None, alpha=0.05, title=None):
    """Metric per model: fold scores, mean ± sd, pooled score, significance marks.

    Parameters
    ----------
    result : ComparisonResult
        Output of :func:`skempathy.model_selection.compare_models`.
    metric : str, default=None
        Metric to show (default: the primary metric).
    ax : matplotlib Axes, default=None
        Draw into this Axes; a new Figure is made otherwise.
    alpha : float, default=0.05
        Significance level. Models tested against the baseline get ``*``
        (p < alpha), ``**`` (p < 0.01), ``***`` (p < 0.001) or ``n.s.``.
        p-values are those of the primary metric.
    title : str, default=None

    Returns
    -------
    fig : matplotlib Figure

    Examples
    --------
    >>> from sklearn.dummy import DummyRegressor
    >>> from sklearn.linear_model import Ridge
    >>> from skempathy.datasets import load_wassa
    >>> from skempathy.model_selection import compare_models
    >>> from skempathy.report import plot_scores
    >>> X, y = load_wassa("train", target="distress", return_X_y=True)
    >>> X = X[["iri_personal_distress", "iri_empathic_concern"]]
    >>> result = compare_models({"mean": DummyRegressor(), "ridge": Ridge()}, X, y, cv=3,
    ...                         baseline="mean", n_resamples=100, show_progress=False)
    >>> fig = plot_scores(result)
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['mean\\n(baseline)', 'ridge']
    """
    metric = result.primary_metric if metric is None else metric
    if metric not in result.metric_names:
        raise ValueError(f"Unknown metric {metric!r}; available: {result.metric_names}.")
    models = list(result.predictions)
    if ax is None:
        fig = _new_figure((max(4.0, 1.1 * len(models) + 1.5), 4.0))
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    folds = result.fold_scores[result.fold_scores.metric == metric]
    table = result[result.metric == metric].set_index("model")
    rng = np.random.default_rng(0)
    ymax = -np.inf
    for i, model in enumerate(models):
        values = folds[folds.model == model].score.to_numpy(dtype=float)
        if len(values):
            jitter = rng.uniform(-0.12, 0.12, len(values))
            ax.scatter(
                i + jitter,
                values,
                s=18,
                color="tab:blue",
                alpha=0.6,
                label="fold" if i == 0 else None,
                zorder=2,
            )
            ymax = max(ymax, np.nanmax(values))
        mean, std, pooled = table.loc[model, ["mean", "std", "pooled"]]
        if not np.isnan(mean):
            ax.errorbar(
                i + 0.25,
                mean,
                yerr=0 if np.isnan(std) else std,
                fmt="o",
                color="black",
                capsize=4,
                label="mean ± sd" if i == 0 else None,
                zorder=3,
            )
            ymax = max(ymax, mean + (0 if np.isnan(std) else std))
        if not np.isnan(pooled):
            ax.scatter(
                [i + 0.25],
                [pooled],
                marker="D",
                color="tab:red",
                s=28,
                label="pooled" if i == 0 else None,
                zorder=4,
            )
            ymax = max(ymax, pooled)
        if table.loc[model, "error"]:
            ax.annotate(
                "failed" if not len(values) else "failed\n(some folds)",
                (i, 0.5),
                xycoords=("data", "axes fraction"),
                ha="center",
                color="tab:red",
                fontsize=9,
            )
    if not np.isfinite(ymax):
        ymax = 1.0
    if result.baseline is not None:
        prim = result[result.metric == result.primary_metric].set_index("model")
        for i, model in enumerate(models):
            mark = _stars(float(prim.loc[model, "p_value"]), alpha)
            if mark:
                ax.annotate(
                    mark,
                    (i + 0.1, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(0, -12),
                    textcoords="offset points",
                    ha="center",
                    fontsize=10,
                )
        base_pooled = table.loc[result.baseline, "pooled"]
        if not np.isnan(base_pooled):
            ax.axhline(base_pooled, color="grey", lw=0.8, ls="--", zorder=1)
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels([f"{m}\n(baseline)" if m == result.baseline else m for m in models])
    ymin, _ = ax.get_ylim()
    span = max(ymax - ymin, 1e-6)
    ax.set_ylim(ymin, ymax + 0.15 * span)
    ax.set_ylabel(metric)
    n_folds = len(result.splits)
    if title is None:
        title = f"{metric}, {n_folds}-fold {type(result.cv).__name__}"
        if result.baseline is not None:
            title += f"; marks: p vs {result.baseline} ({result.primary_metric})"
    # wrap to the figure's width: a long title would be cut at both ends
    width_chars = max(int(fig.get_figwidth() * 72 / 6.5), 20)
    ax.set_title(textwrap.fill(title, width_chars), fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


def plot_confusion_matrix(
    y_true, y_pred, *, labels=None, normalize="true", ax=None, title=None, cmap="Blues"
):
    """Normalised confusion matrix of class predictions.

    A thin wrapper of :meth:`sklearn.metrics.ConfusionMatrixDisplay.from_predictions`
    drawing on a headless Figure.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    labels : list, default=None
        Class order (default: sorted union of both).
    normalize : {"true", "pred", "all"} or None, default="true"
        Rows sum to 1 with ``"true"`` (recall on the diagonal).
    ax : matplotlib Axes, default=None
    title : str, default=None
    cmap : str, default="Blues"

    Returns
    -------
    fig : matplotlib Figure

    Examples
    --------
    >>> from skempathy.report import plot_confusion_matrix
    >>> fig = plot_confusion_matrix(["joy", "anger", "joy"], ["joy", "joy", "joy"])
    >>> fig.axes[0].get_xlabel()
    'Predicted label'
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    if normalize not in ("true", "pred", "all", None):
        raise ValueError(f"normalize must be 'true', 'pred', 'all' or None, got {normalize!r}.")
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.shape != y_true.shape:
        raise ValueError(
            f"Expected two 1-D label arrays of equal length, got shapes "
            f"{y_true.shape} and {y_pred.shape}."
        )
    if labels is None:
        labels = sorted(set(y_true.tolist()) | set(y_pred.tolist()), key=str)
    if ax is None:
        size = max(4.0, 0.6 * len(labels) + 2.0)
        fig = _new_figure((size + 1.0, size))
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=labels,
        normalize=normalize,
        ax=ax,
        cmap=cmap,
        values_format=".2f" if normalize else "d",
        xticks_rotation=45,
        colorbar=True,
    )
    if title:
        over = {"true": "gold labels (rows)", "pred": "predictions (columns)", "all": "all"}
        ax.set_title(
            title if not normalize else f"{title} (normalised over {over[normalize]})", fontsize=10
        )
    return fig


def plot_predictions(y_true, y_pred, *, target_names=None, ax=None, title=None):
    """Predicted-vs-gold scatter for each regression target, with Pearson r.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_targets)
    target_names : list of str, default=None
        Panel titles (default: DataFrame/Series names of ``y_true``).
    ax : matplotlib Axes or list of Axes, default=None
        One Axes per target.
    title : str, default=None
        Prefix of the panel titles (e.g. the model name).

    Returns
    -------
    fig : matplotlib Figure

    Examples
    --------
    >>> from skempathy.report import plot_predictions
    >>> fig = plot_predictions([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.5, 4.5])
    >>> fig.axes[0].get_xlabel()
    'gold'
    """
    from skempathy.metrics import pearson_score

    names = target_names
    if names is None:
        if hasattr(y_true, "columns"):
            names = [str(c) for c in y_true.columns]
        elif getattr(y_true, "name", None) is not None:
            names = [str(y_true.name)]
    true = np.asarray(y_true, dtype=float)
    pred = np.asarray(y_pred, dtype=float)
    true = true.reshape(len(true), -1)
    pred = pred.reshape(len(pred), -1)
    if true.shape != pred.shape:
        raise ValueError(f"y_true and y_pred shapes differ: {true.shape} vs {pred.shape}.")
    n_targets = true.shape[1]
    names = names or ([""] if n_targets == 1 else [f"target {j}" for j in range(n_targets)])
    if ax is None:
        fig = _new_figure((4.0 * n_targets, 4.0))
        axes = fig.subplots(1, n_targets, squeeze=False)[0]
    else:
        axes = np.atleast_1d(ax)
        if len(axes) != n_targets:
            raise ValueError(f"Need {n_targets} Axes (one per target), got {len(axes)}.")
        fig = axes[0].figure
    for j, axis in enumerate(axes):
        t, p = true[:, j], pred[:, j]
        ok = ~(np.isnan(t) | np.isnan(p))
        axis.scatter(t[ok], p[ok], s=10, alpha=0.35, color="tab:blue", edgecolors="none")
        lo = float(np.nanmin([t[ok].min(), p[ok].min()])) if ok.any() else 0.0
        hi = float(np.nanmax([t[ok].max(), p[ok].max()])) if ok.any() else 1.0
        axis.plot([lo, hi], [lo, hi], color="grey", lw=0.8, ls="--")
        r = pearson_score(t[ok], p[ok]) if ok.sum() > 2 else float("nan")
        axis.set_xlabel("gold")
        axis.set_ylabel("predicted")
        label = " ".join(x for x in (title, names[j]) if x)
        axis.set_title(f"{label}: r = {r:.3f}, n = {int(ok.sum())}".strip(": "), fontsize=10)
        axis.set_aspect("equal", adjustable="datalim")
    return fig


def save_figure(fig, path, *, dpi=150):
    """Save ``fig`` to ``path``; the format follows the suffix (png, svg, pdf).

    Parameters
    ----------
    fig : matplotlib Figure
        The figure.
    path : str or path-like
        Output file; its suffix picks the format.
    dpi : int, default=150
        Resolution of raster formats.

    Examples
    --------
    >>> import tempfile, os
    >>> from skempathy.report import plot_predictions, save_figure
    >>> fig = plot_predictions([1.0, 2.0, 3.0], [1.0, 2.5, 3.5])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     save_figure(fig, os.path.join(d, "scatter.svg"))
    ...     os.listdir(d)
    ['scatter.svg']
    """
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"Unsupported figure format {fmt!r} in {path!r}; use .png, .svg or .pdf.")
    fig.savefig(path, format=fmt, dpi=dpi)


def figure_to_base64(fig, *, format="png", dpi=110):
    """Encode ``fig`` as a base64 string (for ``<img src="data:...">``).

    Parameters
    ----------
    fig : matplotlib Figure
        The figure.
    format : str, default="png"
        Image format.
    dpi : int, default=110
        Resolution.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format=format, dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")
