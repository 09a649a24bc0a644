"""``skempathy wassa`` writes a text-only model beside the full one, and ``skempathy predict``
scores plain texts with it (tiny encoder: the fine-tuned student trains in seconds)."""

import json
import shutil
import sys

import numpy as np
import pandas as pd
import pytest

from skempathy._commands._common import LOCK
from skempathy._commands.wassa import text_only_encoder
from skempathy.cli import main
from skempathy.datasets import load_wassa
from skempathy.io import load as skops_load

FULL = "joint_emotion_empathy_distress.skops"
TEXT_ONLY = "text_only_emotion_empathy_distress.skops"
EMOTIONS = {"anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"}


@pytest.fixture(scope="module")
def wassa_run(tmp_path_factory, tiny_bert_path):
    """One default ``wassa`` run on the tiny encoder: ``(folder, printed output)``."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("text_only") / "wassa"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["wassa", "--out", str(out), "--model", tiny_bert_path, "--quiet"])
    assert code == 0
    return out, printed.getvalue()


@pytest.fixture(scope="module")
def plain_texts(tmp_path_factory):
    """A CSV of plain texts: one ``essay`` column and nothing else."""
    path = tmp_path_factory.mktemp("plain") / "texts.csv"
    essays = load_wassa("dev").data["essay"].iloc[:9].tolist()
    pd.DataFrame({"essay": essays + ["What a relief, the dog found its way home!"]}).to_csv(
        path, index=False
    )
    return path


def _one_line_error(capsys, code):
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_the_student_follows_the_recipes_encoder():
    assert text_only_encoder("finetuned", None) == "all-MiniLM-L6-v2"
    assert text_only_encoder("finetuned", "/models/tiny") == "/models/tiny"
    assert text_only_encoder("finetuned", "static-mpnet") == "static-mpnet"  # nothing to tune
    assert text_only_encoder("static", None) == "static-minilm"
    assert text_only_encoder("static", "/models/tiny") == "static-/models/tiny"
    assert text_only_encoder("static", "static-mpnet") == "static-mpnet"
    assert text_only_encoder("minilm", "static-mpnet") == "minilm"
    assert text_only_encoder("none", None) is None


def test_wassa_writes_both_models_and_both_dev_scores(wassa_run, tiny_bert_path):
    out, printed = wassa_run
    manifest = json.loads((out / "manifest.json").read_text())
    assert {FULL, TEXT_ONLY} <= set(manifest["files"])
    assert sorted(manifest["files"]) == sorted(
        p.name for p in out.iterdir() if p.name not in ("manifest.json", LOCK)
    )
    full, text_only = skops_load(out / FULL), skops_load(out / TEXT_ONLY)
    assert len(full["columns"]) == 15 and text_only["columns"] == ["essay"]
    assert text_only["targets"] == ["emotion", "empathy", "distress"]
    assert text_only["fitted_on"] == "train"
    assert text_only["head"] == f"distilled {tiny_bert_path}"  # the recipe's encoder, fine-tuned
    # the dev scores of both, side by side: the summary, the bundles, the printed table
    summary = json.loads((out / "dev_scores.json").read_text())
    entry = summary["text_only"]
    assert entry["file"] == TEXT_ONLY and entry["student"] == tiny_bert_path
    assert set(entry["dev"]) == set(summary["dev"])
    assert entry["ms_per_essay"] > 0 and "size_mb" in entry
    assert text_only["dev_scores"] == entry["dev"]
    assert -1 <= entry["dev"]["average_pearson"] <= 1 and 0 <= entry["dev"]["macro_f1"] <= 1
    lines = printed.splitlines()
    full_row = next(i for i, line in enumerate(lines) if line.startswith("skempathy (this run)"))
    assert lines[full_row + 1].startswith("skempathy text-only (this run), dev")
    assert f"{entry['dev']['macro_f1']:.3f}" in lines[full_row + 1]
    assert f"skempathy predict {out / TEXT_ONLY} --input" in printed
    assert TEXT_ONLY in printed.splitlines()[-1]  # the "Wrote ..." line


def test_predict_scores_plain_texts_with_the_text_only_model(
    wassa_run, plain_texts, tmp_path, capsys
):
    out, _ = wassa_run
    dst = tmp_path / "pred.csv"
    args = ["predict", str(out / TEXT_ONLY), "--input", str(plain_texts), "--output", str(dst)]
    assert main([*args, "--quiet"]) == 0
    pred = pd.read_csv(dst)
    proba = [f"proba_{label}" for label in sorted(EMOTIONS)]
    assert list(pred.columns) == ["emotion", "empathy", "distress", *proba]
    assert len(pred) == 10
    assert set(pred["emotion"]) <= EMOTIONS
    np.testing.assert_allclose(pred[proba].sum(axis=1), 1.0, atol=1e-5)
    assert ((pred[proba] >= 0) & (pred[proba] <= 1)).all().all()
    # empathy and distress are rated 1 to 7: the heads stay near that scale
    scores = pred[["empathy", "distress"]].to_numpy()
    assert np.isfinite(scores).all() and (scores > 0).all() and (scores < 8).all()
    # a CSV whose one text column is called "text" is read as is, and the run says so
    renamed = tmp_path / "text.csv"
    pd.read_csv(plain_texts).rename(columns={"essay": "text"}).to_csv(renamed, index=False)
    again = tmp_path / "again.csv"
    assert (
        main(["predict", str(out / TEXT_ONLY), "--input", str(renamed), "--output", str(again)])
        == 0
    )
    assert "reading the texts from column 'text'" in capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_csv(again), pred)


def test_the_full_model_on_plain_texts_names_the_text_only_file(
    wassa_run, plain_texts, tmp_path, capsys
):
    out, _ = wassa_run
    capsys.readouterr()
    message = _one_line_error(
        capsys, main(["predict", str(out / FULL), "--input", str(plain_texts), "--quiet"])
    )
    assert "writer column(s)" in message
    assert f"score plain texts with {out / TEXT_ONLY}" in message
    # a full model without its text-only twin beside it says where one comes from
    alone = tmp_path / "alone.skops"
    shutil.copy(out / FULL, alone)
    message = _one_line_error(
        capsys, main(["predict", str(alone), "--input", str(plain_texts), "--quiet"])
    )
    assert TEXT_ONLY in message and "skempathy wassa writes" in message


def test_text_only_none_writes_no_text_only_model(tmp_path, tiny_bert_path, capsys):
    out = tmp_path / "wassa"
    args = ["wassa", "--out", str(out), "--model", tiny_bert_path, "--text-only", "none"]
    assert main([*args, "--quiet"]) == 0
    captured = capsys.readouterr()
    assert not (out / TEXT_ONLY).exists() and (out / FULL).is_file()
    assert TEXT_ONLY not in json.loads((out / "manifest.json").read_text())["files"]
    entry = json.loads((out / "dev_scores.json").read_text())["text_only"]
    assert entry["file"] is None and "--text-only none" in entry["skipped"]
    assert "text-only (this run)" not in captured.out and "warning" not in captured.err


def test_without_model2vec_the_static_student_warns_once_and_is_skipped(
    tmp_path, tiny_bert_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "model2vec", None)  # every import of it fails
    out = tmp_path / "wassa"
    args = ["wassa", "--out", str(out), "--model", tiny_bert_path, "--text-only", "static"]
    assert main([*args, "--quiet"]) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith("skempathy wassa: warning: ")
    assert "model2vec" in warnings[0] and "pip install 'skempathy[static]'" in warnings[0]
    assert "writes no text-only model" in warnings[0]
    assert not (out / TEXT_ONLY).exists() and (out / FULL).is_file()
    assert (out / "predictions_EMP.tsv").is_file() and (out / "manifest.json").is_file()
    entry = json.loads((out / "dev_scores.json").read_text())["text_only"]
    assert entry["file"] is None and "pip install 'skempathy[static]'" in entry["skipped"]
    assert "No text-only model: " in captured.out and "model2vec" in captured.out
