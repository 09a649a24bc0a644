"""Distil a fitted model (an ensemble, a recipe) into one student estimator."""

import inspect
import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    _check_sample_weight,
    _fit_context,
    _num_samples,
    _safe_indexing,
)
from ..base import _check_no_missing, check_texts, check_y_given
from ..utils._interrupts import raise_if_interrupted
from ..utils._meta import DelegateToFittedMixin
from ..utils._reuse import reuse_outputs

__all__ = ["Distiller"]


def _soft_targets_param(estimator):
    """The ``fit`` parameter that takes soft targets: ``soft_targets``, or
    ``<step>__soft_targets`` for a Pipeline whose last step takes them; else None."""
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        name, last = estimator.steps[-1]
        inner = None if last in (None, "passthrough") else _soft_targets_param(last)
        return None if inner is None else f"{name}__{inner}"
    try:
        takes = "soft_targets" in inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):
        return None
    return "soft_targets" if takes else None


def _by_column(pred, columns, one_d):
    """Predictions (an array or a DataFrame) as ``{column: 1-D array}``."""
    if one_d:
        return {columns[0]: np.asarray(pred).ravel()}
    if not isinstance(pred, pd.DataFrame):
        pred = pd.DataFrame(np.asarray(pred).reshape(len(pred), -1), columns=columns)
    return {c: np.asarray(pred[c]).ravel() for c in columns}


def _concat(a, b):
    """Rows of ``a`` then ``b`` (lists, arrays, sparse matrices, Series or DataFrames)."""
    import scipy.sparse as sp

    if sp.issparse(a) or sp.issparse(b):  # CSR: the sparse format that indexes rows
        return sp.csr_array(a) if b is None else sp.csr_array(sp.vstack([a, b]))
    if not isinstance(a, (list, np.ndarray, pd.DataFrame, pd.Series)):
        a = np.asarray(a)  # array-likes that only implement __array__
    if b is not None and not isinstance(b, (list, np.ndarray, pd.DataFrame, pd.Series)):
        b = np.asarray(b)
    if b is None:
        return a
    if isinstance(a, (pd.DataFrame, pd.Series)) or isinstance(b, (pd.DataFrame, pd.Series)):
        frames = []
        for part in (a, b):
            if isinstance(part, (pd.DataFrame, pd.Series)):
                frames.append(part.reset_index(drop=True))
            else:
                frames.append(pd.Series(list(part), name=getattr(a, "name", None)))
        return pd.concat(frames, ignore_index=True)
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return np.concatenate([a, b])
    return list(a) + list(b)


class Distiller(DelegateToFittedMixin, MetaEstimatorMixin, BaseEstimator):
    """Train a student to imitate a teacher: knowledge distillation for sklearn models.

    ``fit(X, y)`` fits the teacher on ``(X, y)`` (or uses it as it is when it
    is wrapped in :class:`sklearn.frozen.FrozenEstimator`), computes its soft
    targets on the training texts and on ``X_unlabeled``, and fits the
    student on them: for labelled rows ``alpha * gold + (1 - alpha) *
    teacher``, for unlabeled rows the teacher alone. A classification column's
    soft target is the teacher's class distribution (``predict_proba``,
    sharpened or flattened by ``temperature``) mixed with the one-hot gold
    label; a regression column's is the teacher's prediction mixed with the
    gold value. Students whose ``fit`` takes ``soft_targets`` (the fine-tuned
    estimators of :mod:`skempathy.neural`, also as the last step of a
    Pipeline) learn the distributions with a cross-entropy loss; other
    classifiers learn the most likely class of each row (hard distillation).

    ``predict``, ``predict_proba``, ``predict_log_proba``,
    ``decision_function``, ``transform`` and ``score`` (those the student
    has) answer with the student, in the teacher's output shape when the
    student has the same form (e.g. a :class:`~skempathy.neural.MultiTaskTransformer` student
    of a :class:`~skempathy.ensemble.MultiTaskVoting` teacher: a DataFrame
    with one column per target).

    Parameters
    ----------
    teacher : estimator
        Fitted on ``(X, y)`` in ``fit``, or used as it is when wrapped in
        ``sklearn.frozen.FrozenEstimator``. Classification columns need
        ``predict_proba``.
    student : estimator
        Cloned and fitted on the soft targets. It must accept the rows of
        ``X`` and of ``X_unlabeled`` (e.g. a text-only model when the teacher
        also reads writer columns: select the text column inside it).
    X_unlabeled : array-like, default=None
        More inputs to distil on, in the form of ``X``; their labels are never
        asked for (see :func:`unlabeled_texts` for a pool of public texts).
    alpha : float, default=0.5
        Weight of the gold labels in the labelled rows' targets (1: the
        teacher only labels ``X_unlabeled``; 0: the teacher replaces gold).
    temperature : float, default=1.0
        Teacher probabilities are raised to ``1 / temperature`` and
        renormalised: above 1 flattens them (more of the teacher's "dark
        knowledge" on the other classes), below 1 sharpens them.
    keep_teacher : bool, default=False
        Whether a pickle of the fitted distiller keeps the teacher. False: the
        pickle holds the student only (``teacher``, ``teacher_`` and
        ``X_unlabeled`` are saved as None), so the artifact is the student's
        size; such a distiller predicts but cannot be refitted.
    validation_fraction : float, default=0.1
        Fraction of ``X_unlabeled`` (of ``X`` when there is no
        ``X_unlabeled``) held out from the student's training to measure
        ``teacher_agreement_``; 0 trains on every row.
    random_state : int, RandomState instance or None, default=None
        Seeds the held-out split.

    Attributes
    ----------
    teacher_ : estimator
        The fitted teacher (None after unpickling with ``keep_teacher=False``).
    student_ : estimator
        The fitted student.
    target_kinds_ : dict of str -> {"classification", "regression"}
        Kind of each target column (``"y"`` names a 1-D target without name).
    teacher_agreement_ : dict of str -> float or None
        On the held-out rows: for classification columns the fraction of rows
        where student and teacher predict the same class, for regression
        columns the Pearson r between their predictions.
    n_distilled_ : int
        Rows the student was trained on.
    n_features_in_ : int
        Number of input features the student saw in ``fit`` (when the
        student records it).
    feature_names_in_ : ndarray of str
        Input feature names the student saw in ``fit`` (when it records them).

    See Also
    --------
    unlabeled_texts : A pool of public texts to distil on.
    skempathy.neural.DistilledMultiTaskClassifier : Distillation from
        auxiliary-task teachers (Hosseini & Caragea 2021).

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skempathy.datasets import load_wassa
    >>> from skempathy.distill import Distiller
    >>> train, dev = load_wassa("train"), load_wassa("dev")
    >>> teacher = make_pipeline(TfidfVectorizer(), RandomForestClassifier(random_state=0))
    >>> student = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    >>> distiller = Distiller(teacher, student, X_unlabeled=dev.data["essay"], random_state=0)
    >>> distiller = distiller.fit(train.data["essay"], train.frame["emotion"])
    >>> distiller.predict(dev.data["essay"][:3]).shape
    (3,)
    >>> 0 <= distiller.teacher_agreement_["emotion"] <= 1
    True
    """

    _inner = "student"  # predict & co. answer with student_

    _parameter_constraints = {
        "teacher": [HasMethods(["fit", "predict"]), None],
        "student": [HasMethods(["fit", "predict"])],
        "X_unlabeled": ["array-like", None],
        "alpha": [Interval(numbers.Real, 0, 1, closed="both")],
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "keep_teacher": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        teacher,
        student,
        *,
        X_unlabeled=None,
        alpha=0.5,
        temperature=1.0,
        keep_teacher=False,
        validation_fraction=0.1,
        random_state=None,
    ):
        self.teacher = teacher
        self.student = student
        self.X_unlabeled = X_unlabeled
        self.alpha = alpha
        self.temperature = temperature
        self.keep_teacher = keep_teacher
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the teacher (unless frozen), then the student on its soft targets.

        Parameters
        ----------
        X : array-like
            Training inputs (texts, or a DataFrame the teacher reads).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Gold targets: labels, values, or a DataFrame with one column per
            target (object/category/integer columns are classification,
            float columns regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the labelled rows, passed to the teacher's and the
            student's ``fit`` (unlabeled rows weigh 1).
        **fit_params : dict
            Passed to the teacher's ``fit`` (e.g. ``groups``).

        Returns
        -------
        self : Distiller
        """
        who = type(self).__name__
        if self.teacher is None:
            raise ValueError(
                f"{who}: teacher is None (a distiller pickled with "
                "keep_teacher=False predicts but cannot be refitted)"
            )
        check_y_given(y, self)
        n = _num_samples(X)
        if n == 0:
            raise ValueError(f"{who}: X has 0 samples; at least 1 is required.")
        if _num_samples(y) != n:
            raise ValueError(f"{who}: X has {n} rows but y has {_num_samples(y)}.")
        unlabeled = self.X_unlabeled
        if unlabeled is not None:
            if not (isinstance(unlabeled, pd.DataFrame) and unlabeled.shape[1] > 1):
                check_texts(unlabeled, estimator=self)  # NaN, None, empty texts
            if _num_samples(unlabeled) == 0:
                unlabeled = None
        teacher = self.teacher
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, np.empty((n, 0)))
        if type(teacher).__name__ != "FrozenEstimator":
            if sample_weight is not None:
                fit_params = dict(fit_params, sample_weight=sample_weight)
            teacher = raise_if_interrupted(clone(teacher).fit(X, y, **fit_params), "teacher")
        frame, kinds, one_d = self._y_frame(y)
        self.target_kinds_ = kinds
        self.teacher_ = teacher

        pool = _concat(X, unlabeled)
        n_pool = _num_samples(pool)
        train_rows, held_out = self._split(n, n_pool)
        with reuse_outputs():  # predict_proba and predict of the teacher share its passes
            targets, classes = self._teacher_targets(teacher, pool, frame, kinds, one_d)
        y_student, soft = self._student_targets(frame, kinds, targets, classes, n, one_d)

        student = clone(self.student)
        X_train = _safe_indexing(pool, train_rows)
        y_train = _safe_indexing(y_student, train_rows)
        student_params = {}
        if sample_weight is not None:
            weight = np.concatenate([sample_weight, np.ones(n_pool - n)])
            student_params["sample_weight"] = weight[train_rows]
        soft_param = _soft_targets_param(student)
        if soft and soft_param:
            soft_train = {c: p.iloc[train_rows].reset_index(drop=True) for c, p in soft.items()}
            student_params[soft_param] = next(iter(soft_train.values())) if one_d else soft_train
        raise_if_interrupted(student.fit(X_train, y_train, **student_params), "student")
        self.student_ = student
        self.n_distilled_ = len(train_rows)
        self.teacher_agreement_ = None
        if len(held_out):
            self.teacher_agreement_ = self._agreement(
                _safe_indexing(pool, held_out),
                {c: t[held_out] for c, t in targets.items()},
                classes,
                kinds,
                one_d,
            )
        return self

    def _y_frame(self, y):
        """``(DataFrame of the targets, {column: kind}, whether y is 1-D)``."""
        if isinstance(y, pd.DataFrame):
            frame, one_d = y.reset_index(drop=True), False
        else:
            arr = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
            if arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1):
                name = y.name if isinstance(y, pd.Series) and y.name is not None else "y"
                arr = column_or_1d(arr, warn=True)  # sklearn's warning for a column vector
                frame, one_d = pd.DataFrame({name: arr}), True
            else:
                frame = pd.DataFrame(arr, columns=[f"y{i}" for i in range(arr.shape[1])])
                one_d = False
        kinds = {}
        classifier = get_tags(self.teacher).estimator_type == "classifier"
        for column in frame.columns:
            values = frame[column]
            if one_d:
                kinds[column] = "classification" if classifier else "regression"
            else:
                kinds[column] = (
                    "regression" if pd.api.types.is_float_dtype(values) else "classification"
                )
            _check_no_missing(
                values,
                who=type(self).__name__,
                column=None if one_d else column,
                what="label" if kinds[column] == "classification" else "value",
            )
        return frame, kinds, one_d

    def _split(self, n, n_pool):
        rng = check_random_state(self.random_state)
        rows = np.arange(n_pool)
        candidates = rows[n:] if n_pool - n >= 10 else rows[:n]
        n_held = int(round(self.validation_fraction * len(candidates)))
        if self.validation_fraction == 0 or n_held == 0:
            return rows, np.array([], dtype=int)
        held = np.sort(rng.choice(candidates, size=n_held, replace=False))
        return np.setdiff1d(rows, held), held

    def _teacher_targets(self, teacher, pool, frame, kinds, one_d):
        """``({column: teacher probabilities (n_pool, n_classes) or predictions (n_pool,)},
        {column: the teacher's classes, the order of its probability columns})``."""
        who = type(self).__name__
        targets, classes_of = {}, {}
        if any(k == "classification" for k in kinds.values()):
            if not hasattr(teacher, "predict_proba"):
                raise ValueError(
                    f"{who}: the teacher {type(teacher).__name__} has no "
                    "predict_proba, which the classification column(s) "
                    f"{[c for c, k in kinds.items() if k == 'classification']} "
                    "need"
                )
            proba = teacher.predict_proba(pool)
            classes = teacher.classes_
            if one_d:
                column = frame.columns[0]
                proba, classes = {column: proba}, {column: classes}
            for column, kind in kinds.items():
                if kind != "classification":
                    continue
                if not isinstance(proba, dict) or column not in proba:
                    raise ValueError(
                        f"{who}: the teacher's predict_proba gives no "
                        f"probabilities for the column {column!r}"
                    )
                p = np.asarray(proba[column], dtype=np.float64)
                p = np.clip(p, 0, None) ** (1.0 / self.temperature)
                targets[column] = p / np.clip(p.sum(1, keepdims=True), 1e-12, None)
                classes_of[column] = np.asarray(classes[column])
        if any(k == "regression" for k in kinds.values()):
            pred = _by_column(teacher.predict(pool), list(kinds), one_d)
            for column, kind in kinds.items():
                if kind == "regression":
                    targets[column] = pred[column].astype(np.float64)
        return targets, classes_of

    def _student_targets(self, frame, kinds, targets, classes_of, n, one_d):
        """``(y for the student, {column: soft DataFrame})`` over the whole pool."""
        who = type(self).__name__
        alpha = float(self.alpha)
        columns, soft = {}, {}
        for column, kind in kinds.items():
            gold = frame[column].to_numpy()
            if kind == "regression":
                values = targets[column].copy()
                values[:n] = alpha * gold.astype(np.float64) + (1 - alpha) * values[:n]
                columns[column] = values
                continue
            classes = classes_of[column]
            unknown = np.setdiff1d(np.unique(gold), classes)
            if len(unknown):
                raise ValueError(
                    f"{who}: y column {column!r} has labels the teacher does not "
                    f"know: {list(unknown)[:5]}"
                )
            mixed = targets[column].copy()
            one_hot = (gold[:, None] == classes[None, :]).astype(np.float64)
            mixed[:n] = alpha * one_hot + (1 - alpha) * mixed[:n]
            hard = classes[mixed.argmax(1)]
            # classes no row is labelled with cannot be learnt by the student: drop them
            kept = np.isin(classes, np.unique(hard))
            mixed = mixed[:, kept]
            mixed /= np.clip(mixed.sum(1, keepdims=True), 1e-12, None)
            columns[column] = hard
            soft[column] = pd.DataFrame(mixed, columns=classes[kept])
        y_student = pd.DataFrame(columns)
        if one_d:
            y_student = y_student.iloc[:, 0]
        return y_student, soft

    def _agreement(self, X_held, teacher_targets, classes_of, kinds, one_d):
        pred = _by_column(self.student_.predict(X_held), list(kinds), one_d)
        out = {}
        for column, kind in kinds.items():
            mine = pred[column]
            theirs = teacher_targets[column]
            if kind == "classification":
                out[column] = float(np.mean(mine == classes_of[column][theirs.argmax(1)]))
            elif np.std(mine) > 0 and np.std(theirs) > 0:
                out[column] = float(np.corrcoef(mine.astype(float), theirs)[0, 1])
            else:
                out[column] = 0.0
        return out

    # ---------------------------------------------------------------- predicting
    @property
    def classes_(self):
        """The student's classes."""
        check_is_fitted(self)
        return self.student_.classes_

    def __sklearn_is_fitted__(self):
        return hasattr(self, "student_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        student = get_tags(self.student)
        tags.estimator_type = student.estimator_type
        tags.input_tags = student.input_tags
        if self.teacher is not None:  # both read X
            teacher = get_tags(self.teacher).input_tags
            tags.input_tags.allow_nan = tags.input_tags.allow_nan and teacher.allow_nan
            tags.input_tags.sparse = tags.input_tags.sparse and teacher.sparse
        tags.target_tags.required = True
        tags.classifier_tags = student.classifier_tags
        tags.regressor_tags = student.regressor_tags
        return tags

    def __getstate__(self):
        state = dict(super().__getstate__())
        if not self.keep_teacher:  # the artifact is the student's size
            state.update(teacher=None, teacher_=None, X_unlabeled=None)
        return state
