"""Chunked prediction over tables (skempathy.batch) on real data."""

import functools
import os
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline

from skempathy.io import UnsafeFileError
from skempathy.batch import BatchPredictor, map_table, read_table_chunks
from skempathy.datasets import load_wassa
from skempathy.dialogue import EmotionAnnotator, annotate_dialogues, load_empathetic_intents


@pytest.fixture(scope="module")
def wassa():
    return load_wassa("train").frame


@pytest.fixture(scope="module")
def emotion_model(wassa):
    return make_pipeline(TfidfVectorizer(min_df=2), LogisticRegression(max_iter=500)).fit(
        wassa["essay"], wassa["emotion"]
    )


def test_batch_predictor_names_its_columns_and_keeps_the_index(wassa, emotion_model):
    chunk = wassa.iloc[100:140]
    out = BatchPredictor(emotion_model, text_column="essay", keep=["message_id"])(chunk)
    assert out.index.equals(chunk.index)
    assert out.columns.tolist() == ["message_id", "prediction"]
    assert (out["prediction"] == emotion_model.predict(chunk["essay"])).all()
    proba = BatchPredictor(emotion_model, method="predict_proba")(chunk)  # finds "essay"
    assert proba.columns.tolist() == [f"proba_{c}" for c in emotion_model.classes_]
    np.testing.assert_allclose(proba.to_numpy(), emotion_model.predict_proba(chunk["essay"]))


def test_batch_predictor_from_a_path_reads_the_fitted_columns(wassa, tmp_path):
    from sklearn.compose import make_column_transformer

    columns = ["essay", "iri_empathic_concern", "age"]
    model = make_pipeline(
        make_column_transformer((TfidfVectorizer(min_df=2), "essay"), remainder="passthrough"),
        Ridge(),
    ).fit(wassa[columns], wassa["empathy"])
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    with pytest.raises(UnsafeFileError, match="allow_pickle=True"):
        BatchPredictor(path)(wassa.iloc[:5])  # a pickle runs code: only when allowed
    predictor = BatchPredictor(path, allow_pickle=True)
    out = predictor(wassa.iloc[:50])  # every column of the frame: only the fitted ones are read
    np.testing.assert_allclose(out["prediction"], model.predict(wassa[columns].iloc[:50]))
    with pytest.raises(KeyError, match="age"):
        predictor(wassa[["essay", "iri_empathic_concern"]].iloc[:5])
    # pickles as its path: the model is loaded where it runs
    assert len(pickle.dumps(predictor)) < 1000


def test_batch_predictor_rejects_bad_input(emotion_model, tmp_path):
    with pytest.raises(ValueError, match="method must be one of"):
        BatchPredictor(emotion_model, method="fit")
    with pytest.raises(FileNotFoundError, match="model not found"):
        BatchPredictor(tmp_path / "missing.joblib")
    with pytest.raises(TypeError, match="fitted estimator or a path"):
        BatchPredictor(42)
    predictor = BatchPredictor(emotion_model)
    with pytest.raises(KeyError, match="no text column"):
        predictor(pd.DataFrame({"body": ["a text"]}))
    with pytest.raises(TypeError, match="batch_format='pandas'"):
        predictor({"text": np.array(["a text"])})
    assert predictor(pd.DataFrame({"text": []}, dtype=object)).shape == (0, 0)


@pytest.mark.filterwarnings("ignore::skempathy.dialogue.DialogueDataWarning")
def test_map_table_streams_annotations_through_a_bounded_chunk(tmp_path, shared_data):
    turns = load_empathetic_intents(
        os.path.join(shared_data, "empatheticdialogues"), split="valid"
    ).iloc[:300]
    train = load_empathetic_intents(
        os.path.join(shared_data, "empatheticdialogues"), split="train"
    ).iloc[:1500]
    annotator = EmotionAnnotator(
        encoder=TfidfVectorizer(min_df=2), taxonomy=None, threshold=0.3
    ).fit(train["text"], train["auto_label"])
    src = tmp_path / "turns.jsonl"
    turns.to_json(src, orient="records", lines=True)
    sizes = []

    def annotate(chunk):
        sizes.append(len(chunk))
        out = annotate_dialogues(chunk, annotator, with_proba=False)
        return out.assign(pred_labels=out["pred_labels"].map(";".join))

    rows = map_table(annotate, src, tmp_path / "annotated.csv", chunk_size=64, show_progress=False)
    assert rows == 300 and sizes == [64] * 4 + [44]
    whole = annotate_dialogues(turns.reset_index(drop=True), annotator, with_proba=False)
    got = pd.read_csv(tmp_path / "annotated.csv", keep_default_na=False)
    assert got["pred_emotion"].tolist() == whole["pred_emotion"].tolist()
    assert got["pred_labels"].tolist() == whole["pred_labels"].map(";".join).tolist()
    # the partial form is a plain chunk function too
    again = map_table(
        functools.partial(annotate_dialogues, annotator=annotator, with_proba=False),
        src,
        tmp_path / "again.jsonl",
        chunk_size=100,
        show_progress=False,
    )
    assert again == 300 and len(pd.read_json(tmp_path / "again.jsonl", lines=True)) == 300


def test_map_table_leaves_no_partial_output(tmp_path):
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": [f"text {i}" for i in range(10)]}).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    out.write_text("earlier results\n")

    def fails_late(chunk):
        if chunk.index[0] >= 6:
            raise RuntimeError("boom")
        return chunk

    with pytest.raises(RuntimeError, match="boom"):
        map_table(fails_late, src, out, chunk_size=3, show_progress=False)
    assert out.read_text() == "earlier results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]
    with pytest.raises(ValueError, match="unsupported output format"):
        map_table(lambda c: c, src, tmp_path / "out.parquet")
    (tmp_path / "header.csv").write_text("text\n")
    with pytest.raises(ValueError, match="no rows"):
        map_table(lambda c: c, tmp_path / "header.csv", out, show_progress=False)
    index = [c.index[0] for c in read_table_chunks(src, chunk_size=4)]
    assert index == [0, 4, 8]
