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


# The documentation pages' Python blocks (tests/test_docs.py) take minutes, mostly in
# models on one page after another: they run in a subprocess beside the rest of the
# suite, and their tests go last. While both run, each uses one torch thread so that
# neither waits on the other's thread pool.
_DOCS = {"run": None, "threads": None}


@pytest.hookimpl(trylast=True)  # after -m/-k deselection: the final list of tests
def pytest_collection_modifyitems(session, config, items):
    docs = [i for i in items if getattr(i, "originalname", None) == "test_python_blocks_run"]
    if config.option.collectonly or not docs or len(docs) == len(items):
        return
    chosen = {id(item) for item in docs}
    items[:] = [item for item in items if id(item) not in chosen] + docs
    module = docs[0].module
    module.BACKGROUND = _DOCS["run"] = module.PythonBlocksRun(threads=1)


def pytest_runtest_setup(item):
    run = _DOCS["run"]
    if run is None:
        return
    if run.running() and _DOCS["threads"] is None:
        import torch

        _DOCS["threads"] = (torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS"))
        torch.set_num_threads(1)
        os.environ["OMP_NUM_THREADS"] = "1"  # the commands tests start, too
    elif not run.running() and _DOCS["threads"] is not None:
        import torch

        threads, omp = _DOCS["threads"]
        _DOCS["threads"] = None
        torch.set_num_threads(threads)
        if omp is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = omp


def pytest_sessionfinish(session):
    if _DOCS["run"] is not None:
        _DOCS["run"].stop()
