"""ONNX export (skempathy.export) of fine-tuned and frozen encoders, on real WASSA essays.

Every graph is the tiny random BERT of ``tiny_bert_path``; an export takes a few
seconds. The export checks itself against torch on probe texts, and these tests
compare OnnxPredictor with the estimator on the essays.
"""

import json
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from skempathy.base import SkempathyVersionWarning  # noqa: E402
from skempathy.datasets import load_wassa  # noqa: E402
from skempathy.export import OnnxPredictor, to_onnx  # noqa: E402
from skempathy.neural import (  # noqa: E402
    FineTunedEmbedder,
    MultiTaskTransformer,
    TransformerClassifier,
    TransformerRegressor,
)
from skempathy.text import SentenceEmbedder, TransformerEmbedder  # noqa: E402

KW = dict(
    max_length=48, batch_size=8, max_epochs=2, learning_rate=5e-4, device="cpu", random_state=0
)


@pytest.fixture(scope="module")
def wassa():
    return load_wassa("train").frame.iloc[:80].reset_index(drop=True)


@pytest.fixture(scope="module")
def dev_essays():
    return load_wassa("dev").frame["essay"].iloc[:40].reset_index(drop=True)


def _fit(est, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # truncation of long essays
        return est.fit(*args)


@pytest.fixture(scope="module")
def clf(tiny_bert_path, wassa):
    return _fit(TransformerClassifier(tiny_bert_path, **KW), wassa["essay"], wassa["emotion"])


@pytest.fixture(scope="module")
def clf_folder(clf, tmp_path_factory):
    return to_onnx(clf, tmp_path_factory.mktemp("onnx") / "emotion")


def _quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(*args)


def test_classifier_export_answers_as_the_estimator(clf, clf_folder, dev_essays):
    folder = Path(clf_folder)
    assert sorted(p.name for p in folder.iterdir() if p.suffix in (".onnx", ".json"))[:2] == [
        "model.onnx",
        "skempathy_onnx.json",
    ]
    assert (folder / "tokenizer.json").is_file() or (folder / "vocab.txt").is_file()
    manifest = json.loads((folder / "skempathy_onnx.json").read_text())
    assert manifest["class"] == "TransformerClassifier" and manifest["quantize"] is None
    assert manifest["max_abs_difference"] <= 1e-4
    model = OnnxPredictor(folder)
    np.testing.assert_array_equal(
        _quiet(model.predict, dev_essays), _quiet(clf.predict, dev_essays)
    )
    np.testing.assert_allclose(
        _quiet(model.predict_proba, dev_essays), _quiet(clf.predict_proba, dev_essays), atol=1e-5
    )
    np.testing.assert_allclose(
        _quiet(model.decision_function, dev_essays),
        _quiet(clf.decision_function, dev_essays),
        atol=1e-4,
    )
    np.testing.assert_array_equal(model.classes_, clf.classes_)
    # the pooled embedding is exported too
    assert model.transform(["so sad"]).shape == (1, clf.model_.encoder.config.hidden_size)
    # one text at a time gives the rows of a batch (dynamic axes, padding ignored)
    one = np.vstack([_quiet(model.predict_proba, [t]) for t in dev_essays[:5]])
    np.testing.assert_allclose(one, _quiet(model.predict_proba, dev_essays[:5]), atol=1e-5)


def test_int8_export_is_smaller_and_close(clf, clf_folder, dev_essays, tmp_path):
    folder = to_onnx(clf, tmp_path / "int8", quantize="int8")
    assert os.path.getsize(Path(folder) / "model.onnx") < 0.6 * os.path.getsize(
        Path(clf_folder) / "model.onnx"
    )
    model = OnnxPredictor(folder)
    assert model.manifest_["quantize"] == "int8"
    proba, ref = _quiet(model.predict_proba, dev_essays), _quiet(clf.predict_proba, dev_essays)
    assert not np.array_equal(proba, ref)
    np.testing.assert_allclose(proba, ref, atol=0.05)


def test_predictor_runs_without_torch_in_a_fresh_process(clf, clf_folder, dev_essays, tmp_path):
    texts = list(dev_essays[:10])
    code = (
        "import sys, json\n"
        "import importlib.abc\n"
        "class NoTorch(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch': raise ImportError('torch is blocked')\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "from skempathy.export import OnnxPredictor\n"
        f"m = OnnxPredictor({str(clf_folder)!r})\n"
        f"print(json.dumps(m.predict({texts!r}).tolist()))\n"
        "assert 'torch' not in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == _quiet(clf.predict, texts).tolist()


def test_regressor_multitask_and_embedder_exports(tiny_bert_path, wassa, dev_essays, tmp_path):
    reg = _fit(
        TransformerRegressor(tiny_bert_path, **KW),
        wassa["essay"],
        wassa[["empathy", "distress"]].to_numpy(),
    )
    model = OnnxPredictor(to_onnx(reg, tmp_path / "reg"))
    np.testing.assert_allclose(
        _quiet(model.predict, dev_essays), _quiet(reg.predict, dev_essays), atol=1e-4
    )
    with pytest.raises(AttributeError, match="no predict_proba"):
        model.predict_proba(dev_essays)

    extra = ["age", "income"]
    mt = _fit(
        MultiTaskTransformer(tiny_bert_path, extra_features=extra, **KW),
        wassa[["essay", *extra]],
        wassa[["emotion", "empathy"]],
    )
    model = OnnxPredictor(to_onnx(mt, tmp_path / "mt"))
    assert model.manifest_["inputs"] == ["input_ids", "attention_mask", "extra"]
    X = wassa[["essay", *extra]].iloc[:30]
    got, ref = _quiet(model.predict, X), _quiet(mt.predict, X)
    assert isinstance(got, pd.DataFrame) and list(got.columns) == ["emotion", "empathy"]
    assert (got["emotion"] == ref["emotion"]).all()
    np.testing.assert_allclose(got["empathy"], ref["empathy"], atol=1e-4)
    with pytest.raises(ValueError, match="income"):  # the estimator's own input checks
        model.predict(wassa[["essay", "age"]])

    emb = _fit(FineTunedEmbedder(tiny_bert_path, **KW), wassa["essay"], wassa["empathy"])
    model = OnnxPredictor(to_onnx(emb, tmp_path / "emb"))
    np.testing.assert_allclose(
        _quiet(model.transform, dev_essays), _quiet(emb.transform, dev_essays), atol=1e-5
    )


@pytest.mark.parametrize(
    "embedder",
    [
        lambda path: SentenceEmbedder(path, normalize=True, cache=False, device="cpu"),
        lambda path: TransformerEmbedder(
            path, pooling="max", layers=(-1, -2), max_length=64, cache=False, device="cpu"
        ),
    ],
)
def test_frozen_embedders_export(embedder, tiny_bert_path, wassa, dev_essays, tmp_path):
    est = embedder(tiny_bert_path).fit(wassa["essay"])
    model = OnnxPredictor(to_onnx(est, tmp_path / "frozen"))
    assert model.estimator_ is None
    out = model.transform(dev_essays)
    assert out.shape == (len(dev_essays), est.embedding_dim_) and out.dtype == np.float32
    np.testing.assert_allclose(out, est.transform(dev_essays), atol=1e-5)
    with pytest.raises(AttributeError, match="no predict"):
        model.predict(dev_essays)
    with pytest.raises(ValueError, match="NaN|missing|empty"):
        model.transform(["fine", None])


def test_bf16_embedder_exports_fp32_weights(tiny_bert_path, wassa, dev_essays, tmp_path):
    est = SentenceEmbedder(tiny_bert_path, precision="bf16", cache=False, device="cpu").fit(
        wassa["essay"]
    )
    model = OnnxPredictor(to_onnx(est, tmp_path / "bf16"))
    fp32 = SentenceEmbedder(tiny_bert_path, cache=False, device="cpu").fit(wassa["essay"])
    np.testing.assert_allclose(model.transform(dev_essays), fp32.transform(dev_essays), atol=1e-5)


def test_a_crafted_export_folder_is_refused(clf_folder, tmp_path):
    """An export whose files link elsewhere (another model's graph, a device) is refused."""
    import shutil

    from skempathy.io import UnsafeFileError

    crafted = Path(shutil.copytree(clf_folder, tmp_path / "crafted"))
    graph = next(p for p in crafted.iterdir() if p.suffix == ".onnx")
    graph.unlink()
    graph.symlink_to(Path(clf_folder) / graph.name)
    with pytest.raises(UnsafeFileError, match="is a link"):
        OnnxPredictor(crafted)


def test_export_errors_leave_nothing_behind(clf, tiny_bert_path, tmp_path, monkeypatch):
    with pytest.raises(NotFittedError):
        to_onnx(TransformerClassifier(tiny_bert_path), tmp_path / "x")
    with pytest.raises(TypeError, match="TfidfVectorizer"):
        to_onnx(TfidfVectorizer().fit(["good day", "bad news"]), tmp_path / "x")
    with pytest.raises(ValueError, match="quantize"):
        to_onnx(clf, tmp_path / "x", quantize="fp16")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="other files"):
        to_onnx(clf, busy)
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError, match="cannot write"):
        to_onnx(clf, blocker / "sub" / "model")

    # a failure half-way keeps the earlier export and leaves no temporary folder
    good = to_onnx(clf, tmp_path / "good")
    before = sorted(p.name for p in Path(good).iterdir())
    from skempathy.export import _onnx

    def broken(*args, **kwargs):
        raise RuntimeError("exporter failed")

    monkeypatch.setattr(_onnx, "_export_graph", broken)
    with pytest.raises(RuntimeError, match="exporter failed"):
        to_onnx(clf, good)
    assert sorted(p.name for p in Path(good).iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy", "file", "good"]


def test_predictor_errors_pickle_and_version_warning(clf_folder, dev_essays, tmp_path):
    with pytest.raises(FileNotFoundError, match="to_onnx"):
        OnnxPredictor(tmp_path)
    model = OnnxPredictor(clf_folder)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(
        _quiet(again.predict, dev_essays[:5]), _quiet(model.predict, dev_essays[:5])
    )
    with pytest.raises(ValueError, match="NaN|missing|empty"):
        model.predict(["fine", float("nan")])

    old = tmp_path / "old"
    old.mkdir()
    for p in Path(clf_folder).iterdir():
        (old / p.name).write_bytes(p.read_bytes())
    manifest = json.loads((old / "skempathy_onnx.json").read_text())
    manifest["skempathy_version"] = "0.0.1"
    (old / "skempathy_onnx.json").write_text(json.dumps(manifest))
    with pytest.warns(SkempathyVersionWarning, match="0.0.1"):
        OnnxPredictor(old)
