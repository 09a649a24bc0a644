"""Distiller in sklearn's check suite.

Teacher and student are numeric sklearn estimators here, so every check applies
(fit, predict, pickling, n_features_in_, parameter validation). They hold out
no rows for ``teacher_agreement_`` (``validation_fraction=0``): the held-out rows
are drawn by position, so fitting with integer weights and fitting with
repeated rows would hold out different rows. Distillation of text models, and
the held-out agreement, are tested on real essays in tests/test_distill.py.
"""

from sklearn.linear_model import LogisticRegression, Ridge

from skempathy.distill import Distiller

INSTANCES = [
    Distiller(LogisticRegression(), LogisticRegression(), validation_fraction=0.0),
    Distiller(Ridge(), Ridge(alpha=10.0), alpha=0.7, validation_fraction=0.0, random_state=0),
]

EXPECTED_FAILED = {}
