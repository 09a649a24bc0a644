"""One reader of every format skempathy writes (skempathy.io.load_model / read_model), by content.

Each format is written with a tiny real model (the random BERT of ``tiny_bert_path``, or a
scikit-learn pipeline), read back with the one loader, and its predictions compared; then the
refusals: a pickle without allow_pickle, a folder or file of no format, crafted manifests.
"""

import json
import shutil
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skempathy.cli import main
from skempathy.io import (
    PickleRefusedError,
    UnknownModelFormatError,
    UnsafeFileError,
    dump,
    load_model,
    read_model,
    write_model,
)

TEXTS = [
    "I feel so sorry for the families who lost their homes.",
    "This makes me angry, nobody helps them.",
    "Poor kids, it is heartbreaking to read.",
    "How unfair, the officials should be ashamed.",
    "So sad to see the pictures of the flood.",
    "I am furious that this keeps happening.",
] * 2
LABELS = ["sadness", "anger", "sadness", "anger", "sadness", "anger"] * 2
NEW = ["what a tragedy for them", "this is outrageous", "ok"]


@pytest.fixture(scope="module")
def pipe():
    return make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(TEXTS, LABELS)


@pytest.fixture(scope="module")
def clf(tiny_bert_path):
    from skempathy.neural import TransformerClassifier

    est = TransformerClassifier(
        tiny_bert_path, max_epochs=1, max_length=32, batch_size=4, device="cpu", random_state=0
    )
    return est.fit(TEXTS, LABELS)


@pytest.fixture(scope="module")
def hf_folder(clf, tmp_path_factory):
    return Path(clf.save_pretrained(tmp_path_factory.mktemp("hf") / "emotion"))


@pytest.fixture(scope="module")
def onnx_folder(clf, tmp_path_factory):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from skempathy.export import to_onnx

    return Path(to_onnx(clf, tmp_path_factory.mktemp("onnx") / "emotion"))


def test_skops_files_and_model_files(pipe, tmp_path):
    bare = Path(dump(pipe, tmp_path / "bare.skops"))
    np.testing.assert_array_equal(load_model(bare).predict_proba(NEW), pipe.predict_proba(NEW))
    assert read_model(bare)["task"] == "emotion"  # a bare classifier

    model_file = tmp_path / "model.skops"
    write_model({"estimator": pipe, "task": "emotion", "columns": ["essay"]}, model_file)
    bundle = read_model(model_file)
    assert bundle["columns"] == ["essay"] and bundle["format"] == "skempathy-model/1"
    np.testing.assert_array_equal(load_model(model_file).predict(NEW), pipe.predict(NEW))
    # the contents decide, not the name
    renamed = tmp_path / "model.bin"
    shutil.copy(model_file, renamed)
    np.testing.assert_array_equal(load_model(renamed).predict(NEW), pipe.predict(NEW))


def test_pickles_load_only_when_allowed(pipe, tmp_path):
    pickled = tmp_path / "model.joblib"
    write_model({"estimator": pipe, "task": "emotion"}, pickled)
    with pytest.raises(PickleRefusedError, match="allow_pickle=True"):
        load_model(pickled)
    as_skops = tmp_path / "model.skops"  # a pickle under a safe name is still a pickle
    shutil.copy(pickled, as_skops)
    with pytest.raises(PickleRefusedError, match="is a pickle"):
        load_model(as_skops)
    np.testing.assert_array_equal(
        load_model(pickled, allow_pickle=True).predict(NEW), pipe.predict(NEW)
    )
    compressed = tmp_path / "compressed.joblib"
    joblib.dump(pipe, compressed, compress=3)
    with pytest.raises(PickleRefusedError):
        load_model(compressed)
    assert load_model(compressed, allow_pickle=True).predict(NEW).shape == (3,)


def test_hugging_face_folder(clf, hf_folder):
    from skempathy.neural import TransformerClassifier

    loaded = load_model(hf_folder, device="cpu")
    assert type(loaded) is TransformerClassifier
    np.testing.assert_allclose(loaded.predict_proba(NEW), clf.predict_proba(NEW), atol=1e-6)
    bundle = read_model(hf_folder)
    assert bundle["task"] == "emotion" and bundle["columns"] is None
    # from_pretrained of the class reads the same folder
    np.testing.assert_array_equal(
        TransformerClassifier.from_pretrained(hf_folder).predict(NEW), loaded.predict(NEW)
    )


def test_onnx_folder(clf, onnx_folder):
    from skempathy.export import OnnxPredictor

    loaded = load_model(onnx_folder, device="cpu")
    assert isinstance(loaded, OnnxPredictor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_allclose(loaded.predict_proba(NEW), clf.predict_proba(NEW), atol=1e-4)
    assert read_model(onnx_folder)["task"] == "emotion"  # the exported estimator's kind
    manifest = json.loads((onnx_folder / "skempathy_onnx.json").read_text())
    assert manifest["files"] == {"model": "model.onnx", "tokenizer": "tokenizer.json"}


def test_what_is_none_of_the_formats_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("a folder of something else")
    with pytest.raises(UnknownModelFormatError) as info:
        load_model(empty)
    message = str(info.value)
    assert str(empty) in message and info.value.path == str(empty)
    for accepted in (".skops", "allow_pickle=True", "save_pretrained", "to_onnx"):
        assert accepted in message
    table = tmp_path / "table.csv"
    table.write_text("essay,emotion\nso sad,sadness\n")
    with pytest.raises(UnknownModelFormatError, match="no known format"):
        load_model(table)
    with pytest.raises(UnknownModelFormatError, match="no known format"):
        load_model(table, allow_pickle=True)  # allowed to unpickle, but it is no pickle
    archive = Path(shutil.make_archive(str(tmp_path / "docs"), "zip", empty))
    with pytest.raises(UnknownModelFormatError, match="not a .skops file"):
        load_model(archive)
    with pytest.raises(FileNotFoundError, match="not found"):
        load_model(tmp_path / "missing.skops")


def _copy(folder, tmp_path, name):
    return Path(shutil.copytree(folder, tmp_path / name))


def test_crafted_hugging_face_folders_are_refused(hf_folder, tmp_path):
    crafted = _copy(hf_folder, tmp_path, "crafted")
    state = json.loads((crafted / "skempathy.json").read_text())
    for name in ("BaseEstimator", "data_parallel", "os.system"):  # only the estimator classes
        (crafted / "skempathy.json").write_text(json.dumps({**state, "class": name}))
        with pytest.raises(ValueError, match="unknown estimator class"):
            load_model(crafted)
    (crafted / "skempathy.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_model(crafted)
    (crafted / "skempathy.json").write_text(json.dumps({**state, "format": "other/9"}))
    with pytest.raises(ValueError, match="unknown format"):
        load_model(crafted)
    linked = _copy(hf_folder, tmp_path, "linked")
    (linked / "model.safetensors").unlink()
    (linked / "model.safetensors").symlink_to(hf_folder / "model.safetensors")
    with pytest.raises(UnsafeFileError, match="is a link"):
        load_model(linked)


@pytest.mark.parametrize("name", ["../model.onnx", "/etc/passwd", "sub/../../model.onnx", ""])
def test_an_onnx_manifest_pointing_outside_its_folder_is_refused(onnx_folder, tmp_path, name):
    crafted = _copy(onnx_folder, tmp_path / "x", "crafted")
    shutil.copy(onnx_folder / "model.onnx", tmp_path / "x" / "model.onnx")  # a target outside
    manifest = json.loads((crafted / "skempathy_onnx.json").read_text())
    manifest["files"]["model"] = name
    (crafted / "skempathy_onnx.json").write_text(json.dumps(manifest))
    with pytest.raises(UnsafeFileError):
        load_model(crafted)


def test_an_onnx_manifest_naming_a_missing_file_or_class_is_refused(onnx_folder, tmp_path):
    crafted = _copy(onnx_folder, tmp_path, "crafted")
    manifest = json.loads((crafted / "skempathy_onnx.json").read_text())
    (crafted / "skempathy_onnx.json").write_text(
        json.dumps({**manifest, "files": {**manifest["files"], "model": "other.onnx"}})
    )
    with pytest.raises(FileNotFoundError, match="other.onnx"):
        load_model(crafted)
    (crafted / "skempathy_onnx.json").write_text(json.dumps({**manifest, "class": "Pipeline"}))
    with pytest.raises(ValueError, match="unknown estimator class"):
        load_model(crafted)
    (crafted / "skempathy_onnx.json").write_text(json.dumps({**manifest, "kind": "pickle"}))
    with pytest.raises(ValueError, match="unknown kind"):
        load_model(crafted)


def test_batch_predictor_reads_every_format(clf, hf_folder, onnx_folder, pipe, tmp_path):
    from skempathy.batch import BatchPredictor

    chunk = pd.DataFrame({"text": NEW})
    expected = clf.predict(NEW)
    for folder in (hf_folder, onnx_folder):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            out = BatchPredictor(folder)(chunk)
        np.testing.assert_array_equal(out["prediction"], expected)
    path = dump(pipe, tmp_path / "pipe.skops")
    np.testing.assert_array_equal(BatchPredictor(path)(chunk)["prediction"], pipe.predict(NEW))


def _predict_cli(model, tmp_path, capsys, *extra):
    src = tmp_path / "in.csv"
    pd.DataFrame({"essay": NEW}).to_csv(src, index=False)
    out = tmp_path / f"out-{Path(model).name}.csv"
    code = main(
        ["predict", str(model), "--input", str(src), "--output", str(out), "--quiet", *extra]
    )
    return code, out, capsys.readouterr().err


def test_cli_predicts_with_either_folder(clf, hf_folder, onnx_folder, tmp_path, capsys):
    expected = clf.predict_proba(NEW)
    for folder in (hf_folder, onnx_folder):
        code, out, err = _predict_cli(folder, tmp_path, capsys)
        assert code == 0, err
        table = pd.read_csv(out)
        np.testing.assert_array_equal(table["emotion"], clf.predict(NEW))
        proba = table[[f"proba_{c}" for c in clf.classes_]].to_numpy()
        np.testing.assert_allclose(proba, expected, atol=1e-4)
    code, _, err = _predict_cli(onnx_folder, tmp_path, capsys, "--precision", "int8")
    assert code == 1 and "ONNX export" in err and "--precision" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _predict_cli(empty, tmp_path, capsys)
    assert code == 1 and "not a model skempathy reads" in err and "save_pretrained" in err
    assert len(err.strip().splitlines()) == 1 and "--allow-pickle" in err
