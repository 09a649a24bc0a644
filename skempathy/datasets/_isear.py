"""ISEAR (Scherer & Wallbott 1994): self-reported situations that elicited one of 7 emotions."""

import os
import re

import pandas as pd
from sklearn.utils import Bunch

from ._base import RemoteFile, fetch_file, get_data_home, load_descr

__all__ = ["fetch_isear", "ISEAR_LABELS"]

ISEAR_LABELS = ("joy", "fear", "anger", "sadness", "disgust", "shame", "guilt")

# The cleaned extract of the original Access database published in
# sinmaniphel/py_isear_dataset; unchanged since its first commit, which the URL pins.
REMOTE = RemoteFile(
    "isear.csv",
    "https://raw.githubusercontent.com/sinmaniphel/py_isear_dataset/"
    "10d9b34cca49154253c6fa22c2aa1bd9d945045c/isear.csv",
    "370110fff70a1e1d9e23b10cf6db1f64876120fa02276afe5916fbfeb038cdca",
)
_N_CODED = 40  # ID ... MYKEY precede the free text
# answers that describe no situation ("[ No response.]", "[ I have never felt this emotion.]")
_NON_ANSWER = re.compile(
    r"^\W*(no response|none|never|i have never|not applicable|do not "
    r"remember|can not remember|can't remember|nothing)\b",
    re.I,
)


def fetch_isear(
    *, data_home=None, download_if_missing=True, return_X_y=False, drop_non_answers=True
):
    """Load ISEAR: 7,666 situations described by the people who felt one of 7 emotions.

    Not bundled (GPL-3.0 repository copy; the original terms could not be
    checked). Downloaded from a pinned commit of the ``py_isear_dataset``
    repository, verified by sha256 and cached in ``<data_home>/isear/``.
    Line breaks inside a text were written as the field separator in that
    file; the parser joins them back. There is no official split.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Cache folder, see :func:`get_data_home`.
    download_if_missing : bool, default=True
        Download the file if missing; if False, raise ``OSError`` instead.
    return_X_y : bool, default=False
        Return ``(texts, labels)``.
    drop_non_answers : bool, default=True
        Drop answers that describe no situation (``"[ No response.]"``,
        ``"[ I have never felt this emotion.]"`` and the like).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (list of str), ``target`` (Series of emotion names),
        ``target_names``, ``frame`` (``text``, ``emotion``, ``respondent``,
        ``country``, ``intensity``), ``DESCR``.

    Examples
    --------
    >>> from skempathy.datasets import fetch_isear
    >>> texts, y = fetch_isear(return_X_y=True)  # doctest: +SKIP
    >>> len(texts), y.nunique()  # doctest: +SKIP
    (7548, 7)
    """
    folder = os.path.join(get_data_home(data_home), "isear")
    path = fetch_file(REMOTE, folder, download_if_missing=download_if_missing, dataset="ISEAR")
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("|")
        if header[:2] != ["ID", "CITY"] or "SIT" not in header:
            raise ValueError(f"{path} is not the ISEAR extract (header {header[:4]}...).")
        names = header[:_N_CODED]
        for line in f:
            p = line.rstrip("\n").split("|")
            if len(p) < _N_CODED + 3:
                continue
            coded = dict(zip(names, p[:_N_CODED]))
            text = " ".join(" ".join(p[_N_CODED:-2]).replace("á", " ").split())
            rows.append(
                (
                    text,
                    ISEAR_LABELS[int(coded["EMOT"]) - 1],
                    coded["ID"],
                    coded["COUN"],
                    int(coded["INTS"]),
                )
            )
    frame = pd.DataFrame(rows, columns=["text", "emotion", "respondent", "country", "intensity"])
    if drop_non_answers:
        keep = ~frame["text"].str.match(_NON_ANSWER) & (frame["text"].str.len() > 0)
        frame = frame[keep].reset_index(drop=True)
    texts = frame["text"].tolist()
    if return_X_y:
        return texts, frame["emotion"]
    return Bunch(
        data=texts,
        target=frame["emotion"],
        target_names=list(ISEAR_LABELS),
        frame=frame,
        feature_names=["text"],
        DESCR=load_descr("isear"),
    )
