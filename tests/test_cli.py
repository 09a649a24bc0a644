"""Tests of the ``skempathy`` command (tiny encoder; the full MiniLM run is marked slow)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from skempathy._commands._common import LOCK
from skempathy.cli import COMMANDS, main
from skempathy.datasets import load_wassa
from skempathy.io import load as skops_load

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def emotion_model(tmp_path_factory, tiny_bert_path):
    out = tmp_path_factory.mktemp("cli") / "emotion.skops"
    assert (
        main(
            [
                "train",
                "--task",
                "emotion",
                "--head",
                "logreg",
                "--model",
                tiny_bert_path,
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    return out


def test_train_saves_a_bundle_that_evaluate_reads(emotion_model, capsys):
    bundle = skops_load(emotion_model)
    assert bundle["task"] == "emotion" and bundle["columns"][0] == "essay"
    assert set(bundle["dev_scores"]) >= {"macro_f1", "accuracy"}
    capsys.readouterr()
    assert main(["evaluate", str(emotion_model), "--split", "dev"]) == 0
    out = capsys.readouterr().out
    assert "macro_f1" in out and "270 essays" in out


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_predict_emotion_writes_labels_and_probabilities(suffix, emotion_model, tmp_path):
    X = load_wassa("dev").frame.head(12)
    src = tmp_path / f"in{suffix}"
    if suffix == ".jsonl":
        X.to_json(src, orient="records", lines=True)
    else:
        X.to_csv(src, sep="\t" if suffix == ".tsv" else ",", index=False)
    dst = tmp_path / "pred.csv"
    assert main(["predict", str(emotion_model), "--input", str(src), "--output", str(dst)]) == 0
    pred = pd.read_csv(dst)
    labels = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]
    assert pred.columns.tolist() == ["message_id", "emotion"] + [f"proba_{c}" for c in labels]
    assert len(pred) == 12 and set(pred["emotion"]) <= set(labels)
    np.testing.assert_allclose(pred.filter(like="proba_").sum(axis=1), 1, rtol=1e-6)
    assert (pred["message_id"] == X["message_id"]).all()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_predict_streams_in_chunks_and_keeps_the_old_output_on_a_late_error(
    suffix, emotion_model, tmp_path
):
    X = load_wassa("dev").frame.head(13)
    src, whole = tmp_path / f"in{suffix}", tmp_path / "whole.csv"
    chunked = tmp_path / f"out{suffix}"
    if suffix == ".jsonl":
        X.to_json(src, orient="records", lines=True)
    else:
        X.to_csv(src, index=False)
    assert (
        main(
            ["predict", str(emotion_model), "--input", str(src), "--output", str(whole), "--quiet"]
        )
        == 0
    )
    assert (
        main(
            [
                "predict",
                str(emotion_model),
                "--input",
                str(src),
                "--output",
                str(chunked),
                "--chunk-size",
                "5",
                "--quiet",
            ]
        )
        == 0
    )
    read = (lambda p: pd.read_json(p, lines=True)) if suffix == ".jsonl" else pd.read_csv
    pd.testing.assert_frame_equal(read(chunked), pd.read_csv(whole), check_exact=False, rtol=1e-12)
    before = chunked.read_bytes()
    # the third chunk holds an empty essay: the run fails there, nothing is replaced
    X.loc[11, "essay"] = " "
    if suffix == ".jsonl":
        X.to_json(src, orient="records", lines=True)
    else:
        X.to_csv(src, index=False)
    assert (
        main(
            [
                "predict",
                str(emotion_model),
                "--input",
                str(src),
                "--output",
                str(chunked),
                "--chunk-size",
                "5",
                "--quiet",
            ]
        )
        == 1
    )
    assert chunked.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_predict_emotion_without_probabilities_writes_decision_scores(tmp_path, tiny_bert_path):
    model = tmp_path / "ridge_emotion.skops"
    assert (
        main(
            [
                "train",
                "--task",
                "emotion",
                "--head",
                "ridge",
                "--features",
                "text",
                "--model",
                tiny_bert_path,
                "--out",
                str(model),
                "--quiet",
            ]
        )
        == 0
    )
    X = load_wassa("dev").frame.head(6)
    src, dst = tmp_path / "in.csv", tmp_path / "pred.csv"
    X.to_csv(src, index=False)
    assert main(["predict", str(model), "--input", str(src), "--output", str(dst)]) == 0
    pred = pd.read_csv(dst)
    scores = pred.filter(like="score_")
    assert scores.shape == (6, 7) and not pred.filter(like="proba_").shape[1]
    # the label is the arg-max of the written scores
    best = scores.to_numpy().argmax(axis=1)
    assert pred["emotion"].tolist() == [scores.columns[j][len("score_") :] for j in best]


def test_predict_regression_with_renamed_text_column(tmp_path, tiny_bert_path, capsys):
    model = tmp_path / "emp.skops"
    assert (
        main(
            [
                "train",
                "--task",
                "empathy+distress",
                "--head",
                "ridge",
                "--features",
                "text",
                "--model",
                tiny_bert_path,
                "--out",
                str(model),
                "--quiet",
            ]
        )
        == 0
    )
    src = tmp_path / "texts.csv"
    pd.DataFrame({"text": ["I am so sorry for these families.", "Meh."]}).to_csv(src, index=False)
    capsys.readouterr()
    assert main(["predict", str(model), "--input", str(src), "--text-column", "text"]) == 0
    pred = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert pred.columns.tolist() == ["empathy", "distress"] and len(pred) == 2
    assert np.isfinite(pred.to_numpy()).all()


def _one_line_error(capsys, code):
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and "error:" in err[0] and "Traceback" not in err[0]
    return err[0]


def test_errors_are_one_line_and_leave_no_output(emotion_model, tmp_path, capsys):
    dst = tmp_path / "out.csv"
    # missing column
    src = tmp_path / "nocol.csv"
    pd.DataFrame({"message": ["hello there"]}).to_csv(src, index=False)
    capsys.readouterr()
    msg = _one_line_error(
        capsys, main(["predict", str(emotion_model), "--input", str(src), "--output", str(dst)])
    )
    assert "essay" in msg
    # empty file
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "empty" in _one_line_error(
        capsys, main(["predict", str(emotion_model), "--input", str(empty), "--output", str(dst)])
    )
    # header only
    header = tmp_path / "header.csv"
    header.write_text("essay\n")
    assert "no rows" in _one_line_error(
        capsys, main(["predict", str(emotion_model), "--input", str(header), "--output", str(dst)])
    )
    # unreadable model
    bad = tmp_path / "bad.joblib"
    bad.write_bytes(b"not a pickle")
    good = tmp_path / "ok.csv"
    pd.DataFrame({"essay": ["fine"]}).to_csv(good, index=False)
    assert "could not load model" in _one_line_error(
        capsys,
        main(["predict", str(bad), "--input", str(good), "--output", str(dst), "--allow-pickle"]),
    )
    # blank text
    blank = tmp_path / "blank.csv"
    rows = load_wassa("dev").frame.head(2).copy()
    rows.loc[1, "essay"] = " "
    rows.to_csv(blank, index=False)
    assert "empty or missing" in _one_line_error(
        capsys, main(["predict", str(emotion_model), "--input", str(blank), "--output", str(dst)])
    )
    assert not dst.exists() and not list(tmp_path.glob(".out.csv.*"))
    # unknown task
    assert "unknown task" in _one_line_error(
        capsys, main(["train", "--task", "joy", "--out", str(tmp_path / "m.joblib")])
    )


def test_wassa_writes_submission_files(tmp_path, tiny_bert_path, capsys):
    out = tmp_path / "wassa"
    members = tmp_path / "members"
    argv = ["wassa", "--out", str(out), "--model", tiny_bert_path, "--memory", str(members)]
    assert main([*argv, "--text-only", "static", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "PVG" in printed and "skempathy (this run), dev" in printed
    emo = (out / "predictions_EMO.tsv").read_text().splitlines()
    emp = [line.split("\t") for line in (out / "predictions_EMP.tsv").read_text().splitlines()]
    assert len(emo) == 525 and len(emp) == 525
    assert set(emo) <= {"anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"}
    assert all(len(row) == 2 for row in emp) and np.isfinite(np.asarray(emp, float)).all()
    scores = json.loads((out / "dev_scores.json").read_text())["dev"]
    assert {"empathy_pearson", "distress_pearson", "macro_f1"} <= set(scores)
    bundle = skops_load(out / "joint_emotion_empathy_distress.skops")
    dev, test = load_wassa("dev"), load_wassa("test")
    assert bundle["targets"] == ["emotion", "empathy", "distress"]
    assert bundle["estimator"].predict(dev.data).shape == (270, 3)
    # --memory: each member's fit is cached there (a rerun trains nothing); the model names no
    # local folder
    assert len(list(members.glob("joblib/**/output.pkl"))) == 2
    assert bundle["estimator"].memory is None
    # the submission lines follow the test file's order
    pred = bundle["estimator"].predict(test.data)
    np.testing.assert_allclose(
        np.asarray(emp, float), pred[["empathy", "distress"]].to_numpy(float), atol=1e-5
    )
    assert emo == list(pred["emotion"])
    # the manifest is written last and lists the run's files; nothing is left behind
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(
        p.name for p in out.iterdir() if p.name not in ("manifest.json", LOCK)
    )
    assert len(manifest["run_id"]) == 32
    # no staging folder, no .tmp
    assert sorted(p.name for p in tmp_path.iterdir()) == ["members", "wassa"]
    # outputs get the usual permissions (written to a temporary file, then renamed)
    mask = os.umask(0)
    os.umask(mask)
    for path in out.iterdir():
        if path.name != LOCK:
            assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path


def test_console_entry_point_in_a_subprocess():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    help_ = subprocess.run(
        [sys.executable, "-m", "skempathy.cli", "--help"], capture_output=True, text=True, env=env
    )
    assert help_.returncode == 0
    for name in ("wassa", "train", "predict", "evaluate"):
        assert name in help_.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "skempathy.cli", "predict", "/nope.joblib", "--input", "/nope.csv"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    # the cheap check first: no model is loaded for an input that is not there
    assert bad.stderr.strip() == "skempathy predict: error: input file not found: /nope.csv"
    assert "compare" in COMMANDS  # registered; skipped if its module is absent


@pytest.mark.slow
def test_wassa_default_run_meets_dev_floors(tmp_path):
    assert main(["wassa", "--out", str(tmp_path), "--quiet"]) == 0
    scores = json.loads((tmp_path / "dev_scores.json").read_text())["dev"]
    assert scores["empathy_pearson"] >= 0.40
    assert scores["distress_pearson"] >= 0.50
    assert scores["macro_f1"] >= 0.39


def test_every_subcommand_takes_quiet():
    from skempathy.cli import build_parser

    for name in COMMANDS:
        parser = build_parser(name)
        sub = parser._subparsers._group_actions[0].choices[name]
        assert "--quiet" in sub._option_string_actions, name


def test_progress_bars_only_where_they_can_be_seen(monkeypatch):
    import io

    from skempathy.utils import _progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert not _progress.interactive(io.StringIO())
    assert _progress.interactive(Terminal())
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert _progress.show_progress(True) and not _progress.show_progress(False)
    with _progress.progress_disabled():
        assert not _progress.show_progress(True)
        assert _progress.progress_bar(range(3)).disable
    assert _progress.show_progress(True)
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a log file
    assert not _progress.show_progress(True)
    assert _progress.progress_bar(range(3), enabled=True).disable


def test_predict_quiet_and_redirected_output_has_no_bars(emotion_model, tmp_path):
    texts = tmp_path / "essays.csv"
    # the model uses every writer column; its texts come under another name
    load_wassa("dev").data.head(2).rename(columns={"essay": "text"}).to_csv(texts, index=False)
    out = tmp_path / "pred.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "skempathy.cli",
            "predict",
            str(emotion_model),
            "--input",
            str(texts),
            "--text-column",
            "text",
            "--output",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # quiet: no message, no bar
    assert len(pd.read_csv(out)) == 2


def test_unwritable_outputs_fail_before_any_work(emotion_model, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.access(locked, os.W_OK):  # root ignores permissions: use a path under a file
        locked = tmp_path / "a_file"
        locked.write_text("x")
    started = time.perf_counter()
    assert main(["wassa", "--out", str(locked / "out"), "--quiet"]) == 1
    assert main(["train", "--task", "emotion", "--out", str(locked / "m.joblib"), "--quiet"]) == 1
    assert (
        main(
            [
                "predict",
                str(emotion_model),
                "--input",
                str(emotion_model),
                "--output",
                str(locked / "p.csv"),
                "--quiet",
            ]
        )
        == 1
    )
    assert time.perf_counter() - started < 20  # no encoding or fitting happened
    err = capsys.readouterr().err
    assert err.count("error: cannot write to") == 3


def test_sigterm_is_handled_like_ctrl_c_and_keeps_the_previous_run(tmp_path):
    import signal

    out = tmp_path / "wassa"
    out.mkdir()
    (out / "manifest.json").write_text('{"files": ["old.tsv"]}')
    (out / "old.tsv").write_text("previous run")
    # the embedded MiniLM: encoding the 2655 essays takes well over the 8 s below
    proc = subprocess.Popen(
        [sys.executable, "-m", "skempathy.cli", "wassa", "--out", str(out), "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    time.sleep(8)  # loading and encoding
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal")
    assert proc.returncode == 143 and "terminated" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == [LOCK, "manifest.json", "old.tsv"]
    assert [p.name for p in tmp_path.iterdir()] == ["wassa"]


def test_clear_errors_on_bad_inputs(emotion_model, tmp_path, capsys):
    from sklearn.linear_model import Ridge

    from skempathy.base import check_texts
    from skempathy.neural import TransformerClassifier

    with pytest.raises(ValueError, match="position 1 is not valid Unicode.*lone surrogate"):
        check_texts(["fine", "broken \ud83d text"])
    with pytest.warns(UserWarning, match="1 text\\(s\\) have no letter or digit"):
        check_texts(["ok", "\U0001f622\U0001f622"])
    with pytest.raises(ValueError, match="1 missing label.*position 1"):
        TransformerClassifier(max_epochs=1).fit(
            ["a b", "c d", "e f"], pd.Series(["x", np.nan, "y"])
        )
    # a regressor bundle labelled as an emotion model
    X, y = load_wassa("dev", target="empathy", return_X_y=True)
    columns = ["iri_empathic_concern", "iri_personal_distress"]
    bundle = {
        "format": "skempathy-model/1",
        "estimator": Ridge().fit(X[columns], y),
        "task": "emotion",
        "targets": ["emotion"],
        "columns": columns,
        "text_column": "essay",
        "skempathy_version": "0.0.1",
    }
    joblib.dump(bundle, tmp_path / "wrong.joblib")
    X.head(3).to_csv(tmp_path / "in.csv", index=False)
    assert (
        main(
            [
                "predict",
                str(tmp_path / "wrong.joblib"),
                "--input",
                str(tmp_path / "in.csv"),
                "--allow-pickle",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "saved by skempathy 0.0.1" in err
    assert "labelled as an emotion model but holds a Ridge" in err
    # a foreign model's error never echoes an essay
    bundle.update(
        task="empathy",
        targets=["empathy"],
        columns=["essay"],
        estimator=Ridge().fit(np.zeros((2, 1)), [0, 1]),
    )
    joblib.dump(bundle, tmp_path / "foreign.joblib")
    assert (
        main(
            [
                "predict",
                str(tmp_path / "foreign.joblib"),
                "--input",
                str(tmp_path / "in.csv"),
                "--allow-pickle",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "could not predict on this input" in err
    assert X["essay"].iloc[0][:30] not in err


def test_safe_skops_bundles_round_trip(tmp_path, tiny_bert_path, capsys):
    pytest.importorskip("skops")
    out = tmp_path / "emotion.skops"
    assert (
        main(
            [
                "train",
                "--task",
                "emotion",
                "--head",
                "logreg",
                "--model",
                tiny_bert_path,
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert out.read_bytes()[:2] == b"PK"  # a skops zip, not a pickle
    texts = tmp_path / "in.csv"
    load_wassa("dev").data.head(4).to_csv(texts, index=False)
    for model in (out,):
        assert (
            main(
                [
                    "predict",
                    str(model),
                    "--input",
                    str(texts),
                    "--output",
                    str(tmp_path / "p.csv"),
                    "--quiet",
                ]
            )
            == 0
        )
    assert main(["evaluate", str(out), "--split", "dev"]) == 0
    assert "macro_f1" in capsys.readouterr().out


def test_distill_writes_a_student_that_predict_reads(
    emotion_model, tmp_path, tiny_bert_path, capsys
):
    student = tmp_path / "student.skops"
    capsys.readouterr()
    assert (
        main(
            [
                "distill",
                str(emotion_model),
                "--out",
                str(student),
                "--model",
                tiny_bert_path,
                "--epochs",
                "1",
                "--max-length",
                "32",
                "--unlabeled",
                "wassa",
                "--precision",
                "bf16",
                "--predict-precision",
                "int8",
                "--quiet",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "teacher" in out and "student" in out and "macro_f1" in out
    assert "agreement with the teacher on held-out essays: emotion 0." in out
    bundle = skops_load(student)
    assert bundle["task"] == "emotion" and bundle["columns"] == ["essay"]
    assert set(bundle["dev_scores"]) >= {"macro_f1"}
    model = bundle["estimator"]
    assert type(model[-1]).__name__ == "TransformerClassifier"
    assert model[-1].precision == "bf16" and model[-1].predict_precision == "int8"
    src = tmp_path / "in.csv"
    load_wassa("dev").frame.head(5).to_csv(src, index=False)
    dst = tmp_path / "pred.csv"
    assert main(["predict", str(student), "--input", str(src), "--output", str(dst)]) == 0
    pred = pd.read_csv(dst)
    assert len(pred) == 5 and "proba_sadness" in pred.columns

    with pytest.raises(SystemExit):
        main(["distill", str(emotion_model), "--out", str(student), "--unlabeled", "reddit"])
    assert main(["distill", str(emotion_model), "--out", str(student), "--alpha", "2"]) == 1
    assert "--alpha" in capsys.readouterr().err


@pytest.mark.parametrize("final", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_wassa_distill_writes_the_student_beside_the_teacher(
    tmp_path, tiny_bert_path, capsys, final
):
    out = tmp_path / "wassa"
    assert (
        main(
            ["wassa", "--out", str(out), "--model", tiny_bert_path, "--distill", "--quiet"]
            + (["--final"] if final else [])
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "skempathy distilled student (this run), dev" in printed and "size MB" in printed
    summary = json.loads((out / "dev_scores.json").read_text())
    assert set(summary["distilled"]) == {"teacher", "student"}
    for row in summary["distilled"].values():
        assert {"macro_f1", "average_pearson", "size_mb", "ms_per_essay"} <= set(row)
    # the teacher row is the recipe's own dev score
    assert summary["distilled"]["teacher"]["macro_f1"] == pytest.approx(summary["dev"]["macro_f1"])
    student = skops_load(out / "student_emotion_empathy_distress.skops")
    assert student["columns"] == ["essay"]
    # with --final the shipped student learnt from the recipe refitted on train + dev; the dev
    # rows still come from models that never saw the dev labels
    assert student["fitted_on"] == ("train+dev" if final else "train")
    pred = student["estimator"].predict(load_wassa("dev").data.head(4))
    assert list(pred.columns) == ["emotion", "empathy", "distress"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert "student_emotion_empathy_distress.skops" in manifest["files"]


def test_an_old_model_gets_one_version_warning(emotion_model, tmp_path, monkeypatch, capsys):
    import skempathy

    bundle = skops_load(emotion_model)
    with monkeypatch.context() as m:  # written by an "older" skempathy
        m.setattr(skempathy, "__version__", "0.0.1")
        joblib.dump(dict(bundle, skempathy_version="0.0.1"), tmp_path / "old.joblib")
        joblib.dump(bundle["estimator"], tmp_path / "bare.joblib")
    capsys.readouterr()
    for name in ("old.joblib", "bare.joblib"):
        assert main(["evaluate", str(tmp_path / name), "--split", "dev", "--allow-pickle"]) == 0
        err = capsys.readouterr().err
        # the bundle and the embedder inside it both record the version: one line says it
        assert err.count("saved by skempathy 0.0.1") == 1, err
        assert "skempathy: warning:" in err


# ------------------------------------------------------------------ safe by default


def _double(X):
    return 2 * X


class _Payload:
    """Unpickling this object creates a file: the code a crafted pickle would run."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "pwned"))


def test_pickles_load_only_with_allow_pickle(tmp_path, capsys):
    marker = tmp_path / "ran.txt"
    joblib.dump(
        {"format": "skempathy-model/1", "estimator": _Payload(marker)}, tmp_path / "model.joblib"
    )
    texts = tmp_path / "in.csv"
    pd.DataFrame({"essay": ["fine"]}).to_csv(texts, index=False)
    for command in (
        ["predict", str(tmp_path / "model.joblib"), "--input", str(texts)],
        ["evaluate", str(tmp_path / "model.joblib")],
        ["distill", str(tmp_path / "model.joblib"), "--out", str(tmp_path / "s.skops")],
    ):
        message = _one_line_error(capsys, main(command))
        assert "--allow-pickle" in message and "runs any code" in message
        assert not marker.exists()
    # the same bytes under a .skops name: the contents decide, not the name
    (tmp_path / "model.skops").write_bytes((tmp_path / "model.joblib").read_bytes())
    assert "is a pickle" in _one_line_error(
        capsys, main(["predict", str(tmp_path / "model.skops"), "--input", str(texts)])
    )
    assert not marker.exists()
    # with the flag, the user chose to run it
    _one_line_error(
        capsys,
        main(["predict", str(tmp_path / "model.joblib"), "--input", str(texts), "--allow-pickle"]),
    )
    assert marker.read_text() == "pwned"


def test_more_types_are_trusted_only_by_name(tmp_path, capsys):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from skempathy import io

    X, y = load_wassa("dev", target="emotion", return_X_y=True)
    columns = ["iri_empathic_concern", "iri_personal_distress"]
    model = make_pipeline(FunctionTransformer(_double), LogisticRegression(max_iter=1000))
    model.fit(X[columns], y)
    bundle = {
        "format": "skempathy-model/1",
        "estimator": model,
        "task": "emotion",
        "targets": ["emotion"],
        "columns": columns,
        "text_column": "essay",
    }
    path = tmp_path / "custom.skops"
    io.dump(bundle, path)
    X.head(3).to_csv(tmp_path / "in.csv", index=False)
    command = [
        "predict",
        str(path),
        "--input",
        str(tmp_path / "in.csv"),
        "--output",
        str(tmp_path / "p.csv"),
    ]
    message = _one_line_error(capsys, main(command))
    assert "tests.test_cli._double" in message and "--trusted TYPE" in message
    assert main(command + ["--trusted", "tests.test_cli._double"]) == 0
    assert len(pd.read_csv(tmp_path / "p.csv")) == 3


@pytest.mark.parametrize("head", ["xgboost", "mlp", "adaboost"])
def test_skops_models_of_every_head_load_back(head, tmp_path, tiny_bert_path):
    model = tmp_path / f"{head}.skops"
    assert (
        main(
            [
                "train",
                "--task",
                "emotion",
                "--head",
                head,
                "--features",
                "text",
                "--model",
                tiny_bert_path,
                "--out",
                str(model),
                "--quiet",
            ]
        )
        == 0
    )
    texts = tmp_path / "in.csv"
    load_wassa("dev").data.head(4).to_csv(texts, index=False)
    assert (
        main(
            [
                "predict",
                str(model),
                "--input",
                str(texts),
                "--output",
                str(tmp_path / "p.csv"),
                "--quiet",
            ]
        )
        == 0
    )
    assert len(pd.read_csv(tmp_path / "p.csv")) == 4


def test_outputs_never_replace_inputs(emotion_model, tmp_path, capsys):
    essays = tmp_path / "essays.csv"
    load_wassa("dev").data.head(3).to_csv(essays, index=False)
    before = essays.read_bytes()
    assert "also an input" in _one_line_error(
        capsys,
        main(["predict", str(emotion_model), "--input", str(essays), "--output", str(essays)]),
    )
    assert essays.read_bytes() == before
    assert "must end in .skops" in _one_line_error(
        capsys, main(["train", "--task", "emotion", "--out", str(essays)])
    )
    assert essays.read_bytes() == before
    model = emotion_model.read_bytes()
    assert "also an input" in _one_line_error(
        capsys, main(["distill", str(emotion_model), "--out", str(emotion_model)])
    )
    assert emotion_model.read_bytes() == model


def test_the_output_folder_is_locked_and_staged_inside(tmp_path):
    from skempathy._commands._common import staged_output
    from skempathy.cli import CLIError

    out = tmp_path / "out"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from skempathy._commands._common import staged_output\n"
            f"with staged_output({str(out)!r}) as staging:\n"
            "    print(staging, flush=True)\n"
            "    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        staging = Path(holder.stdout.readline().strip())
        assert staging.parent == out  # a read-only parent of --out is no obstacle
        with pytest.raises(CLIError, match="another skempathy run is writing"):
            with staged_output(out):
                pass
        started = time.perf_counter()
        assert main(["wassa", "--out", str(out), "--quiet"]) == 1
        assert time.perf_counter() - started < 60  # refused before the fit
    finally:
        holder.kill()
        holder.wait()
    with staged_output(out) as staging:  # the lock went with the process
        (staging / "a.tsv").write_text("new")
    assert (out / "a.tsv").read_text() == "new"


def test_a_signal_during_the_commit_leaves_a_complete_folder(tmp_path, monkeypatch):
    import signal

    from skempathy._commands import _common
    from skempathy.utils._interrupts import Terminated, sigterm_as_interrupt

    out = tmp_path / "out"
    with _common.staged_output(out) as staging:
        for name in ("model.skops", "old_only.tsv", "scores.json"):
            (staging / name).write_text("old")
    real_replace = os.replace
    new = ["model.skops", "predictions.tsv", "scores.json"]
    for at in range(len(new) + 1):  # a SIGTERM at every move of the commit step
        calls = []

        def replace(src, dst, at=at, calls=calls):
            if len(calls) == at:
                os.kill(os.getpid(), signal.SIGTERM)
            calls.append(dst)
            return real_replace(src, dst)

        monkeypatch.setattr(_common.os, "replace", replace)
        with pytest.raises(Terminated), sigterm_as_interrupt():
            with _common.staged_output(out) as staging:
                for name in new:
                    (staging / name).write_text(f"new {at}")
        monkeypatch.setattr(_common.os, "replace", real_replace)
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["files"] == new
        assert sorted(p.name for p in out.iterdir()) == sorted(new + ["manifest.json", LOCK])
        assert {(out / name).read_text() for name in new} == {f"new {at}"}
    # a signal before the commit keeps the previous run as it was
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(Terminated), sigterm_as_interrupt():
        with _common.staged_output(out) as staging:
            (staging / "model.skops").write_text("half")
            os.kill(os.getpid(), signal.SIGTERM)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_sigterm_during_a_fine_tuning_fit_ends_the_run(tmp_path, tiny_bert_path):
    """The training loop does not swallow the signal: the run ends, the old output stays."""
    import signal

    out = tmp_path / "wassa"
    out.mkdir()
    (out / "manifest.json").write_text('{"files": ["old.tsv"]}')
    (out / "old.tsv").write_text("previous run")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "skempathy.cli",
            "wassa",
            "--out",
            str(out),
            "--recipe",
            "finetuned",
            "--model",
            tiny_bert_path,
            "--set",
            "finetuned__max_epochs=200",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    time.sleep(20)  # encoding with the tiny model is quick: this is inside the fit
    proc.send_signal(signal.SIGTERM)
    started = time.perf_counter()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "terminated" in err
    assert time.perf_counter() - started < 15
    assert sorted(p.name for p in out.iterdir()) == [LOCK, "manifest.json", "old.tsv"]
    assert (out / "old.tsv").read_text() == "previous run"


def test_missing_columns_lead_somewhere(emotion_model, tmp_path, tiny_bert_path, capsys):
    plain = tmp_path / "plain.csv"
    pd.DataFrame({"id": [1, 2], "text": ["So sad to read this.", "Great news!"]}).to_csv(
        plain, index=False
    )
    message = _one_line_error(capsys, main(["predict", str(emotion_model), "--input", str(plain)]))
    assert "lacks column(s) essay" in message and "pass --text-column text" in message
    writer = tmp_path / "writer.skops"
    assert (
        main(
            [
                "train",
                "--task",
                "emotion",
                "--head",
                "logreg",
                "--features",
                "text",
                "iri",
                "--model",
                tiny_bert_path,
                "--out",
                str(writer),
                "--quiet",
            ]
        )
        == 0
    )
    message = _one_line_error(
        capsys, main(["predict", str(writer), "--input", str(plain), "--text-column", "text"])
    )
    assert "writer column(s)" in message and "--features text" in message


def test_lists_are_written_the_same_way_in_every_command():
    from skempathy.cli import build_parser

    parser = build_parser()
    for command in (
        ["train", "--task", "emotion", "--out", "m.skops"],
        ["compare", "--task", "emotion", "--models", "mean", "--out", "cmp"],
    ):
        spaced = parser.parse_args(command + ["--features", "text", "iri"])
        commas = parser.parse_args(command + ["--features", "text,iri"])
        assert spaced.features == [["text"], ["iri"]] and commas.features == [["text", "iri"]]
    compare = parser.parse_args(
        [
            "compare",
            "--task",
            "empathy+distress",
            "--models",
            "mean",
            "tfidf-ridge,ridge",
            "--out",
            "cmp",
        ]
    )
    assert compare.models == ["mean", "tfidf-ridge,ridge"]
    with pytest.raises(SystemExit):
        parser.parse_args(
            ["train", "--task", "emotion", "--out", "m.skops", "--features", "text,writers"]
        )
    help_text = parser._subparsers._group_actions[0].choices["compare"].format_help()
    assert "{distress" not in help_text and "TASK" in help_text


def test_the_cli_page_lists_every_option():
    from skempathy.cli import build_parser

    page = (REPO / "docs" / "user_guide" / "cli.md").read_text(encoding="utf-8")
    table = page[page.index("## Options") :]
    parser = build_parser()
    for name, sub in parser._subparsers._group_actions[0].choices.items():
        rows = [
            line
            for line in table.splitlines()
            if line.startswith("| `") and f"`{name}`" in line.split("|")[1]
        ]
        for action in sub._actions:
            if not action.option_strings or action.dest in ("help", "quiet"):
                continue
            assert any(
                f"`{action.option_strings[0]}" in row or f"`{action.option_strings[-1]}" in row
                for row in rows
            ), (name, action.option_strings)
