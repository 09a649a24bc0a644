"""Streaming ``skempathy predict``: overlapped stages, progress, resume, backends, precision.

Real WASSA essays through cheap real models: a TF-IDF + logistic regression
pipeline where only the streaming matters, and estimators on the tiny random
BERT of ``tiny_bert_path`` where the backend and the precision do.
"""

import json
import os
import signal
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import skempathy._commands.predict as predict_command
from skempathy.datasets._base import sha256sum
from skempathy._commands._common import load_model, predictions_frame, save_model
from skempathy.batch import map_table
from skempathy.cli import main
from skempathy.datasets import load_wassa

# the tiny models read 48 tokens of each essay
pytestmark = pytest.mark.filterwarnings("ignore:.*were truncated:UserWarning")


@pytest.fixture(scope="module")
def essays():
    return load_wassa("dev").frame


@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory):
    train = load_wassa("train").frame
    pipe = make_pipeline(TfidfVectorizer(min_df=2), LogisticRegression(max_iter=300))
    pipe.fit(train["essay"], train["emotion"])
    path = tmp_path_factory.mktemp("models") / "tfidf.skops"
    save_model(pipe, path, task="emotion", head="logreg", features=["text"], columns=["essay"])
    return path


@pytest.fixture
def essays_csv(tmp_path, essays):
    path = tmp_path / "essays.csv"
    essays.to_csv(path, index=False)
    return path


class CountingPredictions:
    """``predictions_frame`` of the predict command, counting the rows it predicts
    and raising an interrupt (or sending a signal) on the call ``stop_at``."""

    def __init__(self, stop_at=None, signum=None):
        self.rows = []
        self.stop_at = stop_at
        self.signum = signum

    def __call__(self, bundle, X):
        if len(self.rows) + 1 == self.stop_at:
            self.rows.append(0)
            if self.signum is not None:
                os.kill(os.getpid(), self.signum)
            raise KeyboardInterrupt
        self.rows.append(len(X))
        return predictions_frame(bundle, X)


def _predict(model, src, dst, *extra, chunk_size=50):
    args = ["predict", str(model), "--input", str(src), "--chunk-size", str(chunk_size), *extra]
    return main(args + (["--output", str(dst)] if dst is not None else []))


def _hidden(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_streamed_output_equals_one_call_on_all_rows(tfidf_model, essays, essays_csv, tmp_path):
    out = tmp_path / "pred.csv"
    assert _predict(tfidf_model, essays_csv, out, "--quiet") == 0
    bundle = load_model(tfidf_model)
    whole = predictions_frame(bundle, essays["essay"])
    whole.insert(0, "message_id", essays["message_id"].to_numpy())
    assert out.read_bytes() == whole.to_csv(index=False).encode()
    # the stages one after the other write the same bytes
    again = tmp_path / "again.csv"

    def function(chunk):
        frame = predictions_frame(bundle, chunk["essay"])
        frame.insert(0, "message_id", chunk["message_id"].to_numpy())
        return frame

    for overlap in (False, True):
        n = map_table(
            function, essays_csv, again, chunk_size=50, show_progress=False, overlap=overlap
        )
        assert n == len(essays) and again.read_bytes() == out.read_bytes()
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_an_interrupted_run_resumes_after_its_last_chunk(
    how, tfidf_model, essays, essays_csv, tmp_path, monkeypatch, capsys
):
    reference = tmp_path / "reference.csv"
    assert _predict(tfidf_model, essays_csv, reference, "--quiet") == 0
    out = tmp_path / "pred.csv"
    signum = signal.SIGTERM if how == "sigterm" else None
    first = CountingPredictions(stop_at=4, signum=signum)
    monkeypatch.setattr(predict_command, "predictions_frame", first)
    capsys.readouterr()
    assert _predict(tfidf_model, essays_csv, out) == (143 if how == "sigterm" else 130)
    err = capsys.readouterr().err
    assert "kept the outputs of the first 150 rows" in err and "Traceback" not in err
    assert not out.exists()
    assert _hidden(tmp_path) == [".pred.csv.partial", ".pred.csv.resume.json"]
    record = json.loads((tmp_path / ".pred.csv.resume.json").read_text())
    assert record["chunks"] == 3 and record["rows_in"] == 150
    assert record["input"]["path"] == str(essays_csv.resolve()) and record["chunk_size"] == 50
    assert len(record["fingerprint"]["model"]) == 64  # the model file's SHA-256
    partial = (tmp_path / ".pred.csv.partial").read_bytes()
    assert len(partial) == record["offset"] and reference.read_bytes().startswith(partial)
    # a hard kill in the middle of a chunk leaves a tail beyond the recorded offset
    with open(tmp_path / ".pred.csv.partial", "ab") as fh:
        fh.write(b"R_half_a_row,sadn")
    second = CountingPredictions()
    monkeypatch.setattr(predict_command, "predictions_frame", second)
    assert _predict(tfidf_model, essays_csv, out) == 0
    assert "resuming" in capsys.readouterr().err
    assert second.rows == [50, 50, 20]  # only the rows not done
    assert out.read_bytes() == reference.read_bytes()
    assert _hidden(tmp_path) == []


def test_a_changed_input_model_or_chunk_size_starts_over(
    tfidf_model, essays, essays_csv, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "pred.csv"

    def interrupt():
        monkeypatch.setattr(predict_command, "predictions_frame", CountingPredictions(stop_at=3))
        assert _predict(tfidf_model, essays_csv, out, "--quiet") == 130
        assert ".pred.csv.resume.json" in _hidden(tmp_path)

    def rerun(*extra):
        counter = CountingPredictions()
        monkeypatch.setattr(predict_command, "predictions_frame", counter)
        capsys.readouterr()
        assert _predict(tfidf_model, essays_csv, out, *extra) == 0
        return sum(counter.rows), capsys.readouterr().err

    interrupt()
    changed = essays.copy()
    changed.loc[200, "essay"] = "An essay that changed after the interrupted run."
    changed.to_csv(essays_csv, index=False)
    rows, err = rerun()
    assert rows == len(essays) and "over" in err and "input file changed" in err
    assert len(err.strip().splitlines()) == 2  # the notice, then "Wrote ..."
    fresh = tmp_path / "fresh.csv"
    assert _predict(tfidf_model, essays_csv, fresh, "--quiet", "--no-resume") == 0
    assert out.read_bytes() == fresh.read_bytes()
    # another chunk size
    interrupt()
    monkeypatch.setattr(predict_command, "predictions_frame", CountingPredictions())
    capsys.readouterr()
    assert _predict(tfidf_model, essays_csv, out, chunk_size=60) == 0
    assert "chunk size was 50, not 60" in capsys.readouterr().err
    # --no-resume (--restart) ignores a partial output that would fit
    interrupt()
    rows, err = rerun("--restart")
    assert rows == len(essays) and "resuming" not in err
    assert out.read_bytes() == fresh.read_bytes() and _hidden(tmp_path) == []


def test_standard_output_and_errors_leave_nothing_to_resume(
    tfidf_model, essays, essays_csv, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(predict_command, "predictions_frame", CountingPredictions(stop_at=2))
    assert _predict(tfidf_model, essays_csv, None) == 130
    assert _hidden(tmp_path) == []
    # an error (an empty essay in the fourth chunk) ends the run and leaves nothing
    monkeypatch.setattr(predict_command, "predictions_frame", predictions_frame)
    bad = essays.copy()
    bad.loc[170, "essay"] = " "
    bad.to_csv(essays_csv, index=False)
    capsys.readouterr()
    assert _predict(tfidf_model, essays_csv, tmp_path / "pred.csv") == 1
    assert "empty or missing 'essay' (first at row 171)" in capsys.readouterr().err
    assert _hidden(tmp_path) == [] and not (tmp_path / "pred.csv").exists()


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_map_table_resumes_what_its_fingerprint_names(suffix, essays, tmp_path):
    src = tmp_path / f"essays{suffix}"
    if suffix == ".jsonl":
        essays.to_json(src, orient="records", lines=True)
    else:
        essays.to_csv(src, sep="\t" if suffix == ".tsv" else ",", index=False)
    out, reference = tmp_path / f"out{suffix}", tmp_path / f"reference{suffix}"
    calls, notices = [], []

    def lengths(chunk):
        calls.append(chunk.index[0])
        if len(calls) == stop_at:
            raise KeyboardInterrupt
        return chunk[["message_id"]].assign(words=chunk["essay"].str.split().str.len() / 3)

    def run(path, fingerprint, **kwargs):
        calls.clear()
        return map_table(
            lengths,
            src,
            path,
            chunk_size=40,
            show_progress=False,
            resume=True,
            fingerprint=fingerprint,
            notify=notices.append,
            **kwargs,
        )

    stop_at = None
    assert run(reference, {"model": "a"}) == 270
    stop_at = 5
    with pytest.raises(KeyboardInterrupt):
        run(out, {"model": "a"}, overlap=False)
    assert notices.pop() == (
        f"kept the outputs of the first 160 rows in .out{suffix}.partial: "
        "the same run started again resumes after them"
    )
    stop_at = None
    fcntl = pytest.importorskip("fcntl")
    with open(tmp_path / f".out{suffix}.partial", "rb") as fh:  # one run per output file
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(OSError, match="another run is writing"):
            run(out, {"model": "a"})
    assert run(out, {"model": "a"}) == 270 and calls == [160, 200, 240]
    assert notices.pop().startswith(f"resuming {out}: an interrupted run did the first 160 rows")
    assert out.read_bytes() == reference.read_bytes()
    # another fingerprint starts over, and says what changed
    stop_at = 2
    with pytest.raises(KeyboardInterrupt):
        run(out, {"model": "a"})
    stop_at = None
    assert run(out, {"model": "b"}) == 270 and len(calls) == 7
    assert notices[-1].endswith("an interrupted run left rows, but the model changed since")
    assert out.read_bytes() == reference.read_bytes()
    assert _hidden(tmp_path) == []


def test_errors_of_every_stage_reach_the_caller(tmp_path):
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": [f"text {i}" for i in range(40)]}).to_csv(src, index=False)
    broken = tmp_path / "broken.csv"
    lines = src.read_text().splitlines()
    lines[25] = 'a,"b,c'  # an unclosed quote
    broken.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.csv"
    for overlap in (True, False):
        # the reader's
        with pytest.raises(ValueError, match=r"could not read .*broken.csv after row 20"):
            map_table(
                lambda c: c,
                broken,
                out,
                chunk_size=10,
                show_progress=False,
                overlap=overlap,
                resume=True,
            )

        # the function's
        def fails(chunk):
            if chunk.index[0] >= 20:
                raise RuntimeError("boom at 20")
            return chunk

        with pytest.raises(RuntimeError, match="boom at 20"):
            map_table(fails, src, out, chunk_size=10, show_progress=False, overlap=overlap)
        # the writer's (not a DataFrame)
        with pytest.raises(AttributeError):
            map_table(
                lambda c: None,
                src,
                out,
                chunk_size=10,
                show_progress=False,
                overlap=overlap,
                resume=True,
            )
        assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.csv", "in.csv"]
    with pytest.raises(ValueError, match="standard output cannot be resumed"):
        map_table(lambda c: c, src, None, resume=True)


def test_progress_bar_estimates_the_rows_only_where_it_can_be_seen(
    tfidf_model, essays_csv, tmp_path, monkeypatch, capsys
):
    # standard error is not a terminal here: no bar, only the last line
    capsys.readouterr()
    assert _predict(tfidf_model, essays_csv, tmp_path / "pred.csv") == 0
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"Wrote 270 predictions to {tmp_path / 'pred.csv'}"]
    # on a terminal: rows done out of an estimate from the bytes read, rate, time left
    import time

    from skempathy.utils import _progress

    monkeypatch.setattr(_progress, "interactive", lambda stream=None: True)
    src = tmp_path / "train.csv"
    load_wassa("train").frame.to_csv(src, index=False)  # larger than the parser's buffer

    def slow(chunk):
        time.sleep(0.12)  # past the bar's refresh interval
        return chunk[["message_id"]]

    n = map_table(slow, src, tmp_path / "ids.csv", chunk_size=400, desc="predict")
    renders = capsys.readouterr().err.split("\r")
    assert n == 1860 and "1860/1860" in renders[-1] and "row/s" in renders[-1]
    middle = [r for r in renders if "predict:" in r and "/1860" not in r and "/" in r]
    assert any("<" in r for r in middle)  # an estimated total and the time left
    monkeypatch.setattr(_progress, "interactive", lambda stream=None: False)
    map_table(slow, src, tmp_path / "ids.csv", chunk_size=1000, desc="predict")
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------------------
# Backends and precision (the tiny BERT)
# --------------------------------------------------------------------------------------
KW = dict(max_length=48, batch_size=8, max_epochs=1, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def tiny_models(tiny_bert_path, tmp_path_factory):
    """A fine-tuned classifier and a frozen encoder + logistic regression, as .skops."""
    from skempathy.neural import TransformerClassifier
    from skempathy.text import SentenceEmbedder

    train = load_wassa("train").frame.iloc[:80]
    folder = tmp_path_factory.mktemp("tiny_models")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # truncated essays
        finetuned = TransformerClassifier(tiny_bert_path, **KW).fit(
            train["essay"], train["emotion"]
        )
        frozen = make_pipeline(
            SentenceEmbedder(tiny_bert_path, cache=False, device="cpu", show_progress=False),
            LogisticRegression(max_iter=300),
        ).fit(train["essay"], train["emotion"])
    paths = {}
    for name, model in (("finetuned", finetuned), ("frozen", frozen)):
        paths[name] = folder / f"{name}.skops"
        save_model(
            model, paths[name], task="emotion", head=name, features=["text"], columns=["essay"]
        )
    return paths


@pytest.fixture
def onnx_cache(tmp_path, monkeypatch):
    """The folder where ``--backend onnx`` keeps its exports, a temporary one; skips the
    test without ONNX Runtime and torch's exporter."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "skempathy" / "onnx"


@pytest.fixture
def few_essays(tmp_path, essays):
    path = tmp_path / "few.csv"
    essays.iloc[:30].to_csv(path, index=False)
    return path


@pytest.mark.parametrize("kind", ["finetuned", "frozen"])
def test_onnx_backend_predicts_as_torch(
    kind, tiny_models, few_essays, onnx_cache, tmp_path, capsys
):
    model = tiny_models[kind]
    torch_out, onnx_out = tmp_path / "torch.csv", tmp_path / "onnx.csv"
    assert _predict(model, few_essays, torch_out, "--quiet") == 0
    capsys.readouterr()
    assert _predict(model, few_essays, onnx_out, "--backend", "onnx") == 0
    assert "exporting" in capsys.readouterr().err
    exports = list(onnx_cache.iterdir())
    assert len(exports) == 1 and exports[0].name.endswith("-fp32")
    torch_pred, onnx_pred = pd.read_csv(torch_out), pd.read_csv(onnx_out)
    assert (torch_pred["emotion"] == onnx_pred["emotion"]).all()
    np.testing.assert_allclose(
        onnx_pred.filter(like="proba_"), torch_pred.filter(like="proba_"), atol=1e-4
    )
    # the export is made once per model file
    assert _predict(model, few_essays, onnx_out, "--backend", "onnx") == 0
    assert "exporting" not in capsys.readouterr().err


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_a_finetuned_model_runs_once_per_chunk_for_labels_and_probabilities(
    backend, tiny_models, few_essays, tmp_path, monkeypatch
):
    if backend == "onnx":
        pytest.importorskip("onnxruntime")
        pytest.importorskip("onnxscript")
    from skempathy.neural._base import _BaseTransformerEstimator

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model, out = tiny_models["finetuned"], tmp_path / "p.csv"
    args = ("--quiet", "--backend", backend, "--chunk-size", "10")
    assert _predict(model, few_essays, out, *args) == 0  # the ONNX export, checked on probes
    first = pd.read_csv(out)
    passes = []
    predict_ids = _BaseTransformerEstimator._predict_ids

    def spy(self, ids, *rest, **kwargs):
        passes.append(len(ids))
        return predict_ids(self, ids, *rest, **kwargs)

    monkeypatch.setattr(_BaseTransformerEstimator, "_predict_ids", spy)
    assert _predict(model, few_essays, out, *args, "--no-resume") == 0
    assert passes == [10, 10, 10]  # predict and predict_proba of a chunk share one pass
    pred = pd.read_csv(out)
    pd.testing.assert_frame_equal(pred, first)
    proba = pred.filter(like="proba_")
    assert proba.shape == (30, len(set(load_wassa("train").frame["emotion"].iloc[:80])))
    labels = proba.columns.str.removeprefix("proba_")[proba.to_numpy().argmax(1)]
    assert (pred["emotion"] == labels).all()


def test_onnx_backend_needs_an_encoder(tfidf_model, tiny_models, few_essays, tmp_path, capsys):
    capsys.readouterr()
    assert _predict(tfidf_model, few_essays, tmp_path / "p.csv", "--backend", "onnx") == 1
    err = capsys.readouterr().err
    assert "--backend onnx serves transformer encoders" in err and "has none" in err
    assert _predict(tfidf_model, few_essays, tmp_path / "p.csv", "--precision", "int8") == 1
    assert "--precision applies to transformer encoders" in capsys.readouterr().err
    args = ("--backend", "onnx", "--precision", "bf16")
    assert _predict(tiny_models["finetuned"], few_essays, tmp_path / "p.csv", *args) == 1
    assert "onnx runs fp32 or int8" in capsys.readouterr().err
    assert _hidden(tmp_path) == [] and not (tmp_path / "p.csv").exists()


def test_onnx_int8_is_another_quantized_export(
    tiny_models, few_essays, onnx_cache, tmp_path, monkeypatch, capsys
):
    asked = []

    def no_export(est, folder, quantize, notify):  # what would be exported, and where
        asked.append((type(est).__name__, folder.name, quantize))
        raise OSError("not exported in this test")

    monkeypatch.setattr(predict_command, "_cached_export", no_export)
    cases = (("int8", "int8"), ("int8-static", "int8-static"), ("fp32", None), ("auto", None))
    for precision, quantize in cases:
        asked.clear()
        args = ("--backend", "onnx", "--precision", precision)
        assert _predict(tiny_models["finetuned"], few_essays, tmp_path / "p.csv", *args) == 1
        assert "could not serve TransformerClassifier with ONNX Runtime" in capsys.readouterr().err
        ((name, folder, got),) = asked
        assert name == "TransformerClassifier" and got == quantize
        assert folder.endswith(f"-{quantize or 'fp32'}")
        assert folder.startswith(sha256sum(tiny_models["finetuned"])[:24])


@pytest.mark.parametrize("kind", ["finetuned", "frozen"])
def test_onnx_int8_static_is_calibrated_on_the_bundled_training_essays(
    kind, tiny_models, few_essays, onnx_cache, tmp_path, monkeypatch, capsys
):
    from skempathy.export import OnnxPredictor

    calibrated = []
    texts = predict_command.calibration_texts

    def spy(est):
        calibrated.append(texts(est))
        return calibrated[-1]

    monkeypatch.setattr(predict_command, "calibration_texts", spy)
    model, fp32, int8 = tiny_models[kind], tmp_path / "fp32.csv", tmp_path / "int8.csv"
    assert _predict(model, few_essays, fp32, "--quiet", "--backend", "onnx") == 0
    args = ("--quiet", "--backend", "onnx", "--precision", "int8-static")
    assert _predict(model, few_essays, int8, *args) == 0
    (essays,) = calibrated
    assert len(essays) == 128 and essays[0] == load_wassa("train").data["essay"].iloc[0]
    (export,) = onnx_cache.glob("*-int8-static")
    assert OnnxPredictor(export).manifest_["quantize"] == "int8-static"
    a, b = pd.read_csv(fp32).filter(like="proba_"), pd.read_csv(int8).filter(like="proba_")
    assert a.shape == b.shape == (30, a.shape[1]) and a.shape[1] > 1
    np.testing.assert_allclose(a, b, atol=0.05)  # int8 moves the outputs a little
    # the export is made once: a second input reuses it, calibrated on the same essays
    assert _predict(model, few_essays, int8, *args, "--no-resume") == 0
    assert len(calibrated) == 1
    # torch has no calibrated int8
    capsys.readouterr()
    assert _predict(model, few_essays, tmp_path / "p.csv", "--precision", "int8-static") == 1
    assert "int8-static is a precision of ONNX Runtime graphs: add --backend onnx" in (
        capsys.readouterr().err
    )


def test_precision_reaches_the_encoders(tiny_models, few_essays, tmp_path, monkeypatch):
    from skempathy.neural._base import _BaseTransformerEstimator
    from skempathy.text import SentenceEmbedder

    seen = []
    predict_ids = _BaseTransformerEstimator._predict_ids
    get_model = SentenceEmbedder._get_model

    def spy_ids(self, *args, **kwargs):
        seen.append(("finetuned", self.predict_precision))
        return predict_ids(self, *args, **kwargs)

    def spy_model(self):
        seen.append(("frozen", self.precision))
        return get_model(self)

    monkeypatch.setattr(_BaseTransformerEstimator, "_predict_ids", spy_ids)
    monkeypatch.setattr(SentenceEmbedder, "_get_model", spy_model)
    fp32, int8 = tmp_path / "fp32.csv", tmp_path / "int8.csv"
    for kind in ("finetuned", "frozen"):
        seen.clear()
        assert _predict(tiny_models[kind], few_essays, fp32, "--quiet") == 0
        assert set(seen) == {(kind, None if kind == "finetuned" else "fp32")}
        seen.clear()
        assert _predict(tiny_models[kind], few_essays, int8, "--quiet", "--precision", "int8") == 0
        assert set(seen) == {(kind, "int8")}
        a, b = pd.read_csv(fp32).filter(like="proba_"), pd.read_csv(int8).filter(like="proba_")
        assert a.shape == b.shape and not np.array_equal(a.to_numpy(), b.to_numpy())
        np.testing.assert_allclose(a, b, atol=0.05)  # int8 moves the outputs a little
