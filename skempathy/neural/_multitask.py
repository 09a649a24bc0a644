"""One fine-tuned encoder, several task heads, optional numeric side inputs."""

import numpy as np
import pandas as pd
from sklearn.base import MultiOutputMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._docstring import Substitution
from ..base import TextInputMixin, check_texts
from . import _targets
from ._base import _BaseTransformerEstimator, _task_score
from ._params import shared_param_docs
from ._transformer import COMMON_ATTRS_DOC

_TASK_KINDS = ("classification", "regression")


@Substitution(**shared_param_docs(), common_attrs=COMMON_ATTRS_DOC)
class MultiTaskTransformer(TextInputMixin, MultiOutputMixin, _BaseTransformerEstimator):
    """Fine-tune one encoder with a head per task (classify or regress).

    Each task gets its own linear head on the pooled text vector; the loss is
    the (``loss_weights``-weighted) sum of the task losses (cross-entropy,
    MSE on standardised targets). Optional numeric side inputs (``extra_features``,
    e.g. gender, income, IRI scores: the MilaNLP "multi-input" models) are
    standardised and concatenated to the pooled text vector before the heads.

    Parameters
    ----------
    {model}
    tasks : dict of str -> {{"classification", "regression"}}, default=None
        Task name (a column of ``y``) -> kind. None infers from ``y``: float
        columns are regression, all others (str, int, bool) classification.
    extra_features : list of str, default=None
        Numeric columns of ``X`` (a DataFrame) fed beside the text.
    text_column : str, default=None
        The text column of a DataFrame ``X``; None means the only column that
        is not in ``extra_features``.
    loss_weights : dict of str -> float, default=None
        Weight of each task's loss (1 when missing).
    {max_length}
    {batch_size}
    {learning_rate}
    {max_epochs}
    {warmup_ratio}
    {weight_decay}
    {gradient_accumulation_steps}
    {pooling}
    {dropout}
    {early_stopping}
    {validation_fraction}
    {n_iter_no_change}
    {tol}
    {scoring}
    {device}
    {precision}
    {predict_precision}
    {fast_paths}
    {warm_start}
    {random_state}
    {verbose}

    Attributes
    ----------
    tasks_ : dict of str -> str
        Task kinds used.
    classes_ : dict of str -> ndarray
        Labels of each classification task.
    y_mean_, y_scale_ : dict of str -> ndarray
        Standardisation of each regression task.
    extra_mean_, extra_scale_ : ndarray
        Standardisation of ``extra_features`` (only when given).
    {common_attrs}

    Examples
    --------
    >>> import pandas as pd
    >>> from skempathy.neural import MultiTaskTransformer
    >>> X = pd.DataFrame({{"essay": ["so sad for them", "this makes me angry",
    ...                               "poor kids, heartbreaking", "outrageous and unfair"],
    ...                    "age": [25, 40, 33, 51]}})
    >>> y = pd.DataFrame({{"emotion": ["sadness", "anger", "sadness", "anger"],
    ...                   "empathy": [6.0, 2.5, 6.5, 1.5]}})
    >>> mt = MultiTaskTransformer(extra_features=["age"], max_epochs=1, max_length=32,
    ...                           random_state=0).fit(X, y)
    >>> mt.tasks_
    {{'emotion': 'classification', 'empathy': 'regression'}}
    >>> list(mt.predict(X).columns)
    ['emotion', 'empathy']
    """

    _parameter_constraints = {
        **_BaseTransformerEstimator._parameter_constraints,
        "tasks": [None, dict],
        "extra_features": [None, list, tuple],
        "text_column": [None, str],
        "loss_weights": [None, dict],
    }

    def __init__(
        self,
        model="all-MiniLM-L6-v2",
        *,
        tasks=None,
        extra_features=None,
        text_column=None,
        loss_weights=None,
        max_length=256,
        batch_size=16,
        learning_rate=5e-5,
        max_epochs=4,
        warmup_ratio=0.1,
        weight_decay=0.01,
        gradient_accumulation_steps=1,
        pooling="mean",
        dropout=0.1,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=2,
        tol=0.0,
        scoring=None,
        device="auto",
        precision="auto",
        predict_precision=None,
        fast_paths=True,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        self.model = model
        self.tasks = tasks
        self.extra_features = extra_features
        self.text_column = text_column
        self.loss_weights = loss_weights
        self.max_length = max_length
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.warmup_ratio = warmup_ratio
        self.weight_decay = weight_decay
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.pooling = pooling
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.scoring = scoring
        self.device = device
        self.precision = precision
        self.predict_precision = predict_precision
        self.fast_paths = fast_paths
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        return tags

    # ------------------------------------------------------------------ input
    def _read_X(self, X, *, fit):
        who = type(self).__name__
        if not self.extra_features and self.text_column is None:
            return check_texts(X, estimator=self), None
        if not hasattr(X, "columns"):
            raise TypeError(
                f"{who}: with extra_features or text_column, X must be a DataFrame holding "
                f"the text column and the numeric columns; got {type(X).__name__}."
            )
        extra_cols = list(self.extra_features or [])
        text_col = self.text_column
        if text_col is None:
            others = [c for c in X.columns if c not in extra_cols]
            if len(others) != 1:
                raise ValueError(
                    f"{who}: cannot tell the text column among {others[:10]}; set text_column."
                )
            text_col = others[0]
        missing = [c for c in [text_col, *extra_cols] if c not in X.columns]
        if missing:
            raise ValueError(
                f"{who}: X lacks the column(s) {missing}; it has {list(X.columns)[:20]}."
            )
        texts = check_texts(X[text_col], estimator=self)
        if not extra_cols:
            return texts, None
        frame = X[extra_cols]
        non_numeric = [c for c in extra_cols if not pd.api.types.is_numeric_dtype(frame[c])]
        if non_numeric:
            raise ValueError(
                f"{who}: extra_features must be numeric; column(s) {non_numeric} are not "
                "(encode them first)."
            )
        extra = frame.to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(extra)):
            bad = [c for c in extra_cols if not np.all(np.isfinite(frame[c].to_numpy(float)))]
            raise ValueError(f"{who}: extra_features column(s) {bad} hold NaN or inf values.")
        if fit and not (self.warm_start and self.__sklearn_is_fitted__()):
            self.extra_mean_ = extra.mean(0)
            scale = extra.std(0)
            self.extra_scale_ = np.where(scale > 0, scale, 1.0)
        return texts, ((extra - self.extra_mean_) / self.extra_scale_).astype(np.float32)

    def _y_frame(self, y):
        if isinstance(y, pd.DataFrame):
            return y
        if isinstance(y, pd.Series):
            return y.to_frame(name=y.name if y.name is not None else "y")
        if isinstance(y, dict):
            return pd.DataFrame(y)
        arr = np.asarray(y)
        if arr.ndim == 1:
            return pd.DataFrame({"y": arr})
        return pd.DataFrame(arr, columns=[f"y{i}" for i in range(arr.shape[1])])

    def _encode_targets(self, y, *, fit):
        who = type(self).__name__
        frame = self._y_frame(y)
        if fit:
            if self.tasks is None:
                tasks = {}
                for col in frame.columns:
                    regression = pd.api.types.is_float_dtype(frame[col])
                    tasks[col] = "regression" if regression else "classification"
            else:
                tasks = dict(self.tasks)
                bad = {k: v for k, v in tasks.items() if v not in _TASK_KINDS}
                if bad:
                    raise ValueError(
                        f"{who}: task kinds must be 'classification' or 'regression', got {bad}."
                    )
            if self.loss_weights is not None:
                unknown = set(self.loss_weights) - set(tasks)
                if unknown:
                    raise ValueError(f"{who}: loss_weights names unknown tasks {sorted(unknown)}.")
            self.tasks_ = tasks
            self.classes_, self.y_mean_, self.y_scale_ = {}, {}, {}
        missing = [t for t in self.tasks_ if t not in frame.columns]
        if missing:
            raise ValueError(
                f"{who}: y lacks the column(s) {missing} for the tasks {list(self.tasks_)}; "
                f"it has {list(frame.columns)}."
            )
        specs, targets = [], {}
        for name, kind in self.tasks_.items():
            if kind == "classification":
                holder = _Holder(self)
                if not fit:
                    holder.classes_ = self.classes_[name]
                task, enc = _targets.encode_classification(holder, frame[name], fit=fit, name=name)
                self.classes_[name] = holder.classes_
            else:
                holder = _Holder(self)
                if not fit:
                    holder.n_outputs_ = 1
                    holder.y_mean_, holder.y_scale_ = self.y_mean_[name], self.y_scale_[name]
                task, enc = _targets.encode_regression(holder, frame[name], fit=fit, name=name)
                self.y_mean_[name], self.y_scale_[name] = holder.y_mean_, holder.y_scale_
            specs.append(task)
            targets[name] = enc
        return specs, targets

    def _loss_weights(self):
        return dict(self.loss_weights or {})

    # -------------------------------------------------------------- inference
    def _index(self, X):
        return X.index if hasattr(X, "index") and hasattr(X, "columns") else None

    def predict(self, X):
        """Predict every task.

        Returns
        -------
        DataFrame of shape (n_samples, n_tasks)
            One column per task: labels for classification tasks, values in
            the scale of ``y`` for regression tasks.
        """
        out = self._forward(X)
        columns = {}
        for name, kind in self.tasks_.items():
            if kind == "classification":
                columns[name] = self.classes_[name][out[name].argmax(1)]
            else:
                columns[name] = (
                    out[name][:, 0].astype(np.float64) * self.y_scale_[name][0]
                    + self.y_mean_[name][0]
                )
        return pd.DataFrame(columns, index=self._index(X))

    def predict_proba(self, X):
        """Class probabilities of every classification task.

        Returns
        -------
        dict of str -> ndarray of shape (n_samples, n_classes)
        """
        from scipy.special import softmax

        out = self._forward(X)
        return {
            name: softmax(out[name].astype(np.float64), axis=1)
            for name, kind in self.tasks_.items()
            if kind == "classification"
        }

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of macro-F1 (classification) and Pearson r (regression).

        Labels not seen in ``fit`` raise a ValueError.
        """
        check_is_fitted(self)
        frame = self._y_frame(y)
        for name, kind in self.tasks_.items():
            if kind == "classification" and name in frame.columns:
                _targets.check_known_labels(self, frame[name], self.classes_[name], task=name)
        _, targets = self._encode_targets(frame, fit=False)
        out = self._forward(X)
        kinds = {"classification": "multiclass", "regression": "regression"}
        return float(
            np.mean([_task_score(kinds[k], out[n], targets[n]) for n, k in self.tasks_.items()])
        )


class _Holder:
    """Carries per-task fitted attributes through the shared target encoders."""

    def __init__(self, owner):
        self._owner = owner
        self._who = type(owner).__name__
