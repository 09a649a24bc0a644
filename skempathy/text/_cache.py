"""Embedding cache shared by the text embedders.

Embeddings are cached **per text** under a *settings key* that names the model
weights (:func:`skempathy._models.model_identity`) and every setting that
changes the output (pooling, layers, max length, normalisation, ...). A text is
identified by the SHA-1 of its UTF-8 bytes, so the cache is never keyed on the
text alone and a text is encoded once per settings key, whatever subsets of it
the CV folds and grid-search candidates transform.

Two levels:

* a module-level, bounded (LRU, by bytes) memory cache, shared by every clone of
  an estimator in the process;
* an optional on-disk store (a folder, or the ``location`` of a
  :class:`joblib.Memory`): one sub-folder per settings key holding ``.npz``
  chunks written atomically (temporary file + rename).

The disk store is safe for concurrent writers (threads, processes, the workers
of a Dask or Ray cluster sharing the folder): a file lock per settings key is
held while a worker looks up, encodes and writes its misses, and the chunks
other workers wrote meanwhile are read before encoding, so each text is
encoded once for everyone who shares the folder.
"""

import contextlib
import hashlib
import json
import os
import threading
import uuid
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..utils._files import write_atomic

__all__ = [
    "EmbeddingCache",
    "clear_embedding_cache",
    "embedding_cache_info",
    "fresh_embedding_cache",
    "CacheSnapshot",
    "set_embedding_cache_size",
    "settings_key",
    "text_hash",
]

_DEFAULT_MAX_BYTES = 1024 * 1024**2  # 1 GiB: ~700k MiniLM vectors


def text_hash(text):
    """SHA-1 hex digest of a text's UTF-8 bytes."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def settings_key(**settings):
    """A short stable digest of the output-affecting settings (JSON-serialisable)."""
    payload = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:20]


class _MemoryStore:
    """Process-wide LRU map (settings key, text hash) -> array (an embedding, or the token
    states of a text), bounded by bytes."""

    def __init__(self, max_bytes=_DEFAULT_MAX_BYTES):
        self.max_bytes = max_bytes
        self._data = OrderedDict()
        self._nbytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_many(self, key, hashes):
        out = {}
        with self._lock:
            for h in hashes:
                vec = self._data.get((key, h))
                if vec is not None:
                    self._data.move_to_end((key, h))
                    out[h] = vec
            self.hits += len(out)
            self.misses += len(set(hashes)) - len(out)
        return out

    def put_many(self, key, items):
        with self._lock:
            for h, vec in items.items():
                full = (key, h)
                old = self._data.pop(full, None)
                if old is not None:
                    self._nbytes -= old.nbytes
                self._data[full] = vec
                self._nbytes += vec.nbytes
            while self._nbytes > self.max_bytes and self._data:
                _, vec = self._data.popitem(last=False)
                self._nbytes -= vec.nbytes

    def clear(self):
        with self._lock:
            self._data.clear()
            self._nbytes = 0
            self.hits = self.misses = 0


_MEMORY = _MemoryStore()
# Disk folder -> (names of the chunks read, text hashes stored in them); new chunks,
# written by other processes too, are read before each lookup.
_DISK_INDEX = {}
_DISK_INDEX_LOCK = threading.Lock()


# Loaded encoders shared by clones in this process: (class, path, identity, device, settings)
# -> model object. Bounded so that a grid over many encoders does not keep them all.
_MODELS = OrderedDict()
_MAX_MODELS = 3


_MODELS_LOCK = threading.RLock()


def get_shared_model(key, load):
    """The model loaded for ``key``, calling ``load()`` on a miss (LRU, 3 models).

    Thread-safe: concurrent callers (thread-based joblib or Dask workers) wait
    for one load instead of loading the same weights several times.
    """
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = load()
            _MODELS[key] = model
            while len(_MODELS) > _MAX_MODELS:
                _MODELS.popitem(last=False)
        else:
            _MODELS.move_to_end(key)
        return model


class CacheSnapshot:
    """Vectors of some texts under settings ``key``: the warm state of a frozen embedder.

    Sent to parallel workers with the jobs (joblib memory-maps or scatters its arrays), where
    :meth:`restore` puts them in the worker's memory cache: the texts are encoded once, in the
    caller, for every worker (:mod:`skempathy.utils._warm`).
    """

    def __init__(self, key, texts, vectors):
        self.key = key
        self.hashes = np.array([text_hash(t) for t in texts], dtype="U40")
        self.vectors = np.asarray(vectors)

    def restore(self):
        """Put the vectors in this process's memory cache."""
        vectors = np.array(self.vectors)  # own the rows: a memory-mapped argument goes away
        _MEMORY.put_many(self.key, {str(h): v for h, v in zip(self.hashes, vectors)})


def clear_embedding_cache():
    """Empty the process-wide memory cache of embeddings and of loaded encoders.

    The on-disk stores are kept.

    Examples
    --------
    >>> from skempathy.text import clear_embedding_cache
    >>> clear_embedding_cache()
    """
    _MEMORY.clear()
    _MODELS.clear()


_FRESH = []  # the memory stores of open fresh_embedding_cache() blocks, innermost last
_FRESH_LOCK = threading.Lock()


@contextlib.contextmanager
def fresh_embedding_cache():
    """Inside: the embedders cache in a new, empty memory store and leave the disk stores alone.

    Texts encoded before the block are encoded again, once each (the members
    of a model that share an encoder still share its vectors), and what is
    encoded inside is dropped at the end: the way to time a model, frozen
    encoders included, on texts as new to it as those it meets once deployed.
    The block applies to every thread while it is open.

    Examples
    --------
    >>> from skempathy.text import fresh_embedding_cache
    >>> with fresh_embedding_cache():
    ...     pass  # e.g. time model.predict(X) here
    """
    store = _MemoryStore()
    with _FRESH_LOCK:
        _FRESH.append(store)
    try:
        yield
    finally:
        with _FRESH_LOCK:
            _FRESH.remove(store)


def set_embedding_cache_size(max_bytes):
    """Bound the process-wide memory cache to ``max_bytes`` (0 disables it).

    Parameters
    ----------
    max_bytes : int
        Upper bound of the cache in bytes; 0 disables the memory cache.

    Examples
    --------
    >>> from skempathy.text import set_embedding_cache_size
    >>> set_embedding_cache_size(512 * 1024**2)
    """
    if max_bytes < 0:
        raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
    with _MEMORY._lock:
        _MEMORY.max_bytes = int(max_bytes)
    _MEMORY.put_many("", {})  # evict down to the new bound


def embedding_cache_info():
    """Entries, bytes, bound, hits and misses of the memory cache (a dict).

    Examples
    --------
    >>> from skempathy.text import embedding_cache_info
    >>> sorted(embedding_cache_info())
    ['entries', 'hits', 'max_bytes', 'misses', 'nbytes']
    """
    with _MEMORY._lock:
        return {
            "entries": len(_MEMORY._data),
            "nbytes": _MEMORY._nbytes,
            "max_bytes": _MEMORY.max_bytes,
            "hits": _MEMORY.hits,
            "misses": _MEMORY.misses,
        }


def _disk_location(cache):
    """Folder of the disk store for a ``cache`` parameter value, or None."""
    if cache is None or cache is True or cache is False or cache == "memory":
        return None
    if isinstance(cache, (str, os.PathLike)):
        return Path(cache).expanduser()
    location = getattr(cache, "location", None)  # joblib.Memory
    if location is None:
        return None  # joblib.Memory(None): caching disabled on disk
    return Path(location) / "skempathy_embeddings"


class EmbeddingCache:
    """Per-text embedding store for one settings key.

    Parameters
    ----------
    key : str
        Settings key from :func:`settings_key`.
    cache : None, True, False, "memory", str, PathLike or joblib.Memory
        ``False`` disables caching; ``None``/``True``/``"memory"`` use the
        process-wide memory cache; a path or a ``joblib.Memory`` adds a disk
        store there.
    """

    def __init__(self, key, cache):
        self.key = key
        self.enabled = cache is not False
        with _FRESH_LOCK:
            self.memory = _FRESH[-1] if _FRESH else _MEMORY
        fresh = self.memory is not _MEMORY  # a fresh_embedding_cache() block: no disk
        self.location = _disk_location(cache) if self.enabled and not fresh else None
        if self.location is not None:
            self.location = self.location / key

    def _disk_index(self):
        """Hashes stored in the folder, reading the chunks not seen before."""
        with _DISK_INDEX_LOCK:
            seen, index = self._index_entry()
            if self.location.is_dir():
                for chunk in self.location.glob("*.npz"):
                    if chunk.name in seen:
                        continue
                    try:
                        with np.load(chunk, allow_pickle=False) as data:
                            index.update(str(h) for h in data["hashes"])
                    except (OSError, ValueError, KeyError):
                        continue  # being replaced or unreadable: looked at again next time
                    seen.add(chunk.name)
            return index

    def _index_entry(self):
        """``(chunk names read, text hashes)`` this process knows of the folder."""
        return _DISK_INDEX.setdefault(str(self.location), (set(), set()))

    def _lock(self):
        """An inter-process lock on this settings key's folder."""
        from filelock import FileLock

        self.location.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.location / ".lock"))

    def _read_disk(self, wanted):
        found = {}
        if not self.location.is_dir():
            return found
        for chunk in sorted(self.location.glob("*.npz")):
            try:
                with np.load(chunk, allow_pickle=False) as data:
                    hashes = data["hashes"]
                    mask = np.fromiter((h in wanted for h in hashes), bool, len(hashes))
                    if mask.any():
                        vectors = data["vectors"]
                        for h, vec in zip(hashes[mask], vectors[mask]):
                            found[str(h)] = vec
            except (OSError, ValueError, KeyError):  # unreadable chunk: recompute
                continue
            if len(found) == len(wanted):
                break
        return found

    def _write_disk(self, items):
        if not items:
            return
        self.location.mkdir(parents=True, exist_ok=True)
        hashes = np.array(list(items), dtype="U40")
        vectors = np.stack(list(items.values()))

        def write(tmp):
            with open(tmp, "wb") as fh:  # a handle: np.savez would append ".npz" to a name
                np.savez(fh, hashes=hashes, vectors=vectors)

        name = f"{uuid.uuid4().hex}.npz"
        write_atomic(self.location / name, write)
        with _DISK_INDEX_LOCK:
            seen, index = self._index_entry()
            seen.add(name)
            index.update(items)

    def embed(self, texts, compute):
        """Embeddings of ``texts`` (2-D array, input order), computing only the misses.

        ``compute(list_of_texts) -> 2-D array`` is called at most once, on the
        unique texts missing from every level, in their first-seen order.
        """
        if not self.enabled:
            return np.asarray(compute(texts))
        hashes = [text_hash(t) for t in texts]
        unique = list(dict.fromkeys(hashes))
        found = self.memory.get_many(self.key, unique)
        missing = [h for h in unique if h not in found]
        if self.location is None:
            self._compute(missing, hashes, texts, compute, found)
        else:
            with self._lock():  # one writer per key: the others then read its chunks
                on_disk = self._disk_index()
                from_disk = self._read_disk({h for h in missing if h in on_disk})
                if from_disk:
                    self.memory.put_many(self.key, from_disk)
                    found.update(from_disk)
                    missing = [h for h in missing if h not in found]
                self._compute(missing, hashes, texts, compute, found)
                # persist everything this folder lacks (memory hits too)
                self._write_disk({h: found[h] for h in unique if h not in on_disk})
        return np.stack([found[h] for h in hashes])

    def _compute(self, missing, hashes, texts, compute, found):
        if not missing:
            return
        first = {}
        for h, t in zip(hashes, texts):
            first.setdefault(h, t)
        new = np.asarray(compute([first[h] for h in missing]))
        items = {h: new[i].copy() for i, h in enumerate(missing)}
        self.memory.put_many(self.key, items)
        found.update(items)
