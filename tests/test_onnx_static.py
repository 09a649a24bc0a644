"""Static (calibrated) int8 ONNX export: to_onnx(quantize="int8-static").

Every graph is the tiny random BERT of ``tiny_bert_path``, fine-tuned for a few
steps on real WASSA essays; an export (calibration and fp32 fallback search
included) takes a few seconds.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
onnx = pytest.importorskip("onnx")

from skempathy.datasets import load_wassa  # noqa: E402
from skempathy.export import OnnxPredictor, to_onnx  # noqa: E402
from skempathy.export._onnx import MIN_CALIBRATION_TEXTS  # noqa: E402
from skempathy.neural import MultiTaskTransformer, TransformerClassifier  # noqa: E402
from skempathy.text import SentenceEmbedder  # noqa: E402

KW = dict(
    max_length=48, batch_size=8, max_epochs=2, learning_rate=5e-4, device="cpu", random_state=0
)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # truncation of long essays
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def wassa():
    return load_wassa("train").frame.iloc[:80].reset_index(drop=True)


@pytest.fixture(scope="module")
def dev_essays():
    return load_wassa("dev").frame["essay"].iloc[:40].reset_index(drop=True)


@pytest.fixture(scope="module")
def clf(tiny_bert_path, wassa):
    return _quiet(TransformerClassifier(tiny_bert_path, **KW).fit, wassa["essay"], wassa["emotion"])


@pytest.fixture(scope="module")
def static_folder(clf, wassa, tmp_path_factory):
    """On this model the all-int8 graph is beyond tolerance 0.05, so the fallback
    search runs and keeps some layers in fp32."""
    folder = tmp_path_factory.mktemp("static") / "emotion"
    return _quiet(
        to_onnx,
        clf,
        folder,
        quantize="int8-static",
        calibration_texts=wassa["essay"],
        fallback_tolerance=0.05,
    )


def _graph(folder):
    return onnx.load(str(Path(folder) / "model.onnx"))


def _reads_dequantized(model, linear_only=False):
    """``{MatMul/Gemm node: whether its first input comes from a DequantizeLinear}``;
    ``linear_only``: the nodes with a weight (an initializer, maybe dequantized)."""
    producers = {out: node for node in model.graph.node for out in node.output}
    weights = {init.name for init in model.graph.initializer}

    def weight(name):
        node = producers.get(name)
        return name in weights or (node is not None and node.input[0] in weights)

    return {
        node.name: getattr(producers.get(node.input[0]), "op_type", None) == "DequantizeLinear"
        for node in model.graph.node
        if node.op_type in ("MatMul", "Gemm") and (weight(node.input[1]) or not linear_only)
    }


def test_static_export_answers_close_to_fp32(clf, static_folder, dev_essays):
    model = OnnxPredictor(static_folder)
    manifest = model.manifest_
    assert manifest["quantize"] == "int8-static"
    static = manifest["static_int8"]
    assert static["calibration_texts"] == 80 and static["tolerance"] == 0.05
    # the all-int8 graph missed the tolerance; the fallback brought it within
    assert static["relative_error_all_int8"] > 0.05 >= static["relative_error"]
    assert static["fp32_by_fallback"] and set(static["sensitivity"])
    proba, ref = _quiet(model.predict_proba, dev_essays), _quiet(clf.predict_proba, dev_essays)
    assert not np.array_equal(proba, ref)  # really quantized
    np.testing.assert_allclose(proba, ref, atol=0.02)
    assert np.mean(proba.argmax(1) == ref.argmax(1)) >= 0.95
    np.testing.assert_array_equal(model.classes_, clf.classes_)
    assert manifest["max_abs_difference"] < 0.05


def test_static_graph_holds_qdq_and_keeps_excluded_nodes_fp32(static_folder):
    model = _graph(static_folder)
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("QuantizeLinear") > 0 and ops.count("DequantizeLinear") > 0
    static = json.loads((Path(static_folder) / "skempathy_onnx.json").read_text())["static_int8"]
    excluded = set(static["nodes_to_exclude"])
    assert set(static["fp32_by_rule"]) | set(static["fp32_by_fallback"]) == excluded
    reasons = set(static["fp32_by_rule"].values())
    assert reasons == {"task head (negligible cost)", "attention probabilities x values"}
    reads = _reads_dequantized(model)
    assert excluded <= set(reads)
    assert not any(reads[name] for name in excluded)  # fp32 inputs
    quantized = [name for name, dq in reads.items() if dq]
    assert quantized and not excluded & set(quantized)
    # int8 weights are stored as int8 initializers
    int8 = [i for i in model.graph.initializer if i.data_type == onnx.TensorProto.INT8]
    assert len(int8) >= len(quantized)


def test_tolerance_moves_layers_to_fp32(clf, wassa, dev_essays, static_folder, tmp_path):
    texts = wassa["essay"]
    loose = _quiet(
        to_onnx,
        clf,
        tmp_path / "loose",
        quantize="int8-static",
        calibration_texts=texts,
        fallback_tolerance=float("inf"),
    )
    strict = _quiet(
        to_onnx,
        clf,
        tmp_path / "strict",
        quantize="int8-static",
        calibration_texts=texts,
        fallback_tolerance=0,
    )
    default = json.loads((Path(static_folder) / "skempathy_onnx.json").read_text())
    loose_m = json.loads((Path(loose) / "skempathy_onnx.json").read_text())["static_int8"]
    strict_m = json.loads((Path(strict) / "skempathy_onnx.json").read_text())["static_int8"]
    # no fallback: only the fixed rules; every other linear layer reads int8
    assert loose_m["fp32_by_fallback"] == [] and loose_m["sensitivity"] == {}
    assert loose_m["relative_error"] == loose_m["relative_error_all_int8"]
    # tolerance 0 cannot be met: every linear layer falls back; the attention
    # scores and the embeddings stay int8
    reads = _reads_dequantized(_graph(strict), linear_only=True)
    assert reads and not any(reads.values())
    heads = [k for k, v in strict_m["fp32_by_rule"].items() if v.startswith("task head")]
    assert len(strict_m["fp32_by_fallback"]) == len(reads) - len(heads)
    assert any(_reads_dequantized(_graph(strict)).values())
    assert "Gather" in {
        n.op_type
        for n in _graph(strict).graph.node
        if n.input[0].endswith("DequantizeLinear_Output")
    }
    # fewer fp32 layers, larger error, further from the estimator
    n_fallback = len(default["static_int8"]["fp32_by_fallback"])
    assert 0 < n_fallback < len(strict_m["fp32_by_fallback"])
    assert strict_m["relative_error"] < default["static_int8"]["relative_error"]
    assert default["static_int8"]["relative_error"] < loose_m["relative_error"]
    ref = _quiet(clf.predict_proba, dev_essays)

    def gap(folder):
        return np.abs(_quiet(OnnxPredictor(folder).predict_proba, dev_essays) - ref).mean()

    assert gap(strict) < gap(loose)
    # the same texts give the same sensitivities and order: the layers kept fp32 at
    # tolerance 0.05 are the first of those kept at tolerance 0
    assert strict_m["sensitivity"] == default["static_int8"]["sensitivity"]
    assert strict_m["fp32_by_fallback"][:n_fallback] == default["static_int8"]["fp32_by_fallback"]


def test_calibration_errors_leave_nothing_behind(clf, wassa, tmp_path, monkeypatch):
    texts = list(wassa["essay"])
    with pytest.raises(ValueError, match="needs calibration_texts"):
        to_onnx(clf, tmp_path / "x", quantize="int8-static")
    with pytest.raises(ValueError, match=f"at least {MIN_CALIBRATION_TEXTS}"):
        to_onnx(clf, tmp_path / "x", quantize="int8-static", calibration_texts=texts[:5])
    with pytest.raises(ValueError, match="empty"):
        to_onnx(clf, tmp_path / "x", quantize="int8-static", calibration_texts=texts[:20] + [""])
    with pytest.raises(ValueError, match="NaN|missing"):
        to_onnx(clf, tmp_path / "x", quantize="int8-static", calibration_texts=texts[:20] + [None])
    with pytest.raises(TypeError, match="not one string"):
        to_onnx(clf, tmp_path / "x", quantize="int8-static", calibration_texts=texts[0])
    with pytest.raises(ValueError, match="int8-static"):
        to_onnx(clf, tmp_path / "x", quantize="int8", calibration_texts=texts)
    with pytest.raises(ValueError, match="fallback_tolerance"):
        to_onnx(
            clf,
            tmp_path / "x",
            quantize="int8-static",
            calibration_texts=texts,
            fallback_tolerance=-1,
        )
    with pytest.raises(ValueError, match="int8-static"):
        to_onnx(clf, tmp_path / "x", quantize="static")
    import onnxruntime.quantization

    def old_quantize_static(model_input, model_output, calibration_data_reader=None):
        """The signature of onnxruntime < 1.27 (no calibration cache)."""

    monkeypatch.setattr(onnxruntime.quantization, "quantize_static", old_quantize_static)
    with pytest.raises(ImportError, match="onnxruntime>=1.27"):
        to_onnx(clf, tmp_path / "x", quantize="int8-static", calibration_texts=texts)
    assert list(tmp_path.iterdir()) == []


def test_multitask_with_extra_features_calibrates_on_a_frame(tiny_bert_path, wassa, tmp_path):
    extra = ["age", "income"]
    X = wassa[["essay", *extra]]
    mt = _quiet(
        MultiTaskTransformer(tiny_bert_path, extra_features=extra, **KW).fit,
        X,
        wassa[["emotion", "empathy"]],
    )
    with pytest.raises(ValueError, match="income"):  # the estimator's own input checks
        to_onnx(mt, tmp_path / "mt", quantize="int8-static", calibration_texts=X[["essay", "age"]])
    folder = _quiet(to_onnx, mt, tmp_path / "mt", quantize="int8-static", calibration_texts=X)
    model = OnnxPredictor(folder)
    assert model.manifest_["inputs"] == ["input_ids", "attention_mask", "extra"]
    got, ref = _quiet(model.predict, X.iloc[:30]), _quiet(mt.predict, X.iloc[:30])
    assert (got["emotion"] == ref["emotion"]).mean() >= 0.9
    assert np.corrcoef(got["empathy"], ref["empathy"])[0, 1] > 0.99
    rules = model.manifest_["static_int8"]["fp32_by_rule"]
    # the heads read the pooled embedding joined with the extra features
    assert sum(reason.startswith("task head") for reason in rules.values()) == 2


def test_an_estimator_reading_a_text_column_calibrates_on_plain_texts(
    tiny_bert_path, wassa, tmp_path
):
    # the text-only student of skempathy wassa reads the column "essay" of a frame
    X, y = wassa[["essay"]], wassa[["emotion", "empathy"]]
    mt = _quiet(MultiTaskTransformer(tiny_bert_path, text_column="essay", **KW).fit, X, y)
    folder = _quiet(
        to_onnx, mt, tmp_path / "mt", quantize="int8-static", calibration_texts=list(X["essay"])
    )
    got, ref = _quiet(OnnxPredictor(folder).predict, X.iloc[:30]), _quiet(mt.predict, X.iloc[:30])
    assert (got["emotion"] == ref["emotion"]).mean() >= 0.9
    assert np.corrcoef(got["empathy"], ref["empathy"])[0, 1] > 0.99
    # plain texts cannot stand for numeric columns
    extra = ["age", "income"]
    X = wassa[["essay", *extra]]
    mt = _quiet(
        MultiTaskTransformer(tiny_bert_path, text_column="essay", extra_features=extra, **KW).fit,
        X,
        y,
    )
    with pytest.raises(TypeError, match="reads 2 numeric columns besides its texts"):
        to_onnx(mt, tmp_path / "x", quantize="int8-static", calibration_texts=list(X["essay"]))
    assert not (tmp_path / "x").exists()


def test_frozen_embedder_static_export(tiny_bert_path, wassa, dev_essays, tmp_path):
    est = SentenceEmbedder(tiny_bert_path, normalize=True, cache=False, device="cpu")
    est.fit(wassa["essay"])
    folder = to_onnx(
        est, tmp_path / "frozen", quantize="int8-static", calibration_texts=wassa["essay"]
    )
    model = OnnxPredictor(folder)
    static = model.manifest_["static_int8"]
    assert static["tolerance"] == 0.1 and static["relative_error"] <= 0.1
    assert set(static["fp32_by_rule"].values()) == {"attention probabilities x values"}
    out, ref = model.transform(dev_essays), est.transform(dev_essays)
    assert out.shape == ref.shape and out.dtype == np.float32
    assert not np.array_equal(out, ref)
    cosine = np.sum(out * ref, 1) / np.linalg.norm(out, axis=1) / np.linalg.norm(ref, axis=1)
    assert cosine.min() > 0.99
