"""Self-contained HTML report of a model comparison (plots embedded as base64 PNG)."""

import datetime
import html

import numpy as np

__all__ = ["make_html_report"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1100px;color:#222;line-height:1.4}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.err{color:#b00}.note{color:#555;font-size:0.9em}img{max-width:100%}
details pre{font-size:0.8em;background:#f8f8f8;padding:0.5em;overflow-x:auto}
"""


def _img(fig):
    from ._plots import figure_to_base64

    return f'<img alt="plot" src="data:image/png;base64,{figure_to_base64(fig)}">'


def _table(frame, digits=3):
    return frame.to_html(float_format=lambda v: f"{v:.{digits}f}", na_rep="", border=0, escape=True)


def make_html_report(
    result, *, title="Model comparison", demographics=None, plots=True, **slice_kwargs
):
    """Build a self-contained HTML report of a :class:`ComparisonResult`.

    The page holds the protocol (splitter, folds, groups, baseline,
    resamples), the per-model summary (metrics as mean ± sd over folds and
    pooled, p-values, fit/predict time, peak memory, status), the score plot
    with significance marks, one diagnostic plot per finished model
    (normalised confusion matrix or predicted-vs-gold scatter), per-fold
    details, an optional slice report by demographic group, and the
    tracebacks of failed folds. Plots are PNGs embedded as base64, so the
    file can be mailed or archived alone.

    Parameters
    ----------
    result : ComparisonResult
    title : str, default="Model comparison"
    demographics : DataFrame, default=None
        Row-aligned with the compared ``X``; adds the slice report.
    plots : bool, default=True
        Embed plots (needs matplotlib).
    **slice_kwargs
        Passed to :func:`skempathy.report.slice_report`.

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> from sklearn.dummy import DummyRegressor
    >>> from sklearn.linear_model import Ridge
    >>> from skempathy.datasets import load_wassa
    >>> from skempathy.model_selection import compare_models
    >>> from skempathy.report import make_html_report
    >>> X, y = load_wassa("dev", target="empathy", return_X_y=True)
    >>> X = X[["iri_empathic_concern", "iri_perspective_taking"]]
    >>> result = compare_models({"mean": DummyRegressor(), "ridge": Ridge()}, X, y, cv=3,
    ...                         show_progress=False)
    >>> page = make_html_report(result, plots=False)
    >>> page.startswith("<!DOCTYPE html>") and "ridge" in page
    True
    """
    import skempathy

    esc = html.escape
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{esc(title)}</h1>"
    ]
    n_samples = int(sum(len(test) for _, test in result.splits))
    groups = result.groups
    protocol = {
        "task": result.task,
        "samples tested": n_samples,
        "folds": f"{len(result.splits)} × {type(result.cv).__name__} ({result.cv!r})",
        "groups": (
            "none (samples split independently)"
            if groups is None
            else f"{len(np.unique(groups))} groups; no group straddles train and test"
            if _no_leak(result)
            else f"{len(np.unique(groups))} groups; LEAKAGE"
        ),
        "primary metric": result.primary_metric,
        "baseline": result.baseline or "none (no significance tests)",
        "significance": (
            ""
            if result.baseline is None
            else f"paired bootstrap, {result.n_resamples} resamples of 30% of the "
            "pooled out-of-fold predictions; p = P(model beats baseline by chance)"
        ),
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        + f", skempathy {skempathy.__version__}",
    }
    parts.append(
        "<h2>Protocol</h2><table>"
        + "".join(
            f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in protocol.items() if v
        )
        + "</table>"
    )
    parts.append("<h2>Summary</h2>")
    parts.append(_table(result.summary()))
    parts.append(
        "<p class='note'>mean ± std over folds; <i>pooled</i>: the metric on all "
        "out-of-fold predictions; fit/predict time: mean seconds per fold; peak memory: "
        "largest growth of the process's resident set during a fold (MiB, sampled "
        "every 10 ms; a lower bound, memory reused from earlier fits does not "
        "show).</p>"
    )
    finished = [
        m
        for m in result.predictions
        if (result.fold_info[result.fold_info.model == m].error == "").all()
    ]
    if plots:
        parts.append("<h2>Scores</h2>")
        parts.append(_img(result.plot("scores")))
        kind = "confusion" if result.task == "classification" else "predictions"
        if result.task == "classification" and np.asarray(result.y_true).ndim != 1:
            kind = None
        if kind and finished:
            heading = (
                "Confusion matrices (normalised over gold labels)"
                if kind == "confusion"
                else "Predicted vs gold (out-of-fold)"
            )
            parts.append(f"<h2>{heading}</h2>")
            for model in finished:
                parts.append(f"<h3>{esc(model)}</h3>" + _img(result.plot(kind, model=model)))
    if demographics is not None:
        parts.append("<h2>Slices by demographic group</h2>")
        slices = result.slice_report(demographics, models=finished, **slice_kwargs)
        parts.append(
            "<p class='note'>Out-of-fold scores per group; groups below "
            f"{slice_kwargs.get('min_count', 20)} essays get no score.</p>"
        )
        parts.append(_table(slices))
    parts.append("<h2>Per fold</h2>")
    wide = result.fold_scores.pivot_table(
        index=["model", "fold"], columns="metric", values="score", sort=False
    )
    info = result.fold_info.set_index(["model", "fold"])
    parts.append(_table(info.join(wide)))
    failed = result.fold_info[result.fold_info.error != ""]
    if len(failed):
        parts.append("<h2 class='err'>Failures</h2>")
        for _, rec in failed.iterrows():
            tb = result.tracebacks.get((rec.model, rec.fold), "")
            parts.append(
                f"<details><summary class='err'>{esc(rec.model)}, fold {rec.fold}: "
                f"{esc(rec.error)}</summary><pre>{esc(tb)}</pre></details>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def _no_leak(result):
    groups = np.asarray(result.groups)
    return all(len(np.intersect1d(groups[tr], groups[te])) == 0 for tr, te in result.splits)
