"""Helpers shared by the meta-estimators that wrap one ``estimator``."""

from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

_PREDICTOR_TAGS = (
    "estimator_type",
    "input_tags",
    "target_tags",
    "classifier_tags",
    "regressor_tags",
)


def wrapped_tags(tags, estimator, names=_PREDICTOR_TAGS):
    """``tags`` of a meta-estimator that takes and predicts what ``estimator`` does."""
    inner = get_tags(estimator)
    for name in names:
        setattr(tags, name, getattr(inner, name))
    return tags


def inner_has(attr):
    """``available_if`` condition: the fitted inner estimator has ``attr`` (the unfitted one
    before ``fit``). The inner estimator is the parameter named by the meta-estimator's
    ``_inner`` (default ``"estimator"``); fitted, that name with a trailing underscore."""

    def check(self):
        name = getattr(self, "_inner", "estimator")
        fitted = getattr(self, name + "_", None)
        return hasattr(getattr(self, name) if fitted is None else fitted, attr)

    return check


def _delegate(method, summary):
    def delegate(self, X):
        return getattr(self._fitted_inner(), method)(X)

    delegate.__name__ = method
    delegate.__qualname__ = f"DelegateToFittedMixin.{method}"
    delegate.__doc__ = (
        f"{summary}\n\n        Parameters\n        ----------\n"
        f"        X : array-like, as the inner estimator takes it\n"
    )
    return available_if(inner_has(method))(delegate)


class DelegateToFittedMixin:
    """Prediction methods of a meta-estimator that answer with one fitted inner estimator.

    The inner estimator is the parameter named by ``_inner`` and, once fitted, the attribute
    of that name with a trailing underscore. Each method exists only when the inner estimator
    has it, as in scikit-learn's meta-estimators.
    """

    _inner = "estimator"

    def _fitted_inner(self):
        check_is_fitted(self)
        return getattr(self, self._inner + "_")

    predict = _delegate("predict", "Predict with the fitted inner estimator.")
    predict_proba = _delegate("predict_proba", "Class probabilities of the fitted inner estimator.")
    predict_log_proba = _delegate(
        "predict_log_proba", "Log class probabilities of the fitted inner estimator."
    )
    decision_function = _delegate(
        "decision_function", "Decision scores of the fitted inner estimator."
    )
    transform = _delegate("transform", "Transform with the fitted inner estimator.")

    @available_if(inner_has("score"))
    def score(self, X, y, sample_weight=None):
        """Score of the fitted inner estimator on ``(X, y)``.

        Parameters
        ----------
        X : array-like, as the inner estimator takes it
        y : array-like
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed on when given.

        Returns
        -------
        score : float
        """
        inner = self._fitted_inner()
        if sample_weight is None:
            return inner.score(X, y)
        return inner.score(X, y, sample_weight=sample_weight)

    # Documented in the classes' Attributes; a docstring here would make a second API target
    # named ``n_features_in_`` for the documentation's cross-references.
    @property
    def n_features_in_(self):
        return self._fitted_inner().n_features_in_

    @property
    def feature_names_in_(self):
        return self._fitted_inner().feature_names_in_
