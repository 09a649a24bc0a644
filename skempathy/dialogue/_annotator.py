"""A GoEmotions multi-label emotion annotator for utterances."""

import numbers
import os

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ..utils._sklearn_compat import HasMethods, Interval, StrOptions, _fit_context
from ..base import TextInputMixin, _check_no_missing, check_texts, check_y_given
from ..datasets._goemotions import EKMAN_MAPPING, GOEMOTIONS_LABELS, SENTIMENT_MAPPING

__all__ = [
    "EmotionAnnotator",
    "map_emotions",
    "GOEMOTIONS_LABELS",
    "EKMAN_MAPPING",
    "SENTIMENT_MAPPING",
]

_TAXONOMIES = {
    "goemotions": (GOEMOTIONS_LABELS, None),
    "ekman": (tuple(EKMAN_MAPPING), EKMAN_MAPPING),
    "sentiment": (tuple(SENTIMENT_MAPPING), SENTIMENT_MAPPING),
}


def _inverse(mapping):
    return {fine: coarse for coarse, fines in mapping.items() for fine in fines}


def map_emotions(label_sets, taxonomy="ekman"):
    """Map GoEmotions label sets to the Ekman or sentiment taxonomy.

    Parameters
    ----------
    label_sets : iterable of iterable of str
        GoEmotions labels per example (e.g. ``[("joy", "love"), ("neutral",)]``).
        Labels that already belong to the target taxonomy are kept as they are.
    taxonomy : {"ekman", "sentiment", "goemotions"}, default="ekman"
        Target taxonomy, using GoEmotions' own ``ekman_mapping.json`` and
        ``sentiment_dict.json`` (neutral stays neutral).

    Returns
    -------
    mapped : list of tuple of str
        Sorted, de-duplicated labels per example.

    Examples
    --------
    >>> from skempathy.dialogue import map_emotions
    >>> map_emotions([("joy", "love"), ("annoyance", "fear"), ("neutral",)])
    [('joy',), ('anger', 'fear'), ('neutral',)]
    >>> map_emotions([("curiosity",)], taxonomy="sentiment")
    [('ambiguous',)]
    """
    if taxonomy not in _TAXONOMIES:
        raise ValueError(f"taxonomy must be one of {sorted(_TAXONOMIES)}, got {taxonomy!r}.")
    names, mapping = _TAXONOMIES[taxonomy]
    inverse = {} if mapping is None else _inverse(mapping)
    known = set(names)
    out = []
    for i, labels in enumerate(label_sets):
        if isinstance(labels, str):
            labels = (labels,)
        mapped = set()
        for label in labels:
            if label in known:
                mapped.add(label)
            elif label in inverse:
                mapped.add(inverse[label])
            else:
                raise ValueError(
                    f"Unknown emotion label {label!r} at position {i}: not a GoEmotions "
                    f"label nor one of the {taxonomy} labels {sorted(known)}."
                )
        out.append(tuple(sorted(mapped)))
    return out


def _is_label_sets(y):
    """True if y is a sequence whose items are label collections (lists/tuples/sets)."""
    if hasattr(y, "ndim") and getattr(y, "ndim", 1) == 2:
        return False
    try:
        first = next(iter(y))
    except (TypeError, StopIteration):
        return False
    return isinstance(first, (list, tuple, set, frozenset, np.ndarray)) and not (
        isinstance(first, np.ndarray) and first.ndim == 0
    )


def _positive_proba(proba, n_labels):
    """Normalise multi-label predict_proba output to an (n, n_labels) array."""
    if isinstance(proba, list):  # one (n, 2) array per label (e.g. KNeighbors, RandomForest)
        return np.column_stack([p[:, -1] for p in proba])
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.shape[1] != n_labels:
        raise ValueError(
            f"The estimator's predict_proba returned shape {proba.shape}; "
            f"expected (n_samples, {n_labels}) for {n_labels} labels."
        )
    return proba


def _tune_thresholds(Y, proba, grid):
    """Per-label threshold maximising F1 of ``proba >= t`` against ``Y``."""
    Y = np.asarray(Y, dtype=bool)
    best = np.full(Y.shape[1], 0.5)
    for j in range(Y.shape[1]):
        pos = Y[:, j]
        if not pos.any():
            continue
        pred = proba[:, j][:, None] >= grid[None, :]
        tp = (pred & pos[:, None]).sum(axis=0)
        fp = (pred & ~pos[:, None]).sum(axis=0)
        fn = pos.sum() - tp
        f1 = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
        ties = grid[np.isclose(f1, f1.max())]
        best[j] = float(np.median(ties))  # middle of the best-F1 plateau, not its low edge
    return best


class EmotionAnnotator(TextInputMixin, ClassifierMixin, BaseEstimator):
    """Multi-label utterance emotion classifier (GoEmotions, Ekman or sentiment labels).

    The default model encodes texts with the embedded MiniLM sentence encoder
    (frozen) and fits one logistic regression per label (one-vs-rest). Any
    estimator that takes raw texts and a multi-label indicator matrix and has
    ``predict_proba`` can replace it (e.g. a fine-tuned transformer classifier).
    A decision threshold is tuned per label to maximise that label's F1 on
    development data (``fit(..., X_dev=, y_dev=)``, as in the GoEmotions paper)
    or, without it, on out-of-fold training predictions.

    Parameters
    ----------
    estimator : estimator, default=None
        Multi-label text classifier with ``fit(texts, Y_indicator)`` and
        ``predict_proba``. None: embedded encoder + per-label logistic
        regression.
    taxonomy : {"goemotions", "ekman", "sentiment"} or None, default="goemotions"
        Label space of the annotator. With ``"ekman"``/``"sentiment"``,
        GoEmotions training labels are mapped with the dataset's own mapping
        files before fitting. None: use the training labels as they are (any
        label set).
    threshold : "tune" or float in (0, 1), default="tune"
        Per-label threshold on ``predict_proba`` used by ``predict``:
        ``"tune"`` maximises each label's F1 on dev (or out-of-fold) data; a
        float applies the same threshold to every label.
    encoder : str or transformer, default="minilm"
        Featurizer of the default model: a sentence-transformers model name or
        path (embedded names such as ``"minilm"`` work offline), or any sklearn
        transformer over texts (e.g. ``TfidfVectorizer()``). Unused when
        ``estimator`` is given.
    C : float, default=1.0
        Inverse regularisation of the default logistic-regression head.
    cv : int, default=3
        Folds for out-of-fold threshold tuning when no dev data is given.
    batch_size : int, default=64
        Encoding batch size of the default encoder.
    cache_dir : str or path-like, default=None
        Folder of the embedding cache (:class:`~skempathy.text.SentenceEmbedder`'s
        ``cache``): re-fitting or annotating the same texts, also in another
        process, does not re-encode them. None: the process's memory cache.
    device : str, default="auto"
        Torch device of the default encoder.
    n_jobs : int, default=None
        Parallel jobs of the one-vs-rest head.
    random_state : int, RandomState instance or None, default=None
        Seeds the out-of-fold split.
    show_progress : bool, default=False
        Show an encoding progress bar.

    Attributes
    ----------
    classes_ : ndarray of shape (n_labels,)
        Label names, in the column order of ``predict_proba``/``predict``.
    multilabel_ : bool
        True when fitted on label sets / an indicator matrix; False when fitted
        on one label per text (then ``predict`` returns one label per text).
    thresholds_ : ndarray of shape (n_labels,)
        Per-label decision thresholds (multi-label only).
    model_ : estimator
        The fitted text -> probabilities model.

    See Also
    --------
    annotate_dialogues : Annotate every utterance of a conversation frame.
    map_emotions : Map GoEmotions labels to Ekman or sentiment groups.

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from skempathy.dialogue import EmotionAnnotator
    >>> texts = ["thank you so much", "thanks a lot!", "this is awful", "I hate this",
    ...          "ok", "fine I guess"] * 5
    >>> labels = [["gratitude"], ["gratitude", "joy"], ["anger"], ["anger", "disgust"],
    ...           ["neutral"], ["neutral"]] * 5
    >>> ann = EmotionAnnotator(encoder=TfidfVectorizer(), taxonomy="ekman", C=10.0,
    ...                        threshold=0.3).fit(texts, labels)
    >>> ann.classes_.tolist()
    ['anger', 'disgust', 'joy', 'neutral']
    >>> ann.predict_labels(["thanks so much", "I hate it"])
    [('joy',), ('anger', 'disgust')]
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "taxonomy": [StrOptions(set(_TAXONOMIES)), None],
        "threshold": [StrOptions({"tune"}), Interval(numbers.Real, 0, 1, closed="neither")],
        "encoder": [str, HasMethods(["fit", "transform"])],
        "C": [Interval(numbers.Real, 0, None, closed="neither")],
        "cv": [Interval(numbers.Integral, 2, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "cache_dir": [str, os.PathLike, None],
        "device": [str],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
        "show_progress": ["boolean"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        taxonomy="goemotions",
        threshold="tune",
        encoder="minilm",
        C=1.0,
        cv=3,
        batch_size=64,
        cache_dir=None,
        device="auto",
        n_jobs=None,
        random_state=None,
        show_progress=False,
    ):
        self.estimator = estimator
        self.taxonomy = taxonomy
        self.threshold = threshold
        self.encoder = encoder
        self.C = C
        self.cv = cv
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.show_progress = show_progress

    # ------------------------------------------------------------------ helpers
    def _make_encoder(self):
        if isinstance(self.encoder, str):
            from ..text import SentenceEmbedder

            # unit-norm sentence embeddings, through the package's one embedding cache
            return SentenceEmbedder(
                self.encoder,
                batch_size=self.batch_size,
                device=self.device,
                normalize=True,
                cache=self.cache_dir,
                show_progress=self.show_progress,
            )
        return clone(self.encoder)

    def _make_head(self):
        lr = LogisticRegression(C=self.C, max_iter=2000)
        return OneVsRestClassifier(lr, n_jobs=self.n_jobs) if self.multilabel_ else lr

    def _label_sets(self, y, labels):
        """Turn y (label sets, indicator DataFrame/array) into a list of label tuples."""
        if hasattr(y, "columns") and getattr(y, "ndim", 1) == 2:  # indicator DataFrame
            names = [str(c) for c in y.columns]
            ind = np.asarray(y)
        elif _is_label_sets(y):
            return [tuple(s) for s in y]
        else:
            ind = np.asarray(y)
            if labels is None:
                if self.taxonomy is not None and ind.shape[1] == len(_TAXONOMIES[self.taxonomy][0]):
                    names = list(_TAXONOMIES[self.taxonomy][0])
                else:
                    names = list(range(ind.shape[1]))
            else:
                names = list(labels)
        if ind.ndim != 2 or len(names) != ind.shape[1]:
            raise ValueError(
                f"The indicator matrix has shape {ind.shape} but {len(names)} "
                "label names were given."
            )
        if not np.isin(ind, [0, 1]).all():
            raise ValueError("A multi-label indicator matrix must hold only 0/1 values.")
        return [tuple(names[j] for j in np.flatnonzero(row)) for row in ind]

    def _map(self, label_sets):
        if self.taxonomy is None:
            return label_sets
        return map_emotions(label_sets, taxonomy=self.taxonomy)

    def _encode_targets(self, y, labels, fitting):
        """Return (targets for the model, multilabel flag)."""
        if fitting:
            y_arr = None if _is_label_sets(y) else np.asarray(y, dtype=object)
            multilabel = y_arr is None or y_arr.ndim == 2
        else:
            multilabel = self.multilabel_
        if not multilabel:
            y_arr = np.asarray(y, dtype=object)
            if y_arr.ndim != 1:
                raise ValueError(
                    f"y must be 1-D labels, label sets or an indicator matrix; "
                    f"got shape {y_arr.shape}."
                )
            _check_no_missing(y_arr, who=type(self).__name__)
            if self.taxonomy is not None and all(isinstance(v, str) for v in y_arr):
                y_arr = np.array([m[0] for m in self._map([(v,) for v in y_arr])], dtype=object)
            if y_arr.dtype == object and not all(isinstance(v, str) for v in y_arr):
                y_arr = np.asarray(y)  # numeric labels keep their dtype
            return y_arr, False
        sets = self._map(self._label_sets(y, labels))
        return sets, True

    # ---------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, X_dev=None, y_dev=None, labels=None):
        """Fit the annotator and tune its per-label thresholds.

        Parameters
        ----------
        X : array-like of str
            Training texts.
        y : list of label lists, indicator matrix (n_samples, n_labels) or 1-D labels
            Multi-label targets as label collections (e.g. GoEmotions'
            ``frame["labels"]``), an indicator DataFrame (column names are the
            labels) or array (see ``labels``); or one label per text (then the
            annotator is a plain multi-class classifier).
        X_dev, y_dev : array-like, default=None
            Development data for threshold tuning (same formats as X, y).
        labels : sequence of str, default=None
            Names of the indicator columns when ``y`` is an unnamed array
            (e.g. ``bunch.target_names``). If omitted and the width matches
            ``taxonomy``, that taxonomy's standard order is assumed.

        Returns
        -------
        self : EmotionAnnotator
        """
        check_y_given(y, self)
        texts = check_texts(X, estimator=self)
        self._set_input_names(X)
        if not _is_label_sets(y) and np.ndim(y) == 1:
            check_classification_targets(y)
            if len(np.unique(np.asarray(y, dtype=object).astype(str))) < 2:
                raise ValueError("Classifier can't train when only one class is present in y.")
        if X_dev is not None and y_dev is None or y_dev is not None and X_dev is None:
            raise ValueError("Pass both X_dev and y_dev (or neither).")
        targets, multilabel = self._encode_targets(y, labels, fitting=True)
        if len(targets) != len(texts):
            raise ValueError(f"X has {len(texts)} texts but y has {len(targets)} targets.")
        self.multilabel_ = multilabel
        if multilabel:
            known = None if self.taxonomy is None else list(_TAXONOMIES[self.taxonomy][0])
            binarizer = MultiLabelBinarizer(classes=known) if known else MultiLabelBinarizer()
            Y = binarizer.fit_transform(targets)
            present = Y.any(axis=0)
            if known is not None:  # keep the taxonomy's labels seen in training, in its order
                Y = Y[:, present]
                self.classes_ = np.array([c for c, p in zip(known, present) if p], dtype=object)
            else:
                self.classes_ = np.asarray(binarizer.classes_)
            if Y.shape[1] < 2:
                raise ValueError(
                    f"Need at least 2 distinct labels to fit; got {self.classes_.tolist()}."
                )
            if (Y.all(axis=0)).any():
                raise ValueError("A label is present on every training text; nothing to learn.")
        else:
            Y = targets
            if len(np.unique(Y)) < 2:
                raise ValueError(f"Need at least 2 classes to fit; got {np.unique(Y).tolist()}.")

        if self.estimator is None:
            encoder = self._make_encoder()
            features = encoder.fit_transform(texts)
            head = self._make_head().fit(features, Y)
            self.model_ = Pipeline([("encoder", encoder), ("head", head)])
        else:
            features, encoder = texts, None
            self.model_ = clone(self.estimator).fit(texts, Y)
        if not multilabel:
            self.classes_ = np.asarray(self.model_.classes_)
            return self

        if self.threshold != "tune":
            self.thresholds_ = np.full(len(self.classes_), float(self.threshold))
            return self
        if X_dev is not None:
            dev_texts = check_texts(X_dev, estimator=self)
            dev_sets = self._map(self._label_sets(y_dev, labels))
            Y_tune = self._indicator(dev_sets, strict=False)
            proba = self._proba_texts(dev_texts)
        else:
            splitter = KFold(self.cv, shuffle=True, random_state=self.random_state)
            model = head if self.estimator is None else clone(self.estimator)
            proba = _positive_proba(
                cross_val_predict(model, features, Y, cv=splitter, method="predict_proba"),
                len(self.classes_),
            )
            Y_tune = Y
        grid = np.round(np.arange(0.01, 1.0, 0.01), 2)
        self.thresholds_ = _tune_thresholds(Y_tune, proba, grid)
        return self

    def _indicator(self, label_sets, strict=True):
        index = {c: j for j, c in enumerate(self.classes_)}
        Y = np.zeros((len(label_sets), len(index)), dtype=int)
        for i, labels in enumerate(label_sets):
            for label in labels:
                if label in index:
                    Y[i, index[label]] = 1
                elif strict:
                    raise ValueError(
                        f"Unknown label {label!r} at position {i}; the annotator "
                        f"knows {self.classes_.tolist()}."
                    )
        return Y

    def _proba_texts(self, texts):
        if self.estimator is None:
            features = self.model_.named_steps["encoder"].transform(texts)
            proba = self.model_.named_steps["head"].predict_proba(features)
        else:
            proba = self.model_.predict_proba(texts)
        if not self.multilabel_:
            return np.asarray(proba, dtype=float)
        return _positive_proba(proba, len(self.classes_))

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X):
        """Probability of each label (columns follow ``classes_``).

        Multi-label: independent per-label probabilities (rows need not sum to
        1). Single-label: class probabilities.
        """
        check_is_fitted(self, "model_")
        return self._proba_texts(check_texts(X, estimator=self))

    def predict(self, X):
        """Predicted labels.

        Multi-label: an indicator matrix (n_samples, n_labels) of
        ``predict_proba >= thresholds_`` (columns follow ``classes_``; use
        :meth:`predict_labels` for label names). Single-label: one label per text.
        """
        proba = self.predict_proba(X)
        if not self.multilabel_:
            return self.classes_[np.argmax(proba, axis=1)]
        return (proba >= self.thresholds_).astype(int)

    def predict_labels(self, X, *, taxonomy=None, fallback="argmax"):
        """Predicted label sets as tuples of names.

        Parameters
        ----------
        X : array-like of str
            Texts.
        taxonomy : {"ekman", "sentiment"}, default=None
            Map predicted GoEmotions labels to this taxonomy.
        fallback : {"argmax", "none"}, default="argmax"
            When no label passes its threshold: ``"argmax"`` returns the most
            probable label, ``"none"`` an empty tuple.

        Returns
        -------
        list of tuple of str
        """
        if fallback not in ("argmax", "none"):
            raise ValueError(f"fallback must be 'argmax' or 'none', got {fallback!r}.")
        proba = self.predict_proba(X)
        if not self.multilabel_:
            sets = [(c,) for c in self.classes_[np.argmax(proba, axis=1)]]
        else:
            on = proba >= self.thresholds_
            sets = []
            for row, p in zip(on, proba):
                chosen = (
                    tuple(self.classes_[row])
                    if row.any()
                    else ((self.classes_[int(np.argmax(p))],) if fallback == "argmax" else ())
                )
                sets.append(chosen)
        if taxonomy is not None:
            sets = map_emotions(sets, taxonomy=taxonomy)
        return sets

    def score(self, X, y, sample_weight=None):
        """Subset accuracy (multi-label: every label right) on texts ``X``."""
        pred = self.predict(X)
        if self.multilabel_:
            y = self._indicator(self._map(self._label_sets(y, None)), strict=False)
        return accuracy_score(y, pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
