"""Crafted model files and folders: each is refused or repaired; nothing is written outside."""

import contextlib
import os
import pickle
import shutil
import warnings
import zipfile

import numpy as np
import pytest

from skempathy._models import check_digest, unpack_checkpoint
from skempathy.datasets import load_wassa
from skempathy.io import UnsafeFileError
from skempathy.text import SentenceEmbedder
from skempathy.utils._files import private_folder, write_folder


def _tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.mark.parametrize(
    "name",
    [
        "/abs/evil.pth",
        "../evil.pth",
        "a/../../evil.pth",
        "a\\..\\..\\evil.pth",
        "C:\\evil.pth",
        "C:evil.pth",
        "\\\\server\\share\\evil.pth",
        "",
        "./evil.pth",
        "a//evil.pth",
        "evil\0.pth",
    ],
)
def test_write_folder_refuses_names_that_leave_the_folder(tmp_path, name):
    target = tmp_path / "a" / "target"
    target.mkdir(parents=True)
    with pytest.raises(UnsafeFileError, match="unsafe file name"):
        write_folder({"config.json": b"{}", name: b"import os"}, target)
    assert _tree(tmp_path) == ["a", "a/target"]  # checked before anything is written


def test_write_folder_never_follows_links(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "target"
    target.mkdir()
    (target / "sub").symlink_to(outside)
    (target / "file").symlink_to(outside / "planted")
    with pytest.raises(UnsafeFileError, match="outside"):
        write_folder({"sub/evil.pth": b"x"}, target)
    with pytest.raises(UnsafeFileError, match="outside"):  # no folder made through the link
        write_folder({"sub/deeper/evil.pth": b"x"}, target)
    with pytest.raises(OSError):
        write_folder({"file": b"x"}, target)
    assert list(outside.iterdir()) == []


def test_write_folder_refuses_wrong_types_and_oversize(tmp_path):
    with pytest.raises(UnsafeFileError, match="not bytes"):
        write_folder({"a": "text"}, tmp_path)
    with pytest.raises(UnsafeFileError, match="dict"):
        write_folder([("a", b"")], tmp_path)
    with pytest.raises(UnsafeFileError, match="limit"):
        write_folder({"a": b"12", "b": b"345"}, tmp_path, max_bytes=4)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "digest",
    [
        "./" + "../" * 40 + "/tmp/planted",
        "sha256:" + "0" * 63,
        "sha256:" + "A" * 64,
        "sha256:" + "0" * 64 + "/x",
        "md5:" + "0" * 32,
        None,
        7,
    ],
)
def test_a_digest_must_be_a_digest(digest):
    with pytest.raises(UnsafeFileError, match="not a sha256 digest"):
        check_digest(digest)


@pytest.fixture(scope="module")
def essays():
    return load_wassa("dev").data["essay"].iloc[:8].tolist()


@pytest.fixture
def heavy(tiny_bert_path, essays, tmp_path):
    """A fitted SentenceEmbedder that carries its weights, with its reference output."""
    checkpoint = tmp_path / "checkpoint"
    shutil.copytree(tiny_bert_path, checkpoint)
    texts = list(essays[:8])
    emb = SentenceEmbedder(str(checkpoint), cache=False, device="cpu", embed_weights=True)
    emb.fit(texts)
    return emb, texts, emb.transform(texts)


@contextlib.contextmanager
def _crafting(emb, monkeypatch, *, files=None, identity=None):
    """While open, ``emb`` pickles (and dumps) with its packed files or stored digest replaced."""
    import skempathy.text._base as text_base

    genuine = text_base.pack_checkpoint(emb.model_path_)
    with monkeypatch.context() as patch:
        if files is not None:
            patch.setattr(text_base, "pack_checkpoint", lambda path: files(dict(genuine)))
        if identity is not None:
            patch.setattr(emb, "model_identity_", identity)
        yield


def _crafted(emb, monkeypatch, **kwargs):
    with _crafting(emb, monkeypatch, **kwargs):
        return pickle.dumps(emb)


def _edit(files, name, data):
    files[name] = data
    return files


def test_crafted_weights_in_a_skops_file_write_nothing_outside(heavy, tmp_path, monkeypatch):
    pytest.importorskip("skops.io")
    from skempathy import io

    emb = heavy[0]
    home = tmp_path / "home"
    monkeypatch.setenv("SKEMPATHY_DATA", str(home))
    venv = tmp_path / "venv" / "site-packages"
    venv.mkdir(parents=True)
    crafted = {
        "absolute": dict(files=lambda f: _edit(f, str(venv / "evil.pth"), b"import os")),
        "dotdot": dict(files=lambda f: _edit(f, "../../../venv/site-packages/evil.pth", b"")),
        "digest is a path": dict(identity="./" + "../" * 40 + str(venv)),
        "digest mismatch": dict(
            files=lambda f: _edit(f, "model.safetensors", f["model.safetensors"][:-4] + b"    ")
        ),
        "extra file": dict(files=lambda f: _edit(f, "extra.py", b"import os")),
    }
    for what, kwargs in crafted.items():
        path = tmp_path / f"{what}.skops"
        with _crafting(emb, monkeypatch, **kwargs):
            io.dump(emb, path)
        with pytest.raises(UnsafeFileError):
            io.load(path)
        assert list(venv.iterdir()) == [], what
        models = home / "models"
        assert not models.exists() or list(models.iterdir()) == [], what


def test_a_decompression_bomb_is_refused(tmp_path, monkeypatch):
    pytest.importorskip("skops.io")
    from skempathy import io
    from skempathy.io import _skops

    monkeypatch.setattr(_skops, "_MIN_ALLOWED", 1 << 20)
    path = tmp_path / "bomb.skops"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", b"{}")
        archive.writestr("weights.bin", bytes(8 << 20))
    with pytest.raises(UnsafeFileError, match="decompression bomb"):
        io.load(path)
    (tmp_path / "plain.skops").write_bytes(b"not a zip")
    with pytest.raises(UnsafeFileError, match="not a zip"):
        io.load(tmp_path / "plain.skops")


def test_a_crafted_pickle_cannot_unpack_outside(heavy, tmp_path, monkeypatch):
    emb = heavy[0]
    monkeypatch.setenv("SKEMPATHY_DATA", str(tmp_path / "home"))
    target = tmp_path / "planted"
    blob = _crafted(emb, monkeypatch, identity="./" + "../" * 40 + str(target))
    with pytest.raises(UnsafeFileError, match="not a sha256 digest"):
        pickle.loads(blob)
    blob = _crafted(emb, monkeypatch, files=lambda f: _edit(f, "../../../planted", b"x"))
    with pytest.raises(UnsafeFileError, match="unsafe file name"):
        pickle.loads(blob)
    assert not target.exists()


def test_a_poisoned_models_folder_is_replaced(heavy, tmp_path, monkeypatch):
    emb, texts, reference = heavy
    blob = pickle.dumps(emb)
    home = tmp_path / "home"
    monkeypatch.setenv("SKEMPATHY_DATA", str(home))
    target = home / "models" / emb.model_identity_.replace(":", "-")
    # other weights under the genuine digest's name
    shutil.copytree(emb.model_path_, target)
    weights = target / "model.safetensors"
    poisoned = bytearray(weights.read_bytes())
    poisoned[-64:] = bytes(64)
    weights.write_bytes(bytes(poisoned))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "weights changed since fit" either
        loaded = pickle.loads(blob)
        np.testing.assert_array_equal(loaded.transform(texts), reference)
    assert loaded.model_path_ == str(target)
    assert weights.read_bytes() == (tmp_path / "checkpoint" / "model.safetensors").read_bytes()

    # an extra file the digest does not cover, then a link in place of the folder
    (target / "planted.py").write_text("import os")
    assert pickle.loads(blob).model_path_ == str(target)
    assert not (target / "planted.py").exists()
    shutil.rmtree(target)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(emb.model_path_, elsewhere)
    target.symlink_to(elsewhere)
    loaded = pickle.loads(blob)
    assert not target.is_symlink() and target.is_dir()
    np.testing.assert_array_equal(loaded.transform(texts), reference)


def test_packed_files_hash_as_their_folder_does(tmp_path):
    """The in-memory digest that unpacking checks is the folder's own, subfolders included."""
    from skempathy._models import _packed_digest, checkpoint_digest, pack_checkpoint, resolve_model

    folder = resolve_model("minilm")  # a sentence-transformers folder with 1_Pooling/
    files = pack_checkpoint(folder)
    assert any("/" in name for name in files)
    assert _packed_digest(files) == checkpoint_digest(folder)
    assert _packed_digest({**files, ".hidden": b""}) is None
    assert _packed_digest({**files, "onnx/model.onnx": b""}) is None


def test_unpack_checkpoint_refuses_files_that_miss_their_digest(tmp_path, monkeypatch):
    monkeypatch.setenv("SKEMPATHY_DATA", str(tmp_path / "home"))
    with pytest.raises(UnsafeFileError, match="do not match"):
        unpack_checkpoint({"config.json": b"{}"}, "sha256:" + "0" * 64)
    assert list((tmp_path / "home" / "models").iterdir()) == []


def _no_data_home(monkeypatch, tmp_path):
    import tempfile

    import skempathy.datasets as datasets

    def refuse(data_home=None):
        raise PermissionError(13, "read-only data home")

    monkeypatch.setattr(datasets, "get_data_home", refuse)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path / f"skempathy-{os.getuid()}"


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")
def test_the_fallback_folder_is_private(heavy, tmp_path, monkeypatch):
    emb, texts, reference = heavy
    blob = pickle.dumps(emb)
    shared = _no_data_home(monkeypatch, tmp_path / "tmp")
    loaded = pickle.loads(blob)
    assert loaded.model_path_.startswith(str(shared / "models"))
    assert (shared.stat().st_mode & 0o777) == 0o700
    np.testing.assert_array_equal(loaded.transform(texts), reference)

    shutil.rmtree(shared)
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)  # anyone could have filled it first
    with pytest.warns(UserWarning, match="other users"):
        loaded = pickle.loads(blob)
    assert not loaded.model_path_.startswith(str(shared))
    assert list(shared.iterdir()) == []
    np.testing.assert_array_equal(loaded.transform(texts), reference)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="giving a folder to another user needs root",
)
def test_a_fallback_folder_of_another_user_is_refused(tmp_path):
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o700)
    os.chown(folder, 12345, 12345)
    with pytest.raises(UnsafeFileError, match="another user"):
        private_folder(folder)
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(UnsafeFileError, match="not a plain folder"):
        private_folder(link)


def test_crafted_files_of_a_fine_tuned_estimator_are_refused(
    tiny_bert_path, essays, tmp_path, monkeypatch
):
    import skempathy._engine._packing as training
    from skempathy.neural import TransformerClassifier

    labels = np.array(["joy", "sadness"] * 4)
    clf = TransformerClassifier(tiny_bert_path, max_epochs=1, max_length=32, random_state=0)
    clf.fit(list(essays[:8]), labels)
    genuine = training.pack_pretrained
    outside = tmp_path / "outside.pth"

    def crafted(model, tokenizer=None):
        packed = genuine(model, tokenizer)
        packed["files"][str(outside)] = b"import os"
        return packed

    with monkeypatch.context() as patch:
        patch.setattr(training, "pack_pretrained", crafted)
        blob = pickle.dumps(clf)
    with pytest.raises(UnsafeFileError, match="absolute path"):
        pickle.loads(blob)
    assert not outside.exists()
