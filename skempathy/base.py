"""Shared building blocks for skempathy estimators.

Every estimator that takes raw text validates it with :func:`check_texts` and
declares string input through :class:`TextInputMixin`, so errors on bad input
read the same everywhere.
"""

import numbers

import numpy as np

from ._models import resolve_device, resolve_model

__all__ = [
    "SkempathyVersionWarning",
    "TextInputMixin",
    "check_texts",
    "check_y_given",
    "resolve_device",
    "resolve_model",
]


class SkempathyVersionWarning(UserWarning):
    """A fitted estimator was saved by another skempathy version than the one loading it.

    Like sklearn's ``InconsistentVersionWarning``: the estimator may still work,
    but nothing guarantees it; refit it with this version, or install the one
    that saved it.
    """


def _warn_if_saved_by_another_version(what, saved, stacklevel=3):
    """Warn (:class:`SkempathyVersionWarning`) when ``saved`` is not this skempathy version."""
    import warnings

    from . import __version__

    if saved is not None and saved != __version__:
        warnings.warn(
            f"{what} was saved by skempathy {saved} and is loaded by skempathy {__version__}; "
            f"it may not work as it did. Refit it, or install skempathy=={saved}.",
            SkempathyVersionWarning,
            stacklevel=stacklevel,
        )


def _check_no_missing(values, *, who, column=None, what="label"):
    """Raise a ValueError naming how many entries of 1-D ``values`` (a target) are
    missing (NaN or None, whatever the dtype) and where the first one is."""
    import pandas as pd

    missing = np.asarray(pd.isna(np.asarray(values, dtype=object)), dtype=bool)
    if missing.any():
        where = "" if column is None else f" (column {column!r})"
        raise ValueError(
            f"Input y contains NaN or None{where}: {who} got {int(missing.sum())} missing "
            f"{what}(s), the first at position {int(np.argmax(missing))}; drop those rows or "
            "fill them in."
        )


class TextInputMixin:
    """Mixin declaring that an estimator takes one column of raw text.

    Put it on the left of the sklearn base classes. It sets the tags of sklearn's
    text-input convention (``CountVectorizer``): ``input_tags.string=True`` and
    ``input_tags.two_d_array=False``, so scikit-learn's numeric checks do not apply
    and :mod:`skempathy.utils.estimator_checks` checks the estimator with texts.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags

    def _set_input_names(self, X):
        """scikit-learn's ``n_features_in_`` and ``feature_names_in_`` for the input of
        ``fit``: the columns of a DataFrame, else one unnamed text column."""
        if hasattr(X, "columns"):
            self.n_features_in_ = int(X.shape[1])
            names = np.asarray(X.columns, dtype=object)
            if all(isinstance(name, str) for name in names):
                self.feature_names_in_ = names
                return
        else:
            self.n_features_in_ = 1
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    # A pickle records the skempathy version that wrote it; loading it under
    # another version warns with both (sklearn does the same for its own).
    def __getstate__(self):
        from . import __version__

        state = dict(super().__getstate__())
        state["_skempathy_version"] = __version__
        return state

    def __setstate__(self, state):
        state = dict(state)
        saved = state.pop("_skempathy_version", None)
        _warn_if_saved_by_another_version(type(self).__name__, saved)
        super().__setstate__(state)


def _column_values(X):
    """Return the values of a one-column input and its column name (or None)."""
    name = None
    if hasattr(X, "iloc") and hasattr(X, "columns"):  # DataFrame
        if X.shape[1] != 1:
            raise ValueError(
                f"Expected one text column, got a DataFrame with {X.shape[1]} columns "
                f"{list(X.columns)[:5]}. Select the text column (e.g. X['essay']) or use "
                "skempathy.compose.make_preprocessor for mixed inputs."
            )
        name = X.columns[0]
        values = X.iloc[:, 0].to_numpy(dtype=object)
    elif hasattr(X, "iloc"):  # Series
        values = X.to_numpy(dtype=object)
    elif isinstance(X, str):
        raise TypeError(
            "Expected a sequence of texts, got a single string. Wrap it in a list: [text]."
        )
    else:
        try:
            values = np.asarray(X, dtype=object)
        except Exception as exc:  # ragged nested input
            raise TypeError(f"Could not read texts from {type(X).__name__}: {exc}") from exc
        if values.ndim == 2:
            if values.shape[1] != 1:
                raise ValueError(
                    f"Expected one text column, got a 2-D array of shape {values.shape}."
                )
            values = values[:, 0]
        elif values.ndim != 1:
            raise ValueError(
                f"Expected a 1-D sequence of texts, got an array with {values.ndim} dimensions."
            )
    return values, name


def check_y_given(y, estimator):
    """Raise scikit-learn's error for a supervised ``fit`` called without ``y``.

    Parameters
    ----------
    y : object
        The ``y`` passed to ``fit``.
    estimator : estimator instance
        Named in the message.

    Raises
    ------
    ValueError
        When ``y`` is None, with the message ``check_supervised_y_2d`` and
        ``check_requires_y_none`` expect.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from skempathy.base import check_y_given
    >>> check_y_given([1.0, 2.0], Ridge())
    >>> check_y_given(None, Ridge())
    Traceback (most recent call last):
    ...
    ValueError: Ridge requires y to be passed, but the target y is None.
    """
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )


def check_texts(X, *, allow_empty=False, estimator=None):
    """Validate a column of texts and return it as a list of ``str``.

    Accepts a list or tuple of strings, a pandas Series, a one-column DataFrame,
    a 1-D array, or a 2-D array with one column.

    Parameters
    ----------
    X : array-like of str
        The texts.
    allow_empty : bool, default=False
        Whether empty or whitespace-only strings are accepted.
    estimator : estimator or str, default=None
        Used in error messages.

    Returns
    -------
    texts : list of str

    Raises
    ------
    TypeError
        If an entry is not a string (numbers, bytes, ...).
    ValueError
        If the input is not one column, is empty, or holds missing (NaN/None),
        empty or invalid Unicode (lone surrogate) texts.

    Warns
    -----
    UserWarning
        When texts have no letter or digit (emoji or punctuation only).

    Examples
    --------
    >>> from skempathy.base import check_texts
    >>> check_texts(["I feel sad for them.", "What a relief!"])
    ['I feel sad for them.', 'What a relief!']
    """
    who = (
        ""
        if estimator is None
        else (f"{estimator if isinstance(estimator, str) else type(estimator).__name__}: ")
    )
    values, _ = _column_values(X)
    if len(values) == 0:
        raise ValueError(f"{who}Found 0 texts; at least 1 is required.")
    texts = []
    for i, value in enumerate(values):
        if value is None or (isinstance(value, numbers.Real) and np.isnan(value)):
            raise ValueError(f"{who}Text at position {i} is missing (NaN/None).")
        if isinstance(value, np.str_):
            value = str(value)
        if not isinstance(value, str):
            raise TypeError(
                f"{who}Expected text (str) input; position {i} holds "
                f"{type(value).__name__} {value!r}. Text estimators do not accept "
                "numeric features: pass the text column."
            )
        if not allow_empty and not value.strip():
            raise ValueError(f"{who}Text at position {i} is empty.")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate: tokenizers and caches fail on it
            raise ValueError(
                f"{who}Text at position {i} is not valid Unicode: character "
                f"{exc.object[exc.start]!r} at offset {exc.start} is a lone surrogate (decode "
                "the input with errors='replace' or fix its encoding)."
            ) from None
        texts.append(value)
    unreadable = [i for i, text in enumerate(texts) if not any(ch.isalnum() for ch in text)]
    if unreadable:
        import warnings

        warnings.warn(
            f"{who}{len(unreadable)} text(s) have no letter or digit (first at position "
            f"{unreadable[0]}), e.g. emoji or punctuation only: most encoders read them as "
            "unknown tokens, so they get nearly the same embedding.",
            UserWarning,
            stacklevel=2,
        )
    return texts
