"""Seed ensembles: one estimator fitted with several random seeds, outputs averaged.

Fine-tuning transformers on a few thousand essays is very sensitive to the
random initialisation of the head and to data order (the WASSA 2021 systems
and Hosseini & Caragea 2021 report large seed-to-seed variation). Averaging
the probabilities or predictions of a few seeds is the cheapest remedy.
For a soft vote across *different* estimators use sklearn's
:class:`~sklearn.ensemble.VotingClassifier` (see
``examples/method_seed_ensemble.py``), or, when the target has several
columns (tasks), :class:`~skempathy.ensemble.MultiTaskVoting`.
"""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ..base import check_y_given
from ..utils._interrupts import raise_if_interrupted
from ..utils._meta import wrapped_tags
from ..utils._routing import fit_router, route_fit
from ..utils._sklearn_compat import HasMethods, Interval, _fit_context
from ..utils._warm import restore_warm_states, warm_states
from ._base import _FirstMemberFeaturesMixin

__all__ = ["SeedEnsemble"]


def _seed_params(estimator):
    """Names of every ``random_state`` parameter, nested ones included."""
    return sorted(
        key
        for key in estimator.get_params(deep=True)
        if key == "random_state" or key.endswith("__random_state")
    )


def _fit_one(estimator, X, y, seed, params, fit_params, embeddings):
    restore_warm_states(embeddings)  # encoded once by the caller
    est = clone(estimator)
    est.set_params(**{name: seed for name in params})
    return raise_if_interrupted(est.fit(X, y, **fit_params))


def _is_classifier(estimator):
    return get_tags(estimator).estimator_type == "classifier"


def _members_have(attr):
    def check(self):
        if hasattr(self, "estimators_"):
            return hasattr(self.estimators_[0], attr)
        return hasattr(self.estimator, attr)

    return check


class SeedEnsemble(_FirstMemberFeaturesMixin, MetaEstimatorMixin, BaseEstimator):
    """The same estimator fitted with different random seeds, outputs averaged.

    Each member is a clone of ``estimator`` whose ``random_state`` parameters
    (top-level and nested, e.g. ``logisticregression__random_state`` in a
    pipeline) are set to its own seed. Classifiers average ``predict_proba``
    (soft voting) and predict the most probable class; members without
    ``predict_proba`` vote by majority. Regressors average ``predict`` (also
    multi-output). The ensemble is a classifier or a regressor according to
    ``estimator`` and pickles as a whole.

    Parameters
    ----------
    estimator : estimator object
        The estimator to replicate. It must expose a ``random_state``
        parameter (possibly nested), otherwise every member would be the same.
    n_estimators : int, default=5
        Number of seeds.
    random_state : int, RandomState instance or None, default=None
        Draws the member seeds. Pass an int for a reproducible ensemble.
    n_jobs : int, default=None
        Members fitted in parallel with joblib (None means 1). Torch
        estimators already use several threads; keep 1 for them.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members.
    seeds_ : ndarray of int
        The seed given to each member.
    seed_params_ : list of str
        The parameters that received the seeds.
    classes_ : ndarray
        Class labels (classifiers only).
    multilabel_ : bool
        Whether ``y`` was a multi-label indicator matrix (``predict`` then
        returns a 0/1 matrix).
    n_features_in_ : int
        Forwarded from the first member when it has it.

    See Also
    --------
    sklearn.ensemble.VotingClassifier : Soft voting across different estimators.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from skempathy.ensemble import SeedEnsemble
    >>> X, y = load_iris(return_X_y=True)
    >>> ens = SeedEnsemble(DecisionTreeClassifier(max_features=2), n_estimators=3,
    ...                    random_state=0).fit(X, y)
    >>> len(ens.estimators_), ens.predict_proba(X[:1]).shape
    (3, (1, 3))
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"])],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(self, estimator, n_estimators=5, *, random_state=None, n_jobs=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        return wrapped_tags(super().__sklearn_tags__(), self.estimator)

    def get_metadata_routing(self):
        """How ``fit`` metadata reaches the estimator."""
        return fit_router(self, {"estimator": self.estimator})

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit ``n_estimators`` seeded clones of the estimator.

        Parameters
        ----------
        X : array-like
            Training inputs, as the estimator expects them.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        **fit_params : dict
            Passed to every member's ``fit`` (with
            ``sklearn.set_config(enable_metadata_routing=True)``: what the
            estimator requests, e.g. ``groups``).

        Returns
        -------
        self : SeedEnsemble
            The fitted ensemble.
        """
        check_y_given(y, self)
        params = _seed_params(self.estimator)
        if not params:
            raise ValueError(
                f"{type(self.estimator).__name__} has no random_state parameter, so every "
                "member of the seed ensemble would be identical."
            )
        rng = check_random_state(self.random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=self.n_estimators)
        # the members share one encoding of X, also in other processes
        embeddings = warm_states([self.estimator], X)
        fit_params = route_fit(self, ["estimator"], fit_params)["estimator"]
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_one)(self.estimator, X, y, int(seed), params, fit_params, embeddings)
            for seed in seeds
        )
        self.seeds_ = seeds
        self.seed_params_ = params
        # Multi-label members (indicator y) vote per label, not over classes_.
        self.multilabel_ = _is_classifier(self.estimator) and (
            type_of_target(y) == "multilabel-indicator"
        )
        first = self.estimators_[0]
        if hasattr(first, "classes_"):
            self.classes_ = first.classes_
            for est in self.estimators_[1:]:
                if not np.array_equal(est.classes_, self.classes_):  # pragma: no cover
                    raise RuntimeError("Ensemble members learned different classes.")
        return self

    def predict(self, X):
        """Average prediction (regressors) or most probable class (classifiers).

        Parameters
        ----------
        X : array-like
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            For a multi-label indicator ``y``, a 0/1 matrix: the mean member
            probability of each label thresholded at 0.5 (or a per-label
            majority vote when the members have no ``predict_proba``).
        """
        check_is_fitted(self)
        if not _is_classifier(self.estimator):
            return np.mean([est.predict(X) for est in self.estimators_], axis=0)
        if getattr(self, "multilabel_", False):
            if hasattr(self.estimators_[0], "predict_proba"):
                proba = self.predict_proba(X)
                if isinstance(proba, np.ndarray) and proba.ndim == 2:
                    return (proba >= 0.5).astype(int)
            # per-label majority vote of the members' indicator matrices (ties -> 1)
            votes = np.mean([np.asarray(est.predict(X)) for est in self.estimators_], axis=0)
            return (votes >= 0.5).astype(int)
        if hasattr(self.estimators_[0], "predict_proba"):
            proba = self.predict_proba(X)
            return self.classes_[np.argmax(proba, axis=1)]
        votes = np.stack([est.predict(X) for est in self.estimators_], axis=1)
        index = {label: i for i, label in enumerate(self.classes_)}
        counts = np.zeros((votes.shape[0], len(self.classes_)))
        for j in range(votes.shape[1]):
            counts[np.arange(votes.shape[0]), [index[v] for v in votes[:, j]]] += 1
        return self.classes_[np.argmax(counts, axis=1)]

    @available_if(_members_have("predict_proba"))
    def predict_proba(self, X):
        """Mean of the members' class probabilities (soft vote).

        Parameters
        ----------
        X : array-like
            Inputs.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return np.mean([est.predict_proba(X) for est in self.estimators_], axis=0)

    @available_if(_members_have("predict_proba"))
    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @available_if(_members_have("decision_function"))
    def decision_function(self, X):
        """Mean of the members' decision scores."""
        check_is_fitted(self)
        return np.mean([est.decision_function(X) for est in self.estimators_], axis=0)

    def score(self, X, y, sample_weight=None):
        """Accuracy (classifiers) or R² (regressors) of the averaged predictions."""
        from sklearn.metrics import accuracy_score, r2_score

        metric = accuracy_score if _is_classifier(self.estimator) else r2_score
        return metric(y, self.predict(X), sample_weight=sample_weight)
