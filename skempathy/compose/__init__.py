"""Composite estimators for mixed WASSA inputs: text + demographic/personality/IRI columns."""

from ._label import LabelEncodedClassifier
from ._wassa import make_preprocessor, make_wassa_pipeline

__all__ = ["LabelEncodedClassifier", "make_preprocessor", "make_wassa_pipeline"]
