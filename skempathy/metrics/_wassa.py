"""The official WASSA 2021 evaluation for both tracks."""

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score
from sklearn.utils.multiclass import type_of_target

from ._regression import pearson_score

__all__ = ["wassa_evaluate"]


def _output_names(y_true, n_outputs):
    columns = getattr(y_true, "columns", None)
    if columns is not None:
        return [str(c) for c in columns]
    if n_outputs == 2:
        return ["empathy", "distress"]
    return [f"output{j}" for j in range(n_outputs)]


def _mixed_frame(y):
    """Whether ``y`` is a DataFrame with both score (float) and label columns."""
    dtypes = getattr(y, "dtypes", None)
    if dtypes is None or getattr(y, "ndim", 1) != 2:
        return False
    floats = [dtype.kind == "f" for dtype in dtypes]
    return any(floats) and not all(floats)


def _aligned(y_true, y_pred):
    """``y_pred`` as a DataFrame with the columns (and index) of the mixed frame ``y_true``."""
    import pandas as pd

    columns = list(y_true.columns)
    if isinstance(y_pred, pd.DataFrame):
        missing = [c for c in columns if c not in y_pred.columns]
        if missing:
            raise ValueError(f"y_pred lacks the columns {missing} of y_true.")
        return y_pred[columns]
    y_pred = np.asarray(y_pred, dtype=object)
    if y_pred.ndim != 2 or y_pred.shape[1] != len(columns):
        raise ValueError(
            f"y_pred must have the {len(columns)} columns of y_true "
            f"({columns}); got shape {y_pred.shape}."
        )
    return pd.DataFrame(y_pred, columns=columns, index=y_true.index)


def _tracks(y_true):
    """The score (float) columns and the label columns of a mixed frame."""
    floats = [c for c in y_true.columns if y_true[c].dtype.kind == "f"]
    return floats, [c for c in y_true.columns if c not in floats]


def _evaluate_tracks(y_true, y_pred):
    y_pred = _aligned(y_true, y_pred)
    floats, labels = _tracks(y_true)
    scores = {}
    for name in labels:
        track2 = wassa_evaluate(y_true[name], y_pred[name])
        prefix = f"{name}_" if len(labels) > 1 else ""
        scores.update({prefix + key: value for key, value in track2.items()})
    # Predicted scores may arrive as object columns (a frame that also holds labels); a
    # one-column frame still gives "<name>_pearson" and "average_pearson".
    scores.update(wassa_evaluate(y_true[floats], y_pred[floats].astype(float)))
    return scores


def _track_of(y_true, key):
    """The columns of the mixed frame ``y_true`` that :func:`wassa_evaluate`'s ``key`` scores,
    and the metric name that scores them alone (for :func:`bootstrap_test`)."""
    floats, labels = _tracks(y_true)
    if key == "average_pearson":
        return floats, key
    for name in floats:
        if key == f"{name}_pearson":
            return [name], "pearson"
    for name in labels:
        prefix = f"{name}_" if len(labels) > 1 else ""
        for metric in ("macro_f1", "micro_f1", "accuracy"):
            if key == prefix + metric:
                return [name], metric
    raise ValueError(
        f"Unknown metric {key!r} for the columns {list(y_true.columns)}; "
        f"expected 'average_pearson', '<score column>_pearson' or, for the "
        f"label column, 'macro_f1', 'micro_f1' or 'accuracy'."
    )


def wassa_evaluate(y_true, y_pred):
    """Official WASSA 2021 scores for Track 1 (regression) or Track 2 (emotion).

    The track is inferred from ``y_true``: float scores are Track 1, labels
    (strings or integers) are Track 2. Track 1 reports Pearson r per output and their
    average (the official ranking score); Track 2 reports macro F1 (the
    official ranking score), micro F1, accuracy and macro/micro precision and
    recall, as the task's evaluation script did.

    A DataFrame that holds both, such as WASSA 2022's ``emotion``, ``empathy`` and
    ``distress`` columns (the output of a multi-task model), is scored per track: its
    float columns as Track 1, its label column as Track 2, in one dict.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Gold scores or labels. A DataFrame's column names name the outputs.
    y_pred : array-like
        Predictions of the same shape (for a DataFrame ``y_true``, a DataFrame with
        its columns or an array in its column order).

    Returns
    -------
    scores : dict of str to float
        Track 1, one output: ``{"pearson"}``; several outputs:
        ``{"<name>_pearson", ..., "average_pearson"}`` (two unnamed outputs
        are empathy and distress). Track 2: ``macro_f1``, ``micro_f1``,
        ``accuracy``, ``macro_precision``, ``macro_recall``,
        ``micro_precision``, ``micro_recall``. A DataFrame with both: the keys
        of both tracks, with the Track 2 keys prefixed ``"<name>_"`` when it has
        more than one label column.

    Examples
    --------
    >>> from skempathy.metrics import wassa_evaluate
    >>> scores = wassa_evaluate(["joy", "anger", "joy"], ["joy", "joy", "joy"])
    >>> round(scores["accuracy"], 3), round(scores["macro_f1"], 3)
    (0.667, 0.4)

    Both tracks at once, from a multi-task frame:

    >>> import pandas as pd
    >>> gold = pd.DataFrame({"emotion": ["joy", "anger", "joy"],
    ...                      "empathy": [1.0, 4.0, 6.0], "distress": [2.0, 3.0, 1.0]})
    >>> scores = wassa_evaluate(gold, gold)
    >>> round(scores["macro_f1"], 3), round(scores["average_pearson"], 3)
    (1.0, 1.0)
    """
    if _mixed_frame(y_true):
        return _evaluate_tracks(y_true, y_pred)
    kind = type_of_target(y_true)
    # Float scores that happen to be whole numbers (7.0) are still Track 1 scores.
    if kind in ("continuous", "continuous-multioutput") or (np.asarray(y_true).dtype.kind == "f"):
        true = np.asarray(y_true, dtype=float)
        if true.ndim == 1:
            return {"pearson": pearson_score(y_true, y_pred)}
        raw = pearson_score(y_true, y_pred, multioutput="raw_values")
        scores = {
            f"{name}_pearson": float(r)
            for name, r in zip(_output_names(y_true, true.shape[1]), raw)
        }
        scores["average_pearson"] = float(np.mean(raw))
        return scores
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"wassa_evaluate expects continuous scores (Track 1) or class labels (Track 2); "
            f"got target type {kind!r}."
        )
    scores = {
        "macro_f1": f1_score(y_true, y_pred, average="macro", zero_division=0),
        "micro_f1": f1_score(y_true, y_pred, average="micro", zero_division=0),
        "accuracy": accuracy_score(y_true, y_pred),
    }
    for average in ("macro", "micro"):
        scores[f"{average}_precision"] = precision_score(
            y_true, y_pred, average=average, zero_division=0
        )
        scores[f"{average}_recall"] = recall_score(y_true, y_pred, average=average, zero_division=0)
    return {k: float(v) for k, v in scores.items()}
