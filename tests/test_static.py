"""StaticEmbedder: model2vec static vectors distilled once into the data home, then used as
any frozen embedder (cache, pickling, recipes, the distill command)."""

import io
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("model2vec")

from skempathy.text import StaticEmbedder, distill_static_model  # noqa: E402


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("SKEMPATHY_DATA", str(home))
    return home


def _static_folders(home):
    models = home / "models"
    return sorted(p.name for p in models.iterdir() if p.name.startswith("static-"))


@pytest.fixture(scope="module")
def essays(shared_data):
    from skempathy.datasets import load_wassa

    return load_wassa("dev").data["essay"].iloc[:40].tolist()


@pytest.fixture(scope="module")
def tiny_bert_path(tmp_path_factory):
    """A 2-layer random BERT with a 2,000-token WordPiece vocabulary learnt from the WASSA
    essays: distillation embeds every token, so a small vocabulary keeps each one short."""
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from skempathy.datasets import load_wassa

    path = tmp_path_factory.mktemp("tiny_static_source")
    words = BertWordPieceTokenizer(lowercase=True)
    words.train_from_iterator(load_wassa("train").data["essay"], vocab_size=2000)
    special = dict(
        unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]",
    )  # fmt: skip
    tokenizer = BertTokenizerFast(tokenizer_object=words._tokenizer, **special)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
    )
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def test_distils_once_into_the_data_home_and_matches_model2vec(tiny_bert_path, data_home, essays):
    from model2vec import StaticModel

    emb = StaticEmbedder(tiny_bert_path, pca_dims=16, show_progress=False).fit(essays)
    assert os.path.dirname(emb.model_path_) == str(data_home / "models")
    assert _static_folders(data_home) == [os.path.basename(emb.model_path_)]
    stamp = os.stat(os.path.join(emb.model_path_, "model.safetensors")).st_mtime_ns
    X = emb.transform(essays)
    assert X.shape == (40, 16) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-3)
    # the vectors are model2vec's own encoding of the stored model
    reference = StaticModel.from_pretrained(emb.model_path_).encode(essays)
    np.testing.assert_allclose(X, reference, rtol=1e-3, atol=1e-3)
    # a second embedder (and the "static-" spelling) reuses the stored model untouched
    again = StaticEmbedder("static-" + tiny_bert_path, pca_dims=16, show_progress=False)
    again.fit(essays[:2])
    assert again.model_path_ == emb.model_path_
    assert os.stat(os.path.join(emb.model_path_, "model.safetensors")).st_mtime_ns == stamp
    assert emb.get_feature_names_out()[:2].tolist() == ["staticembedder_0", "staticembedder_1"]
    # other settings are another model
    other = StaticEmbedder(tiny_bert_path, pca_dims=8, show_progress=False).fit(essays[:2])
    assert other.transform(essays[:2]).shape == (2, 8)
    assert len(_static_folders(data_home)) == 2
    assert other.model_identity_ != emb.model_identity_


def test_texts_differ_and_unnormalised_output(tiny_bert_path, data_home, essays):
    emb = StaticEmbedder(tiny_bert_path, pca_dims=16, normalize=False, show_progress=False)
    X = emb.fit_transform(essays)
    assert not np.allclose(np.linalg.norm(X, axis=1), 1.0)
    assert np.linalg.matrix_rank(X) == 16  # the texts are told apart


def test_pickle_by_name_distils_again_where_it_loads(tiny_bert_path, tmp_path, monkeypatch, essays):
    monkeypatch.setenv("SKEMPATHY_DATA", str(tmp_path / "a"))
    emb = StaticEmbedder(tiny_bert_path, pca_dims=16, show_progress=False).fit(essays)
    expected = emb.transform(essays)
    blob = pickle.dumps(emb)
    assert len(blob) < 100_000  # the vectors stay out of the pickle
    monkeypatch.setenv("SKEMPATHY_DATA", str(tmp_path / "b"))
    loaded = pickle.loads(blob)
    np.testing.assert_allclose(loaded.transform(essays), expected, atol=1e-6)
    assert loaded.model_path_.startswith(str(tmp_path / "b"))


def test_embed_weights_carries_the_vectors(tiny_bert_path, tmp_path, monkeypatch, essays):
    monkeypatch.setenv("SKEMPATHY_DATA", str(tmp_path / "a"))
    emb = StaticEmbedder(tiny_bert_path, pca_dims=16, show_progress=False, embed_weights=True)
    expected = emb.fit(essays).transform(essays)
    assert emb.model_identity_.startswith("sha256:")
    blob = pickle.dumps(emb)
    monkeypatch.setenv("SKEMPATHY_DATA", str(tmp_path / "b"))
    loaded = pickle.loads(blob)
    np.testing.assert_array_equal(loaded.transform(essays), expected)
    # unpacked by content, nothing distilled on this side
    assert not (tmp_path / "b" / "models").exists() or not _static_folders(tmp_path / "b")


def test_a_ready_model2vec_folder_is_used_as_it_is(tiny_bert_path, data_home, tmp_path, essays):
    import shutil

    folder = tmp_path / "my-static"
    shutil.copytree(distill_static_model(tiny_bert_path, pca_dims=16), folder)
    emb = StaticEmbedder(str(folder), show_progress=False).fit(essays)
    assert emb.model_path_ == str(folder)
    assert emb.model_identity_.startswith("sha256:")  # keyed by the files' content
    assert emb.transform(essays).shape == (40, 16)


def test_missing_model2vec_names_the_extra(monkeypatch, essays):
    monkeypatch.setitem(sys.modules, "model2vec", None)
    with pytest.raises(ImportError, match=r"skempathy\[static\]"):
        StaticEmbedder().fit(essays)


def test_recipe_builds_a_static_encoder(tiny_bert_path):
    from skempathy.recipes import get_recipe

    embedder = get_recipe("default").make_embedder(
        "static-" + tiny_bert_path, device="cpu", cache=None, show_progress=False
    )
    assert isinstance(embedder, StaticEmbedder)
    assert embedder.model == "static-" + tiny_bert_path


def test_train_on_a_static_model_predicts_plain_texts(tiny_bert_path, data_home, tmp_path):
    import pandas as pd

    from skempathy.datasets import load_wassa

    model = tmp_path / "emotion.skops"
    result = _cli(
        "train", "--task", "emotion", "--features", "text", "--head", "logreg",
        "--model", "static-" + tiny_bert_path, "--out", str(model), "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    texts = tmp_path / "texts.csv"
    pd.DataFrame({"essay": load_wassa("dev").data["essay"].iloc[:10]}).to_csv(texts, index=False)
    result = _cli("predict", str(model), "--input", str(texts), "--quiet")
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(io.StringIO(result.stdout))) == 10


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "skempathy", *args], capture_output=True, text=True, check=False
    )


def test_wassa_refuses_a_static_model_for_a_finetuned_recipe(tmp_path):
    result = _cli(
        "wassa", "--recipe", "finetuned", "--model", "static-minilm", "--out", str(tmp_path)
    )
    assert result.returncode == 1, result.stderr
    assert "static model has no network to fine-tune" in result.stderr


def test_wassa_and_distill_with_static_models_score_plain_texts(
    tiny_bert_path, data_home, tmp_path
):
    """The default recipe on static vectors, then its static text-only student predicting a
    CSV of plain texts."""
    import pandas as pd

    from skempathy.datasets import load_wassa

    out = tmp_path / "w"
    model = "static-" + tiny_bert_path
    result = _cli("wassa", "--model", model, "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    teacher = out / "joint_emotion_empathy_distress.skops"
    dev = json.loads((out / "dev_scores.json").read_text())["dev"]
    assert {"macro_f1", "average_pearson"} <= set(dev)
    student = tmp_path / "student.skops"
    result = _cli("distill", str(teacher), "--model", model, "--out", str(student))
    assert result.returncode == 0, result.stderr
    texts = tmp_path / "texts.csv"
    dev = load_wassa("dev").data
    pd.DataFrame({"text": dev["essay"].iloc[:25]}).to_csv(texts, index=False)
    predictions = tmp_path / "pred.csv"
    result = _cli(
        "predict", str(student), "--input", str(texts), "--text-column", "text",
        "--output", str(predictions),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(predictions)
    assert len(frame) == 25
    assert set(frame.columns) >= {"emotion", "empathy", "distress"}
    assert frame["empathy"].std() > 0
