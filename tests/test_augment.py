"""AugmentedEstimator and goemotions_to_wassa on the real WASSA and GoEmotions data."""

import collections
import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.compose import make_column_transformer
from sklearn.pipeline import make_pipeline

from skempathy.augment import WASSA_EMOTIONS, AugmentedEstimator, goemotions_to_wassa
from skempathy.datasets import load_wassa


@pytest.fixture(scope="module")
def wassa_train():
    X, y = load_wassa("train", target="emotion", return_X_y=True)
    return X["essay"].tolist(), y.to_numpy()


@pytest.fixture(scope="module")
def goemotions_extra(goemotions_home):
    return goemotions_to_wassa("train", data_home=goemotions_home, download_if_missing=False)


def test_goemotions_to_wassa_counts_and_labels(goemotions_extra, goemotions_home):
    X, y = goemotions_extra
    # SOURCE.md: 39,555 train comments have exactly one Ekman class.
    assert len(X) == len(y) == 39555
    counts = collections.Counter(y.tolist())
    assert counts == {
        "joy": 15216,
        "neutral": 12823,
        "anger": 4293,
        "surprise": 3858,
        "sadness": 2326,
        "fear": 541,
        "disgust": 498,
    }
    assert set(counts) == set(WASSA_EMOTIONS)
    assert all(isinstance(t, str) and t for t in X[:100])
    X2, y2 = goemotions_to_wassa(
        "dev", data_home=goemotions_home, download_if_missing=False, labels=["fear", "disgust"]
    )
    assert collections.Counter(y2.tolist()) == {"fear": 72, "disgust": 61}
    with pytest.raises(ValueError, match="Unknown WASSA labels"):
        goemotions_to_wassa("dev", data_home=goemotions_home, labels=["happy"])


class _Recorder(ClassifierMixin, BaseEstimator):
    """A real TF-IDF + logistic-regression classifier that logs every text it sees."""

    log = {"fit": [], "predict": []}

    def fit(self, X, y):
        self.log["fit"].append(list(X))
        self.model_ = make_pipeline(TfidfVectorizer(min_df=2), LogisticRegression(max_iter=200))
        self.model_.fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        self.log["predict"].append(list(X))
        return self.model_.predict(X)


def test_extra_examples_never_reach_a_validation_fold(wassa_train, goemotions_extra):
    X, y = wassa_train
    X_extra, y_extra = goemotions_extra
    _Recorder.log = {"fit": [], "predict": []}
    aug = AugmentedEstimator(
        _Recorder(), X_extra, y_extra, strategy="random", n_samples=500, random_state=0
    )
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    res = cross_validate(
        aug, X, y, cv=cv, scoring="f1_macro", return_estimator=True, return_indices=True
    )
    extra_set, train_set = set(X_extra), set(X)
    assert not extra_set & train_set  # the corpora share no text, so the check below can fail
    # every training fold got exactly its fold + 500 external comments ...
    assert len(_Recorder.log["fit"]) == 3
    for seen, train_idx, est in zip(
        _Recorder.log["fit"], res["indices"]["train"], res["estimator"]
    ):
        assert len(seen) == len(train_idx) + 500
        assert seen[: len(train_idx)] == [X[i] for i in train_idx]
        assert set(seen[len(train_idx) :]) <= extra_set
        assert est.n_extra_ == 500 and est.n_train_ == len(train_idx)
    # ... while every scored fold holds exactly the held-out WASSA essays and nothing else
    assert len(_Recorder.log["predict"]) == 3
    for seen, test_idx in zip(_Recorder.log["predict"], res["indices"]["test"]):
        assert seen == [X[i] for i in test_idx]
        assert not set(seen) & extra_set
    assert np.all((res["test_score"] > 0) & (res["test_score"] <= 1))


def test_grid_search_validation_folds_stay_clean(wassa_train, goemotions_extra):
    X, y = wassa_train
    X_extra, y_extra = goemotions_extra
    _Recorder.log = {"fit": [], "predict": []}
    aug = AugmentedEstimator(_Recorder(), X_extra, y_extra, strategy="random", random_state=0)
    search = GridSearchCV(aug, {"n_samples": [0, 200]}, cv=2, refit=False).fit(X[:400], y[:400])
    extra_set = set(X_extra)
    assert len(search.cv_results_["mean_test_score"]) == 2
    assert all(not set(seen) & extra_set for seen in _Recorder.log["predict"])
    added = sorted(len(set(seen) & extra_set) for seen in _Recorder.log["fit"])
    assert added == [0, 0, 200, 200]


def test_balanced_strategy_equalises_wassa_classes(wassa_train, goemotions_extra):
    X, y = wassa_train
    X_extra, y_extra = goemotions_extra
    aug = AugmentedEstimator(
        make_pipeline(TfidfVectorizer(min_df=3), LogisticRegression()),
        X_extra,
        y_extra,
        strategy="balanced",
        random_state=0,
    ).fit(X, y)
    counts = collections.Counter(y.tolist())
    counts.update(y_extra[aug.extra_indices_].tolist())
    # WASSA train has 647 sadness essays; GoEmotions has enough of every class except
    # disgust, and 149 + 498 happens to be 647 too.
    assert set(counts.values()) == {647}
    assert aug.n_extra_ == sum(647 - c for c in collections.Counter(y.tolist()).values())
    assert set(aug.classes_) == set(WASSA_EMOTIONS)
    # a budget is spread over the smallest classes first (joy has only 82 essays)
    small = clone(aug).set_params(n_samples=60).fit(X, y)
    assert set(y_extra[small.extra_indices_]) == {"joy"}
    # float n_samples is a fraction of the training set
    frac = clone(aug).set_params(strategy="random", n_samples=0.5).fit(X[:200], y[:200])
    assert frac.n_extra_ == 100


def test_same_seed_same_draw_and_pickle(wassa_train, goemotions_extra):
    X, y = wassa_train
    X_extra, y_extra = goemotions_extra
    base = make_pipeline(TfidfVectorizer(min_df=3), LogisticRegression(max_iter=300))
    a = AugmentedEstimator(
        base, X_extra, y_extra, strategy="random", n_samples=300, random_state=1
    ).fit(X[:300], y[:300])
    b = clone(a).fit(X[:300], y[:300])
    c = clone(a).set_params(random_state=2).fit(X[:300], y[:300])
    np.testing.assert_array_equal(a.extra_indices_, b.extra_indices_)
    assert not np.array_equal(a.extra_indices_, c.extra_indices_)
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_allclose(restored.predict_proba(X[300:320]), a.predict_proba(X[300:320]))


def test_a_callable_source_is_read_in_every_fit_and_draws_like_arrays(wassa_train, goemotions_home):
    from functools import partial

    from skempathy.augment import goemotions_pool

    X, y = wassa_train
    X_pool, y_pool = goemotions_pool(per_class=40, data_home=goemotions_home)
    X_col = np.asarray(X[:200], dtype=object).reshape(-1, 1)
    base = make_pipeline(
        make_column_transformer((TfidfVectorizer(), 0)), LogisticRegression(max_iter=300)
    )
    reads = []

    def source():
        reads.append(1)
        return goemotions_pool(per_class=40, data_home=goemotions_home)

    lazy = AugmentedEstimator(base, source, None, random_state=0)
    assert reads == []  # building reads nothing
    lazy.fit(X_col, y[:200])
    clone(lazy).fit(X_col, y[:200])
    assert len(reads) == 2
    eager = AugmentedEstimator(base, X_pool, y_pool, random_state=0).fit(X_col, y[:200])
    np.testing.assert_array_equal(lazy.extra_indices_, eager.extra_indices_)
    assert lazy.n_extra_ > 0
    # a partial of a module-level function pickles with the estimator
    picklable = AugmentedEstimator(
        base,
        partial(goemotions_pool, per_class=40, data_home=goemotions_home),
        None,
        random_state=0,
    ).fit(X_col, y[:200])
    restored = pickle.loads(pickle.dumps(picklable))
    np.testing.assert_allclose(restored.predict_proba(X_col[:5]), eager.predict_proba(X_col[:5]))
    with pytest.raises(ValueError, match="pass y_extra=None"):
        AugmentedEstimator(base, source, y_pool).fit(X_col, y[:200])
    with pytest.raises(TypeError, match=r"must return a tuple \(X_extra, y_extra\)"):
        AugmentedEstimator(base, lambda: X_pool, None).fit(X_col, y[:200])
    with pytest.raises(ValueError, match="y_extra is None"):
        AugmentedEstimator(base, X_pool, None).fit(X_col, y[:200])


def test_dataframe_input_with_text_extras(goemotions_extra):
    from skempathy.datasets import load_wassa

    X, y = load_wassa("dev", target="emotion", return_X_y=True)
    X_extra, y_extra = goemotions_extra
    from sklearn.compose import make_column_transformer

    pipe = make_pipeline(
        make_column_transformer((TfidfVectorizer(), "essay")), LogisticRegression(max_iter=300)
    )
    aug = AugmentedEstimator(
        pipe, X_extra, y_extra, strategy="random", n_samples=100, random_state=0
    )
    with pytest.raises(ValueError, match="X_extra must be a DataFrame"):
        aug.fit(X, y)  # 15 columns, 1-D extras: ambiguous
    aug.fit(X[["essay"]], y)
    assert aug.n_extra_ == 100
    assert aug.predict(X[["essay"]]).shape == (270,)


def test_errors_and_unknown_labels(wassa_train):
    X, y = wassa_train
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression())
    with pytest.raises(ValueError, match="X_extra has 2 rows but y_extra has 1"):
        AugmentedEstimator(pipe, ["a b", "c d"], ["joy"]).fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="strategy='balanced' needs class labels"):
        AugmentedEstimator(make_pipeline(TfidfVectorizer(), Ridge()), ["nice text"], [3.0]).fit(
            X[:50], np.linspace(1, 7, 50)
        )
    with pytest.raises(ValueError, match="strategy"):
        AugmentedEstimator(pipe, ["a"], ["joy"], strategy="oversample").fit(X[:50], y[:50])
    with pytest.warns(UserWarning, match="labels absent from the training y"):
        aug = AugmentedEstimator(
            pipe, ["so happy", "I love it", "meh"], ["joy", "love", "joy"], strategy="random"
        ).fit(X[:100], y[:100])
    assert aug.n_extra_ == 2 and "love" not in aug.classes_
    with pytest.raises(Exception, match="not fitted"):
        AugmentedEstimator(pipe, ["a"], ["joy"]).predict(X[:2])


def test_regression_with_random_strategy(wassa_train):
    X_df, Y = load_wassa("train", target=["empathy", "distress"], return_X_y=True)
    X = X_df["essay"].tolist()
    pipe = make_pipeline(TfidfVectorizer(min_df=3), Ridge())
    extra_Y = Y.iloc[:100].to_numpy()
    aug = AugmentedEstimator(
        pipe, X[:100], extra_Y, strategy="random", n_samples=50, random_state=0
    ).fit(X[100:400], Y.iloc[100:400])
    assert aug.n_extra_ == 50
    assert aug.predict(X[400:410]).shape == (10, 2)
