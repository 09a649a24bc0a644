"""Encode the texts of a model comparison once, before its jobs go to workers.

Process-based workers (loky, Dask, Ray) do not share the memory cache, so every
worker would encode every text again. :func:`embed_once` finds the frozen
embedders that read the input directly (bare, first step of a ``Pipeline``,
inside a ``ColumnTransformer`` or ``FeatureUnion``, or the ``estimator`` of a
wrapper), encodes each distinct (settings, texts) pair once here and returns
snapshots the jobs carry to their workers (:func:`~._cache.restore_snapshot`).
Doing it for sequential runs too keeps the scores identical whatever the
backend: every fit reads the same vectors.
"""

import warnings

from sklearn.base import clone

from ..utils._sklearn_compat import _safe_indexing
from ..base import check_texts
from ._base import _BaseEmbedder
from ._cache import memory_snapshot

__all__ = ["embed_once"]

# Parameters through which wrappers hand their input on unchanged.
_WRAPPED = ("estimator", "regressor", "classifier", "base_estimator")


def _embedders(estimator, X):
    """``(embedder, its input)`` pairs of the frozen embedders that see ``X``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    if isinstance(estimator, _BaseEmbedder):
        yield estimator, X
    elif isinstance(estimator, Pipeline):
        steps = [s for _, s in estimator.steps if s not in (None, "passthrough")]
        if steps:
            yield from _embedders(steps[0], X)
    elif isinstance(estimator, FeatureUnion):
        for _, part in estimator.transformer_list:
            if part not in (None, "drop", "passthrough"):
                yield from _embedders(part, X)
    elif isinstance(estimator, ColumnTransformer):
        for _, part, columns in estimator.transformers:
            if part in ("drop", "passthrough"):
                continue
            try:
                selected = columns(X) if callable(columns) else columns
                sub = _safe_indexing(X, selected, axis=1)
            except Exception:  # a selection only fit can make: leave it to the workers
                continue
            yield from _embedders(part, sub)
    else:
        params = estimator.get_params(deep=False) if hasattr(estimator, "get_params") else {}
        for name in _WRAPPED:
            inner = params.get(name)
            if inner is not None and hasattr(inner, "fit"):
                yield from _embedders(inner, X)
        members = params.get("estimators")
        if isinstance(members, (list, tuple)):
            for member in members:
                inner = member[-1] if isinstance(member, tuple) else member
                if hasattr(inner, "fit"):
                    yield from _embedders(inner, X)


def embed_once(estimators, X):
    """Snapshots of the embeddings every estimator's frozen embedders need for ``X``.

    Parameters
    ----------
    estimators : iterable of estimators
        Unfitted models about to be fitted on subsets of ``X``.
    X : texts or DataFrame
        The whole input the jobs index into.

    Returns
    -------
    list
        :func:`~._cache.memory_snapshot` records, one per distinct settings key;
        empty when no embedder reads ``X`` directly or caching is off.
    """
    snapshots, keys = [], set()
    with warnings.catch_warnings():  # the fits in the jobs warn about their own input
        warnings.simplefilter("ignore")
        for estimator in estimators:
            _add_snapshots(estimator, X, snapshots, keys)
    return snapshots


def _add_snapshots(estimator, X, snapshots, keys):
    for embedder, inputs in _embedders(estimator, X):
        if embedder.cache is False:
            continue
        try:
            texts = list(dict.fromkeys(check_texts(inputs, estimator=embedder)))
            fitted = clone(embedder).fit(texts)
            key = fitted._cache_key(fitted._get_model())
        except Exception:  # invalid input or model: the job reports it
            continue
        if key not in keys:
            keys.add(key)
            snapshots.append(memory_snapshot(key, texts, fitted.transform(texts)))
