"""LabelEncodedClassifier: string labels for classifiers that need 0..k-1 (XGBoost)."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ..base import check_y_given
from ..utils._meta import inner_has
from ..utils._sklearn_compat import HasMethods, _fit_context

__all__ = ["LabelEncodedClassifier"]


class LabelEncodedClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Fit a classifier on integer-encoded labels and predict the original labels.

    XGBoost's classifiers only accept the classes ``0 .. k-1``. This wrapper
    encodes ``y`` with a :class:`~sklearn.preprocessing.LabelEncoder`, fits a
    clone of ``estimator`` on the codes, and maps predictions back, so the user
    sees the emotion strings everywhere (``predict``, ``classes_``).

    Parameters
    ----------
    estimator : classifier
        The wrapped classifier (e.g. ``xgboost.XGBClassifier``).

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone of ``estimator``.
    label_encoder_ : LabelEncoder
        The fitted label encoder.
    classes_ : ndarray of shape (n_classes,)
        The original class labels, in the order of ``predict_proba`` columns.
    n_features_in_ : int
        Number of features seen in ``fit``.

    Examples
    --------
    >>> from xgboost import XGBClassifier
    >>> from skempathy.compose import LabelEncodedClassifier
    >>> X = [[i / 20] for i in range(20)]
    >>> y = ["sad"] * 10 + ["joy"] * 10
    >>> clf = LabelEncodedClassifier(XGBClassifier(n_estimators=5, n_jobs=1)).fit(X, y)
    >>> clf.classes_.tolist()
    ['joy', 'sad']
    >>> clf.predict([[0.05]]).tolist()
    ['sad']
    """

    _parameter_constraints = {"estimator": [HasMethods(["fit", "predict"])]}

    def __init__(self, estimator):
        self.estimator = estimator

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Encode ``y`` and fit a clone of ``estimator``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        y : array-like of shape (n_samples,)
            Class labels (any hashable, e.g. strings).
        **fit_params : dict
            Passed to ``estimator.fit`` (e.g. ``sample_weight``).

        Returns
        -------
        self : object
            The fitted classifier.
        """
        check_y_given(y, self)
        # validate (shape, emptiness, feature names) but hand the estimator X unchanged
        validate_data(self, X, reset=True, accept_sparse=True, ensure_all_finite=False, dtype=None)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.label_encoder_ = LabelEncoder().fit(y)
        self.classes_ = self.label_encoder_.classes_
        codes = self.label_encoder_.transform(y)
        self.estimator_ = clone(self.estimator).fit(X, codes, **fit_params)
        return self

    def _check_X(self, X):
        check_is_fitted(self)
        validate_data(self, X, reset=False, accept_sparse=True, ensure_all_finite=False, dtype=None)

    def predict(self, X):
        """Predicted labels (original classes).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        self._check_X(X)
        codes = np.asarray(self.estimator_.predict(X)).astype(np.intp).ravel()
        return self.classes_[codes]

    @available_if(inner_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        self._check_X(X)
        return self.estimator_.predict_proba(X)

    @available_if(inner_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`."""
        self._check_X(X)
        return self.estimator_.predict_log_proba(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags = inner.input_tags
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags
