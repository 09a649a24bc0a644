"""SeedEnsemble on WASSA essays (TF-IDF heads: cheap, real data, real seed effects)."""

import pickle

import numpy as np
import pytest
from sklearn.base import is_classifier, is_regressor
from sklearn.ensemble import VotingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LinearRegression, SGDClassifier, SGDRegressor
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from skempathy.datasets import load_wassa
from skempathy.ensemble import SeedEnsemble


@pytest.fixture(scope="module")
def emotion_data():
    X, y = load_wassa("train", target="emotion", return_X_y=True)
    Xd, yd = load_wassa("dev", target="emotion", return_X_y=True)
    return X["essay"].tolist(), y.to_numpy(), Xd["essay"].tolist(), yd.to_numpy()


def _sgd_clf():
    return make_pipeline(
        TfidfVectorizer(min_df=2), SGDClassifier(loss="log_loss", alpha=1e-4, max_iter=20, tol=None)
    )


def test_classifier_members_differ_and_are_averaged(emotion_data):
    X, y, Xd, yd = emotion_data
    ens = SeedEnsemble(_sgd_clf(), n_estimators=4, random_state=0).fit(X, y)
    assert is_classifier(ens)
    assert ens.seed_params_ == ["sgdclassifier__random_state"]
    assert len(set(ens.seeds_.tolist())) == 4
    member_probas = [m.predict_proba(Xd) for m in ens.estimators_]
    # the seeds matter: members disagree ...
    assert not np.allclose(member_probas[0], member_probas[1])
    # ... and the ensemble is their mean, predicting labels from classes_
    proba = ens.predict_proba(Xd)
    np.testing.assert_allclose(proba, np.mean(member_probas, axis=0), rtol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    pred = ens.predict(Xd)
    assert set(pred) <= set(ens.classes_) and pred.dtype.kind in "UO"
    np.testing.assert_array_equal(pred, ens.classes_[proba.argmax(axis=1)])
    assert ens.score(Xd, yd) > 0.3  # 7 classes, majority class is 36 %


def test_reproducible_and_pickles_whole(emotion_data):
    X, y, Xd, _ = emotion_data
    a = SeedEnsemble(_sgd_clf(), n_estimators=3, random_state=7).fit(X, y)
    b = SeedEnsemble(_sgd_clf(), n_estimators=3, random_state=7).fit(X, y)
    np.testing.assert_allclose(a.predict_proba(Xd), b.predict_proba(Xd))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_allclose(restored.predict_proba(Xd), a.predict_proba(Xd))
    assert len(restored.estimators_) == 3


def test_regressor_multioutput_average():
    X, Y = load_wassa("train", target=["empathy", "distress"], return_X_y=True)
    Xd, Yd = load_wassa("dev", target=["empathy", "distress"], return_X_y=True)
    texts, dev = X["essay"].tolist(), Xd["essay"].tolist()
    reg = make_pipeline(TfidfVectorizer(min_df=3), SGDRegressor(alpha=1e-5, max_iter=50, tol=None))
    from sklearn.multioutput import MultiOutputRegressor

    ens = SeedEnsemble(MultiOutputRegressor(reg), n_estimators=3, random_state=0)
    ens.fit(texts, Y)
    assert is_regressor(ens)
    pred = ens.predict(dev)
    members = np.stack([m.predict(dev) for m in ens.estimators_])
    assert pred.shape == (270, 2)
    assert not np.allclose(members[0], members[1])
    np.testing.assert_allclose(pred, members.mean(axis=0))
    r = np.corrcoef(pred[:, 0], Yd["empathy"])[0, 1]
    assert r > 0.15  # one TF-IDF SGD model reaches ~0.23 dev Pearson on empathy


def test_cross_validation_and_voting(emotion_data):
    X, y, _, _ = emotion_data
    ens = SeedEnsemble(_sgd_clf(), n_estimators=2, random_state=0)
    scores = cross_val_score(ens, X[:600], y[:600], cv=3, scoring="f1_macro")
    assert scores.shape == (3,) and np.all(scores > 0)
    vote = VotingClassifier([("seeds", ens), ("one", _sgd_clf())], voting="soft")
    assert vote.fit(X[:600], y[:600]).predict_proba(X[600:610]).shape[0] == 10


def test_errors():
    with pytest.raises(ValueError, match="no random_state parameter"):
        SeedEnsemble(LinearRegression()).fit([[0.0], [1.0]], [0.0, 1.0])
    with pytest.raises(ValueError, match="n_estimators"):
        SeedEnsemble(SGDClassifier(), n_estimators=0).fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(Exception, match="not fitted"):
        SeedEnsemble(SGDClassifier()).predict([[0.0]])


def _multilabel_wassa(n):
    """A real multi-label target: sad essay / empathy >= 4 / distress >= 4."""
    frame = load_wassa("train").frame.iloc[:n]
    Y = np.column_stack(
        [frame["emotion"] == "sadness", frame["empathy"] >= 4, frame["distress"] >= 4]
    ).astype(int)
    return frame["essay"].tolist(), Y


def test_multilabel_members_give_an_indicator_matrix(tiny_bert_path):
    import warnings

    from sklearn.multioutput import MultiOutputClassifier

    from skempathy.neural import TransformerClassifier

    X, Y = _multilabel_wassa(40)
    neural = TransformerClassifier(
        tiny_bert_path, max_length=32, batch_size=8, max_epochs=1, learning_rate=5e-4, device="cpu"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # truncation
        ens = SeedEnsemble(neural, n_estimators=2, random_state=0).fit(X, Y)
        proba = ens.predict_proba(X)
        pred = ens.predict(X)
    assert ens.multilabel_ and proba.shape == Y.shape and pred.shape == Y.shape
    np.testing.assert_array_equal(pred, (proba >= 0.5).astype(int))
    # members without a 2-D predict_proba vote per label
    sgd = make_pipeline(
        TfidfVectorizer(min_df=2), MultiOutputClassifier(SGDClassifier(max_iter=20, tol=None))
    )
    X, Y = _multilabel_wassa(400)
    ens = SeedEnsemble(sgd, n_estimators=3, random_state=0).fit(X, Y)
    votes = np.mean([m.predict(X) for m in ens.estimators_], axis=0)
    np.testing.assert_array_equal(ens.predict(X), (votes >= 0.5).astype(int))
    assert set(np.unique(ens.predict(X))) <= {0, 1}
