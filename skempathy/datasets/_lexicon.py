"""The Sedoc et al. (2019) empathy and distress word ratings (not bundled)."""

import os
from pathlib import Path

import pandas as pd
from sklearn.utils import Bunch

from ._base import get_data_home, load_descr

__all__ = ["load_empathy_lexicon"]

_FILES = {"empathy": "empathy_lexicon.txt", "distress": "distress_lexicon.txt"}
LEXICON_FOLDER = "empathy_lexicon"


def load_empathy_lexicon(path=None, *, data_home=None, as_frame=True):
    """Load the empathy and distress word ratings of Sedoc et al. (2019).

    9356 words, each with an empathy and a distress rating learned from
    document-level ratings of the Buechel et al. (2018) essays. The lexicon
    carries no licence statement, so skempathy does not ship it: download
    ``empathy_lexicon.txt`` and ``distress_lexicon.txt`` from the WWBP lexica
    page and put them in ``path`` or in ``<data_home>/empathy_lexicon/``.

    Parameters
    ----------
    path : str or path-like, default=None
        Folder holding ``empathy_lexicon.txt`` and ``distress_lexicon.txt``
        (CSV: ``word,rating``). ``None`` looks in the data home.
    data_home : str or path-like, default=None
        See :func:`get_data_home`; used when ``path`` is None.
    as_frame : bool, default=True
        ``data`` as a DataFrame indexed by word (else a float ndarray).

    Returns
    -------
    lexicon : sklearn.utils.Bunch
        ``frame`` (DataFrame with columns ``word``, ``empathy``, ``distress``;
        one row per word), ``data`` (the two rating columns), ``words``
        (ndarray of str), ``feature_names`` (``["empathy", "distress"]``) and
        ``DESCR`` (provenance, licence, and the leak caveat).

    Raises
    ------
    FileNotFoundError
        If the files are not there (the message says where to put them).

    Examples
    --------
    >>> from skempathy.datasets import load_empathy_lexicon
    >>> lexicon = load_empathy_lexicon()  # doctest: +SKIP
    >>> lexicon.frame.columns.tolist()  # doctest: +SKIP
    ['word', 'empathy', 'distress']
    """
    folder = Path(path) if path is not None else Path(get_data_home(data_home)) / LEXICON_FOLDER
    missing = [name for name in _FILES.values() if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"Empathy lexicon file(s) {missing} not found in {os.fspath(folder)}. The Sedoc et al. "
            "(2019) lexicon is not bundled (no licence statement); download empathy_lexicon.txt "
            "and distress_lexicon.txt from the WWBP lexica page into that folder, or pass "
            "path=<folder>."
        )
    frames = []
    for column, filename in _FILES.items():
        frame = pd.read_csv(
            folder / filename, keep_default_na=False, na_values=[], dtype={"word": str}
        )
        if list(frame.columns) != ["word", "rating"] or frame["rating"].isna().any():
            raise ValueError(f"{folder / filename} is not a 'word,rating' CSV file.")
        frames.append(frame.rename(columns={"rating": column}).set_index("word"))
    ratings = frames[0].join(frames[1], how="inner")
    frame = ratings.reset_index()
    return Bunch(
        frame=frame,
        data=ratings if as_frame else ratings.to_numpy(dtype=float),
        words=frame["word"].to_numpy(dtype=object),
        feature_names=list(_FILES),
        DESCR=load_descr("empathy_lexicon"),
    )
