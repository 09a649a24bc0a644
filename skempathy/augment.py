"""Training-set augmentation with an external labelled corpus.

:class:`AugmentedEstimator` adds external examples to the training data of
*each* ``fit`` call and nowhere else. Inside ``cross_validate`` or
``GridSearchCV`` every training fold is augmented while every validation and
scoring fold holds only the original data, so the scores stay honest.

:func:`goemotions_to_wassa` builds the external set used by WASSA@IITK
(Mundra et al. 2021) for WASSA 2021 Track 2: GoEmotions comments with exactly
one label after the Ekman mapping, labelled with the seven WASSA emotions.
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils import check_random_state, get_tags

from .base import check_texts, check_y_given
from .utils._meta import _PREDICTOR_TAGS, DelegateToFittedMixin, wrapped_tags
from .utils._routing import fit_router, route_fit
from .utils._sklearn_compat import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
    _fit_context,
    _num_samples,
)

__all__ = ["AugmentedEstimator", "goemotions_pool", "goemotions_to_wassa"]

WASSA_EMOTIONS = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")


def _n_rows(X):
    return _num_samples(X)


def _take(X, indices):
    """Rows ``indices`` of X, keeping its container type."""
    if hasattr(X, "iloc"):
        return X.iloc[indices]
    if hasattr(X, "shape"):  # ndarray or sparse matrix
        return X[indices]
    return [X[i] for i in indices]


def _is_2d(X):
    return hasattr(X, "columns") or (hasattr(X, "ndim") and X.ndim == 2)


def _concat_X(X, X_add):
    """Append the rows of ``X_add`` to ``X``, with a clear error when they do not fit."""
    import scipy.sparse as sp

    if hasattr(X, "columns"):  # DataFrame
        import pandas as pd

        if not hasattr(X_add, "columns"):
            values = np.asarray(X_add, dtype=object)
            if values.ndim == 1 and X.shape[1] == 1:
                X_add = pd.DataFrame({X.columns[0]: values})
            else:
                raise ValueError(
                    f"X is a DataFrame with columns {list(X.columns)[:6]}; X_extra must be a "
                    "DataFrame with the same columns (or a 1-D sequence of texts when X has "
                    "one column)."
                )
        missing = [c for c in X.columns if c not in X_add.columns]
        if missing:
            raise ValueError(f"X_extra lacks the column(s) {missing} that X has.")
        return pd.concat([X, X_add[list(X.columns)]], ignore_index=True)
    if hasattr(X, "iloc"):  # Series
        import pandas as pd

        add = X_add if hasattr(X_add, "iloc") else pd.Series(list(X_add), name=X.name)
        if _is_2d(add):
            raise ValueError("X is 1-D (a Series of texts) but X_extra is 2-D.")
        return pd.concat([X, add], ignore_index=True)
    if sp.issparse(X):
        if not sp.issparse(X_add):
            X_add = sp.csr_matrix(np.asarray(X_add))
        if X_add.shape[1] != X.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features but X_extra has {X_add.shape[1]}.")
        return sp.vstack([X, X_add], format=X.format)
    if isinstance(X, np.ndarray):
        add = X_add.to_numpy() if hasattr(X_add, "to_numpy") else np.asarray(X_add)
        if add.ndim != X.ndim or (X.ndim == 2 and add.shape[1] != X.shape[1]):
            raise ValueError(
                f"X has shape {X.shape} but X_extra has shape {add.shape}: they need the "
                "same number of columns."
            )
        return np.concatenate([X, add.astype(X.dtype, copy=False) if X.dtype != object else add])
    # list / tuple of texts (or of rows)
    add = X_add.tolist() if hasattr(X_add, "tolist") else list(X_add)
    return list(X) + add


def _extend_metadata(fit_params, n_train, n_extra):
    """Per-sample fit metadata for the training rows plus ``n_extra`` external ones: each
    external example is a group of its own; other per-sample values do not exist for them."""
    if not n_extra:
        return fit_params
    out = dict(fit_params)
    for key, value in fit_params.items():
        if (
            value is None
            or isinstance(value, str)
            or not hasattr(value, "__len__")
            or len(value) != n_train
        ):
            continue
        if key != "groups":
            raise ValueError(
                f"{key} is a per-sample fit parameter, and the external examples "
                "have no value for it; fit the wrapped estimator without it."
            )
        labels = np.asarray(value).astype(str)  # one label type for old and new groups
        out[key] = np.concatenate([labels, [f"external example {i}" for i in range(n_extra)]])
    return out


def _concat_y(y, y_add):
    if hasattr(y, "iloc"):
        import pandas as pd

        if hasattr(y, "columns"):
            add = (
                y_add
                if hasattr(y_add, "columns")
                else pd.DataFrame(np.asarray(y_add), columns=y.columns)
            )
        else:
            add = y_add if hasattr(y_add, "iloc") else pd.Series(np.asarray(y_add), name=y.name)
        return pd.concat([y, add], ignore_index=True)
    y_arr = np.asarray(y)
    add = np.asarray(y_add)
    if add.ndim != y_arr.ndim:
        raise ValueError(f"y has {y_arr.ndim} dimension(s) but y_extra has {add.ndim}.")
    if y_arr.dtype.kind in "iub" and add.dtype.kind not in "iub":
        y_arr = y_arr.astype(object)
    return np.concatenate(
        [
            y_arr,
            add.astype(y_arr.dtype, copy=False)
            if y_arr.dtype.kind in "fiub" and add.dtype.kind in "fiub"
            else add.astype(object),
        ]
    )


def _balanced_counts(current, available, budget):
    """Water-filling: give each new example to the class with the fewest so far.

    Parameters
    ----------
    current, available : ndarray of int, one entry per class
    budget : int or None
        Number of examples to add; None adds as many as needed to bring every
        class up to the largest class (limited by ``available``).
    """
    current = np.asarray(current, dtype=np.int64)
    available = np.asarray(available, dtype=np.int64)
    if budget is None:
        return np.minimum(available, current.max() - current)
    budget = min(int(budget), int(available.sum()))
    take = np.zeros_like(current)
    # Raise the lowest level step by step; classes out of examples drop out.
    while budget > 0:
        open_ = take < available
        level = np.where(open_, current + take, np.iinfo(np.int64).max)
        low = level.min()
        at_low = np.flatnonzero(level == low)
        higher = level[level > low]
        next_level = higher.min() if higher.size else np.iinfo(np.int64).max
        room = np.minimum(available[at_low] - take[at_low], next_level - low)
        step = int(min(room.min(), budget // len(at_low)))
        if step == 0:  # fewer examples left than classes at this level
            take[at_low[:budget]] += 1
            break
        take[at_low] += step
        budget -= step * len(at_low)
    return take


class AugmentedEstimator(DelegateToFittedMixin, MetaEstimatorMixin, BaseEstimator):
    """Fit an estimator on its training data plus external labelled examples.

    The external examples (``X_extra``, ``y_extra``) are appended to the
    training data inside :meth:`fit` only. :meth:`predict`, :meth:`score` and
    friends see nothing but the data passed to them, so in
    ``cross_validate``/``GridSearchCV`` the validation and scoring folds never
    contain external examples while every training fold is augmented. This is
    the WASSA@IITK recipe (Mundra et al. 2021): GoEmotions comments mapped to
    the WASSA emotions (see :func:`goemotions_to_wassa`) added to the
    training essays.

    Parameters
    ----------
    estimator : estimator object
        The estimator to fit on the augmented data. It is cloned in ``fit``.
    X_extra : array-like of shape (n_extra,) or (n_extra, n_features), or callable
        External inputs, in the same form as the ``X`` passed to ``fit``: a
        sequence of texts for a text estimator, a DataFrame with the same
        columns for a DataFrame pipeline (a 1-D sequence is accepted when ``X``
        has a single column), or a matrix with the same number of features.
        A callable takes no arguments and returns ``(X_extra, y_extra)``; it
        is called in every ``fit``, so a corpus on disk is read when the model
        is trained, not when it is built (pass ``y_extra=None``; use a
        module-level function or a ``functools.partial`` of one, so the
        estimator still pickles).
    y_extra : array-like of shape (n_extra,) or (n_extra, n_outputs), or None
        Labels or targets of the external examples (None when ``X_extra`` is
        a callable).
    strategy : {"balanced", "random"}, default="balanced"
        How external examples are drawn.

        - ``"balanced"`` (classifiers only): each drawn example goes to the
          class that has the fewest examples so far (training plus drawn), so
          the external data fills the minority classes first.
        - ``"random"``: a uniform random sample of the external examples.
    n_samples : int, float or None, default=None
        How many external examples to add in each fit. An int is a count; a
        float is a fraction of the training-set size. ``None`` adds all
        external examples for ``"random"``, and for ``"balanced"`` as many as
        needed to bring every class up to the size of the largest training
        class (fewer when the external set runs out).
    random_state : int, RandomState instance or None, default=None
        Controls which external examples are drawn. Pass an int for
        reproducible draws.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator``.
    extra_indices_ : ndarray of int
        Positions (in ``X_extra``) of the external examples added in the last
        fit.
    n_extra_ : int
        Number of external examples added in the last fit.
    n_train_ : int
        Number of original training examples in the last fit.
    classes_ : ndarray
        Class labels (classifiers only), from the fitted estimator.
    n_features_in_ : int
        Forwarded from the fitted estimator when it has it.

    See Also
    --------
    goemotions_to_wassa : The GoEmotions set mapped to the WASSA emotions.

    Notes
    -----
    For classifiers, external examples whose label does not occur in the
    training ``y`` are left out (with a warning), so the classes of the model
    are those of the real training data. If the wrapped estimator carves its
    own validation split out of its training data (early stopping), that split
    may hold external examples, so its best epoch is partly chosen on external
    data (the scoring folds of a cross-validation around this estimator are
    never affected). To keep external data out of model selection entirely,
    train the wrapped estimator for a fixed number of epochs
    (``early_stopping=False``).

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skempathy.augment import AugmentedEstimator
    >>> X = ["so sad for them", "this makes me angry", "how sad", "angry and upset"]
    >>> y = ["sadness", "anger", "sadness", "anger"]
    >>> X_extra = ["furious about it", "I am livid", "heartbroken"]
    >>> y_extra = ["anger", "anger", "sadness"]
    >>> clf = AugmentedEstimator(make_pipeline(TfidfVectorizer(), LogisticRegression()),
    ...                          X_extra, y_extra, strategy="random", random_state=0)
    >>> clf.fit(X, y).n_extra_
    3
    >>> clf.predict(["I am furious"]).tolist()
    ['anger']
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit"])],
        "X_extra": ["array-like", "sparse matrix", callable],
        "y_extra": ["array-like", None],
        "strategy": [StrOptions({"balanced", "random"})],
        "n_samples": [
            Interval(Integral, 0, None, closed="left"),
            Interval(RealNotInt, 0, None, closed="neither"),
            None,
        ],
        "random_state": ["random_state"],
    }

    def __init__(
        self, estimator, X_extra, y_extra, *, strategy="balanced", n_samples=None, random_state=None
    ):
        self.estimator = estimator
        self.X_extra = X_extra
        self.y_extra = y_extra
        self.strategy = strategy
        self.n_samples = n_samples
        self.random_state = random_state

    def __sklearn_tags__(self):
        return wrapped_tags(
            super().__sklearn_tags__(), self.estimator, _PREDICTOR_TAGS + ("transformer_tags",)
        )

    def __skempathy_fit_sources__(self):
        """A data-source ``X_extra``, keyed by what it reads, so an ensemble reads it once and
        fails before training anything when the corpus is missing (``skempathy.utils._warm``)."""
        # repr: a partial's arguments and function, equal for members that share one source
        return {repr(self.X_extra): self._external} if callable(self.X_extra) else {}

    def _external(self):
        """``(X_extra, y_extra)``, calling ``X_extra`` when it is a data source."""
        if not callable(self.X_extra):
            if self.y_extra is None:
                raise ValueError(
                    "y_extra is None; give the external labels, or pass a callable "
                    "X_extra that returns (X_extra, y_extra)."
                )
            return self.X_extra, self.y_extra
        if self.y_extra is not None:
            raise ValueError(
                "X_extra is a callable that returns (X_extra, y_extra); pass y_extra=None."
            )
        external = self.X_extra()
        if not (isinstance(external, tuple) and len(external) == 2):
            raise TypeError(
                f"X_extra(), the external data source, must return a tuple "
                f"(X_extra, y_extra); got {type(external).__name__}."
            )
        return external

    def _draw(self, X_extra, y_extra, y, n_train):
        """Indices into ``X_extra`` to add to a training set with targets ``y``."""
        y_extra = y_extra.to_numpy() if hasattr(y_extra, "to_numpy") else np.asarray(y_extra)
        n_extra = _n_rows(X_extra)
        if len(y_extra) != n_extra:
            raise ValueError(
                f"X_extra has {n_extra} rows but y_extra has {len(y_extra)}; they must match."
            )
        rng = check_random_state(self.random_state)
        if isinstance(self.n_samples, float):
            budget = int(round(self.n_samples * n_train))
        else:
            budget = self.n_samples
        is_clf = get_tags(self.estimator).estimator_type == "classifier"
        if self.strategy == "balanced" and not is_clf:
            raise ValueError(
                "strategy='balanced' needs class labels; use strategy='random' with a "
                f"{type(self.estimator).__name__} (a regressor)."
            )
        candidates = np.arange(n_extra)
        if budget == 0:
            return candidates[:0]
        if is_clf and y_extra.ndim == 1:
            y_arr = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
            known = np.isin(y_extra, np.unique(y_arr))
            if not known.all():
                unknown = sorted({str(v) for v in y_extra[~known]})
                warnings.warn(
                    f"{(~known).sum()} external example(s) have labels absent from the "
                    f"training y ({unknown[:5]}); they are not added.",
                    UserWarning,
                )
            candidates = candidates[known]
        if self.strategy == "random":
            size = len(candidates) if budget is None else min(budget, len(candidates))
            return np.sort(rng.choice(candidates, size=size, replace=False))
        y_arr = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
        if y_arr.ndim != 1 or y_extra.ndim != 1:
            raise ValueError(
                "strategy='balanced' needs one label per example (1-D y and y_extra); use "
                "strategy='random' for multi-output targets."
            )
        classes, current = np.unique(y_arr, return_counts=True)
        cand_labels = y_extra[candidates]
        by_class = [candidates[cand_labels == c] for c in classes]
        take = _balanced_counts(current, [len(b) for b in by_class], budget)
        chosen = [rng.choice(b, size=k, replace=False) for b, k in zip(by_class, take) if k]
        return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=int)

    def get_metadata_routing(self):
        """How ``fit`` metadata reaches the wrapped estimator."""
        return fit_router(self, {"estimator": self.estimator})

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit a clone of the estimator on ``X, y`` plus drawn external examples.

        Parameters
        ----------
        X : array-like
            Training inputs, in the form the wrapped estimator expects.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Training targets.
        **fit_params : dict
            Passed to the wrapped estimator's ``fit`` (with
            ``sklearn.set_config(enable_metadata_routing=True)``: what it
            requests). ``groups`` is extended with one group per external
            example, so an early-stopping split of the wrapped estimator keeps
            whole writers apart; other per-sample parameters (such as
            ``sample_weight``) are refused, because the external examples have
            none.

        Returns
        -------
        self : AugmentedEstimator
            The fitted meta-estimator.
        """
        check_y_given(y, self)
        inner = get_tags(self.estimator).input_tags
        if inner.string and not inner.two_d_array:  # a text estimator: say so before mixing
            check_texts(X, estimator=self)
        n_train = _n_rows(X)
        if _num_samples(y) != n_train:
            raise ValueError(f"X has {n_train} rows but y has {_num_samples(y)}.")
        X_extra, y_extra = self._external()
        indices = self._draw(X_extra, y_extra, y, n_train)
        if len(indices):
            X_fit = _concat_X(X, _take(X_extra, indices))
            y_fit = _concat_y(
                y,
                _take(y_extra, indices)
                if hasattr(y_extra, "iloc")
                else np.asarray(y_extra)[indices],
            )
        else:
            X_fit, y_fit = X, y
        fit_params = _extend_metadata(
            route_fit(self, ["estimator"], fit_params)["estimator"], n_train, len(indices)
        )
        self.estimator_ = clone(self.estimator).fit(X_fit, y_fit, **fit_params)
        self.extra_indices_ = indices
        self.n_extra_ = int(len(indices))
        self.n_train_ = int(n_train)
        if hasattr(self.estimator_, "classes_"):
            self.classes_ = self.estimator_.classes_
        return self


def goemotions_to_wassa(subset="train", *, data_home=None, download_if_missing=True, labels=None):
    """GoEmotions comments with one Ekman emotion, labelled like WASSA 2021 Track 2.

    GoEmotions' 27 emotions are grouped into Ekman's six plus ``neutral`` with
    the dataset's own ``ekman_mapping.json``; these seven are exactly the WASSA
    2021 emotion labels. Comments whose labels map to more than one group are
    dropped, as WASSA@IITK did (39,555 of the 43,410 training comments
    remain).

    Parameters
    ----------
    subset : {"train", "dev", "test"}, default="train"
        GoEmotions split.
    data_home : str or path-like, default=None
        Passed to :func:`skempathy.datasets.fetch_goemotions`.
    download_if_missing : bool, default=True
        Passed to :func:`skempathy.datasets.fetch_goemotions`.
    labels : sequence of str, default=None
        Keep only these WASSA labels (for example without ``"neutral"``).
        None keeps all seven.

    Returns
    -------
    X : list of str
        The comments.
    y : ndarray of str
        Their WASSA emotion label.

    Examples
    --------
    >>> from skempathy.augment import goemotions_to_wassa
    >>> X, y = goemotions_to_wassa("dev")  # doctest: +SKIP
    >>> len(X), sorted(set(y))  # doctest: +SKIP
    (4946, ['anger', 'disgust', 'fear', 'joy', 'neutral', 'sadness', 'surprise'])
    """
    from .datasets import fetch_goemotions

    if labels is not None:
        unknown = sorted(set(labels) - set(WASSA_EMOTIONS))
        if unknown:
            raise ValueError(f"Unknown WASSA labels {unknown}; choose from {list(WASSA_EMOTIONS)}.")
    bunch = fetch_goemotions(
        subset=subset, data_home=data_home, download_if_missing=download_if_missing, mapping="ekman"
    )
    target = np.asarray(bunch.target)
    names = np.asarray(bunch.target_names, dtype=object)
    single = target.sum(axis=1) == 1
    y = names[target[single].argmax(axis=1)].astype(str)
    X = [text for text, keep in zip(bunch.data, single) if keep]
    if labels is not None:
        keep = np.isin(y, list(labels))
        X = [text for text, k in zip(X, keep) if k]
        y = y[keep]
    return X, y


def goemotions_pool(per_class=1500, *, random_state=0, data_home=None):
    """A class-stratified random subset of the GoEmotions comments in WASSA labels.

    The single-label training comments mapped to the seven WASSA emotions
    (:func:`goemotions_to_wassa`), at most ``per_class`` of each.

    Parameters
    ----------
    per_class : int, default=1500
        At most this many comments of each emotion.
    random_state : int, default=0
        Seeds the subset.
    data_home : str or path-like, default=None
        Where GoEmotions is read (see :func:`skempathy.datasets.fetch_goemotions`).

    Returns
    -------
    X : ndarray of shape (n, 1), object
        The comments, as one text column.
    y : ndarray of shape (n,), str
        Their WASSA emotion.

    Examples
    --------
    >>> from skempathy.augment import goemotions_pool
    >>> X, y = goemotions_pool(per_class=100)  # doctest: +SKIP
    >>> X.shape, len(set(y))  # doctest: +SKIP
    ((700, 1), 7)
    """
    from .datasets import get_data_home

    try:
        texts, labels = goemotions_to_wassa("train", data_home=data_home)
    except OSError as exc:
        raise OSError(
            f"The GoEmotions comments could not be read ({exc}); put the GoEmotions "
            f"files in {get_data_home(data_home)}/goemotions/ (fetch_goemotions "
            f"downloads them when online)."
        ) from exc
    rng = np.random.RandomState(random_state)
    keep = np.sort(
        np.concatenate(
            [
                rng.choice(members, size=min(per_class, len(members)), replace=False)
                for members in (np.flatnonzero(labels == label) for label in np.unique(labels))
            ]
        )
    )
    X = np.empty((len(keep), 1), dtype=object)
    X[:, 0] = [texts[i] for i in keep]
    return X, labels[keep]
