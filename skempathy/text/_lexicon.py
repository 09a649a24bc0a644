"""LexiconFeaturizer: per-text statistics of word ratings (Sedoc et al. 2019)."""

import os
import re

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._sklearn_compat import StrOptions, _fit_context
from ..base import TextInputMixin
from ._base import _validate_texts

__all__ = ["LexiconFeaturizer"]

_TOKEN = re.compile(r"[\w]+(?:'[\w]+)?", re.UNICODE)


class LexiconFeaturizer(TextInputMixin, TransformerMixin, BaseEstimator):
    """Mean and max word ratings of each text under a word lexicon.

    Cheap, interpretable features: texts are lower-cased and split into word
    tokens; every token found in the lexicon contributes its ratings. For each
    rating dimension the featurizer returns the mean and the max over the
    text's matched tokens, plus the share of tokens that were matched. A text
    with no matched token gets the lexicon's mean rating for both statistics
    (and coverage 0).

    Parameters
    ----------
    lexicon : "empathy_distress", str, path-like or DataFrame, default="empathy_distress"
        ``"empathy_distress"``: the Sedoc et al. (2019) empathy and distress
        ratings read by :func:`skempathy.datasets.load_empathy_lexicon` from the
        data home (the lexicon is not bundled: see that function). A folder
        path: the same files read from that folder. A DataFrame: a ``word``
        column and one numeric column per rating dimension.
    data_home : str, path-like or None, default=None
        Data home for ``lexicon="empathy_distress"``.

    Attributes
    ----------
    dimensions_ : list of str
        Rating dimensions (e.g. ``["empathy", "distress"]``).
    vocabulary_ : dict
        Lower-cased word -> row of ``ratings_``.
    ratings_ : ndarray of shape (n_words, n_dimensions)
        The word ratings.
    fill_values_ : ndarray of shape (n_dimensions,)
        Mean rating per dimension, used for texts without a lexicon word.
    n_features_in_ : int
        Always 1 (one text column).

    Examples
    --------
    >>> import pandas as pd
    >>> from skempathy.text import LexiconFeaturizer
    >>> lex = pd.DataFrame({"word": ["sad", "happy"], "empathy": [6.0, 2.0]})
    >>> feat = LexiconFeaturizer(lexicon=lex).fit(["so sad"])
    >>> feat.get_feature_names_out().tolist()
    ['empathy_mean', 'empathy_max', 'lexicon_coverage']
    >>> feat.transform(["So sad, not happy"]).round(2).tolist()
    [[4.0, 6.0, 0.5]]
    """

    _parameter_constraints = {
        "lexicon": [StrOptions({"empathy_distress"}), str, os.PathLike, "array-like"],
        "data_home": [str, os.PathLike, None],
    }

    def __init__(self, lexicon="empathy_distress", *, data_home=None):
        self.lexicon = lexicon
        self.data_home = data_home

    def _load_lexicon(self):
        import pandas as pd

        if isinstance(self.lexicon, pd.DataFrame):
            frame = self.lexicon
        else:
            from ..datasets import load_empathy_lexicon

            if isinstance(self.lexicon, str) and self.lexicon == "empathy_distress":
                frame = load_empathy_lexicon(data_home=self.data_home).frame
            else:
                frame = load_empathy_lexicon(self.lexicon).frame
        if "word" not in frame.columns:
            raise ValueError(
                f"LexiconFeaturizer: the lexicon needs a 'word' column, got {list(frame.columns)}."
            )
        dims = [c for c in frame.columns if c != "word"]
        bad = [c for c in dims if not np.issubdtype(frame[c].dtype, np.number)]
        if not dims or bad:
            raise ValueError(
                "LexiconFeaturizer: the lexicon needs numeric rating columns besides 'word'; "
                f"non-numeric: {bad}."
                if bad
                else "LexiconFeaturizer: the lexicon has no rating column besides 'word'."
            )
        return frame, dims

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the texts and index the lexicon.

        Parameters
        ----------
        X : list of str, Series, 1-column DataFrame or (n, 1) array
            Texts.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted featurizer.
        """
        _validate_texts(X, self)
        frame, dims = self._load_lexicon()
        words = frame["word"].astype(str).str.lower().to_numpy()
        ratings = frame[dims].to_numpy(dtype=np.float64)
        vocabulary = {}
        for i, word in enumerate(words):
            vocabulary.setdefault(word, i)  # first occurrence wins
        self.dimensions_ = [str(d) for d in dims]
        self.vocabulary_ = vocabulary
        self.ratings_ = ratings
        self.fill_values_ = ratings.mean(axis=0)
        self._set_input_names(X)
        return self

    def transform(self, X):
        """Rating statistics of each text.

        Parameters
        ----------
        X : list of str, Series, 1-column DataFrame or (n, 1) array
            Texts.

        Returns
        -------
        features : ndarray of shape (n_texts, 2 * n_dimensions + 1)
            ``<dim>_mean`` and ``<dim>_max`` per dimension, then
            ``lexicon_coverage``.
        """
        check_is_fitted(self)
        texts = _validate_texts(X, self)
        n_dims = len(self.dimensions_)
        out = np.empty((len(texts), 2 * n_dims + 1), dtype=np.float64)
        for row, text in enumerate(texts):
            tokens = _TOKEN.findall(text.lower())
            idx = [self.vocabulary_[t] for t in tokens if t in self.vocabulary_]
            if idx:
                values = self.ratings_[idx]
                out[row, 0 : 2 * n_dims : 2] = values.mean(axis=0)
                out[row, 1 : 2 * n_dims : 2] = values.max(axis=0)
                out[row, -1] = len(idx) / len(tokens)
            else:
                out[row, 0 : 2 * n_dims : 2] = self.fill_values_
                out[row, 1 : 2 * n_dims : 2] = self.fill_values_
                out[row, -1] = 0.0
        return out

    def get_feature_names_out(self, input_features=None):
        """``<dim>_mean``, ``<dim>_max`` for each dimension, then ``lexicon_coverage``.

        Parameters
        ----------
        input_features : array-like of str or None
            Ignored.

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self)
        names = []
        for dim in self.dimensions_:
            names += [f"{dim}_mean", f"{dim}_max"]
        return np.asarray(names + ["lexicon_coverage"], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        return tags
