"""Safe persistence (skops): round trips of the public estimators and the recipes."""

import numpy as np
import pandas as pd
import pytest

from skempathy.datasets import load_wassa

sio = pytest.importorskip("skops.io")
from skempathy import io  # noqa: E402


@pytest.fixture(scope="module")
def wassa():
    train = load_wassa("train")
    return train.data.iloc[:80], train.frame.iloc[:80], load_wassa("dev").data.iloc[:20]


def _round_trip(estimator, tmp_path):
    path = tmp_path / "model.skops"
    io.dump(estimator, path)
    assert path.read_bytes()[:2] == b"PK"
    return io.load(path)


def test_trusted_types_cover_the_public_estimators():
    from skempathy.utils import all_estimators

    trusted = io.get_trusted_types()
    from skempathy.io._skops import _OWN_OUTPUT_TYPES

    assert len(trusted) == len(all_estimators()) + len(_OWN_OUTPUT_TYPES)
    assert "xgboost.core.Booster" in trusted and "builtins.eval" not in trusted
    assert "skempathy.neural._transformer.TransformerClassifier" in trusted


def test_untrusted_types_are_refused(tmp_path):
    class Foreign:
        pass

    path = tmp_path / "foreign.skops"
    sio.dump({"x": Foreign}, path)
    with pytest.raises(TypeError, match="not trusted"):
        io.load(path)


def test_default_recipe_and_frozen_embedders(wassa, tmp_path):
    from skempathy.recipes import ridge_svr_track1, logreg_track2
    from skempathy.text import SentenceEmbedder, TransformerEmbedder

    X, frame, dev = wassa
    track1 = ridge_svr_track1(SentenceEmbedder()).fit(X, frame[["empathy", "distress"]])
    track2 = logreg_track2(SentenceEmbedder()).fit(X, frame["emotion"])
    np.testing.assert_array_equal(_round_trip(track1, tmp_path).predict(dev), track1.predict(dev))
    np.testing.assert_array_equal(
        _round_trip(track2, tmp_path).predict_proba(dev), track2.predict_proba(dev)
    )
    for emb in (SentenceEmbedder(), TransformerEmbedder(layers="all")):
        emb.fit(X["essay"])
        np.testing.assert_array_equal(
            _round_trip(emb, tmp_path).transform(dev["essay"]), emb.transform(dev["essay"])
        )


def test_fine_tuned_estimators_and_joint_recipe(wassa, tmp_path, tiny_bert_path):
    from skempathy.neural import (
        FineTunedEmbedder,
        MultiTaskTransformer,
        TransformerClassifier,
        TransformerRegressor,
    )
    from skempathy.recipes import build_recipe, finetuned_multitask
    from skempathy.text import SentenceEmbedder

    X, frame, dev = wassa
    kw = dict(max_epochs=1, max_length=48, random_state=0)
    clf = TransformerClassifier(tiny_bert_path, **kw).fit(X["essay"], frame["emotion"])
    np.testing.assert_allclose(
        _round_trip(clf, tmp_path).predict_proba(dev["essay"]),
        clf.predict_proba(dev["essay"]),
        atol=1e-6,
    )
    reg = TransformerRegressor(tiny_bert_path, **kw).fit(X["essay"], frame[["empathy"]])
    np.testing.assert_allclose(
        _round_trip(reg, tmp_path).predict(dev["essay"]), reg.predict(dev["essay"]), atol=1e-6
    )
    emb = FineTunedEmbedder(tiny_bert_path, **kw).fit(X["essay"], frame["empathy"])
    np.testing.assert_allclose(
        _round_trip(emb, tmp_path).transform(dev["essay"]), emb.transform(dev["essay"]), atol=1e-6
    )
    mt = MultiTaskTransformer(tiny_bert_path, **kw).fit(X["essay"], frame[["emotion", "empathy"]])
    pd.testing.assert_frame_equal(
        _round_trip(mt, tmp_path).predict(dev["essay"]), mt.predict(dev["essay"])
    )
    joint = build_recipe("finetuned", embedder=SentenceEmbedder(tiny_bert_path)).set_params(
        finetuned=finetuned_multitask(tiny_bert_path, max_epochs=1)
    )
    joint.fit(X, frame[["emotion", "empathy", "distress"]])
    pd.testing.assert_frame_equal(_round_trip(joint, tmp_path).predict(dev), joint.predict(dev))


def test_the_model_file_is_written_and_read_in_one_place(tmp_path):
    import joblib
    from sklearn.dummy import DummyClassifier

    from skempathy import __version__
    from skempathy.base import SkempathyVersionWarning
    from skempathy.io import MODEL_FORMAT, UnsafeFileError, read_model, write_model

    clf = DummyClassifier().fit([[0], [1]], ["joy", "sadness"])
    path = tmp_path / "model.skops"
    write_model({"estimator": clf, "task": "emotion", "columns": ["essay"]}, path)
    bundle = read_model(path)
    assert bundle["format"] == MODEL_FORMAT and bundle["skempathy_version"] == __version__
    assert bundle["columns"] == ["essay"] and bundle["estimator"].predict([[0]])[0] == "joy"

    pickled = tmp_path / "model.joblib"
    joblib.dump(clf, pickled)  # a bare estimator, pickled
    with pytest.raises(UnsafeFileError, match="allow_pickle=True"):
        read_model(pickled)
    bare = read_model(pickled, allow_pickle=True)
    assert bare["task"] == "emotion" and bare["columns"] is None

    joblib.dump({"format": MODEL_FORMAT, "estimator": clf, "skempathy_version": "0.0.1"}, pickled)
    with pytest.warns(SkempathyVersionWarning, match="saved by skempathy 0.0.1"):
        read_model(pickled, allow_pickle=True)
    joblib.dump({"not": "a model"}, pickled)
    with pytest.raises(TypeError, match="does not hold a skempathy model"):
        read_model(pickled, allow_pickle=True)
    with pytest.raises(FileNotFoundError):
        read_model(tmp_path / "missing.skops")
