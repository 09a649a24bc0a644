"""Composite estimators for mixed WASSA inputs: text + demographic/personality/IRI columns."""

from ._label import LabelEncodedClassifier
from ._wassa import WassaPipeline, make_preprocessor, make_wassa_pipeline

__all__ = ["LabelEncodedClassifier", "WassaPipeline", "make_preprocessor", "make_wassa_pipeline"]
