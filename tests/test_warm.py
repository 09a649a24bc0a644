"""The warming protocol: a component shares work on the whole input with the jobs that fit
copies of it, whatever meta-estimator or comparison runs them."""

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skempathy.ensemble import SeedEnsemble
from skempathy.model_selection import compare_models
from skempathy.utils._warm import restore_warm_states, warm_states

RESTORED = []


class _State:
    def __init__(self, key, n_rows):
        self.key = key
        self.n_rows = n_rows

    def restore(self):
        RESTORED.append((self.key, self.n_rows))


class WarmedScaler(StandardScaler):
    """A scaler that offers the number of rows it saw as its warm state."""

    def __init__(self, tag="a"):
        super().__init__()
        self.tag = tag

    def __skempathy_warm__(self, X):
        return _State(("rows", self.tag), len(X))


def _data(n=40):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 3))
    return X, X @ [1.0, -2.0, 0.5] + rng.normal(scale=0.1, size=n)


def test_states_are_found_inside_compositions_and_sent_once_per_key():
    X, _ = _data()
    members = [
        make_pipeline(WarmedScaler("a"), Ridge()),
        make_pipeline(WarmedScaler("a"), Ridge()),  # the same key: one state
        SeedEnsemble(make_pipeline(WarmedScaler("b"), Ridge()), n_estimators=2),
        Ridge(),  # nothing to warm
    ]
    states = warm_states(members, X)
    assert sorted(s.key for s in states) == [("rows", "a"), ("rows", "b")]
    assert all(s.n_rows == len(X) for s in states)
    RESTORED.clear()
    restore_warm_states(states)
    assert sorted(RESTORED) == [(("rows", "a"), 40), (("rows", "b"), 40)]


def test_seed_ensemble_and_compare_models_restore_the_state_before_every_fit():
    X, y = _data()
    RESTORED.clear()
    SeedEnsemble(make_pipeline(WarmedScaler(), Ridge()), n_estimators=3, random_state=0).fit(X, y)
    assert RESTORED == [(("rows", "a"), 40)] * 3  # the whole input's state, in every job
    RESTORED.clear()
    compare_models({"warmed": make_pipeline(WarmedScaler(), Ridge())}, X, y, cv=KFold(4), n_jobs=1)
    assert RESTORED == [(("rows", "a"), 40)] * 4
