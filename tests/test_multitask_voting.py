"""MultiTaskVoting on WASSA essays: TF-IDF heads per track, votes checked against sklearn."""

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import VotingClassifier, VotingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.multioutput import MultiOutputClassifier
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from skempathy.datasets import WASSA_COLUMN_GROUPS, load_wassa
from skempathy.ensemble import MultiTaskVoting
from skempathy.metrics import wassa_evaluate

TARGETS = ["emotion", "empathy", "distress"]
NUMERIC = ["age", "income"] + WASSA_COLUMN_GROUPS["personality"] + WASSA_COLUMN_GROUPS["iri"]


@pytest.fixture(scope="module")
def wassa():
    train, dev = load_wassa("train"), load_wassa("dev")
    return train.data, train.frame[TARGETS], dev.data, dev.frame[TARGETS], train.groups


def _text(head):
    return make_pipeline(ColumnTransformer([("tfidf", TfidfVectorizer(min_df=2), "essay")]), head)


def _columns(head):
    return make_pipeline(ColumnTransformer([("num", StandardScaler(), NUMERIC)]), head)


def _members():
    return [
        ("text_emotion", _text(LogisticRegression(C=3.0, max_iter=500)), "emotion"),
        ("text_scores", _text(Ridge(alpha=3.0)), ["empathy", "distress"]),
        ("columns_scores", _columns(Ridge(alpha=10.0)), ["empathy", "distress"]),
        ("columns_emotion", _columns(LogisticRegression(max_iter=500)), "emotion"),
    ]


def test_votes_are_the_weighted_mean_of_the_members(wassa):
    X, Y, Xd, Yd, _ = wassa
    vote = MultiTaskVoting(_members(), weights=[3, 1, 1, 1]).fit(X, Y)
    assert vote.targets_ == TARGETS
    assert vote.task_kinds_ == {
        "emotion": "classification",
        "empathy": "regression",
        "distress": "regression",
    }
    members = vote.named_estimators_
    # emotion: soft vote of the two emotion members, 3:1
    expected = (
        3 * members["text_emotion"].predict_proba(Xd) + members["columns_emotion"].predict_proba(Xd)
    ) / 4
    proba = vote.predict_proba(Xd)
    np.testing.assert_allclose(proba["emotion"], expected)
    pred = vote.predict(Xd)
    assert list(pred.columns) == TARGETS and pred.index.equals(Xd.index)
    np.testing.assert_array_equal(pred["emotion"], vote.classes_["emotion"][expected.argmax(1)])
    # empathy / distress: plain mean of the two regressors (weights 1:1)
    scores = (members["text_scores"].predict(Xd) + members["columns_scores"].predict(Xd)) / 2
    np.testing.assert_allclose(pred[["empathy", "distress"]].to_numpy(), scores)
    # the blend is a real system: it beats chance on every dev target
    row = wassa_evaluate(Yd[["empathy", "distress"]], pred[["empathy", "distress"]])
    row.update(wassa_evaluate(Yd["emotion"], pred["emotion"]))
    assert row["empathy_pearson"] > 0.2 and row["distress_pearson"] > 0.2
    assert row["macro_f1"] > 1 / 7


def test_weights_per_column(wassa):
    X, Y, Xd, _, _ = wassa
    # emotion: columns_emotion alone (the others' entries are ignored: they do not predict
    # it, or have weight 0); empathy: text 1, columns 4; distress (not named): equal
    weights = {"emotion": [0, 5, 5, 1], "empathy": [0, 1, 4, 0]}
    vote = MultiTaskVoting(_members(), weights=weights).fit(X, Y)
    members = vote.named_estimators_
    np.testing.assert_allclose(
        vote.predict_proba(Xd)["emotion"], members["columns_emotion"].predict_proba(Xd)
    )
    text, columns = members["text_scores"].predict(Xd), members["columns_scores"].predict(Xd)
    pred = vote.predict(Xd)
    np.testing.assert_allclose(pred["empathy"], (text[:, 0] + 4 * columns[:, 0]) / 5)
    np.testing.assert_allclose(pred["distress"], (text[:, 1] + columns[:, 1]) / 2)
    # a member with weight 0 wherever it predicts is not even run at predict time
    vote.estimators_[0] = None
    pd.testing.assert_frame_equal(vote.predict(Xd), pred)


def test_one_column_matches_sklearn_voting(wassa):
    X, Y, Xd, Yd, _ = wassa
    members = [
        ("tfidf", _text(LogisticRegression(C=3.0, max_iter=500))),
        ("columns", _columns(LogisticRegression(max_iter=500))),
    ]
    ours = MultiTaskVoting([(n, e, None) for n, e in members], weights=[2, 1])
    ours.fit(X, Y["emotion"])
    theirs = VotingClassifier(members, voting="soft", weights=[2, 1]).fit(X, Y["emotion"])
    np.testing.assert_allclose(ours.predict_proba(Xd), theirs.predict_proba(Xd))
    np.testing.assert_array_equal(ours.predict(Xd), theirs.predict(Xd))
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)

    regressors = [("tfidf", _text(Ridge(alpha=3.0))), ("columns", _columns(Ridge(alpha=10.0)))]
    ours = MultiTaskVoting([(n, e, None) for n, e in regressors]).fit(X, Y["distress"])
    theirs = VotingRegressor(regressors).fit(X, Y["distress"])
    np.testing.assert_allclose(ours.predict(Xd), theirs.predict(Xd))
    from sklearn.metrics import r2_score

    assert ours.score(Xd, Yd["distress"]) == pytest.approx(
        r2_score(Yd["distress"], theirs.predict(Xd))
    )


def test_multi_output_members_and_hard_votes(wassa):
    X, Y, Xd, _, _ = wassa
    # a sklearn multi-output classifier (predict_proba is a list) and a classifier without
    # predict_proba (one-hot vote) on two label columns
    labels = pd.DataFrame(
        {"emotion": Y["emotion"], "high_empathy": np.where(Y["empathy"] > 4, "high", "low")}
    )
    vote = MultiTaskVoting(
        [
            ("both", MultiOutputClassifier(_text(LogisticRegression(max_iter=500))), None),
            ("svm", _text(LinearSVC()), "high_empathy"),
        ]
    ).fit(X, labels)
    multi = vote.named_estimators_["both"]
    svm_votes = (vote.named_estimators_["svm"].predict(Xd) == "low").astype(float)
    proba = vote.predict_proba(Xd)
    np.testing.assert_allclose(proba["emotion"], multi.predict_proba(Xd)[0])
    expected_low = (multi.predict_proba(Xd)[1][:, 1] + svm_votes) / 2
    np.testing.assert_allclose(proba["high_empathy"][:, 1], expected_low)
    assert list(vote.classes_["high_empathy"]) == ["high", "low"]


def test_arrays_in_arrays_out(wassa):
    X, Y, Xd, _, _ = wassa
    y = Y[["empathy", "distress"]].to_numpy()
    vote = MultiTaskVoting(
        [("text", _text(Ridge()), [0, 1]), ("columns", _columns(Ridge()), [1])]
    ).fit(X, y)
    pred = vote.predict(Xd)
    assert isinstance(pred, np.ndarray) and pred.shape == (len(Xd), 2)
    np.testing.assert_allclose(pred[:, 0], vote.estimators_[0].predict(Xd)[:, 0])
    assert not hasattr(vote, "predict_proba")
    assert not hasattr(vote, "classes_")


def test_clone_params_pickle_and_grouped_cv(wassa):
    X, Y, Xd, _, groups = wassa
    vote = MultiTaskVoting(_members())
    params = vote.get_params()
    assert "text_scores__ridge__alpha" in params and "columns_emotion" in params
    vote.set_params(text_scores__ridge__alpha=30.0, weights=[1, 2, 1, 1])
    assert vote.estimators[1][1].named_steps["ridge"].alpha == 30.0
    assert vote.estimators[1][2] == ["empathy", "distress"]  # targets kept by set_params
    assert clone(vote).get_params()["text_scores__ridge__alpha"] == 30.0
    fitted = clone(vote).fit(X, Y)
    again = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(again.predict(Xd), fitted.predict(Xd))
    # a column at a time, grouped by writer: the blend works inside cross_val_predict
    oof = cross_val_predict(
        MultiTaskVoting([(n, e, None) for n, e, t in _members() if t == "emotion"]),
        X,
        Y["emotion"],
        groups=groups,
        cv=GroupKFold(3),
    )
    assert set(oof) <= set(Y["emotion"])


def test_errors(wassa):
    X, Y, _, _, _ = wassa
    with pytest.raises(ValueError, match="does not have"):
        MultiTaskVoting([("a", _text(Ridge()), ["empathy", "anger"])]).fit(X, Y)
    with pytest.raises(ValueError, match=r"no member predicts the column\(s\) \['emotion'\]"):
        MultiTaskVoting([("a", _text(Ridge()), ["empathy", "distress"])]).fit(X, Y)
    with pytest.raises(ValueError, match="3 weights for 4 estimators"):
        MultiTaskVoting(_members(), weights=[1, 1, 1]).fit(X, Y)
    with pytest.raises(ValueError, match="3 weights for column 'emotion' for 4 estimators"):
        MultiTaskVoting(_members(), weights={"emotion": [1, 1, 1]}).fit(X, Y)
    with pytest.raises(ValueError, match="non-negative"):
        MultiTaskVoting(_members(), weights=[1, -1, 1, 1]).fit(X, Y)
    with pytest.raises(ValueError, match=r"weights name column\(s\) \['anger'\]"):
        MultiTaskVoting(_members(), weights={"anger": [1, 1, 1, 1]}).fit(X, Y)
    with pytest.raises(ValueError, match="predicting column 'emotion' all have weight 0"):
        MultiTaskVoting(_members(), weights={"emotion": [0, 1, 1, 0]}).fit(X, Y)
    with pytest.raises(ValueError, match="name, estimator, targets"):
        MultiTaskVoting([("a", Ridge())]).fit(X, Y)
    with pytest.raises(ValueError, match="unique"):
        MultiTaskVoting([("a", _text(Ridge()), None), ("a", _text(Ridge()), None)]).fit(
            X, Y["empathy"]
        )
    bad = Y.copy()
    bad.loc[bad.index[3], "empathy"] = np.nan
    with pytest.raises(ValueError, match="'empathy' of y holds NaN"):
        MultiTaskVoting(_members()).fit(X, bad)
    with pytest.raises(ValueError, match="requires y"):
        MultiTaskVoting(_members()).fit(X, None)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MultiTaskVoting(_members()).predict(X)
    # the estimator type follows the members
    assert (
        MultiTaskVoting([("nb", ComplementNB(), None)]).__sklearn_tags__().estimator_type
        == "classifier"
    )


def test_a_missing_corpus_fails_before_any_member_trains(wassa, tmp_path):
    """A member that reads GoEmotions in fit, with no GoEmotions files: the vote fails at once,
    naming the corpus, and the members before it are never fitted."""
    from functools import partial

    from skempathy.augment import AugmentedEstimator, goemotions_pool

    X, Y, *_ = wassa
    fitted = []

    class Recorded(Ridge):
        def fit(self, X, y, **kw):
            fitted.append(1)
            return super().fit(X, y, **kw)

    source = partial(goemotions_pool, per_class=40, data_home=str(tmp_path))  # an empty folder
    augmented = make_pipeline(
        ColumnTransformer([("essay", "passthrough", ["essay"])]),
        AugmentedEstimator(_text(LogisticRegression(max_iter=300)), source, None),
    )
    vote = MultiTaskVoting(
        [
            ("scores", _columns(Recorded()), ["empathy", "distress"]),
            ("emotion", augmented, "emotion"),
        ]
    )
    with pytest.raises(OSError, match="GoEmotions"):
        vote.fit(X, Y)
    assert fitted == []


def test_members_sharing_a_corpus_read_it_once(monkeypatch):
    """Three members, two of them drawing from one GoEmotions source: the check before fit
    reads each distinct source once, and reads it for real."""
    from functools import partial

    import skempathy.augment as augment
    from skempathy.utils._warm import check_fit_sources

    from .conftest import shared_data_dir

    if shared_data_dir() is None:
        pytest.skip("GoEmotions is not bundled (set SKEMPATHY_SHARED_DATA)")
    reads = []

    def counted(*args, **kwargs):
        reads.append(1)
        return read(*args, **kwargs)

    read = augment.goemotions_to_wassa
    monkeypatch.setattr(augment, "goemotions_to_wassa", counted)

    def member(per_class):
        source = partial(augment.goemotions_pool, per_class=per_class, data_home=shared_data_dir())
        return augment.AugmentedEstimator(_text(LogisticRegression()), source, None)

    vote = MultiTaskVoting(
        [
            ("a", member(40), "emotion"),
            ("b", clone(member(40)), "emotion"),
            ("c", member(50), "emotion"),
        ]
    )
    assert check_fit_sources([vote]) == 2
    assert len(reads) == 2


class _Logged(BaseEstimator):
    """``estimator``, noting ``tag`` in the file ``log`` at each fit; while the file ``stop``
    exists its fit is interrupted as Ctrl-C interrupts a long one."""

    def __init__(self, estimator, *, tag="", log=None, stop=None):
        self.estimator = estimator
        self.tag = tag
        self.log = log
        self.stop = stop

    def __sklearn_tags__(self):
        return self.estimator.__sklearn_tags__()

    def fit(self, X, y):
        with open(self.log, "a") as fh:
            fh.write(self.tag + "\n")
        if self.stop is not None and Path(self.stop).exists():
            raise KeyboardInterrupt
        self.estimator_ = clone(self.estimator).fit(X, y)
        return self

    def predict(self, X):
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    @property
    def classes_(self):
        return self.estimator_.classes_


def test_memory_resumes_an_interrupted_fit_at_the_member_it_was_fitting(wassa, tmp_path):
    """With ``memory``, an interrupted vote keeps the members it finished: the refit trains
    only the rest, a third fit trains nothing, and a member whose parameters change is
    retrained alone. The votes equal those of a fit without the cache."""
    X, Y, Xd, *_ = wassa
    log, stop = tmp_path / "fits.log", tmp_path / "stop"
    stop.touch()

    def vote(C=3.0, memory=tmp_path / "members"):
        scores = _Logged(_text(Ridge(alpha=3.0)), tag="scores", log=str(log))
        emotion = _text(LogisticRegression(C=C, max_iter=500))
        emotion = _Logged(emotion, tag="emotion", log=str(log), stop=str(stop))
        return MultiTaskVoting(
            [("scores", scores, ["empathy", "distress"]), ("emotion", emotion, "emotion")],
            memory=None if memory is None else str(memory),
        )

    def fits():
        return log.read_text().split()

    with pytest.raises(KeyboardInterrupt):
        vote().fit(X, Y)
    assert fits() == ["scores", "emotion"]
    stop.unlink()
    resumed = vote().fit(X, Y)
    assert fits() == ["scores", "emotion", "emotion"]  # the finished member is read back
    again = vote().fit(X, Y)
    assert fits() == ["scores", "emotion", "emotion"]
    vote(C=0.3).fit(X, Y)
    assert fits() == ["scores", "emotion", "emotion", "emotion"]

    uncached = vote(memory=None).fit(X, Y)
    for fitted in (resumed, again):
        pd.testing.assert_frame_equal(fitted.predict(Xd), uncached.predict(Xd))
