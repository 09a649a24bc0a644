"""Fine-tuned transformer classifier and regressor (thin subclasses of the base)."""

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._docstring import Substitution
from ..utils._sklearn_compat import StrOptions
from ..base import TextInputMixin
from . import _targets
from ._base import _BaseTransformerEstimator
from ._params import shared_param_docs

COMMON_ATTRS_DOC = """model_ : torch.nn.Module
        The fine-tuned encoder with its task heads (``model_.encoder``,
        ``model_.head``).
    tokenizer_ : transformers tokenizer
    device_ : str
        Device the model lives on (``"cpu"`` after unpickling without CUDA).
    history_ : list of dict
        One dict per epoch: ``epoch``, ``train_loss``, ``valid_score`` (with
        early stopping), ``learning_rate``, ``n_samples``, ``duration_s``,
        ``samples_per_s``, ``best``.
    best_epoch_ : int
        Epoch whose weights were kept (the last completed one without early
        stopping). With ``warm_start``, a resumed fit keeps the earlier best
        weights unless one of its epochs beats ``best_score_``.
    best_score_ : float or None
        Validation score of ``best_epoch_`` (None without early stopping).
    n_iter_ : int
        Number of epochs run (over all warm-started fits).
    interrupted_ : bool
        Whether the last fit was stopped by KeyboardInterrupt. The weights
        kept are the best so far: the best validation epoch with early
        stopping, else the end of the last completed epoch.
    train_samples_per_s_ : float
        Mean training throughput of the last fit."""


@Substitution(**shared_param_docs(), common_attrs=COMMON_ATTRS_DOC)
class TransformerClassifier(TextInputMixin, ClassifierMixin, _BaseTransformerEstimator):
    """Fine-tune an encoder with a linear classification head.

    The encoder is trained end to end with cross-entropy (binary
    cross-entropy for a multi-label indicator ``y``, e.g. GoEmotions) on
    mean- or [CLS]-pooled token states. ``predict`` returns the original
    labels in ``classes_``. Training uses dynamic padding and length-grouped
    batches; see :mod:`skempathy.neural` for the design.

    Parameters
    ----------
    {model}
    {text_column}
    {max_length}
    {batch_size}
    {learning_rate}
    {max_epochs}
    {warmup_ratio}
    {weight_decay}
    {gradient_accumulation_steps}
    {pooling}
    {dropout}
    {early_stopping}
    {validation_fraction}
    {n_iter_no_change}
    {tol}
    {scoring}
    {device}
    {precision}
    {predict_precision}
    {fast_paths}
    {warm_start}
    {random_state}
    {verbose}
    class_weight : dict, "balanced" or None, default=None
        Per-class loss weights (as in sklearn); multiplies ``sample_weight``.

    Attributes
    ----------
    classes_ : ndarray
        Class labels (``arange(n_labels)`` for multi-label y).
    multilabel_ : bool
        Whether ``y`` was a binary indicator matrix.
    {common_attrs}

    See Also
    --------
    TransformerRegressor : The regression counterpart.
    MultiTaskTransformer : One encoder, several classification/regression heads.

    Examples
    --------
    >>> from skempathy.neural import TransformerClassifier
    >>> texts = ["so sad for them", "this makes me angry", "poor kids, heartbreaking",
    ...          "outrageous and unfair", "I cried reading it", "furious at the government"]
    >>> labels = ["sadness", "anger", "sadness", "anger", "sadness", "anger"]
    >>> clf = TransformerClassifier(max_epochs=1, max_length=32, random_state=0)
    >>> clf.fit(texts, labels).predict(["so unfair"]).shape
    (1,)
    >>> clf.classes_.tolist()
    ['anger', 'sadness']
    """

    _parameter_constraints = {
        **_BaseTransformerEstimator._parameter_constraints,
        "class_weight": [None, dict, StrOptions({"balanced"})],
        "text_column": [None, str],
    }

    def __init__(
        self,
        model="all-MiniLM-L6-v2",
        *,
        text_column=None,
        max_length=256,
        batch_size=16,
        learning_rate=5e-5,
        max_epochs=4,
        warmup_ratio=0.1,
        weight_decay=0.01,
        gradient_accumulation_steps=1,
        pooling="mean",
        dropout=0.1,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=2,
        tol=0.0,
        scoring=None,
        device="auto",
        precision="auto",
        predict_precision=None,
        fast_paths=True,
        warm_start=False,
        random_state=None,
        verbose=0,
        class_weight=None,
    ):
        self.model = model
        self.text_column = text_column
        self.max_length = max_length
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.warmup_ratio = warmup_ratio
        self.weight_decay = weight_decay
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.pooling = pooling
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.scoring = scoring
        self.device = device
        self.precision = precision
        self.predict_precision = predict_precision
        self.fast_paths = fast_paths
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.class_weight = class_weight

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _encode_targets(self, y, *, fit):
        task, enc = _targets.encode_classification(self, y, fit=fit)
        self._cw = _targets.class_weight_per_sample(self, self.class_weight, task, enc)
        return [task], {"y": enc}

    def _sample_class_weight(self, targets):
        return self._cw

    def decision_function(self, X):
        """Raw head outputs (logits).

        Returns
        -------
        ndarray of shape (n_samples,) for two classes (logit of ``classes_[1]``
        minus logit of ``classes_[0]``), else (n_samples, n_classes).
        """
        logits = self._forward(X)["y"]
        if not self.multilabel_ and logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X):
        """Class probabilities (softmax), or per-label probabilities (sigmoid) for multi-label y.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        from scipy.special import expit, softmax

        logits = self._forward(X)["y"].astype(np.float64)
        return expit(logits) if self.multilabel_ else softmax(logits, axis=1)

    def predict(self, X):
        """Predicted labels (values of ``classes_``), or a 0/1 indicator matrix for multi-label y.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_labels)
        """
        logits = self._forward(X)["y"]
        if self.multilabel_:
            return (logits >= 0).astype(int)
        return self.classes_[logits.argmax(1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy (subset accuracy for multi-label); unknown labels in ``y`` raise."""
        check_is_fitted(self)
        if not self.multilabel_:
            _targets.check_known_labels(self, np.asarray(y).ravel(), self.classes_)
        return super().score(X, y, sample_weight=sample_weight)


@Substitution(**shared_param_docs(), common_attrs=COMMON_ATTRS_DOC)
class TransformerRegressor(TextInputMixin, RegressorMixin, _BaseTransformerEstimator):
    """Fine-tune a transformer encoder with a linear regression head.

    Mean squared error on standardised targets (``y_mean_``/``y_scale_``
    are learned in ``fit``; ``predict`` returns the original scale). A 2-D
    ``y`` trains one output per column on the shared encoder, e.g. empathy
    and distress jointly (the WASSA@IITK multi-task regression).

    Parameters
    ----------
    {model}
    {text_column}
    {max_length}
    {batch_size}
    {learning_rate}
    {max_epochs}
    {warmup_ratio}
    {weight_decay}
    {gradient_accumulation_steps}
    {pooling}
    {dropout}
    {early_stopping}
    {validation_fraction}
    {n_iter_no_change}
    {tol}
    {scoring}
    {device}
    {precision}
    {predict_precision}
    {fast_paths}
    {warm_start}
    {random_state}
    {verbose}

    Attributes
    ----------
    n_outputs_ : int
    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        Target standardisation.
    {common_attrs}

    See Also
    --------
    TransformerClassifier : The classification counterpart.

    Examples
    --------
    >>> import numpy as np
    >>> from skempathy.neural import TransformerRegressor
    >>> texts = ["so sad for them", "fine, whatever", "poor kids, heartbreaking", "ok news"]
    >>> y = np.array([[6.0, 5.5], [1.5, 1.0], [6.5, 6.0], [2.0, 1.5]])  # empathy, distress
    >>> reg = TransformerRegressor(max_epochs=1, max_length=32, random_state=0).fit(texts, y)
    >>> reg.predict(["what a tragedy"]).shape
    (1, 2)
    """

    _parameter_constraints = {
        **_BaseTransformerEstimator._parameter_constraints,
        "text_column": [None, str],
    }

    def __init__(
        self,
        model="all-MiniLM-L6-v2",
        *,
        text_column=None,
        max_length=256,
        batch_size=16,
        learning_rate=5e-5,
        max_epochs=4,
        warmup_ratio=0.1,
        weight_decay=0.01,
        gradient_accumulation_steps=1,
        pooling="mean",
        dropout=0.1,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=2,
        tol=0.0,
        scoring=None,
        device="auto",
        precision="auto",
        predict_precision=None,
        fast_paths=True,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        self.model = model
        self.text_column = text_column
        self.max_length = max_length
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.warmup_ratio = warmup_ratio
        self.weight_decay = weight_decay
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.pooling = pooling
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.scoring = scoring
        self.device = device
        self.precision = precision
        self.predict_precision = predict_precision
        self.fast_paths = fast_paths
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _encode_targets(self, y, *, fit):
        task, enc = _targets.encode_regression(self, y, fit=fit)
        return [task], {"y": enc}

    def predict(self, X):
        """Predicted values in the scale of ``y``.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        out = self._forward(X)["y"].astype(np.float64) * self.y_scale_ + self.y_mean_
        return out.ravel() if self._y_1d else out
