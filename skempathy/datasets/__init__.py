"""Datasets: bundled WASSA / NewsEmp essays, fetchers for corpora we cannot ship.

``load_*`` functions read data bundled with the package or a local path;
``fetch_*`` functions download into a ``data_home`` cache (``SKEMPATHY_DATA``)
and verify checksums. Every loader returns a :class:`sklearn.utils.Bunch` with
a ``DESCR`` describing provenance and licence.
"""

from ._base import clear_data_home, get_data_home
from ._goemotions import EKMAN_MAPPING, GOEMOTIONS_LABELS, SENTIMENT_MAPPING, fetch_goemotions
from ._isear import ISEAR_LABELS, fetch_isear
from ._lexicon import load_empathy_lexicon
from ._twittemp import TWITTEMP_LABELS, fetch_twittemp
from ._wassa import WASSA_CODEBOOKS, WASSA_COLUMN_GROUPS, load_newsemp, load_wassa

__all__ = [
    "EKMAN_MAPPING",
    "GOEMOTIONS_LABELS",
    "ISEAR_LABELS",
    "SENTIMENT_MAPPING",
    "TWITTEMP_LABELS",
    "WASSA_CODEBOOKS",
    "WASSA_COLUMN_GROUPS",
    "clear_data_home",
    "fetch_goemotions",
    "fetch_isear",
    "fetch_twittemp",
    "get_data_home",
    "load_empathy_lexicon",
    "load_newsemp",
    "load_wassa",
]
