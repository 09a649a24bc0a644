"""Soft voting, task by task, over estimators that each predict some columns of ``y``.

sklearn's :class:`~sklearn.ensemble.VotingClassifier` and
:class:`~sklearn.ensemble.VotingRegressor` average members that all predict
the same single target. A WASSA system is often a *multi-task* model (one
fine-tuned encoder with emotion, empathy and distress heads) next to
single-track pipelines (an empathy + distress regressor, an emotion
classifier). :class:`MultiTaskVoting` fits each member on its own columns of
a multi-column ``y`` and averages, per column, the members that predict it:
class probabilities for classification columns (soft voting), values for
regression columns.
"""

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import MetaEstimatorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted, check_memory

from ..utils._sklearn_compat import HasMethods, _BaseComposition, _fit_context
from ..base import _check_no_missing, check_y_given
from ..utils._interrupts import raise_if_interrupted
from ..utils._reuse import reuse_outputs
from ..utils._routing import fit_router, route_fit
from ..utils._warm import check_fit_sources, restore_warm_states, warm_states
from ._base import _FirstMemberFeaturesMixin

__all__ = ["MultiTaskVoting"]


def _fit_member(estimator, X, y, embeddings, fit_params):
    restore_warm_states(embeddings)  # encoded once by the caller
    return raise_if_interrupted(clone(estimator).fit(X, y, **fit_params))


def _member_fitter(memory):
    """``_fit_member``, or its cached twin keyed by the unfitted member, ``X``, ``y`` and the
    fit parameters (the warm states are derived from those, so they are left out of the key)."""
    memory = check_memory(memory)
    if memory.location is None:
        return _fit_member
    cached = memory.cache(_fit_member, ignore=["embeddings"])

    def fit_member(estimator, X, y, embeddings, fit_params):
        # the key reads the member's parameters only: a shared encoder fitted in place by the
        # caller (a loaded model, an in-memory cache) must not change it
        return cached(clone(estimator), X, y, embeddings, fit_params)

    return fit_member


def _has_classification_task(self):
    if hasattr(self, "task_kinds_"):
        return "classification" in self.task_kinds_.values()
    return all(hasattr(est, "predict_proba") for _, est, _ in self.estimators)


class MultiTaskVoting(_FirstMemberFeaturesMixin, MetaEstimatorMixin, _BaseComposition):
    """Soft voting, column by column, over estimators fitted on parts of a multi-column ``y``.

    Each member is fitted on the columns of ``y`` it names (one column, a
    list of columns, or all of them). For every column of ``y``, the members
    that predict it are averaged with ``weights``: their class probabilities
    for a classification column (members without ``predict_proba`` give a
    one-hot vote), their predictions for a regression column. A column is a
    classification target when a member predicting it is a classifier, a
    regression target when all of them are regressors, and, when they are
    multi-task models (neither), a regression target if its dtype is float
    (as in :class:`~skempathy.neural.MultiTaskTransformer`).

    Members may be any sklearn estimators: single-target ones (1-D
    ``predict``, ``predict_proba`` an array over ``classes_``), multi-output
    ones (2-D ``predict``; ``predict_proba`` a list per column as in
    :class:`~sklearn.multioutput.MultiOutputClassifier`), or multi-task ones
    whose ``predict`` returns a DataFrame and ``predict_proba`` a dict per task
    (:class:`~skempathy.neural.MultiTaskTransformer`).

    Parameters
    ----------
    estimators : list of (str, estimator, targets) tuples
        The members, as in :class:`~sklearn.compose.ColumnTransformer`:
        a name, an unfitted estimator, and the columns of ``y`` it is fitted
        on and predicts: a column name (the member gets a 1-D ``y``), a list
        of names (a 2-D ``y`` in that order) or None (the whole ``y`` as
        given). Columns of a 2-D array ``y`` are named 0, 1, ...; a 1-D ``y``
        is one column named after the Series (0 for an array).
        ``set_params(<name>__<param>=...)`` reaches inside a member.
    weights : array-like of shape (n_estimators,) or dict, default=None
        Weight of each member in every column it predicts (None: equal), or a
        dict ``{column: array-like of shape (n_estimators,)}`` giving each
        named column its own member weights (columns left out: equal
        weights; entries of members that do not predict the column are
        ignored). Per column, the weights of the members predicting it are
        normalised to sum to one; a member with weight 0 does not vote there.
    n_jobs : int, default=None
        Members fitted in parallel with joblib (None means 1). Keep 1 when a
        member fine-tunes a transformer: torch already uses every core.
    memory : str, joblib.Memory or None, default=None
        Where each fitted member is cached, as in :class:`~sklearn.pipeline.Pipeline`:
        a folder or a :class:`joblib.Memory`. A member is keyed by its
        parameters, ``X``, its columns of ``y`` and its fit parameters, so a
        long fit that was interrupted, refitted with the same ``memory``,
        trains only the members that had not finished, and a refit that
        changes one member's parameters trains that member alone. None: no
        caching. The cache holds pickles: point it only at a folder you trust.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members, in the order of ``estimators``.
    named_estimators_ : dict of str -> estimator
        The fitted members by name.
    targets_ : list
        The column names of ``y``.
    task_kinds_ : dict
        ``"classification"`` or ``"regression"`` per column.
    classes_ : ndarray or dict of ndarray
        The class labels of a 1-D classification ``y``; otherwise a dict per
        classification column.
    n_features_in_ : int
        Forwarded from the first member.

    See Also
    --------
    sklearn.ensemble.VotingClassifier : Soft voting over one target.
    skempathy.ensemble.SeedEnsemble : One estimator, several seeds.

    Examples
    --------
    A classifier for one column, a multi-output regressor for the other two,
    and a random forest (multi-output) voting on the two regression columns:

    >>> import numpy as np, pandas as pd
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from sklearn.linear_model import LogisticRegression, Ridge
    >>> from skempathy.ensemble import MultiTaskVoting
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 4))
    >>> y = pd.DataFrame({"emotion": np.where(X[:, 0] > 0, "joy", "sadness"),
    ...                   "empathy": X[:, 1] + 4.0, "distress": X[:, 2] + 3.0})
    >>> vote = MultiTaskVoting([
    ...     ("clf", LogisticRegression(), "emotion"),
    ...     ("ridge", Ridge(), ["empathy", "distress"]),
    ...     ("forest", RandomForestRegressor(n_estimators=10, random_state=0),
    ...      ["empathy", "distress"]),
    ... ]).fit(X, y)
    >>> vote.predict(X[:2]).columns.tolist()
    ['emotion', 'empathy', 'distress']
    >>> vote.predict_proba(X[:2])["emotion"].shape
    (2, 2)
    """

    _parameter_constraints = {
        "estimators": [list],
        "weights": ["array-like", dict, None],
        "n_jobs": [Integral, None],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def __init__(self, estimators, *, weights=None, n_jobs=None, memory=None):
        self.estimators = estimators
        self.weights = weights
        self.n_jobs = n_jobs
        self.memory = memory

    # get_params / set_params over (name, estimator) pairs, as ColumnTransformer does
    # (invalid ``estimators`` pass through untouched: fit's validation reports them)
    @property
    def _estimators(self):
        try:
            return [(name, est) for name, est, _ in self.estimators]
        except (TypeError, ValueError):
            return self.estimators

    @_estimators.setter
    def _estimators(self, value):
        try:
            self.estimators = [
                (name, est, targets) for (name, est), (_, _, targets) in zip(value, self.estimators)
            ]
        except (TypeError, ValueError):
            self.estimators = value

    def get_params(self, deep=True):
        """Parameters of this estimator and, with ``deep``, of its members."""
        return self._get_params("_estimators", deep=deep)

    def set_params(self, **params):
        """Set parameters, including ``<member name>__<param>``."""
        self._set_params("_estimators", **params)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            members = [get_tags(est) for _, est, _ in self.estimators]
            # several columns of y when a member takes named columns, or every member does
            named = any(targets is not None for _, _, targets in self.estimators)
        except (TypeError, ValueError):  # invalid estimators: fit reports them
            members, named = [], False
        kinds = {t.estimator_type for t in members}
        if len(kinds) == 1:
            tags.estimator_type = kinds.pop()
        if members:
            tags.input_tags = members[0].input_tags
            tags.input_tags.sparse = all(t.input_tags.sparse for t in members)
            tags.input_tags.allow_nan = all(t.input_tags.allow_nan for t in members)
            if tags.estimator_type == "classifier":
                tags.classifier_tags = members[0].classifier_tags
            elif tags.estimator_type == "regressor":
                tags.regressor_tags = members[0].regressor_tags
        tags.target_tags.required = True
        tags.target_tags.multi_output = (
            named or bool(members) and all(t.target_tags.multi_output for t in members)
        )
        return tags

    # ------------------------------------------------------------------ fit
    def _validate_members(self):
        who = type(self).__name__
        if not self.estimators:
            raise ValueError(f"{who}: estimators is empty; give (name, estimator, targets) tuples.")
        for member in self.estimators:
            if not (isinstance(member, tuple) and len(member) == 3):
                raise ValueError(
                    f"{who}: each member must be a (name, estimator, targets) "
                    f"tuple; got {member!r}."
                )
            if not hasattr(member[1], "fit") or not hasattr(member[1], "predict"):
                raise TypeError(f"{who}: member {member[0]!r} has no fit/predict.")
        names = [name for name, _, _ in self.estimators]
        self._validate_names(names)
        per_column = (
            self.weights.items()
            if isinstance(self.weights, dict)
            else [(None, self.weights)]
            if self.weights is not None
            else []
        )
        for col, weights in per_column:
            where = "" if col is None else f" for column {col!r}"
            weights = np.asarray(weights, dtype=np.float64)
            if weights.shape != (len(self.estimators),):
                raise ValueError(
                    f"{who}: {weights.size} weights{where} for {len(self.estimators)} estimators."
                )
            if not np.all(np.isfinite(weights)) or np.any(weights < 0):
                raise ValueError(
                    f"{who}: weights{where} must be finite and non-negative; "
                    f"got {weights.tolist()}."
                )

    def _column_weights(self, col):
        """The weight of every member in column ``col``."""
        weights = self.weights
        if isinstance(weights, dict):
            weights = weights.get(col)
        if weights is None:
            return np.ones(len(self.estimators))
        return np.asarray(weights, dtype=np.float64)

    @staticmethod
    def _y_frame(y):
        if isinstance(y, pd.DataFrame):
            return y, "frame"
        if isinstance(y, pd.Series):
            return y.to_frame(name=0 if y.name is None else y.name), "1d"
        arr = np.asarray(y)
        if arr.ndim == 1:
            return pd.DataFrame({0: arr}), "1d"
        if arr.ndim != 2:
            raise ValueError(f"y must be 1-D or 2-D; got shape {arr.shape}.")
        return pd.DataFrame(arr), "array"

    @staticmethod
    def _member_y(y, frame, targets):
        """The member's columns of ``y``: pandas in, pandas out; arrays otherwise."""
        if targets is None:
            return y
        part = frame[targets]
        return part if isinstance(y, (pd.DataFrame, pd.Series)) else part.to_numpy()

    @staticmethod
    def _columns_of(member_targets, targets):
        """The columns a member is fitted on and predicts (None: all of them)."""
        if member_targets is None:
            return list(targets)
        return list(member_targets) if isinstance(member_targets, list) else [member_targets]

    @staticmethod
    def _task_kind(values, members):
        """Regression if the members predicting ``col`` are regressors, classification if
        one is a classifier; for multi-task members (neither), by the dtype of ``y``."""
        kinds = {get_tags(est).estimator_type for est in members}
        if "classifier" in kinds:
            return "classification"
        if kinds == {"regressor"}:
            return "regression"
        return "regression" if pd.api.types.is_float_dtype(values) else "classification"

    def get_metadata_routing(self):
        """How ``fit`` metadata reaches the members (each member by its name)."""
        return fit_router(self, {name: est for name, est, _ in self.estimators})

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit every member on its columns of ``y``.

        Parameters
        ----------
        X : array-like or DataFrame
            Training inputs, as the members expect them.
        y : array-like of shape (n_samples,) or (n_samples, n_targets), or DataFrame
            Targets; float columns are regression targets, others class labels.
        **fit_params : dict
            Metadata such as ``groups``: with ``sklearn.set_config(enable_metadata_routing=True)``
            each member gets what it requests, else every member gets all of it.

        Returns
        -------
        self : MultiTaskVoting
            The fitted ensemble.
        """
        who = type(self).__name__
        check_y_given(y, self)
        self._validate_members()
        frame, self._y_form = self._y_frame(y)
        targets = list(frame.columns)
        member_columns = {t: [] for t in targets}
        for name, est, member_targets in self.estimators:
            wanted = self._columns_of(member_targets, targets)
            unknown = [t for t in wanted if t not in targets]
            if unknown:
                raise ValueError(
                    f"{who}: member {name!r} names column(s) {unknown} that y "
                    f"does not have; y has {targets}."
                )
            for t in wanted:
                member_columns[t].append(est)
        orphans = [t for t, members in member_columns.items() if not members]
        if orphans:
            raise ValueError(f"{who}: no member predicts the column(s) {orphans} of y.")
        if isinstance(self.weights, dict):
            unknown = [c for c in self.weights if c not in targets]
            if unknown:
                raise ValueError(
                    f"{who}: weights name column(s) {unknown} that y does not "
                    f"have; y has {targets}."
                )
        for col in targets:
            weights = self._column_weights(col)
            voting = [
                w
                for w, (_, _, member_targets) in zip(weights, self.estimators)
                if col in self._columns_of(member_targets, targets)
            ]
            if sum(voting) <= 0:
                raise ValueError(f"{who}: the members predicting column {col!r} all have weight 0.")

        kinds = {}
        for col in targets:
            values = frame[col]
            kinds[col] = self._task_kind(values, member_columns[col])
            if kinds[col] == "regression":
                if not np.all(np.isfinite(values.to_numpy(float))):
                    raise ValueError(f"{who}: column {col!r} of y holds NaN or inf values.")
            else:
                _check_no_missing(values, who=who, column=col)
        self.targets_ = targets
        self.task_kinds_ = kinds
        classes = {
            c: np.unique(frame[c].to_numpy()) for c, k in kinds.items() if k == "classification"
        }
        if classes:
            self.classes_ = classes[targets[0]] if self._y_form == "1d" else classes

        # a corpus a member reads in fit (GoEmotions) is missing: fail before any member trains
        check_fit_sources([est for _, est, _ in self.estimators])
        # members with the same frozen encoder share one encoding, also in other processes
        embeddings = warm_states([est for _, est, _ in self.estimators], X)
        routed = route_fit(self, [name for name, _, _ in self.estimators], fit_params)
        fit_member = _member_fitter(self.memory)
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(fit_member)(
                est, X, self._member_y(y, frame, member_targets), embeddings, routed[name]
            )
            for name, est, member_targets in self.estimators
        )
        self.named_estimators_ = {
            name: est for (name, _, _), est in zip(self.estimators, self.estimators_)
        }
        return self

    # ------------------------------------------------------------ inference
    def _classes_of(self, col):
        return self.classes_ if isinstance(self.classes_, np.ndarray) else self.classes_[col]

    def _member_outputs(self, est, wanted, X, member_targets):
        """{column: values or aligned probabilities} of one fitted member, for the columns
        ``wanted`` among those it predicts (``member_targets``)."""
        columns = self._columns_of(member_targets, self.targets_)
        out = {}
        regression = [c for c in wanted if self.task_kinds_[c] == "regression"]
        soft = [
            c
            for c in wanted
            if self.task_kinds_[c] == "classification" and hasattr(est, "predict_proba")
        ]
        hard = [c for c in wanted if self.task_kinds_[c] == "classification" and c not in soft]
        if regression or hard:
            pred = est.predict(X)
            for c in regression + hard:
                values = self._column(pred, c, columns)
                if c in regression:
                    out[c] = np.asarray(values, dtype=np.float64)
                else:
                    classes = self._classes_of(c)
                    onehot = np.zeros((len(values), len(classes)))
                    onehot[np.arange(len(values)), np.searchsorted(classes, values)] = 1.0
                    out[c] = onehot
        if soft:
            proba = est.predict_proba(X)
            for c in soft:
                if isinstance(proba, dict):  # multi-task models: one array per task name
                    p, member_classes = proba[c], est.classes_[c]
                elif isinstance(proba, list):  # sklearn multi-output: one array per column
                    p, member_classes = proba[columns.index(c)], est.classes_[columns.index(c)]
                else:
                    p, member_classes = proba, est.classes_
                classes = self._classes_of(c)
                aligned = np.zeros((np.asarray(p).shape[0], len(classes)))
                aligned[:, np.searchsorted(classes, np.asarray(member_classes))] = p
                out[c] = aligned
        return out

    @staticmethod
    def _column(pred, col, columns):
        if isinstance(pred, pd.DataFrame):
            return (
                pred[col] if col in pred.columns else pred.iloc[:, columns.index(col)]
            ).to_numpy()
        pred = np.asarray(pred)
        return pred if pred.ndim == 1 else pred[:, columns.index(col)]

    def _vote(self, X):
        check_is_fitted(self)
        weights = {col: self._column_weights(col) for col in self.targets_}
        sums, totals = {}, {}
        with reuse_outputs():  # a member asked for predict and predict_proba runs once
            for k, (est, (_, _, member_targets)) in enumerate(
                zip(self.estimators_, self.estimators)
            ):
                columns = [
                    c for c in self._columns_of(member_targets, self.targets_) if weights[c][k] > 0
                ]
                if not columns:  # weight 0 wherever it predicts: not even run
                    continue
                for col, value in self._member_outputs(est, columns, X, member_targets).items():
                    sums[col] = sums.get(col, 0.0) + weights[col][k] * value
                    totals[col] = totals.get(col, 0.0) + weights[col][k]
        return {col: sums[col] / totals[col] for col in self.targets_}

    def _shape(self, columns, X):
        if self._y_form == "1d":
            return columns[self.targets_[0]]
        if self._y_form == "frame":
            index = X.index if isinstance(X, pd.DataFrame) else None
            return pd.DataFrame(columns, index=index)[self.targets_]
        return np.column_stack([columns[c] for c in self.targets_])

    def predict(self, X):
        """The weighted vote of the members, per column of ``y``.

        Parameters
        ----------
        X : array-like or DataFrame
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets), or DataFrame
            Shaped like the ``y`` given to ``fit`` (a DataFrame with the same
            columns, and the index of ``X`` when it is a DataFrame): the most
            probable class of each classification column, the weighted mean
            prediction of each regression column.
        """
        votes = self._vote(X)
        columns = {}
        for col in self.targets_:
            if self.task_kinds_[col] == "classification":
                columns[col] = self._classes_of(col)[np.argmax(votes[col], axis=1)]
            else:
                columns[col] = votes[col]
        return self._shape(columns, X)

    @available_if(_has_classification_task)
    def predict_proba(self, X):
        """Weighted mean of the members' class probabilities.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or dict
            An array for a 1-D classification ``y``; otherwise a dict
            ``{column: ndarray of shape (n_samples, n_classes)}`` over the
            classification columns, in the order of ``classes_[column]``.
        """
        votes = self._vote(X)
        proba = {c: votes[c] for c in self.targets_ if self.task_kinds_[c] == "classification"}
        if self._y_form == "1d":
            return proba[self.targets_[0]]
        return proba

    def score(self, X, y, sample_weight=None):
        """Mean over the columns of accuracy (classification) and R² (regression)."""
        from sklearn.metrics import accuracy_score, r2_score

        frame, _ = self._y_frame(y)
        pred, _ = self._y_frame(self.predict(X))
        scores = []
        for k, col in enumerate(self.targets_):
            truth, guess = frame.iloc[:, k].to_numpy(), pred.iloc[:, k].to_numpy()
            metric = accuracy_score if self.task_kinds_[col] == "classification" else r2_score
            scores.append(metric(truth, guess, sample_weight=sample_weight))
        return float(np.mean(scores))
