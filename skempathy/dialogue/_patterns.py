"""Utterance annotation and speaker -> listener emotion-transition patterns."""

import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._sklearn_compat import StrOptions, _fit_context
from ..base import check_texts
from ._annotator import map_emotions

__all__ = [
    "annotate_dialogues",
    "to_conversations",
    "EmotionTransitionFeaturizer",
    "emotion_patterns",
    "select_by_patterns",
    "plot_transition_matrix",
]

_SEP = "->"


def annotate_dialogues(
    frame, annotator, *, text_column="text", prefix="pred_", taxonomy=None, with_proba=True
):
    """Add per-utterance emotion labels and probabilities to a conversation frame.

    Parameters
    ----------
    frame : DataFrame
        One row per utterance (e.g. from a ``load_*`` function).
    annotator : fitted classifier
        Usually a fitted :class:`EmotionAnnotator`; any fitted classifier over
        texts with ``predict_proba`` and ``classes_`` works.
    text_column : str, default="text"
        Column holding the utterances.
    prefix : str, default="pred\\_"
        Prefix of the added columns, so gold labels (``emotion``) are kept.
    taxonomy : {"ekman", "sentiment"}, default=None
        Map the predicted GoEmotions labels to this taxonomy (the
        probabilities stay per original label).
    with_proba : bool, default=True
        Add one ``proba_<label>`` column per label.

    Returns
    -------
    annotated : DataFrame
        A copy of ``frame`` with ``<prefix>emotion`` (the most probable label),
        ``<prefix>labels`` (tuple of the labels over their tuned thresholds; the
        most probable one when none is) and the ``proba_<label>`` columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from skempathy.dialogue import EmotionAnnotator, annotate_dialogues
    >>> ann = EmotionAnnotator(encoder=TfidfVectorizer(), threshold=0.5, C=10.0).fit(
    ...     ["thanks a lot", "thank you", "so sad", "I am sad"] * 3,
    ...     [["gratitude"], ["gratitude"], ["sadness"], ["sadness"]] * 3)
    >>> frame = pd.DataFrame({"conv_id": ["c", "c"], "turn": [1, 2],
    ...                       "speaker": ["a", "b"], "text": ["I am so sad", "thank you"]})
    >>> annotate_dialogues(frame, ann)[["pred_emotion", "pred_labels"]].values.tolist()
    [['sadness', ('sadness',)], ['gratitude', ('gratitude',)]]
    """
    if text_column not in frame.columns:
        raise ValueError(
            f"Column {text_column!r} not in the frame (columns: {list(frame.columns)})."
        )
    check_is_fitted(annotator)
    texts = check_texts(frame[text_column], estimator="annotate_dialogues")
    proba = np.asarray(annotator.predict_proba(texts), dtype=float)
    classes = np.asarray(annotator.classes_)
    top = classes[np.argmax(proba, axis=1)]
    if hasattr(annotator, "predict_labels"):
        sets = annotator.predict_labels(texts)
    else:
        sets = [(c,) for c in top]
    if taxonomy is not None:
        sets = map_emotions(sets, taxonomy=taxonomy)
        top = np.array(
            [m[0] for m in map_emotions([(t,) for t in top], taxonomy=taxonomy)], dtype=object
        )
    out = frame.copy()
    out[f"{prefix}emotion"] = top
    out[f"{prefix}labels"] = pd.Series(sets, index=frame.index, dtype=object)
    if with_proba:
        probs = pd.DataFrame(proba, index=frame.index, columns=[f"proba_{c}" for c in classes])
        out = pd.concat(
            [out.drop(columns=[c for c in probs.columns if c in out.columns]), probs], axis=1
        )
    return out


def _check_frame(frame, emotion_column, extra=()):
    needed = ["conv_id", "turn", "speaker", emotion_column, *extra]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(
            f"Missing column(s) {missing} in the conversation frame (columns: "
            f"{list(frame.columns)}). Annotate it first (annotate_dialogues) or pass "
            "emotion_column= the column holding utterance emotions."
        )


def to_conversations(frame, *, emotion_column="pred_emotion", label_column=None):
    """Group a conversation frame into one item per conversation.

    Parameters
    ----------
    frame : DataFrame
        Tidy conversation frame with an emotion column.
    emotion_column : str, default="pred_emotion"
        Per-utterance emotion (a label, or a tuple of labels).
    label_column : str, default=None
        A conversation-level label (e.g. ``"context"``); its first value per
        conversation becomes ``y``.

    Returns
    -------
    X : Series
        Indexed by ``conv_id``; each value is a dict with the parallel lists
        ``"speaker"`` and ``"emotion"`` in turn order (the input of
        :class:`EmotionTransitionFeaturizer`).
    y : Series
        Only when ``label_column`` is given.

    Examples
    --------
    >>> import pandas as pd
    >>> from skempathy.dialogue import to_conversations
    >>> frame = pd.DataFrame({"conv_id": ["c", "c"], "turn": [2, 1], "speaker": ["b", "a"],
    ...                       "emotion": ["joy", "sadness"]})
    >>> to_conversations(frame, emotion_column="emotion")["c"]
    {'speaker': ['a', 'b'], 'emotion': ['sadness', 'joy']}
    """
    _check_frame(frame, emotion_column, () if label_column is None else (label_column,))
    order = {c: i for i, c in enumerate(pd.unique(frame["conv_id"]))}
    ordered = frame.assign(_o=frame["conv_id"].map(order)).sort_values(
        ["_o", "turn"], kind="stable"
    )
    ids, speakers, emotions = [], [], []
    for conv, group in ordered.groupby("_o", sort=True):
        ids.append(group["conv_id"].iloc[0])
        speakers.append(group["speaker"].tolist())
        emotions.append(group[emotion_column].tolist())
    X = pd.Series(
        [{"speaker": s, "emotion": e} for s, e in zip(speakers, emotions)],
        index=pd.Index(ids, name="conv_id"),
        dtype=object,
    )
    if label_column is None:
        return X
    y = ordered.groupby("conv_id", sort=False)[label_column].first().reindex(X.index)
    return X, y


def _as_set(value):
    if isinstance(value, (tuple, list, set, frozenset, np.ndarray)):
        return tuple(value)
    return (value,)


def _is_missing(value):
    """None, NaN or infinite (a number that cannot be an emotion label)."""
    return value is None or (isinstance(value, numbers.Real) and not np.isfinite(value))


def _check_label(label, position, turn):
    if _is_missing(label):
        raise ValueError(
            f"Conversation {position}, utterance {turn}: missing emotion "
            "(Input contains NaN, infinity or None)."
        )
    if isinstance(label, complex):
        raise ValueError("Complex data not supported as emotion labels.")
    try:
        hash(label)
    except TypeError:
        raise TypeError(
            f"Conversation {position}, utterance {turn}: an emotion label must be "
            f"hashable; the argument must be a string or a number, got "
            f"{type(label).__name__}."
        ) from None


def _conversation_items(conv, position):
    """Return (speakers, label tuples) of one conversation."""
    if isinstance(conv, Mapping):
        if "emotion" not in conv:
            raise ValueError(f"Conversation {position} is a mapping without an 'emotion' key.")
        emotions = list(conv["emotion"])
        speakers = list(conv.get("speaker", range(len(emotions))))
        if len(speakers) != len(emotions):
            raise ValueError(
                f"Conversation {position} has {len(speakers)} speakers but "
                f"{len(emotions)} emotions."
            )
    elif isinstance(conv, str):
        raise ValueError(
            f"Conversation {position} is a single string; a conversation is a "
            "sequence of utterance emotions (wrap it: [label])."
        )
    else:
        try:
            emotions = list(conv)
        except TypeError:
            raise ValueError(
                f"Conversation {position} is not a sequence of emotions: "
                f"{conv!r}. Reshape your data: pass a sequence of conversations (e.g. "
                "from to_conversations), not a 1-D sequence of labels."
            ) from None
        speakers = list(range(len(emotions)))  # alternating speakers
    sets = []
    for turn, e in enumerate(emotions):
        labels = _as_set(e)
        for label in labels:
            _check_label(label, position, turn)
        sets.append(labels)
    return speakers, sets


def _transitions(speakers, sets, source_speaker):
    """Yield (source labels, target labels, weight) for each speaker change."""
    for t in range(len(sets) - 1):
        if speakers[t] == speakers[t + 1]:
            continue
        if source_speaker is not None and speakers[t] != source_speaker:
            continue
        a, b = sets[t], sets[t + 1]
        if not a or not b:
            continue
        w = 1.0 / (len(a) * len(b))
        for x in a:
            for y in b:
                yield x, y, w


def _check_conversations(X):
    if isinstance(X, (str, bytes)):
        raise TypeError("Expected a sequence of conversations, got a single string.")
    if hasattr(X, "iloc") and hasattr(X, "columns"):
        if X.shape[1] != 1:
            raise ValueError(
                f"Expected one column of conversations, got {X.shape[1]} columns. "
                "Build conversations with skempathy.dialogue.to_conversations."
            )
        X = X.iloc[:, 0]
    if sparse.issparse(X):
        raise TypeError(
            "Sparse data was passed, but dense data is required: conversations are "
            "sequences of emotion labels."
        )
    if hasattr(X, "to_numpy"):
        X = X.to_numpy(dtype=object)
    elif not hasattr(X, "__iter__"):
        X = np.asarray(X)
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == 0:
        raise ValueError(
            f"0 feature(s) (shape={X.shape}) while a minimum of 1 is required: "
            "conversations need at least one utterance."
        )
    items = list(X)
    if len(items) == 0:
        raise ValueError("Found 0 conversations; at least 1 is required.")
    return items


class EmotionTransitionFeaturizer(TransformerMixin, BaseEstimator):
    """Conversations -> speaker-to-listener emotion-transition counts or frequencies.

    Each conversation becomes one row with a column per ordered label pair
    ``"a->b"``: how often an utterance with emotion ``a`` is answered, by the
    next speaker, with emotion ``b``. Consecutive utterances of the same speaker
    are not transitions. With label sets (multi-label annotation) every pair of
    labels counts ``1 / (|A| |B|)``, so each transition weighs 1 in total.

    Parameters
    ----------
    labels : sequence, default=None
        The emotion labels (fixes the columns and their order). None: the
        sorted labels seen in ``fit``.
    normalize : bool, default=True
        Divide each row by its number of transitions (frequencies); False
        gives raw counts. Conversations without transitions give a zero row.
    source_speaker : str, default=None
        Only count transitions that start from this speaker's utterances
        (e.g. ``"speaker"`` in EmpatheticDialogues: speaker -> listener).
    handle_unknown : {"error", "ignore"}, default="error"
        What to do with labels not seen in ``fit`` (or not in ``labels``).

    Attributes
    ----------
    labels_ : ndarray of shape (n_labels,)
        The emotion labels.
    n_features_out_ : int
        ``n_labels ** 2``.

    Examples
    --------
    >>> from skempathy.dialogue import EmotionTransitionFeaturizer
    >>> conversations = [["sadness", "caring", "sadness", "caring"],
    ...                  {"speaker": ["a", "a", "b"], "emotion": ["joy", "joy", "sadness"]}]
    >>> feat = EmotionTransitionFeaturizer(normalize=False).fit(conversations)
    >>> feat.get_feature_names_out()[:3].tolist()
    ['caring->caring', 'caring->joy', 'caring->sadness']
    >>> feat.transform(conversations).sum(axis=1).tolist()
    [3.0, 1.0]
    """

    _parameter_constraints = {
        "labels": ["array-like", None],
        "normalize": ["boolean"],
        "source_speaker": [None, str, numbers.Integral],
        "handle_unknown": [StrOptions({"error", "ignore"})],
    }

    def __init__(self, labels=None, *, normalize=True, source_speaker=None, handle_unknown="error"):
        self.labels = labels
        self.normalize = normalize
        self.source_speaker = source_speaker
        self.handle_unknown = handle_unknown

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the label set.

        Parameters
        ----------
        X : sequence of conversations
            Each conversation is a sequence of utterance emotions (speakers
            assumed to alternate), or a mapping with parallel ``"speaker"`` and
            ``"emotion"`` lists (see :func:`to_conversations`). An emotion is a
            label or a tuple of labels.
        y : ignored

        Returns
        -------
        self
        """
        items = _check_conversations(X)
        if self.labels is not None:
            labels = list(self.labels)
            if len(set(labels)) != len(labels):
                raise ValueError("labels contains duplicates.")
        else:
            seen = set()
            for i, conv in enumerate(items):
                _, sets = _conversation_items(conv, i)
                for s in sets:
                    seen.update(s)
            try:
                labels = sorted(seen)
            except TypeError:
                labels = sorted(seen, key=str)
        if not labels:
            raise ValueError("No emotion labels found in the conversations.")
        self.labels_ = np.array(labels, dtype=object)
        self.n_features_out_ = len(labels) ** 2
        return self

    def _counts(self, X):
        items = _check_conversations(X)
        index = {label: i for i, label in enumerate(self.labels_)}
        n = len(index)
        out = np.zeros((len(items), n * n))
        for row, conv in enumerate(items):
            speakers, sets = _conversation_items(conv, row)
            for a, b, w in _transitions(speakers, sets, self.source_speaker):
                ia, ib = index.get(a), index.get(b)
                if ia is None or ib is None:
                    if self.handle_unknown == "error":
                        unknown = a if ia is None else b
                        raise ValueError(
                            f"Conversation {row}: unknown emotion label {unknown!r}; the "
                            f"featurizer knows {self.labels_.tolist()}. Pass labels= or "
                            "handle_unknown='ignore'."
                        )
                    continue
                out[row, ia * n + ib] += w
        return out

    def transform(self, X):
        """Transition counts (or frequencies) per conversation.

        Returns
        -------
        ndarray of shape (n_conversations, n_labels ** 2)
        """
        check_is_fitted(self, "labels_")
        counts = self._counts(X)
        if self.normalize:
            totals = counts.sum(axis=1, keepdims=True)
            counts = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        return counts

    def get_feature_names_out(self, input_features=None):
        """``"source->target"`` for every ordered label pair (row-major)."""
        check_is_fitted(self, "labels_")
        return np.array([f"{a}{_SEP}{b}" for a in self.labels_ for b in self.labels_], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.requires_fit = True
        return tags


def _transition_table(frame, emotion_column, source_speaker, labels=None):
    X = to_conversations(frame, emotion_column=emotion_column)
    feat = EmotionTransitionFeaturizer(
        labels=labels, normalize=False, source_speaker=source_speaker
    ).fit(X)
    counts = feat.transform(X)
    return feat, counts


def emotion_patterns(
    frame,
    *,
    emotion_column="pred_emotion",
    source_speaker=None,
    group_column=None,
    min_count=1,
    sort_by="lift",
):
    """Rank speaker -> listener emotion transitions by their lift over chance or their count.

    Chance is independence of the two emotions of a transition: with ``N``
    transitions in total, the expected count of ``a -> b`` is
    ``N * P(source=a) * P(target=b)``; ``lift = count / expected``. Ranking by
    lift finds the transitions that are *typical* of the corpus; ranking by
    count finds the *common* ones (the pairs "Emotion Modeling for Improving
    Empathy in Conversations" selects its training data with).

    Parameters
    ----------
    frame : DataFrame
        Annotated conversation frame (``conv_id``, ``turn``, ``speaker`` and
        ``emotion_column``).
    emotion_column : str, default="pred_emotion"
        Per-utterance emotion (label or tuple of labels).
    source_speaker : str, default=None
        Only transitions starting from this speaker (e.g. ``"speaker"`` for
        EmpatheticDialogues' speaker -> listener).
    group_column : str, default=None
        A conversation-level column (e.g. ``"context"`` or an empathy label).
        When given, the table is computed within each group and has the extra
        columns ``group`` and ``lift_vs_all`` (the pattern's share of
        transitions in the group over its share in all conversations).
    min_count : float, default=1
        Drop transitions seen fewer times.
    sort_by : {"lift", "count"}, default="lift"
        Order of the rows: by ``lift`` (ties by ``count``) or by ``count``
        (ties by ``lift``), descending.

    Returns
    -------
    table : DataFrame
        Columns ``source``, ``target``, ``count``, ``share`` (of all
        transitions), ``p_target_given_source``, ``expected``, ``lift``,
        ``n_conversations`` (conversations holding it), sorted as
        ``sort_by`` says.

    Examples
    --------
    >>> import pandas as pd
    >>> from skempathy.dialogue import emotion_patterns
    >>> frame = pd.DataFrame({
    ...     "conv_id": ["a"] * 4 + ["b"] * 2, "turn": [1, 2, 3, 4, 1, 2],
    ...     "speaker": ["s", "l", "s", "l", "s", "l"],
    ...     "emotion": ["sadness", "caring", "sadness", "caring", "joy", "joy"]})
    >>> table = emotion_patterns(frame, emotion_column="emotion", source_speaker="s")
    >>> table[["source", "target", "count", "lift"]].values.tolist()
    [['joy', 'joy', 1.0, 3.0], ['sadness', 'caring', 2.0, 1.5]]
    >>> emotion_patterns(frame, emotion_column="emotion", source_speaker="s",
    ...                  sort_by="count")["source"].tolist()
    ['sadness', 'joy']
    """
    if sort_by not in ("lift", "count"):
        raise ValueError(f"sort_by must be 'lift' or 'count', got {sort_by!r}.")
    _check_frame(frame, emotion_column, () if group_column is None else (group_column,))
    if group_column is None:
        feat, counts = _transition_table(frame, emotion_column, source_speaker)
        return _rank(feat.labels_, counts, min_count, sort_by)
    feat, all_counts = _transition_table(frame, emotion_column, source_speaker)
    overall = all_counts.sum(axis=0)
    overall_share = overall / max(overall.sum(), 1e-12)
    tables = []
    for value, sub in frame.groupby(group_column, sort=True):
        _, counts = _transition_table(sub, emotion_column, source_speaker, labels=feat.labels_)
        table = _rank(feat.labels_, counts, min_count, sort_by)
        n = len(feat.labels_)
        pos = {
            (a, b): i * n + j
            for i, a in enumerate(feat.labels_)
            for j, b in enumerate(feat.labels_)
        }
        base = np.array(
            [overall_share[pos[(a, b)]] for a, b in zip(table["source"], table["target"])]
        )
        table.insert(0, "group", value)
        table["lift_vs_all"] = np.divide(
            table["share"].to_numpy(), base, out=np.zeros(len(table)), where=base > 0
        )
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def _rank(labels, counts, min_count, sort_by="lift"):
    n = len(labels)
    total = counts.sum(axis=0).reshape(n, n)
    N = total.sum()
    columns = [
        "source",
        "target",
        "count",
        "share",
        "p_target_given_source",
        "expected",
        "lift",
        "n_conversations",
    ]
    if N == 0:
        return pd.DataFrame(columns=columns)
    p_source = total.sum(axis=1) / N
    p_target = total.sum(axis=0) / N
    expected = N * np.outer(p_source, p_target)
    rows_sum = total.sum(axis=1, keepdims=True)
    cond = np.divide(total, rows_sum, out=np.zeros_like(total), where=rows_sum > 0)
    lift = np.divide(total, expected, out=np.zeros_like(total), where=expected > 0)
    support = (counts > 0).sum(axis=0).reshape(n, n)
    src, tgt = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    table = pd.DataFrame(
        {
            "source": np.asarray(labels, dtype=object)[src.ravel()],
            "target": np.asarray(labels, dtype=object)[tgt.ravel()],
            "count": total.ravel(),
            "share": total.ravel() / N,
            "p_target_given_source": cond.ravel(),
            "expected": expected.ravel(),
            "lift": lift.ravel(),
            "n_conversations": support.ravel(),
        }
    )
    table = table[table["count"] >= min_count]
    keys = ["lift", "count"] if sort_by == "lift" else ["count", "lift"]
    return table.sort_values(keys, ascending=False, kind="stable").reset_index(drop=True)


def _pattern_pairs(patterns):
    if hasattr(patterns, "columns"):
        if not {"source", "target"} <= set(patterns.columns):
            raise ValueError(
                "A patterns table needs 'source' and 'target' columns (see emotion_patterns)."
            )
        return set(zip(patterns["source"], patterns["target"]))
    pairs = set()
    for p in patterns:
        if isinstance(p, str):
            if _SEP not in p:
                raise ValueError(f"Pattern {p!r} must look like 'source{_SEP}target'.")
            a, b = p.split(_SEP, 1)
            pairs.add((a, b))
        else:
            a, b = p
            pairs.add((a, b))
    if not pairs:
        raise ValueError("No patterns given.")
    return pairs


def select_by_patterns(
    frame,
    patterns,
    *,
    min_share=0.5,
    min_count=1,
    emotion_column="pred_emotion",
    source_speaker=None,
    return_scores=False,
):
    """Keep the conversations whose transitions follow the given patterns.

    Parameters
    ----------
    frame : DataFrame
        Annotated conversation frame.
    patterns : DataFrame, or iterable of (source, target) or ``"source->target"``
        The patterns, e.g. the top rows of :func:`emotion_patterns`.
    min_share : float in [0, 1], default=0.5
        Minimum share of a conversation's transitions that match a pattern.
    min_count : float, default=1
        Minimum number of matching transitions.
    emotion_column : str, default="pred_emotion"
        Per-utterance emotion column.
    source_speaker : str, default=None
        Only consider transitions starting from this speaker.
    return_scores : bool, default=False
        Also return a DataFrame (index ``conv_id``) with each conversation's
        ``n_transitions``, ``n_matching`` and ``share``.

    Returns
    -------
    subset : DataFrame
        The rows of ``frame`` that belong to the selected conversations.
    scores : DataFrame
        Only if ``return_scores``.

    Examples
    --------
    >>> import pandas as pd
    >>> from skempathy.dialogue import select_by_patterns
    >>> frame = pd.DataFrame({
    ...     "conv_id": ["a"] * 3 + ["b"] * 3, "turn": [1, 2, 3] * 2,
    ...     "speaker": ["s", "l", "s"] * 2,
    ...     "emotion": ["sadness", "caring", "joy", "joy", "anger", "anger"]})
    >>> sub = select_by_patterns(frame, ["sadness->caring"], min_share=0.5,
    ...                          emotion_column="emotion")
    >>> sub["conv_id"].unique().tolist()
    ['a']
    """
    if not 0 <= min_share <= 1:
        raise ValueError(f"min_share must be in [0, 1], got {min_share}.")
    pairs = _pattern_pairs(patterns)
    X = to_conversations(frame, emotion_column=emotion_column)
    rows = []
    for i, conv in enumerate(X):
        speakers, sets = _conversation_items(conv, i)
        total = matched = 0.0
        for a, b, w in _transitions(speakers, sets, source_speaker):
            total += w
            if (a, b) in pairs:
                matched += w
        rows.append((total, matched))
    scores = pd.DataFrame(rows, index=X.index, columns=["n_transitions", "n_matching"])
    scores["share"] = np.divide(
        scores["n_matching"],
        scores["n_transitions"],
        out=np.zeros(len(scores)),
        where=scores["n_transitions"].to_numpy() > 0,
    )
    keep = scores.index[
        (scores["n_transitions"] > 0)
        & (scores["share"] >= min_share)
        & (scores["n_matching"] >= min_count)
    ]
    subset = frame[frame["conv_id"].isin(set(keep))]
    if return_scores:
        return subset, scores
    return subset


def plot_transition_matrix(
    table, *, value="lift", labels=None, ax=None, cmap=None, annotate=True, log=None
):
    """Heatmap of a transition table (source emotions in rows, targets in columns).

    Parameters
    ----------
    table : DataFrame
        Output of :func:`emotion_patterns` (without ``group_column``).
    value : str, default="lift"
        Column to show (``"lift"``, ``"count"``, ``"share"``,
        ``"p_target_given_source"``).
    labels : sequence, default=None
        Row/column order (default: labels sorted by how often they are a source).
    ax : matplotlib Axes, default=None
        Where to draw (a new figure when None).
    cmap : str, default=None
        Colour map (``"RdBu_r"`` centred on 1 in log scale for lift,
        ``"viridis"`` otherwise).
    annotate : bool, default=True
        Write the values in the cells.
    log : bool, default=None
        Colour by log2 (default for lift).

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if value not in table.columns:
        raise ValueError(f"Column {value!r} not in the table ({list(table.columns)}).")
    if labels is None:
        order = table.groupby("source")["count"].sum().sort_values(ascending=False, kind="stable")
        labels = list(order.index)
        labels += [t for t in pd.unique(table["target"]) if t not in labels]
    matrix = table.pivot_table(
        index="source", columns="target", values=value, aggfunc="sum"
    ).reindex(index=labels, columns=labels)
    log = (value == "lift") if log is None else log
    shown = matrix.to_numpy(dtype=float)
    if log:
        shown = np.log2(np.where(shown > 0, shown, np.nan))
    if ax is None:
        size = max(4.0, 0.45 * len(labels) + 2)
        _, ax = plt.subplots(figsize=(size + 1, size))
    if cmap is None:
        cmap = "RdBu_r" if value == "lift" else "viridis"
    finite = shown[np.isfinite(shown)]
    kw = {}
    if value == "lift" and finite.size:
        bound = float(np.nanmax(np.abs(finite)))
        kw = {"vmin": -bound, "vmax": bound}
    im = ax.imshow(shown, cmap=cmap, aspect="auto", **kw)
    ax.set_xticks(range(len(labels)), labels=labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels=labels)
    ax.set_xlabel("listener emotion (next turn)")
    ax.set_ylabel("speaker emotion")
    cbar = ax.figure.colorbar(im, ax=ax)
    cbar.set_label(f"log2 {value}" if log else value)
    if annotate and len(labels) <= 15:
        values = matrix.to_numpy(dtype=float)
        for i in range(len(labels)):
            for j in range(len(labels)):
                if np.isfinite(values[i, j]):
                    ax.text(j, i, f"{values[i, j]:.1f}", ha="center", va="center", fontsize=7)
    return ax
