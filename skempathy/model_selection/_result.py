"""The table returned by :func:`compare_models` and its reports."""

import io
import os

import numpy as np
import pandas as pd

__all__ = ["ComparisonResult"]

_DETAILS = [
    "fold_scores",
    "fold_info",
    "predictions",
    "y_true",
    "splits",
    "groups",
    "task",
    "primary_metric",
    "metric_names",
    "baseline",
    "cv",
    "n_resamples",
    "tracebacks",
]


class ComparisonResult(pd.DataFrame):
    """Tidy results of :func:`compare_models`: one row per (model, metric).

    A :class:`pandas.DataFrame` (filter, pivot and ``to_csv`` it as usual) that
    also keeps what the reports need. Selections and other pandas operations
    return plain DataFrames.

    The columns:

    - ``model``, ``metric`` (str);
    - ``mean``, ``std`` (float): mean and standard deviation (ddof=1) of the
      metric over folds;
    - ``pooled`` (float): the metric on all out-of-fold predictions at once;
    - ``p_value`` (float): paired-bootstrap p-value that the model beats the
      baseline (primary metric only; NaN for the baseline, other metrics, or
      without baseline);
    - ``n_folds`` (int): folds that succeeded;
    - ``fit_time``, ``predict_time`` (float): mean seconds per fold;
    - ``peak_memory_mb`` (float): largest peak growth of the resident set over
      folds (MiB);
    - ``error`` (str): first error of a failed fold, else "".

    Attributes
    ----------
    fold_scores : DataFrame
        Long table ``model, fold, metric, score``.
    fold_info : DataFrame
        Per model and fold: ``n_train, n_test, fit_time, predict_time,
        peak_memory_mb, error``.
    predictions : dict of str -> ndarray
        Out-of-fold predictions per model, aligned with ``y_true`` (NaN/None
        where a fold failed).
    y_true : array-like
        The targets passed in.
    splits : list of (train, test) index arrays
        The folds every model used.
    groups : ndarray or None
        Group labels used for splitting.
    task : {"regression", "classification"}
    primary_metric : str
    metric_names : list of str
    baseline : str or None
    cv : splitter
    n_resamples : int
    tracebacks : dict of (model, fold) -> str
        Full tracebacks of failed folds.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skempathy.datasets import load_wassa
    >>> from skempathy.model_selection import compare_models
    >>> X, y = load_wassa("train", target="emotion", return_X_y=True)
    >>> X = X[["personality_openness", "iri_empathic_concern", "age"]]
    >>> models = {"majority": DummyClassifier(), "logreg": LogisticRegression(max_iter=1000)}
    >>> result = compare_models(models, X, y, cv=3, show_progress=False, baseline="majority",
    ...                         n_resamples=100, random_state=0)
    >>> result.summary().index.tolist()
    ['majority', 'logreg']
    >>> print(result.to_markdown().splitlines()[0])  # doctest: +ELLIPSIS
    | model | macro_f1 (mean ± sd) | macro_f1 pooled | micro_f1 pooled | ...
    """

    _metadata = ["_details"]
    COLUMNS = [
        "model",
        "metric",
        "mean",
        "std",
        "pooled",
        "p_value",
        "n_folds",
        "fit_time",
        "predict_time",
        "peak_memory_mb",
        "error",
    ]

    @property
    def _constructor(self):
        return pd.DataFrame

    def _set_details(self, **details):
        object.__setattr__(self, "_details", details)

    def __getattr__(self, name):
        if name in _DETAILS:
            details = object.__getattribute__(self, "__dict__").get("_details")
            if details is None:
                raise AttributeError(f"{name!r}: this ComparisonResult has no details")
            return details[name]
        return super().__getattr__(name)

    def __reduce__(self):  # pickle the table and the details together
        return (_rebuild, (pd.DataFrame(self), self.__dict__.get("_details")))

    # ------------------------------------------------------------------ tables
    def summary(self, metric=None):
        """One row per model: scores of every metric, p-value, cost, status.

        Parameters
        ----------
        metric : str or list of str, default=None
            Metrics to include (default: all, primary first).

        Returns
        -------
        DataFrame indexed by model.
        """
        frame = pd.DataFrame(self)
        metrics = (
            self.metric_names
            if metric is None
            else ([metric] if isinstance(metric, str) else list(metric))
        )
        unknown = [m for m in metrics if m not in self.metric_names]
        if unknown:
            raise ValueError(f"Unknown metric {unknown[0]!r}; available: {self.metric_names}.")
        models = list(dict.fromkeys(frame.model))
        out = pd.DataFrame(index=pd.Index(models, name="model"))
        for m in metrics:
            sub = frame[frame.metric == m].set_index("model").reindex(models)
            out[f"{m}_mean"] = sub["mean"]
            out[f"{m}_std"] = sub["std"]
            out[f"{m}_pooled"] = sub["pooled"]
        first = frame.drop_duplicates("model").set_index("model").reindex(models)
        prim = frame[frame.metric == self.primary_metric].set_index("model").reindex(models)
        out["p_value"] = prim["p_value"]
        for col in ("n_folds", "fit_time", "predict_time", "peak_memory_mb", "error"):
            out[col] = first[col]
        return out

    def best_model(self, metric=None, *, pooled=True):
        """Name of the model with the highest (pooled or mean) ``metric``."""
        metric = self.primary_metric if metric is None else metric
        frame = pd.DataFrame(self)
        sub = frame[frame.metric == metric]
        if sub.empty:
            raise ValueError(f"Unknown metric {metric!r}; available: {self.metric_names}.")
        col = "pooled" if pooled else "mean"
        if sub[col].isna().all():
            raise ValueError(f"No model has a {col} {metric!r} score.")
        return sub.loc[sub[col].idxmax(), "model"]

    def to_markdown(self, buf=None, *, metric=None, digits=3):
        """The per-model summary as a Markdown table.

        Columns: the primary metric as ``mean ± sd`` over folds and pooled
        over all out-of-fold predictions, the other metrics pooled, the
        p-value against the baseline, mean fit / predict seconds per fold,
        peak memory and the status (``ok`` or the error).

        Parameters
        ----------
        buf : str, path or file-like, default=None
            Where to write; None returns the string.
        metric : str or list of str, default=None
            Metrics to show (default: all; the first gets mean ± sd).
        digits : int, default=3
            Decimals of scores.

        Returns
        -------
        str or None
        """
        metrics = (
            self.metric_names
            if metric is None
            else ([metric] if isinstance(metric, str) else list(metric))
        )
        summary = self.summary(metrics)
        base = self.baseline
        first = metrics[0]
        header = ["model", f"{first} (mean ± sd)", f"{first} pooled"]
        header += [f"{m} pooled" for m in metrics[1:]]
        if base is not None:
            header.append(f"p vs {base}")
        header += ["fit s/fold", "predict s/fold", "peak MiB", "status"]
        lines = [
            "| " + " | ".join(header) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(header) - 2) + ["---"]) + "|",
        ]

        def num(value, nd=digits):
            return "" if pd.isna(value) else f"{value:.{nd}f}"

        for model, row in summary.iterrows():
            cells = [f"{model} (baseline)" if model == base else model]
            mean, std = row[f"{first}_mean"], row[f"{first}_std"]
            cells.append(
                ""
                if pd.isna(mean)
                else f"{mean:.{digits}f} ± {num(std)}"
                if not pd.isna(std)
                else f"{mean:.{digits}f}"
            )
            cells += [num(row[f"{m}_pooled"]) for m in metrics]
            if base is not None:
                p = row["p_value"]
                cells.append(
                    ""
                    if pd.isna(p) or first != self.primary_metric
                    else _format_p(p, self.n_resamples)
                )
            cells += [num(row.fit_time, 2), num(row.predict_time, 2), num(row.peak_memory_mb, 0)]
            cells.append(
                "ok"
                if not row.error
                else f"failed {len(self.splits) - int(row.n_folds)}/{len(self.splits)} "
                f"folds: {row.error}".replace("|", "/").replace("\n", " ")
            )
            lines.append("| " + " | ".join(cells) + " |")
        text = "\n".join(lines) + "\n"
        return _write(text, buf)

    def to_html(
        self, buf=None, *, title="Model comparison", demographics=None, plots=True, **slice_kwargs
    ):
        """A self-contained HTML report (tables and base64-embedded PNG plots).

        Parameters
        ----------
        buf : str, path or file-like, default=None
            Where to write; None returns the HTML string.
        title : str, default="Model comparison"
        demographics : DataFrame, default=None
            Row-aligned with ``X``; adds the slice report by demographic group.
        plots : bool, default=True
            Embed the score plot and each model's confusion matrix / scatter.
        **slice_kwargs
            Passed to :func:`skempathy.report.slice_report`.

        Returns
        -------
        str or None

        See Also
        --------
        skempathy.report.make_html_report
        """
        from skempathy.report import make_html_report

        text = make_html_report(
            self, title=title, demographics=demographics, plots=plots, **slice_kwargs
        )
        return _write(text, buf)

    def _repr_html_(self):
        return pd.DataFrame(self)._repr_html_()

    # ------------------------------------------------------------------ plots
    def plot(self, kind="scores", *, metric=None, model=None, ax=None, **kwargs):
        """Plot the comparison (matplotlib; returns the Figure).

        Parameters
        ----------
        kind : {"scores", "confusion", "predictions"}, default="scores"
            ``"scores"``: metric per model with fold spread and significance
            marks (:func:`skempathy.report.plot_scores`). ``"confusion"``:
            normalised confusion matrix of ``model`` (classification).
            ``"predictions"``: predicted-vs-gold scatter of ``model``
            (regression).
        metric : str, default=None
            Metric of ``"scores"`` (default: primary).
        model : str, default=None
            Model for the other kinds (default: the best by pooled primary
            metric).
        ax : matplotlib Axes, default=None
        **kwargs
            Passed to the plotting function.
        """
        from skempathy import report

        if kind == "scores":
            return report.plot_scores(self, metric=metric, ax=ax, **kwargs)
        if kind not in ("confusion", "predictions"):
            raise ValueError(f"kind must be 'scores', 'confusion' or 'predictions', got {kind!r}.")
        model = self.best_model() if model is None else model
        if model not in self.predictions:
            raise ValueError(f"Unknown model {model!r}; models: {list(self.predictions)}.")
        y_true, y_pred = self.oof(model)
        if kind == "confusion":
            if self.task != "classification":
                raise ValueError(
                    "kind='confusion' needs a classification comparison; use "
                    "kind='predictions' for regression."
                )
            return report.plot_confusion_matrix(y_true, y_pred, ax=ax, title=model, **kwargs)
        if self.task != "regression":
            raise ValueError(
                "kind='predictions' needs a regression comparison; use "
                "kind='confusion' for classification."
            )
        # pooled as the table pools it: a predictor constant within every fold is one
        # constant, so the panel's r is the table's (0 for a mean baseline)
        from ._compare import _one_constant_if_fold_constant

        pooled = _one_constant_if_fold_constant(self.predictions[model], self.splits)
        y_pred = pooled[self.tested_indices()]
        return report.plot_predictions(y_true, y_pred, ax=ax, title=model, **kwargs)

    def tested_indices(self):
        """Sorted positions of the samples that some fold tested (the rows of :meth:`oof`)."""
        return np.sort(np.concatenate([test for _, test in self.splits]))

    def oof_groups(self):
        """Groups of the rows of :meth:`oof` (None without groups), e.g. for
        ``bootstrap_test(..., groups=result.oof_groups())``."""
        return None if self.groups is None else np.asarray(self.groups)[self.tested_indices()]

    def oof(self, model):
        """Gold and out-of-fold predictions of ``model`` on the tested samples.

        Returns
        -------
        y_true, y_pred : array-like
            ``y_true`` keeps its pandas type (column names).
        """
        from ..utils._sklearn_compat import _safe_indexing

        if model not in self.predictions:
            raise ValueError(f"Unknown model {model!r}; models: {list(self.predictions)}.")
        covered = self.tested_indices()
        return _safe_indexing(self.y_true, covered), self.predictions[model][covered]

    def slice_report(self, demographics, *, models=None, **kwargs):
        """Metrics of each model's out-of-fold predictions per demographic group.

        Parameters
        ----------
        demographics : DataFrame
            Row-aligned with ``X`` (e.g. ``load_wassa("train").data``).
        models : list of str, default=None
            Models to report (default: all that finished).
        **kwargs
            Passed to :func:`skempathy.report.slice_report` (``columns``,
            ``bins``, ``codebooks``, ``scoring``, ``min_count``). The
            comparison's groups are passed on, giving an ``n_groups`` column.

        Returns
        -------
        DataFrame with a leading ``model`` column.
        """
        from ..utils._sklearn_compat import _safe_indexing

        from skempathy.report import slice_report

        if len(demographics) != len(np.asarray(self.y_true)):
            raise ValueError(
                f"demographics has {len(demographics)} rows but y has "
                f"{len(np.asarray(self.y_true))}; pass the frame row-aligned with X."
            )
        demo = _safe_indexing(demographics, self.tested_indices())
        if models is None:
            models = [
                m
                for m in self.predictions
                if (self.fold_info[self.fold_info.model == m].error == "").all()
            ]
        frames = []
        for model in models:
            y_true, y_pred = self.oof(model)
            kwargs.setdefault("scoring", None)
            if self.groups is not None:
                kwargs.setdefault("groups", self.oof_groups())
            table = slice_report(y_true, y_pred, demo, **kwargs)
            table.insert(0, "model", model)
            frames.append(table)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _rebuild(frame, details):
    result = ComparisonResult(frame)
    if details is not None:
        result._set_details(**details)
    return result


def _format_p(p, n_resamples):
    if n_resamples and p < 1.0 / n_resamples:
        return f"<{1.0 / n_resamples:.3g}"
    return f"{p:.3f}"


def _write(text, buf):
    if buf is None:
        return text
    if isinstance(buf, (str, os.PathLike)):
        with open(buf, "w", encoding="utf-8") as fh:
            fh.write(text)
        return None
    if isinstance(buf, io.TextIOBase) or hasattr(buf, "write"):
        buf.write(text)
        return None
    raise TypeError(f"buf must be a path or a writable file, got {type(buf).__name__}.")
