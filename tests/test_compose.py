"""Tests of skempathy.compose on the real WASSA data (tiny encoder for speed)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold

from skempathy.compose import LabelEncodedClassifier, make_preprocessor, make_wassa_pipeline
from skempathy.datasets import WASSA_COLUMN_GROUPS, load_wassa
from skempathy.metrics import get_scorer
from skempathy.text import SentenceEmbedder, clear_embedding_cache, embedding_cache_info

N_TRAIN = 300


def _fewer_trees(pipe, n=20):
    """Shrink boosted heads so the default test run stays fast (defaults are benchmarked)."""
    params = {k: n for k in pipe.get_params() if k.endswith("n_estimators")}
    return pipe.set_params(**params)


@pytest.fixture(scope="module")
def wassa():
    train = load_wassa("train")
    dev = load_wassa("dev")
    return train, dev


@pytest.fixture
def tiny(tiny_bert_path):
    return SentenceEmbedder(tiny_bert_path, device="cpu", batch_size=16, show_progress=False)


def test_default_columns_follow_wassa_groups(wassa, tiny):
    train, dev = wassa
    pre = make_preprocessor(embedder=tiny)
    Xt = pre.fit_transform(train.data[:N_TRAIN])
    numeric = pre.named_transformers_["numeric"]
    expected_numeric = (
        ["age", "income"] + WASSA_COLUMN_GROUPS["personality"] + WASSA_COLUMN_GROUPS["iri"]
    )
    assert sorted(numeric.feature_names_in_) == sorted(expected_numeric)
    # scaled with the training rows' statistics only
    np.testing.assert_allclose(
        numeric.mean_, train.data[:N_TRAIN][numeric.feature_names_in_].mean().to_numpy()
    )
    names = pre.get_feature_names_out()
    assert names[0] == "text__sentenceembedder_0"
    assert "categorical__gender_1" in names and "numeric__iri_fantasy" in names
    assert Xt.shape == (N_TRAIN, len(names)) and np.isfinite(Xt).all()
    # unseen categories in dev (race code absent from the first rows) are ignored, not errors
    Xd = pre.transform(dev.data)
    assert Xd.shape == (len(dev.data), len(names))


def test_text_column_as_string_or_list_and_pandas_output(wassa, tiny):
    from sklearn.compose import ColumnTransformer

    train, _ = wassa
    X = train.data[:40]
    as_str = ColumnTransformer([("t", clone(tiny), "essay")]).fit_transform(X)
    as_list = ColumnTransformer([("t", clone(tiny), ["essay"])]).fit_transform(X)
    np.testing.assert_array_equal(as_str, as_list)
    pre = make_preprocessor(embedder=tiny, numeric=["age"], categorical=["gender"])
    out = pre.set_output(transform="pandas").fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    assert out.index.equals(X.index)
    assert out.columns[0] == "text__sentenceembedder_0" and "numeric__age" in out.columns


@pytest.mark.parametrize("head", ["svr", "adaboost", "xgboost", "mlp", "ridge", "logreg"])
def test_every_head_fits_each_task(head, wassa, tiny):
    train, dev = wassa
    X = train.data[:N_TRAIN]
    Xd = dev.data[:30]
    pipe = _fewer_trees(make_wassa_pipeline("emotion", head=head, embedder=tiny))
    pipe.fit(X, train.frame["emotion"][:N_TRAIN])
    labels = pipe.predict(Xd)
    assert set(labels) <= set(train.frame["emotion"])  # the strings, not codes
    if head == "logreg":
        with pytest.raises(ValueError, match="classifier"):
            make_wassa_pipeline("empathy", head=head)
        return
    multi = _fewer_trees(make_wassa_pipeline(["empathy", "distress"], head=head, embedder=tiny))
    multi.fit(X, train.frame[["empathy", "distress"]][:N_TRAIN])
    pred = multi.predict(Xd)
    assert pred.shape == (30, 2) and np.isfinite(pred).all()
    single = _fewer_trees(
        make_wassa_pipeline("distress", head=head, embedder=tiny, features=("text", "iri"))
    )
    single.fit(X, train.frame["distress"][:N_TRAIN])
    assert single.predict(Xd).shape == (30,)


def test_xgboost_classifier_hides_label_encoding(wassa, tiny):
    train, dev = wassa
    pipe = _fewer_trees(make_wassa_pipeline("emotion", head="xgboost", embedder=tiny))
    pipe.fit(train.data[:N_TRAIN], train.frame["emotion"][:N_TRAIN])
    head = pipe[-1]
    assert isinstance(head, LabelEncodedClassifier)
    assert head.classes_.tolist() == sorted(set(train.frame["emotion"][:N_TRAIN]))
    proba = pipe.predict_proba(dev.data[:10])
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    np.testing.assert_array_equal(pipe.predict(dev.data[:10]), head.classes_[proba.argmax(1)])


def test_bad_arguments(wassa):
    with pytest.raises(ValueError, match="task must be"):
        make_wassa_pipeline("joy")
    with pytest.raises(ValueError, match="Unknown head"):
        make_wassa_pipeline("empathy", head="forest")
    with pytest.raises(ValueError, match="Unknown feature group"):
        make_wassa_pipeline("empathy", features=("text", "mood"))
    with pytest.raises(ValueError, match="at least one"):
        make_preprocessor(text=None, numeric=None, categorical=None)
    # a missing column is reported by the ColumnTransformer, naming it
    train, _ = wassa
    pipe = make_wassa_pipeline("empathy", head="ridge", features=("iri",))
    with pytest.raises((KeyError, ValueError), match="iri_fantasy"):
        pipe.fit(train.data.drop(columns="iri_fantasy"), train.frame["empathy"])


def _round_trip(pipe, X, y, X_dev, tmp_path):
    """Fit, dump with joblib, predict dev in a new process: must match exactly."""
    pipe.fit(X, y)
    expected = pipe.predict_proba(X_dev)
    path = tmp_path / "pipe.joblib"
    joblib.dump(pipe, path)
    np.save(tmp_path / "expected.npy", expected)
    script = textwrap.dedent(f"""
        import joblib, numpy as np
        from skempathy.datasets import load_wassa
        pipe = joblib.load({str(path)!r})
        X = load_wassa("dev").data.iloc[:{len(X_dev)}]
        got = pipe.predict_proba(X)
        want = np.load({str(tmp_path / "expected.npy")!r})
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
        labels = pipe.predict(X)
        assert labels.dtype == object and len(labels) == {len(X_dev)}
        print("OK")
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=str(tmp_path), env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("OK")


def test_joblib_round_trip_predicts_identically_in_a_new_process(wassa, tiny, tmp_path):
    train, dev = wassa
    pipe = _fewer_trees(make_wassa_pipeline("emotion", head="xgboost", embedder=tiny), 30)
    _round_trip(
        pipe, train.data[:N_TRAIN], train.frame["emotion"][:N_TRAIN], dev.data.iloc[:90], tmp_path
    )


@pytest.mark.slow
def test_joblib_round_trip_full_train_minilm(wassa, tmp_path):
    train, dev = wassa
    pipe = make_wassa_pipeline("emotion", head="xgboost")
    _round_trip(pipe, train.data, train.frame["emotion"], dev.data, tmp_path)


def test_grid_search_over_heads_with_grouped_folds_encodes_each_text_once(wassa, tiny):
    train, _ = wassa
    X, y = train.data[:N_TRAIN], train.frame["empathy"][:N_TRAIN]
    groups = train.groups[:N_TRAIN]
    pipe = make_wassa_pipeline("empathy", head="ridge", embedder=tiny)
    from sklearn.linear_model import Ridge
    from sklearn.svm import SVR
    from xgboost import XGBRegressor

    grid = {
        "head": [Ridge(alpha=100.0), SVR(), XGBRegressor(n_estimators=20, max_depth=2, n_jobs=1)]
    }
    clear_embedding_cache()
    search = GridSearchCV(pipe, grid, cv=GroupKFold(n_splits=3), scoring=get_scorer("pearson"))
    search.fit(X, y, groups=groups)
    assert search.cv_results_["mean_test_score"].shape == (3,)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # 3 heads x 3 folds x (fit + score) + refit: still one encoding per distinct essay
    assert embedding_cache_info()["misses"] == X["essay"].nunique()
    assert embedding_cache_info()["hits"] >= 9 * N_TRAIN


def test_label_encoded_classifier_on_numbers():
    from sklearn.linear_model import LogisticRegression

    X = np.array([[0.0], [0.2], [0.8], [1.0], [0.5], [0.45]])
    y = np.array(["low", "low", "high", "high", "mid", "mid"])
    clf = LabelEncodedClassifier(LogisticRegression(C=100)).fit(X, y)
    assert clf.classes_.tolist() == ["high", "low", "mid"]
    assert clf.predict([[0.1]]).tolist() == ["low"]
    assert clf.predict_proba(X).shape == (6, 3)


def test_missing_labels_are_named_by_column(wassa, tiny):
    """The pipeline says which target column holds a missing label, and where."""
    from sklearn.pipeline import Pipeline

    train = wassa[0]
    X, frame = train.data.iloc[:60], train.frame.iloc[:60]
    y = frame[["empathy", "distress"]].copy()
    y.loc[y.index[7], "distress"] = np.nan
    pipe = make_wassa_pipeline(["empathy", "distress"], head="ridge", embedder=tiny)
    assert isinstance(pipe, Pipeline)
    with pytest.raises(ValueError, match=r"column 'distress'.*position 7"):
        pipe.fit(X, y)
    labels = frame["emotion"].astype(object).copy()
    labels.iloc[3] = None
    with pytest.raises(ValueError, match=r"column 'emotion'.*position 3"):
        make_wassa_pipeline("emotion", head="logreg", embedder=tiny).fit(X, labels)
    with pytest.raises(ValueError, match=r"column 1.*position 7"):
        pipe.fit(X, y.to_numpy())
    pipe.fit(X, frame[["empathy", "distress"]])  # complete labels fit as before
    assert pipe.predict(X.iloc[:3]).shape == (3, 2)
