"""Target encoding and decoding shared by the fine-tuned estimators (classification /
regression)."""

import numpy as np
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_array, column_or_1d

from ..base import _check_no_missing


def _y_array(y):
    if hasattr(y, "to_numpy"):
        return y.to_numpy()
    return np.asarray(y)


def _who(est):
    return getattr(est, "_who", None) or type(est).__name__


def encode_classification(est, y, *, fit, name="y"):
    """Encode class labels (or a binary indicator matrix) for one task.

    Sets ``est.classes_`` (and ``est.multilabel_``) when ``fit``; otherwise
    checks that the labels were seen in the first fit (``warm_start``).
    Returns ``(task, encoded)``.
    """
    who = _who(est)
    y_arr = _y_array(y)
    if y_arr.ndim == 2 and y_arr.shape[1] > 1:
        if type_of_target(y_arr) != "multilabel-indicator":
            raise ValueError(
                f"{who}: a 2-D y must be a binary indicator matrix (multi-label), got "
                f"target type {type_of_target(y_arr)!r}."
            )
        if fit:
            est.classes_ = np.arange(y_arr.shape[1])
            est.multilabel_ = True
        elif not getattr(est, "multilabel_", False) or y_arr.shape[1] != len(est.classes_):
            raise ValueError(f"{who}: y does not match the labels of the first fit.")
        return {"name": name, "kind": "multilabel", "dim": y_arr.shape[1]}, y_arr.astype(np.float32)
    y_arr = column_or_1d(y_arr, warn=True)
    _check_no_missing(y_arr, who=who, column=None if name == "y" else name)
    check_classification_targets(y_arr)
    if fit:
        classes = np.unique(y_arr)
        if len(classes) < 2:
            raise ValueError(
                f"{who} needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {classes[0]!r}."
            )
        est.classes_ = classes
        est.multilabel_ = False
    check_known_labels(est, y_arr, est.classes_)
    return {"name": name, "kind": "multiclass", "dim": len(est.classes_)}, np.searchsorted(
        est.classes_, y_arr
    )


def encode_labels(y, who):
    """``(classes, codes)`` of single-column class labels ``y``, with clear errors when ``y`` is
    not a classification target or holds fewer than 2 classes (``who`` names the estimator)."""
    y = column_or_1d(_y_array(y), warn=True)
    check_classification_targets(y)
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) == 0:
        raise ValueError(f"{who}: found 0 samples in y; at least 2 are required.")
    if len(classes) < 2:
        raise ValueError(
            f"{who} needs samples of at least 2 classes in the data, but the data "
            f"contains only one class: {classes[0]!r}."
        )
    return classes, codes


def check_known_labels(est, y, classes, task=None):
    """Raise a clear error when ``y`` holds labels that were not seen in ``fit``."""
    unknown = np.setdiff1d(np.unique(np.asarray(y)), classes)
    if len(unknown):
        where = "" if task is None else f" for task {task!r}"
        raise ValueError(
            f"{_who(est)}: y contains labels not seen in fit{where}: "
            f"{list(unknown)[:10]}. Known labels: {list(classes)}."
        )


def class_weight_per_sample(est, class_weight, task, encoded):
    """Per-sample weights from ``class_weight`` (None / "balanced" / dict)."""
    if class_weight is None:
        return None
    if task["kind"] != "multiclass":
        raise ValueError(f"{_who(est)}: class_weight is not supported for multi-label y.")
    weights = compute_class_weight(class_weight, classes=est.classes_, y=est.classes_[encoded])
    return weights[encoded]


def encode_regression(est, y, *, fit, name="y"):
    """Standardise a 1-D or 2-D numeric target; sets ``y_mean_``/``y_scale_``/``n_outputs_``."""
    y_arr = check_array(
        _y_array(y), ensure_2d=False, dtype=np.float64, input_name="y", estimator=_who(est)
    )
    if y_arr.ndim > 2:
        raise ValueError(f"{_who(est)}: y must be 1-D or 2-D, got {y_arr.ndim}-D.")
    Y = y_arr.reshape(len(y_arr), -1)
    if fit:
        est.n_outputs_ = Y.shape[1]
        est._y_1d = y_arr.ndim == 1
        est.y_mean_ = Y.mean(0)
        scale = Y.std(0)
        est.y_scale_ = np.where(scale > 0, scale, 1.0)
    elif Y.shape[1] != est.n_outputs_:
        raise ValueError(
            f"{_who(est)}: y has {Y.shape[1]} outputs, the first fit had {est.n_outputs_}."
        )
    task = {"name": name, "kind": "regression", "dim": Y.shape[1]}
    return task, ((Y - est.y_mean_) / est.y_scale_).astype(np.float32)


class ClassScoresMixin:
    """``predict_proba`` and ``predict`` of a single-label classifier from its class scores.

    A subclass implements ``_class_scores(X)``: an array ``(n_samples, n_classes)`` of logits or
    log-probabilities, columns in the order of ``classes_``.
    """

    def predict_proba(self, X):
        """Class probabilities: the softmax of the class scores.

        Parameters
        ----------
        X : array-like of str, or a DataFrame as in ``fit``

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        from scipy.special import softmax

        return softmax(np.asarray(self._class_scores(X), dtype=np.float64), axis=1)

    def predict(self, X):
        """The most probable class of each text (values of ``classes_``).

        Parameters
        ----------
        X : array-like of str, or a DataFrame as in ``fit``

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        scores = np.asarray(self._class_scores(X))  # checks that the estimator is fitted
        return self.classes_[scores.argmax(1)]
