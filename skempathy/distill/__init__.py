"""Knowledge distillation: one fast student trained to imitate a teacher.

:class:`Distiller` fits a teacher (an ensemble, a recipe, any estimator, or a
fitted one wrapped in ``sklearn.frozen.FrozenEstimator``), labels the training
texts and a pool of unlabeled texts with its soft targets, and trains a student
on them. :func:`unlabeled_texts` returns a pool of public texts with their
licences in ``UNLABELED_SOURCES``.
"""

from ._distiller import Distiller
from ._pool import UNLABELED_SOURCES, unlabeled_texts

__all__ = ["Distiller", "UNLABELED_SOURCES", "unlabeled_texts"]
