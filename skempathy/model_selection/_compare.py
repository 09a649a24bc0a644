"""Cross-validated comparison of many estimators on identical folds."""

import numbers
import time
import traceback
import warnings

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning
from sklearn.utils.parallel import Parallel, delayed

from ..utils._routing import consumes
from ..utils._sklearn_compat import Interval, _num_samples, _safe_indexing, validate_params
from ..utils._warm import restore_warm_states, warm_states
from ._memory import PeakRSS
from ._result import ComparisonResult
from ..metrics._task import infer_task, resolve_metrics
from ._split import check_group_cv, check_no_group_leakage, make_splits, resolve_groups

__all__ = ["compare_models"]


def _fit_and_predict(
    name, fold, estimator, X, y, train, test, measure_memory, embeddings, groups=None
):
    """Fit a clone on ``train`` (with the training rows' ``groups`` when the estimator
    requests them) and predict ``test``; never raises."""
    restore_warm_states(embeddings)  # encoded once by the caller (a no-op in its own process)
    out = {
        "model": name,
        "fold": fold,
        "prediction": None,
        "fit_time": np.nan,
        "predict_time": np.nan,
        "peak_memory_mb": np.nan,
        "error": "",
    }
    mem = PeakRSS() if measure_memory else None
    stage = "fit"
    try:
        X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
        X_test = _safe_indexing(X, test)
        est = clone(estimator)
        if mem is not None:
            mem.__enter__()
        try:
            start = time.perf_counter()
            if groups is None:
                est.fit(X_train, y_train)
            else:  # routed to whichever step or member requests them
                with config_context(enable_metadata_routing=True):
                    est.fit(X_train, y_train, groups=_safe_indexing(groups, train))
            out["fit_time"] = time.perf_counter() - start
            stage = "predict"
            start = time.perf_counter()
            pred = est.predict(X_test)
            out["predict_time"] = time.perf_counter() - start
        finally:
            if mem is not None:
                mem.__exit__(None, None, None)
                out["peak_memory_mb"] = mem.peak_mb
        pred = np.asarray(pred)
        expected = len(test)
        if _num_samples(pred) != expected:
            raise ValueError(
                f"predict returned {_num_samples(pred)} predictions for {expected} samples"
            )
        out["prediction"] = pred
    except Exception as exc:  # reported, the other models go on
        out["error"] = f"{stage} failed: {type(exc).__name__}: {exc}"
        out["traceback"] = traceback.format_exc()
    return out


def _completion_order():
    """``return_as`` of the active joblib backend: results as they finish where it
    can (the progress bar moves with them), else in submission order (Ray's
    multiprocessing-based backend yields nothing unordered)."""
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    return "generator_unordered" if getattr(backend, "supports_return_generator", False) else "list"


def _check_estimators(estimators):
    if not estimators:
        raise ValueError("estimators must be a non-empty dict name -> estimator.")
    for name, est in estimators.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"estimator names must be non-empty strings, got {name!r}.")
        if not (hasattr(est, "fit") and hasattr(est, "predict")):
            raise TypeError(
                f"estimators[{name!r}] must be an estimator with fit and predict, got "
                f"{type(est).__name__}."
            )


def _check_lengths(X, y):
    n_x = _num_samples(X)
    n_y = _num_samples(y)
    if n_x != n_y:
        raise ValueError(
            f"X has {n_x} samples but y has {n_y}; they must be row-aligned (same essays)."
        )
    if n_x < 2:
        raise ValueError(f"Need at least 2 samples to cross-validate, got {n_x}.")
    return n_x


def _empty_predictions(y, task):
    y_arr = np.asarray(y)
    if task == "regression" or y_arr.dtype.kind in "fc":
        return np.full(y_arr.shape, np.nan, dtype=float)
    return np.full(y_arr.shape, None, dtype=object)


@validate_params(
    {
        "estimators": [dict],
        "X": ["array-like"],
        "y": ["array-like"],
        "cv": ["cv_object"],
        "groups": ["array-like", str, None],
        "scoring": [str, list, tuple, dict, callable, None],
        "n_jobs": [numbers.Integral, None],
        "baseline": [str, None],
        "n_resamples": [Interval(numbers.Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "show_progress": ["boolean"],
        "measure_memory": ["boolean"],
    },
    prefer_skip_nested_validation=False,
)
def _one_constant_if_fold_constant(pred, splits):
    """``pred`` with each numeric column that is constant within every test fold
    replaced by the mean of those constants (a copy; other columns unchanged).

    Pooling such a column would correlate the fold means with the gold labels
    (a leave-fold-out mean is anti-correlated with the fold's own mean), which
    gives a constant predictor a non-zero pooled Pearson r.
    """
    if pred.dtype.kind not in "fiu":
        return pred
    values = pred.reshape(len(pred), -1).astype(float)
    tested = np.concatenate([test for _, test in splits])
    out = None
    for j in range(values.shape[1]):
        column = values[:, j]
        if all(np.ptp(column[test]) == 0 for _, test in splits if len(test)):
            out = values.copy() if out is None else out
            out[:, j] = column[tested].mean()
    return pred if out is None else out.reshape(pred.shape)


def compare_models(
    estimators,
    X,
    y,
    *,
    cv=None,
    groups=None,
    scoring=None,
    n_jobs=None,
    baseline=None,
    n_resamples=1000,
    random_state=None,
    show_progress=True,
    measure_memory=True,
):
    """Cross-validate several estimators on identical folds and compare them.

    Every estimator is cloned and fitted on the same folds (computed once).
    Out-of-fold predictions are kept, the task's metrics are computed per fold
    and pooled over all out-of-fold predictions, and each model is tested
    against ``baseline`` with a paired bootstrap on the pooled predictions.
    A model that fails on a fold is reported with its error; the others
    still finish.

    Parameters
    ----------
    estimators : dict of str -> estimator
        Named unfitted estimators (pipelines included). Clones are fitted, the
        originals are left untouched, so caches shared across clones (e.g. the
        embedding cache of :class:`skempathy.text.SentenceEmbedder`) are
        reused by every model and fold of the comparison.
    X : array-like or DataFrame of shape (n_samples, ...)
        Inputs, e.g. ``load_wassa("train").data`` or a list of texts.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Targets: scores (regression; one column per target for
        multi-output) or class labels.
    cv : int, cross-validation splitter or iterable, default=None
        None means 5 folds. With ``groups``, an int gives ``GroupKFold``
        (regression) or ``StratifiedGroupKFold`` (classification); without,
        ``KFold`` / ``StratifiedKFold``. Test folds must not overlap (each
        sample gets one out-of-fold prediction), so ``ShuffleSplit`` and
        repeated splitters are refused.
    groups : array-like of shape (n_samples,) or str, default=None
        Group labels, or the name of a column of the DataFrame ``X``. For
        WASSA pass the writer id (``load_wassa(...).groups``): every writer
        wrote 5 essays with identical demographics, so ungrouped folds leak.
        A splitter that lets a group straddle train and test triggers a
        warning.
    scoring : None, str, list of str, callable or dict, default=None
        None: the official WASSA metrics of the task
        (:func:`skempathy.metrics.wassa_evaluate`); the primary one is
        ``pearson`` (one target), ``average_pearson`` (several) or
        ``macro_f1`` (classification). Otherwise metric names (official names
        or :func:`skempathy.metrics.get_scorer` names that use ``predict``),
        a function ``metric(y_true, y_pred) -> float`` (higher is better) or
        a dict name -> name/function. The first metric is the primary one,
        used for p-values and plots.
    n_jobs : int, default=None
        Number of (model, fold) fits run in parallel with joblib. In-memory
        embedding caches are per process, so keep None (sequential) when
        models share an embedder.
    baseline : str, default=None
        Name of the reference model. Every other model gets the p-value of a
        paired bootstrap (:func:`skempathy.metrics.bootstrap_test`) of the
        hypothesis that it beats the baseline on the primary metric, on the
        pooled out-of-fold predictions; with ``groups`` it resamples whole
        groups (writers), not single essays. None: no tests. A regression
        model whose predictions are constant within every test fold (such
        as ``DummyRegressor``) is pooled as one constant, the mean of its
        fold constants: its pooled Pearson r is then 0 like each fold's,
        rather than an artefact of the fold means differing, and p-values
        are measured against that.
    n_resamples : int, default=1000
        Bootstrap resamples per test; 0 skips the tests.
    random_state : int, RandomState instance or None, default=None
        Seeds the group-to-fold shuffle of an int ``cv`` (None keeps sklearn's
        deterministic assignment) and the bootstrap.
    show_progress : bool, default=True
        Show a tqdm progress bar over models x folds.
    measure_memory : bool, default=True
        Record ``peak_memory_mb``: the peak growth of the process's resident
        set size during fit + predict of each fold, sampled every 10 ms. It
        includes native memory (torch, xgboost) but misses memory reused from
        earlier fits, so it is a lower bound; max over folds is reported.

    Returns
    -------
    result : ComparisonResult
        A tidy DataFrame, one row per (model, metric), with columns ``model``,
        ``metric``, ``mean``, ``std`` (over folds), ``pooled`` (on all
        out-of-fold predictions), ``p_value`` (vs baseline, primary metric
        only), ``n_folds`` (folds that succeeded), ``fit_time`` and
        ``predict_time`` (mean seconds per fold), ``peak_memory_mb`` and
        ``error``. Per-fold scores, out-of-fold predictions and the folds
        are attributes; ``to_markdown()``, ``to_html()``, ``plot()`` and
        ``slice_report()`` build reports.

    Raises
    ------
    ValueError
        Mismatched lengths of X, y and groups, a missing groups column, an
        unknown scoring name or baseline, overlapping test folds.

    See Also
    --------
    ComparisonResult : the returned table and its reports.
    check_group_cv : the default splitter.

    Examples
    --------
    >>> from sklearn.dummy import DummyRegressor
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.pipeline import make_pipeline
    >>> from skempathy.datasets import load_wassa
    >>> from skempathy.model_selection import compare_models
    >>> wassa = load_wassa("train")
    >>> models = {"mean": DummyRegressor(),
    ...           "tfidf+ridge": make_pipeline(TfidfVectorizer(), Ridge())}
    >>> result = compare_models(models, wassa.data["essay"], wassa.target["empathy"],
    ...                         groups=wassa.groups, baseline="mean", n_resamples=200,
    ...                         random_state=0, show_progress=False)
    >>> result[["model", "metric", "n_folds"]]
             model   metric  n_folds
    0         mean  pearson        5
    1  tfidf+ridge  pearson        5
    >>> bool(result.loc[1, "p_value"] < 0.05)
    True
    """
    _check_estimators(estimators)
    if baseline is not None and baseline not in estimators:
        raise ValueError(f"baseline {baseline!r} is not one of the estimators {list(estimators)}.")
    n_samples = _check_lengths(X, y)
    groups = resolve_groups(groups, X, n_samples)
    task = infer_task(y, list(estimators.values()))
    metrics = resolve_metrics(scoring, task, y)

    from sklearn.utils.multiclass import type_of_target

    stratify = task == "classification" and type_of_target(y) in ("binary", "multiclass")
    splitter = check_group_cv(
        cv, y if stratify else None, groups=groups, classifier=stratify, random_state=random_state
    )
    splits = make_splits(splitter, X, y if stratify else None, groups)
    tested = np.concatenate([test for _, test in splits])
    if len(np.unique(tested)) != len(tested):
        raise ValueError(
            f"The test folds of {splitter!r} overlap; compare_models needs each sample in at "
            "most one test fold (KFold, GroupKFold, ...), not ShuffleSplit or repeated "
            "splitters."
        )
    if groups is not None:
        check_no_group_leakage(splits, groups, raise_error=False)

    jobs = [(name, k) for name in estimators for k in range(len(splits))]
    embeddings = warm_states(estimators.values(), X)
    # groups also reach the fit of estimators that request them (the early-stopping split of
    # a fine-tuned model holds out whole writers)
    fit_groups = {
        name: np.asarray(groups) if groups is not None and consumes(est, "fit", "groups") else None
        for name, est in estimators.items()
    }
    parallel = Parallel(n_jobs=n_jobs, return_as=_completion_order())
    outputs = parallel(
        delayed(_fit_and_predict)(
            name,
            k,
            estimators[name],
            X,
            y,
            *splits[k],
            measure_memory,
            embeddings,
            fit_groups[name],
        )
        for name, k in jobs
    )
    from ..utils._progress import progress_bar

    records = []
    with progress_bar(
        total=len(jobs), desc="compare_models", unit="fit", enabled=show_progress
    ) as bar:
        for out in outputs:
            records.append(out)
            bar.set_postfix_str(f"{out['model']} fold {out['fold']}")
            bar.update()
    records.sort(key=lambda r: (list(estimators).index(r["model"]), r["fold"]))

    predictions = {name: _empty_predictions(y, task) for name in estimators}
    fold_rows, info_rows = [], []
    for rec in records:
        name, k = rec["model"], rec["fold"]
        _, test = splits[k]
        if not rec["error"]:
            pred = rec["prediction"]
            oof = predictions[name]
            if oof.dtype == object and pred.dtype != object:
                oof[test] = pred.astype(object)
            else:
                oof[test] = pred.reshape(oof[test].shape)
            try:
                scores = metrics(_safe_indexing(y, test), pred)
            except Exception as exc:
                rec["error"] = f"scoring failed: {type(exc).__name__}: {exc}"
                scores = {}
            for metric, value in scores.items():
                fold_rows.append({"model": name, "fold": k, "metric": metric, "score": value})
        info_rows.append(
            {
                key: rec[key]
                for key in ("model", "fold", "fit_time", "predict_time", "peak_memory_mb", "error")
            }
            | {"n_train": len(splits[k][0]), "n_test": len(test)}
        )
    fold_scores = pd.DataFrame(fold_rows, columns=["model", "fold", "metric", "score"])
    fold_info = pd.DataFrame(
        info_rows,
        columns=[
            "model",
            "fold",
            "n_train",
            "n_test",
            "fit_time",
            "predict_time",
            "peak_memory_mb",
            "error",
        ],
    )

    covered = np.sort(tested)
    y_cov = _safe_indexing(y, covered)
    complete = {
        name: not (fold_info.loc[fold_info.model == name, "error"] != "").any()
        for name in estimators
    }
    for name in estimators:
        if complete[name] and predictions[name].dtype == object:
            try:
                predictions[name] = predictions[name].astype(np.asarray(y).dtype)
            except (TypeError, ValueError):
                pass
        failed = fold_info[(fold_info.model == name) & (fold_info.error != "")]
        if len(failed):
            warnings.warn(
                f"{len(failed)} of {len(splits)} folds of {name!r} failed; its pooled scores "
                f"and p-value are NaN. First error: {failed.error.iloc[0]}",
                FitFailedWarning,
                stacklevel=3,
            )

    # What pooled scores and the bootstrap see: fold-constant columns (a mean
    # baseline) become one constant, see _one_constant_if_fold_constant.
    scored = {
        name: _one_constant_if_fold_constant(predictions[name], splits)
        if complete[name]
        else predictions[name]
        for name in estimators
    }
    pooled = {}
    for name in estimators:
        if complete[name]:
            try:
                pooled[name] = metrics(y_cov, scored[name][covered])
            except Exception as exc:
                pooled[name] = {}
                fold_info.loc[fold_info.model == name, "error"] = (
                    f"scoring failed: {type(exc).__name__}: {exc}"
                )
                complete[name] = False
    p_values = {}
    if baseline is not None and n_resamples > 0 and complete[baseline]:
        from skempathy.metrics import bootstrap_test

        y_np = np.asarray(y)[covered]
        primary = metrics.primary

        def primary_metric(y_true, y_pred):
            return metrics.score(primary, y_true, y_pred)

        for name in estimators:
            if name == baseline or not complete[name]:
                continue
            # whole writers are resampled when groups are known (their essays correlate)
            res = bootstrap_test(
                y_np,
                scored[name][covered],
                scored[baseline][covered],
                primary_metric,
                n_resamples=n_resamples,
                groups=None if groups is None else np.asarray(groups)[covered],
                random_state=random_state,
            )
            p_values[name] = float(res.p_value)

    rows = []
    for name in estimators:
        info = fold_info[fold_info.model == name]
        errors = info.error[info.error != ""]
        for metric in metrics.names:
            scores = fold_scores[(fold_scores.model == name) & (fold_scores.metric == metric)]
            values = scores.score.to_numpy(dtype=float)
            rows.append(
                {
                    "model": name,
                    "metric": metric,
                    "mean": float(np.mean(values)) if len(values) else np.nan,
                    "std": float(np.std(values, ddof=1)) if len(values) > 1 else np.nan,
                    "pooled": pooled.get(name, {}).get(metric, np.nan),
                    "p_value": p_values.get(name, np.nan) if metric == metrics.primary else np.nan,
                    "n_folds": int(len(info) - len(errors)),
                    "fit_time": float(info.fit_time.mean()),
                    "predict_time": float(info.predict_time.mean()),
                    "peak_memory_mb": float(info.peak_memory_mb.max()),
                    "error": errors.iloc[0] if len(errors) else "",
                }
            )
    result = ComparisonResult(rows, columns=ComparisonResult.COLUMNS)
    result._set_details(
        fold_scores=fold_scores,
        fold_info=fold_info,
        predictions=predictions,
        y_true=y,
        splits=splits,
        groups=groups,
        task=task,
        primary_metric=metrics.primary,
        metric_names=metrics.names,
        baseline=baseline,
        cv=splitter,
        n_resamples=n_resamples,
        tracebacks={(r["model"], r["fold"]): r["traceback"] for r in records if "traceback" in r},
    )
    return result
