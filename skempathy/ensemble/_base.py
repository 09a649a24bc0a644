"""What the ensembles share."""

from sklearn.utils.validation import check_is_fitted


class _FirstMemberFeaturesMixin:
    """``n_features_in_`` / ``feature_names_in_`` forwarded from the first fitted member
    (every member sees the same X)."""

    @property
    def n_features_in_(self):
        """Number of features seen by the members."""
        check_is_fitted(self)
        return self.estimators_[0].n_features_in_

    @property
    def feature_names_in_(self):
        """Feature names seen by the members."""
        check_is_fitted(self)
        return self.estimators_[0].feature_names_in_
