"""Shared fixtures: where the shared data lives and tiny in-process models."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir():
    """The ``shared/data`` folder beside the checkout (``SKEMPATHY_SHARED_DATA`` overrides)."""
    env = os.environ.get("SKEMPATHY_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [REPO_ROOT.parent / "shared" / "data", REPO_ROOT / "shared" / "data"]
    for path in candidates:
        if path.is_dir():
            return path
    return None


def _default_data_home():
    """Point ``SKEMPATHY_DATA`` at a temporary data home prefilled from the shared data.

    ``fetch_*`` / ``load_empathy_lexicon`` called without ``data_home`` in tests (and
    in subprocesses they start) then find their files without any network access.
    """
    import atexit
    import shutil
    import tempfile

    source = shared_data_dir()
    if os.environ.get("SKEMPATHY_DATA") or source is None:
        return
    home = Path(tempfile.mkdtemp(prefix="skempathy_data_"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    layout = {
        "empathy_lexicon": (
            "empathy_distress_lexicon_sedoc2019",
            ["empathy_lexicon.txt", "distress_lexicon.txt"],
        ),
        "goemotions": ("goemotions", ["train.tsv", "dev.tsv", "test.tsv"]),
        "twittemp": ("twittemp", ["TwittEmp.csv"]),
        "isear": ("isear", ["isear.csv"]),
    }
    for folder, (src, names) in layout.items():
        (home / folder).mkdir()
        for name in names:
            shutil.copy(source / src / name, home / folder / name)
    os.environ["SKEMPATHY_DATA"] = str(home)


_default_data_home()


@pytest.fixture(scope="session")
def shared_data():
    path = shared_data_dir()
    if path is None:
        pytest.skip("shared data folder not found (set SKEMPATHY_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def tiny_bert_path(tmp_path_factory):
    """A 2-layer random BERT with the MiniLM tokenizer, saved to a local folder.

    Loads with ``AutoModel``/``AutoTokenizer`` and as a sentence-transformers
    model (mean pooling is the default for a plain transformers folder).
    """
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from skempathy.base import resolve_model

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(resolve_model("minilm"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    model = BertModel(config)
    path = tmp_path_factory.mktemp("tiny_bert")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def _prefilled_home(tmp_path_factory, folder, files):
    """A ``data_home`` holding copies of shared files, laid out as ``fetch_*`` caches them."""
    import shutil

    source = shared_data_dir()
    if source is None:
        pytest.skip("shared data folder not found (set SKEMPATHY_SHARED_DATA)")
    home = tmp_path_factory.mktemp(f"data_home_{folder}")
    (home / folder).mkdir()
    for src_name, dst_name in files.items():
        shutil.copy(source / src_name, home / folder / dst_name)
    return str(home)


@pytest.fixture(scope="session")
def goemotions_home(tmp_path_factory):
    """``data_home`` prefilled with the GoEmotions splits: pass it to ``fetch_goemotions``."""
    files = {f"goemotions/{s}.tsv": f"{s}.tsv" for s in ("train", "dev", "test")}
    return _prefilled_home(tmp_path_factory, "goemotions", files)


@pytest.fixture(scope="session")
def twittemp_home(tmp_path_factory):
    """``data_home`` prefilled with TwittEmp: pass it to ``fetch_twittemp``."""
    return _prefilled_home(tmp_path_factory, "twittemp", {"twittemp/TwittEmp.csv": "TwittEmp.csv"})
