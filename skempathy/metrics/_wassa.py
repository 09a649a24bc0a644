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


def wassa_evaluate(y_true, y_pred):
    """Official WASSA 2021 scores for Track 1 (regression) or Track 2 (emotion).

    The track is inferred from ``y_true``: float scores are Track 1, labels
    (strings or integers) are Track 2. Track 1 reports Pearson r per output and their
    average (the official ranking score); Track 2 reports macro F1 (the
    official ranking score), micro F1, accuracy and macro/micro precision and
    recall, as the task's evaluation script did.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Gold scores or labels. A DataFrame's column names name the outputs.
    y_pred : array-like
        Predictions of the same shape.

    Returns
    -------
    scores : dict of str to float
        Track 1, one output: ``{"pearson"}``; several outputs:
        ``{"<name>_pearson", ..., "average_pearson"}`` (two unnamed outputs
        are empathy and distress). Track 2: ``macro_f1``, ``micro_f1``,
        ``accuracy``, ``macro_precision``, ``macro_recall``,
        ``micro_precision``, ``micro_recall``.

    Examples
    --------
    >>> from skempathy.metrics import wassa_evaluate
    >>> scores = wassa_evaluate(["joy", "anger", "joy"], ["joy", "joy", "joy"])
    >>> round(scores["accuracy"], 3), round(scores["macro_f1"], 3)
    (0.667, 0.4)
    """
    kind = type_of_target(y_true)
    # Float scores that happen to be whole numbers (7.0) are still Track 1 scores.
    if kind in ("continuous", "continuous-multioutput") or (
        np.asarray(y_true).dtype.kind == "f"
    ):
        true = np.asarray(y_true, dtype=float)
        if true.ndim == 1:
            return {"pearson": pearson_score(y_true, y_pred)}
        raw = pearson_score(y_true, y_pred, multioutput="raw_values")
        scores = {f"{name}_pearson": float(r)
                  for name, r in zip(_output_names(y_true, true.shape[1]), raw)}
        scores["average_pearson"] = float(np.mean(raw))
        return scores
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"wassa_evaluate expects continuous scores (Track 1) or class labels (Track 2); "
            f"got target type {kind!r}."
        )
    scores = {"macro_f1": f1_score(y_true, y_pred, average="macro", zero_division=0),
              "micro_f1": f1_score(y_true, y_pred, average="micro", zero_division=0),
              "accuracy": accuracy_score(y_true, y_pred)}
    for average in ("macro", "micro"):
        scores[f"{average}_precision"] = precision_score(y_true, y_pred, average=average,
                                                         zero_division=0)
        scores[f"{average}_recall"] = recall_score(y_true, y_pred, average=average,
                                                   zero_division=0)
    return {k: float(v) for k, v in scores.items()}
