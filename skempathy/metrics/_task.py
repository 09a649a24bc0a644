"""Turn a ``scoring`` argument into functions of ``(y_true, y_pred)``.

Model comparison scores *out-of-fold predictions* (per fold, pooled, and on
bootstrap resamples), so every metric must be a function of predictions rather
than an sklearn scorer of a fitted estimator. Official WASSA metrics come from
:func:`skempathy.metrics.wassa_evaluate`; other names go through
:func:`skempathy.metrics.get_scorer`.
"""

import numpy as np
import pandas as pd

__all__ = ["MetricSet", "resolve_metrics", "infer_task"]

OFFICIAL_REGRESSION = ("pearson", "empathy_pearson", "distress_pearson", "average_pearson")
OFFICIAL_CLASSIFICATION = (
    "macro_f1",
    "micro_f1",
    "accuracy",
    "macro_precision",
    "macro_recall",
    "micro_precision",
    "micro_recall",
)


def infer_task(y, estimators=()):
    """``"regression"`` or ``"classification"`` from the target (and estimator types).

    Integer targets (e.g. ratings 1-7) count as regression when every
    estimator is a regressor.
    """
    from sklearn.base import is_regressor
    from sklearn.utils.multiclass import type_of_target

    kind = type_of_target(y, input_name="y")
    if kind in ("continuous", "continuous-multioutput"):
        return "regression"
    if kind in ("binary", "multiclass", "multilabel-indicator"):
        numeric = np.issubdtype(np.asarray(y).dtype, np.number)
        if numeric and estimators and all(is_regressor(est) for est in estimators):
            return "regression"
        return "classification"
    raise ValueError(
        f"Unsupported target type {kind!r}: expected continuous scores (1-D or one column per "
        "target) or class labels (1-D) or a multilabel indicator matrix."
    )


def _as_like(y_true, y_pred):
    """Give predictions the pandas type, index and columns of ``y_true``."""
    if isinstance(y_true, pd.DataFrame):
        return pd.DataFrame(
            np.asarray(y_pred).reshape(len(y_true), -1), columns=y_true.columns, index=y_true.index
        )
    if isinstance(y_true, pd.Series):
        return pd.Series(
            np.asarray(y_pred).reshape(len(y_true)), name=y_true.name, index=y_true.index
        )
    return np.asarray(y_pred)


class MetricSet:
    """Named metrics of ``(y_true, y_pred)``; the first is the primary metric.

    Parameters
    ----------
    funcs : dict of str -> callable or None
        Metric functions returning a float (higher is better). ``None`` marks a
        metric read from the official ``wassa_evaluate`` output.
    official : bool
        Whether ``wassa_evaluate`` is called (once per evaluation).
    """

    def __init__(self, funcs, official=False, columns=None):
        self.funcs = dict(funcs)
        self.official = official
        self.columns = columns

    @property
    def names(self):
        return list(self.funcs)

    @property
    def primary(self):
        return self.names[0]

    def _wrap(self, y_true, y_pred):
        if self.columns is not None and not isinstance(y_true, (pd.Series, pd.DataFrame)):
            y_true = np.asarray(y_true)
            if y_true.ndim == 2:
                y_true = pd.DataFrame(y_true, columns=self.columns)
            else:
                y_true = pd.Series(y_true, name=self.columns[0])
        return y_true, _as_like(y_true, y_pred)

    def __call__(self, y_true, y_pred):
        """Every metric, as a dict name -> float."""
        y_true, y_pred = self._wrap(y_true, y_pred)
        official = {}
        if self.official and any(f is None for f in self.funcs.values()):
            from ._wassa import wassa_evaluate

            official = wassa_evaluate(y_true, y_pred)
        out = {}
        for name, func in self.funcs.items():
            out[name] = float(official[name]) if func is None else float(func(y_true, y_pred))
        return out

    def score(self, name, y_true, y_pred):
        """One metric (used on bootstrap resamples)."""
        y_true, y_pred = self._wrap(y_true, y_pred)
        func = self.funcs[name]
        if func is None:
            func = _fast_official(name, self.columns)
        return float(func(y_true, y_pred))


def _fast_official(name, columns):
    """The official metric ``name`` without computing the whole WASSA report."""
    from ._wassa import wassa_evaluate

    def official(y_true, y_pred):
        return wassa_evaluate(y_true, y_pred)[name]

    try:
        from .. import metrics as m
    except ImportError:  # pragma: no cover
        return official
    if name == "pearson" and hasattr(m, "pearson_score"):
        return lambda yt, yp: m.pearson_score(np.ravel(yt), np.ravel(yp))
    if name == "average_pearson" and hasattr(m, "average_pearson"):
        return lambda yt, yp: m.average_pearson(np.asarray(yt), np.asarray(yp))
    if name.endswith("_pearson") and columns is not None and hasattr(m, "pearson_score"):
        col = list(columns).index(name[: -len("_pearson")])
        return lambda yt, yp: m.pearson_score(np.asarray(yt)[:, col], np.asarray(yp)[:, col])
    try:  # macro_f1, micro_f1, accuracy
        return m.get_metric(name)
    except (AttributeError, ValueError):
        return official


def _official_names(task, y):
    if task == "classification":
        return list(OFFICIAL_CLASSIFICATION)
    columns = _columns(y)
    if columns is not None and len(columns) > 1:
        return ["average_pearson"] + [f"{c}_pearson" for c in columns]
    return ["pearson"]


def _columns(y):
    if isinstance(y, pd.DataFrame):
        return [str(c) for c in y.columns]
    if isinstance(y, pd.Series):
        return [str(y.name) if y.name is not None else "y"]
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return [f"y{i}" for i in range(y.shape[1])]
    return None


def _is_multilabel(y):
    from sklearn.utils.multiclass import type_of_target

    return type_of_target(y) == "multilabel-indicator"


def _from_scorer(name, scorer):
    func = getattr(scorer, "_score_func", None)
    method = getattr(scorer, "_response_method", "predict")
    if func is None:
        raise ValueError(
            f"scoring {name!r}: cannot read a metric function from {scorer!r}. Pass a "
            "function metric(y_true, y_pred) -> float instead."
        )
    if method not in ("predict", ("predict",)):
        raise ValueError(
            f"scoring {name!r} needs {method!r} outputs, but compare_models scores "
            "out-of-fold predictions from predict(). Use a metric of predictions "
            "(e.g. 'f1_macro', 'accuracy', 'r2', 'pearson')."
        )
    sign = getattr(scorer, "_sign", 1)
    kwargs = dict(getattr(scorer, "_kwargs", {}))

    def metric(y_true, y_pred):
        return sign * func(y_true, y_pred, **kwargs)

    metric.__name__ = name
    return metric


def _named_metric(name, task, y):
    official = _official_names(task, y)
    if name in official:
        return None
    other = OFFICIAL_REGRESSION if task == "classification" else OFFICIAL_CLASSIFICATION
    if name in other:
        kind = "regression" if task == "classification" else "classification"
        raise ValueError(
            f"scoring {name!r} is a {kind} metric, but the task is {task}. Official metrics "
            f"for this target: {official}."
        )
    from ._scorer import get_scorer

    try:
        scorer = get_scorer(name)
    except (ValueError, KeyError) as exc:
        raise ValueError(
            f"Unknown scoring name {name!r}. Use an official WASSA metric for this task "
            f"({official}), 'pearson'/'average_pearson', a scikit-learn scorer name "
            "(sklearn.metrics.get_scorer_names()) or a function metric(y_true, y_pred)."
        ) from exc
    return _from_scorer(name, scorer)


def resolve_metrics(scoring, task, y):
    """Build the :class:`MetricSet` for ``scoring``.

    Parameters
    ----------
    scoring : None, str, list of str, callable or dict
        None: the official WASSA metrics of the task (primary first:
        ``pearson`` / ``average_pearson`` for regression, ``macro_f1`` for
        classification). A str or list of str: official metric names or scorer
        names (:func:`skempathy.metrics.get_scorer`). A callable
        ``metric(y_true, y_pred) -> float`` or a dict name -> (str or callable).
        The first metric is the primary one (used for p-values and plots).
    task : {"regression", "classification"}
    y : array-like
        The full target (for column names).
    """
    columns = _columns(y)
    if scoring is None and task == "classification" and _is_multilabel(y):
        from functools import partial

        from sklearn.metrics import f1_score

        return MetricSet(
            {
                f"{avg}_f1": partial(f1_score, average=avg, zero_division=0)
                for avg in ("macro", "micro")
            },
            columns=None,
        )
    if scoring is None:
        return MetricSet(
            {n: None for n in _official_names(task, y)}, official=True, columns=columns
        )
    if isinstance(scoring, str):
        scoring = [scoring]
    if callable(scoring) and not isinstance(scoring, dict):
        scoring = {getattr(scoring, "__name__", "score"): scoring}
    if isinstance(scoring, (list, tuple)):
        if not scoring:
            raise ValueError("scoring must name at least one metric.")
        bad = [s for s in scoring if not isinstance(s, str)]
        if bad:
            raise TypeError(
                f"scoring lists must hold metric names (str); got {bad[0]!r}. "
                "Use a dict name -> callable for functions."
            )
        scoring = {name: name for name in scoring}
    if not isinstance(scoring, dict) or not scoring:
        raise TypeError(
            "scoring must be None, a metric name, a list of names, a callable or a non-empty "
            f"dict name -> (name or callable); got {type(scoring).__name__}."
        )
    funcs = {}
    official = False
    from ..utils._sklearn_compat import _BaseScorer

    for name, spec in scoring.items():
        if isinstance(spec, str):
            func = _named_metric(spec, task, y)
            official = official or func is None
            if func is None and name != spec:
                func = _fast_official(spec, columns)
        elif isinstance(spec, _BaseScorer):
            func = _from_scorer(name, spec)
        elif callable(spec):
            func = spec
        else:
            raise TypeError(f"scoring[{name!r}] must be a name or a callable, got {spec!r}.")
        funcs[str(name)] = func
    return MetricSet(funcs, official=official, columns=columns)
