"""Helpers shared by the meta-estimators that wrap one ``estimator``."""

from sklearn.utils import get_tags

_PREDICTOR_TAGS = ("estimator_type", "input_tags", "target_tags", "classifier_tags",
                   "regressor_tags")


def estimator_has(attr):
    """``available_if`` condition: the fitted inner estimator has ``attr`` (the unfitted one
    before ``fit``)."""

    def check(self):
        if hasattr(self, "estimator_"):
            return hasattr(self.estimator_, attr)
        return hasattr(self.estimator, attr)

    return check


def wrapped_tags(tags, estimator, names=_PREDICTOR_TAGS):
    """``tags`` of a meta-estimator that takes and predicts what ``estimator`` does."""
    inner = get_tags(estimator)
    for name in names:
        setattr(tags, name, getattr(inner, name))
    return tags
