"""Frozen sentence encoding used by the dialogue tools (private).

A small sklearn transformer around ``sentence_transformers.SentenceTransformer``
with an optional per-text on-disk cache keyed on the model identity and the
encoding settings, so re-running an example, a benchmark or a test does not
re-encode a corpus.
"""

import hashlib
import os
import time
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..base import TextInputMixin, check_texts
from .._models import model_identity, resolve_device, resolve_model
from ..utils._progress import show_progress as _show

_MODEL_CACHE = {}


def _load_sentence_model(model, device):
    """Load (once per process) a SentenceTransformer for ``model`` on ``device``."""
    from sentence_transformers import SentenceTransformer

    path = resolve_model(model)
    key = (model_identity(path), device)
    if key not in _MODEL_CACHE:
        _MODEL_CACHE.clear()  # keep at most one frozen encoder in memory
        _MODEL_CACHE[key] = SentenceTransformer(path, device=device)
    return _MODEL_CACHE[key]


def _encode_uncached(identity, texts, model, batch_size, normalize, device, show_progress):
    del identity  # part of the cache key only
    st = _load_sentence_model(model, device)
    emb = st.encode(
        list(texts),
        batch_size=batch_size,
        show_progress_bar=_show(show_progress),
        convert_to_numpy=True,
        normalize_embeddings=normalize,
    )
    return np.asarray(emb, dtype=np.float32)


def _text_keys(texts):
    return np.array([hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts])


def _load_shards(folder):
    keys, embs = [], []
    for shard in sorted(folder.glob("shard_*.npz")):
        try:
            with np.load(shard) as data:
                keys.append(data["keys"])
                embs.append(data["emb"])
        except Exception:  # a shard being written by another process: skip it
            continue
    if not keys:
        return {}
    keys, embs = np.concatenate(keys), np.concatenate(embs)
    return dict(zip(keys.tolist(), embs))


def encode_texts(texts, *, model="minilm", batch_size=64, normalize=True, device="auto",
                 cache_dir=None, show_progress=False, chunk_size=2048):
    """Encode ``texts`` with a frozen sentence-transformers model.

    With ``cache_dir`` set, embeddings are cached per text on disk, in a folder
    keyed on the model identity (path, weight sizes and dates) and
    ``normalize``, so a subset or a superset of already-encoded texts only
    encodes what is new.
    """
    texts = list(texts)
    device = resolve_device(device)
    if cache_dir is None:
        return _encode_uncached(None, texts, model, batch_size, normalize, device, show_progress)
    identity = f"{model_identity(model)}|normalize={bool(normalize)}"
    folder = Path(cache_dir).expanduser() / hashlib.sha1(identity.encode()).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    keys = _text_keys(texts)
    known = _load_shards(folder)
    missing = sorted({k: i for i, k in enumerate(keys) if k not in known}.values())
    for start in range(0, len(missing), chunk_size):  # a shard per chunk: progress is kept
        chunk = missing[start:start + chunk_size]
        new = _encode_uncached(None, [texts[i] for i in chunk], model, batch_size,
                               normalize, device, show_progress)
        shard = folder / f"shard_{time.time_ns()}_{os.getpid()}.npz"
        tmp = folder / f"tmp_{time.time_ns()}_{os.getpid()}.npz"
        np.savez(tmp, keys=keys[chunk], emb=new)
        os.replace(tmp, shard)
        known.update(zip(keys[chunk].tolist(), new))
    return np.stack([known[k] for k in keys]).astype(np.float32, copy=False)


class _SentenceEncoder(TextInputMixin, TransformerMixin, BaseEstimator):
    """Texts -> frozen sentence embeddings (the annotator's default featurizer)."""

    def __init__(self, model="minilm", batch_size=64, normalize=True, device="auto",
                 cache_dir=None, show_progress=False):
        self.model = model
        self.batch_size = batch_size
        self.normalize = normalize
        self.device = device
        self.cache_dir = cache_dir
        self.show_progress = show_progress

    def fit(self, X, y=None):
        check_texts(X, estimator=self)
        self.model_path_ = resolve_model(self.model)
        return self

    def transform(self, X):
        check_is_fitted(self, "model_path_")
        texts = check_texts(X, estimator=self)
        return encode_texts(texts, model=self.model, batch_size=self.batch_size,
                            normalize=self.normalize, device=self.device, cache_dir=self.cache_dir,
                            show_progress=self.show_progress)
