"""Frozen text featurizers: sentence, static and transformer embeddings, lexicon features.

Every featurizer takes one column of raw text (list, Series, one-column
DataFrame or (n, 1) array), loads its model in ``fit``, names its output
features, and caches embeddings per text, model and settings.
"""

from ._cache import (
    clear_embedding_cache,
    embedding_cache_info,
    fresh_embedding_cache,
    set_embedding_cache_size,
)
from ._lexicon import LexiconFeaturizer
from ._sentence import SentenceEmbedder
from ._static import StaticEmbedder, distill_static_model
from ._transformer import TransformerEmbedder

__all__ = [
    "LexiconFeaturizer",
    "SentenceEmbedder",
    "StaticEmbedder",
    "TransformerEmbedder",
    "clear_embedding_cache",
    "distill_static_model",
    "embedding_cache_info",
    "fresh_embedding_cache",
    "set_embedding_cache_size",
]
