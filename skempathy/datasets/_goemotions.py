"""GoEmotions (Demszky et al., 2020): 58k Reddit comments, 27 emotions + neutral."""

import csv
import os

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._base import RemoteFile, fetch_file, get_data_home, load_descr

__all__ = ["fetch_goemotions", "GOEMOTIONS_LABELS", "EKMAN_MAPPING", "SENTIMENT_MAPPING"]

#: The 28 GoEmotions labels in the order of the dataset's ``emotions.txt``.
GOEMOTIONS_LABELS = (
    "admiration",
    "amusement",
    "anger",
    "annoyance",
    "approval",
    "caring",
    "confusion",
    "curiosity",
    "desire",
    "disappointment",
    "disapproval",
    "disgust",
    "embarrassment",
    "excitement",
    "fear",
    "gratitude",
    "grief",
    "joy",
    "love",
    "nervousness",
    "optimism",
    "pride",
    "realization",
    "relief",
    "remorse",
    "sadness",
    "surprise",
    "neutral",
)

#: GoEmotions' ``ekman_mapping.json`` (neutral maps to itself).
EKMAN_MAPPING = {
    "anger": ("anger", "annoyance", "disapproval"),
    "disgust": ("disgust",),
    "fear": ("fear", "nervousness"),
    "joy": (
        "joy",
        "amusement",
        "approval",
        "excitement",
        "gratitude",
        "love",
        "optimism",
        "relief",
        "pride",
        "admiration",
        "desire",
        "caring",
    ),
    "sadness": ("sadness", "disappointment", "embarrassment", "grief", "remorse"),
    "surprise": ("surprise", "realization", "confusion", "curiosity"),
    "neutral": ("neutral",),
}

#: GoEmotions' ``sentiment_dict.json`` (neutral maps to itself).
SENTIMENT_MAPPING = {
    "positive": (
        "amusement",
        "excitement",
        "joy",
        "love",
        "desire",
        "optimism",
        "caring",
        "pride",
        "admiration",
        "gratitude",
        "relief",
        "approval",
    ),
    "negative": (
        "fear",
        "nervousness",
        "remorse",
        "embarrassment",
        "disappointment",
        "sadness",
        "grief",
        "disgust",
        "anger",
        "annoyance",
        "disapproval",
    ),
    "ambiguous": ("realization", "surprise", "curiosity", "confusion"),
    "neutral": ("neutral",),
}
_MAPPINGS = {None: None, "ekman": EKMAN_MAPPING, "sentiment": SENTIMENT_MAPPING}

_BASE_URL = (
    "https://raw.githubusercontent.com/google-research/google-research/master/goemotions/data/"
)
REMOTES = {
    "train": RemoteFile(
        "train.tsv",
        _BASE_URL + "train.tsv",
        "1c254a142be5c00e80d819b9ae1bbd36d94b2eeb8f4b1271846508d57e57d9c5",
    ),
    "dev": RemoteFile(
        "dev.tsv",
        _BASE_URL + "dev.tsv",
        "575489c079c9de1097062a01738f998590d6b7ead66dd1c9fd1d2ba01fd8bc62",
    ),
    "test": RemoteFile(
        "test.tsv",
        _BASE_URL + "test.tsv",
        "0587b2dd8b27b97352adbfc3fb083d46005c8946657fdc2b1ca8b1cc7f1f8be4",
    ),
}


def _read_split(path):
    frame = pd.read_csv(
        path,
        sep="\t",
        header=None,
        names=["text", "label_ids", "id"],
        dtype=str,
        keep_default_na=False,
        quoting=csv.QUOTE_MINIMAL,
    )
    ids = frame["label_ids"].str.split(",")
    labels = [[GOEMOTIONS_LABELS[int(i)] for i in row] for row in ids]
    return pd.DataFrame({"text": frame["text"], "labels": labels, "id": frame["id"]})


def fetch_goemotions(
    subset="train", *, data_home=None, download_if_missing=True, mapping=None, return_X_y=False
):
    """Load a GoEmotions split as multi-label data, downloading it if needed.

    The filtered train (43,410), dev (5,426) and test (5,427) comments with
    one or more of 28 labels (27 emotions + neutral). Files are downloaded
    from the original google-research location, verified by sha256 and cached
    in ``<data_home>/goemotions/``.

    Parameters
    ----------
    subset : {"train", "dev", "test"}, default="train"
        Which split.
    data_home : str or path-like, default=None
        Cache folder, see :func:`get_data_home`.
    download_if_missing : bool, default=True
        Download missing files; if False, raise ``OSError`` instead.
    mapping : {None, "ekman", "sentiment"}, default=None
        Map the 28 labels to Ekman's 6 emotions + neutral, or to positive /
        negative / ambiguous / neutral (the paper's groupings). A comment keeps
        every mapped label of its original labels.
    return_X_y : bool, default=False
        Return ``(texts, indicator_matrix)``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (list of str), ``target`` (int ndarray of shape
        ``(n_samples, n_labels)``, a binary indicator matrix),
        ``target_names``, ``frame`` (``text``, ``labels`` (list of str),
        ``id``), ``DESCR``.

    Raises
    ------
    ValueError
        Unknown subset or mapping; checksum mismatch.
    OSError
        Missing file with ``download_if_missing=False``, or a failed download
        (no partial file is left in the cache).

    Examples
    --------
    >>> from skempathy.datasets import fetch_goemotions
    >>> dev = fetch_goemotions("dev", mapping="ekman")  # doctest: +SKIP
    >>> dev.target.shape  # doctest: +SKIP
    (5426, 7)
    """
    if subset not in REMOTES:
        raise ValueError(f"Unknown subset {subset!r}; expected one of {list(REMOTES)}.")
    if mapping not in _MAPPINGS:
        raise ValueError(f"Unknown mapping {mapping!r}; expected None, 'ekman' or 'sentiment'.")
    folder = os.path.join(get_data_home(data_home), "goemotions")
    path = fetch_file(
        REMOTES[subset], folder, download_if_missing=download_if_missing, dataset="GoEmotions"
    )
    frame = _read_split(path)
    groups = _MAPPINGS[mapping]
    if groups is not None:
        inverse = {label: group for group, members in groups.items() for label in members}
        frame["labels"] = [
            sorted({inverse[label] for label in row}, key=list(groups).index)
            for row in frame["labels"]
        ]
        target_names = list(groups)
    else:
        target_names = list(GOEMOTIONS_LABELS)
    index = {name: i for i, name in enumerate(target_names)}
    target = np.zeros((len(frame), len(target_names)), dtype=int)
    for row, labels in enumerate(frame["labels"]):
        target[row, [index[label] for label in labels]] = 1
    texts = frame["text"].tolist()
    if return_X_y:
        return texts, target
    return Bunch(
        data=texts,
        target=target,
        target_names=target_names,
        frame=frame,
        feature_names=["text"],
        DESCR=load_descr("goemotions"),
    )
