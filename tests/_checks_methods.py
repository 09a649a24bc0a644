"""Estimators of issue 5 (published methods) for sklearn's check suite.

The meta-estimators wrap numeric sklearn estimators here so every check applies;
their text behaviour is tested on real data in tests/test_augment.py and
tests/test_ensemble.py. ``AugmentedEstimator`` is registered with
``n_samples=0`` because the checks change the number of features from one check
to the next while external examples have a fixed width; augmentation itself is
tested in tests/test_augment.py.
"""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeRegressor

from skempathy.augment import AugmentedEstimator
from skempathy.ensemble import SeedEnsemble

INSTANCES = [
    AugmentedEstimator(LogisticRegression(), np.zeros((3, 2)), [0, 1, 0], n_samples=0),
    SeedEnsemble(LogisticRegression(), n_estimators=2, random_state=0),
    SeedEnsemble(DecisionTreeRegressor(max_depth=3), n_estimators=2, random_state=0),
]

EXPECTED_FAILED = {}
