"""TwittEmp (Hosseini & Caragea, 2021): tweets seeking, providing or without empathy."""

import os

import pandas as pd
from sklearn.utils import Bunch

from ._base import RemoteFile, fetch_file, get_data_home, load_descr

__all__ = ["fetch_twittemp", "TWITTEMP_LABELS"]

TWITTEMP_LABELS = {0: "none", 1: "seeking", 2: "providing"}

# The file existed in the authors' repository at this commit only (they removed it
# minutes later), so the URL pins the commit.
REMOTE = RemoteFile(
    "TwittEmp.csv",
    "https://raw.githubusercontent.com/Mahhos/KDempathy/"
    "0f55bbcac6396e34f0e92190b14313243362466e/TwittEmp.csv",
    "512c660f852e3ee619b6a0e4c717d7c1a4212f416331f6dbe820ef429fbea6f7",
)


def fetch_twittemp(*, data_home=None, download_if_missing=True, return_X_y=False):
    """Load TwittEmp: 3000 tweets labelled none / seeking / providing empathy.

    Not bundled (tweet text; no licence stated). Downloaded from the authors'
    repository at a pinned commit, verified by sha256 and cached in
    ``<data_home>/twittemp/``. There is no official split: use stratified
    cross-validation.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Cache folder, see :func:`get_data_home`.
    download_if_missing : bool, default=True
        Download the file if missing; if False, raise ``OSError`` instead.
    return_X_y : bool, default=False
        Return ``(texts, labels)``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (list of str), ``target`` (Series of ``"none"``,
        ``"seeking"``, ``"providing"``), ``target_names``, ``frame``, ``DESCR``.

    Examples
    --------
    >>> from skempathy.datasets import fetch_twittemp
    >>> texts, y = fetch_twittemp(return_X_y=True)  # doctest: +SKIP
    >>> y.value_counts().to_dict()  # doctest: +SKIP
    {'seeking': 1000, 'providing': 1000, 'none': 1000}
    """
    folder = os.path.join(get_data_home(data_home), "twittemp")
    path = fetch_file(REMOTE, folder, download_if_missing=download_if_missing, dataset="TwittEmp")
    raw = pd.read_csv(
        path, dtype={"content": str, "permalink": str, "id": str}, keep_default_na=False
    )
    if not {"label", "content"} <= set(raw.columns):
        raise ValueError(f"{path} is not the TwittEmp file (columns {list(raw.columns)}).")
    frame = pd.DataFrame(
        {
            "text": raw["content"],
            "label": raw["label"].map(TWITTEMP_LABELS),
            "permalink": raw["permalink"].replace("", None),
        }
    )
    texts = frame["text"].tolist()
    if return_X_y:
        return texts, frame["label"]
    return Bunch(
        data=texts,
        target=frame["label"],
        target_names=list(TWITTEMP_LABELS.values()),
        frame=frame,
        feature_names=["text"],
        DESCR=load_descr("twittemp"),
    )
