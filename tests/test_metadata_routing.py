"""``groups`` (and other fit metadata) reach the members that request them: scikit-learn's
metadata routing through SeedEnsemble, AugmentedEstimator, MultiTaskVoting and compare_models."""

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline

from skempathy.augment import AugmentedEstimator
from skempathy.datasets import load_wassa
from skempathy.ensemble import MultiTaskVoting, SeedEnsemble
from skempathy.model_selection import compare_models
from skempathy.neural import TransformerClassifier, TransformerRegressor
from skempathy.neural._base import _BaseTransformerEstimator
from skempathy.text import SentenceEmbedder


@pytest.fixture(scope="module")
def wassa():
    train = load_wassa("train")
    return train.data["essay"][:90], train.frame[:90], np.asarray(train.groups[:90])


@pytest.fixture()
def seen_groups(monkeypatch):
    """The ``groups`` each fine-tuned fit's early-stopping split received (the real split
    still runs)."""
    seen = []
    split = _BaseTransformerEstimator._validation_split

    def record(self, n, targets, groups, rng):
        seen.append(None if groups is None else np.asarray(groups))
        return split(self, n, targets, groups, rng)

    monkeypatch.setattr(_BaseTransformerEstimator, "_validation_split", record)
    return seen


def _tuned(tiny_bert_path, cls=TransformerRegressor):
    return cls(
        tiny_bert_path,
        max_epochs=1,
        max_length=32,
        batch_size=16,
        early_stopping=True,
        device="cpu",
        random_state=0,
    )


def test_fine_tuned_estimators_request_groups_by_default(tiny_bert_path):
    requests = _tuned(tiny_bert_path).get_metadata_routing().fit.requests
    assert requests["groups"] is True and requests["sample_weight"] is None


def test_cross_validate_routes_groups_through_a_seed_ensemble(wassa, tiny_bert_path, seen_groups):
    X, frame, groups = wassa
    ensemble = SeedEnsemble(_tuned(tiny_bert_path), n_estimators=2, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        result = cross_validate(
            ensemble,
            X,
            frame["empathy"],
            cv=GroupKFold(3),
            params={"groups": groups},
            return_indices=True,
        )
    assert len(seen_groups) == 3 * 2  # every member of every fold
    for k, train in enumerate(result["indices"]["train"]):
        for seen in seen_groups[2 * k : 2 * k + 2]:
            np.testing.assert_array_equal(seen, groups[train])
    # routing off: fit parameters reach every member as they are
    seen_groups.clear()
    ensemble.fit(X, frame["empathy"], groups=groups)
    assert len(seen_groups) == 2 and all((seen == groups).all() for seen in seen_groups)


def test_multitask_voting_routes_groups_to_the_members_that_request_them(
    wassa, tiny_bert_path, seen_groups
):
    X, frame, groups = wassa
    vote = MultiTaskVoting(
        [
            ("tuned", _tuned(tiny_bert_path, TransformerClassifier), "emotion"),
            (
                "ridge",
                make_pipeline(SentenceEmbedder(tiny_bert_path, device="cpu"), Ridge()),
                ["empathy", "distress"],
            ),
        ]
    )
    with sklearn.config_context(enable_metadata_routing=True):
        vote.fit(X, frame[["emotion", "empathy", "distress"]], groups=groups)
    assert len(seen_groups) == 1 and (seen_groups[0] == groups).all()  # Ridge got none
    assert vote.predict(X[:4]).shape == (4, 3)


def test_augmented_estimator_gives_each_external_example_a_group_of_its_own(
    wassa, tiny_bert_path, seen_groups
):
    X, frame, groups = wassa
    extra = ["I am so angry about this", "what a lovely surprise", "this is disgusting"]
    aug = AugmentedEstimator(
        _tuned(tiny_bert_path, TransformerClassifier),
        extra,
        ["anger", "joy", "disgust"],
        strategy="random",
        random_state=0,
    )
    with sklearn.config_context(enable_metadata_routing=True):
        aug.fit(X, frame["emotion"], groups=groups)
    (seen,) = seen_groups
    assert len(seen) == 90 + aug.n_extra_ and aug.n_extra_ == 3
    np.testing.assert_array_equal(seen[:90], groups.astype(str))
    assert len(set(seen[90:])) == 3 and not set(seen[90:]) & set(seen[:90])
    with pytest.raises(ValueError, match="sample_weight is a per-sample fit parameter"):
        aug.fit(X, frame["emotion"], sample_weight=np.ones(90))


def test_compare_models_gives_the_training_writers_to_an_early_stopping_split(
    wassa, tiny_bert_path, seen_groups
):
    X, frame, groups = wassa
    result = compare_models(
        {
            "tuned": _tuned(tiny_bert_path),
            "ridge": make_pipeline(SentenceEmbedder(tiny_bert_path, device="cpu"), Ridge()),
        },
        X,
        frame["empathy"],
        cv=3,
        groups=groups,
        n_resamples=0,
        show_progress=False,
        measure_memory=False,
    )
    assert (result["error"] == "").all() and (result["n_folds"] == 3).all()
    assert len(seen_groups) == 3
    for seen, (train, _) in zip(seen_groups, result.splits):
        np.testing.assert_array_equal(seen, groups[train])
