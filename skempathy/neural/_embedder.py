"""Fine-tune an encoder on a target, then use its pooled embeddings as features."""

import numbers

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._docstring import Substitution
from ..utils._sklearn_compat import StrOptions
from ..base import TextInputMixin
from . import _targets
from ._base import _BaseTransformerEstimator
from ._params import shared_param_docs
from ._transformer import COMMON_ATTRS_DOC


@Substitution(**shared_param_docs(), common_attrs=COMMON_ATTRS_DOC)
class FineTunedEmbedder(
    TextInputMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _BaseTransformerEstimator
):
    """Fine-tune an encoder on ``y``; transform texts to pooled embeddings.

    ``fit`` trains the encoder with a temporary head (regression: MSE on
    standardised targets; classification: cross-entropy); ``transform``
    returns the fine-tuned pooled vectors, not predictions. This is the Team
    Phoenix design (WASSA 2021): fine-tune one encoder per target, concatenate
    the embeddings with scaled demographics and fit an SVR/MLP head. It drops
    into ``skempathy.compose.make_preprocessor`` or a ``ColumnTransformer``;
    ``y_column`` picks each encoder's target from a multi-output ``y``, so a
    ``FeatureUnion`` of one embedder per target concatenates them.

    Note that inside a ``ColumnTransformer``/``Pipeline`` the training
    embeddings come from an encoder fine-tuned on those very texts, so the
    downstream head sees optimistic features; cross-validate the whole
    pipeline to measure it honestly.

    Parameters
    ----------
    {model}
    target : {{"regression", "classification"}}, default="regression"
        Objective used to fine-tune.
    y_column : str or int, default=None
        Fine-tune on this column of a multi-output ``y`` (a DataFrame column
        name or a column position) and ignore the others; None uses all of
        ``y``.
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
        Only with ``target="classification"``.

    Attributes
    ----------
    classes_ : ndarray
        With ``target="classification"``.
    y_mean_, y_scale_ : ndarray
        With ``target="regression"``.
    {common_attrs}

    Examples
    --------
    >>> from skempathy.neural import FineTunedEmbedder
    >>> texts = ["so sad for them", "fine, whatever", "poor kids, heartbreaking", "ok news"]
    >>> emb = FineTunedEmbedder(max_epochs=1, max_length=32, random_state=0)
    >>> emb.fit_transform(texts, [6.0, 1.5, 6.5, 2.0]).shape
    (4, 384)
    >>> emb.get_feature_names_out()[:2]
    array(['finetunedembedder0', 'finetunedembedder1'], dtype=object)

    One encoder per target, concatenated (the Team Phoenix features):

    >>> import numpy as np
    >>> from sklearn.pipeline import make_union
    >>> Y = np.array([[6.0, 5.0], [1.5, 2.0], [6.5, 6.0], [2.0, 1.0]])
    >>> union = make_union(*[FineTunedEmbedder(y_column=j, max_epochs=1, max_length=32,
    ...                                        random_state=0) for j in (0, 1)])
    >>> union.fit_transform(texts, Y).shape
    (4, 768)
    """

    _parameter_constraints = {
        **_BaseTransformerEstimator._parameter_constraints,
        "target": [StrOptions({"regression", "classification"})],
        "class_weight": [None, dict, StrOptions({"balanced"})],
        "y_column": [None, str, numbers.Integral],
        "text_column": [None, str],
    }

    def __init__(
        self,
        model="all-MiniLM-L6-v2",
        *,
        target="regression",
        y_column=None,
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
        self.target = target
        self.y_column = y_column
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
        tags.target_tags.required = True
        return tags

    def _select_column(self, y):
        """The column of a 2-D ``y`` named by ``y_column`` (all of ``y`` when None)."""
        if self.y_column is None:
            return y
        who = type(self).__name__
        if hasattr(y, "columns"):
            if self.y_column not in y.columns:
                raise ValueError(
                    f"{who}: y_column={self.y_column!r} is not a column of y ({list(y.columns)})."
                )
            return y[self.y_column]
        arr = np.asarray(y)
        if arr.ndim != 2:
            raise ValueError(
                f"{who}: y_column={self.y_column!r} needs a 2-D y (a DataFrame "
                f"or a matrix); got shape {arr.shape}."
            )
        if (
            not isinstance(self.y_column, numbers.Integral)
            or not -arr.shape[1] <= self.y_column < arr.shape[1]
        ):
            raise ValueError(
                f"{who}: y_column={self.y_column!r} must be a column position "
                f"below {arr.shape[1]} for a y without column names."
            )
        return arr[:, self.y_column]

    def _encode_targets(self, y, *, fit):
        y = self._select_column(y)
        if self.target == "classification":
            task, enc = _targets.encode_classification(self, y, fit=fit)
            self._cw = _targets.class_weight_per_sample(self, self.class_weight, task, enc)
        else:
            if self.class_weight is not None:
                raise ValueError("FineTunedEmbedder: class_weight needs target='classification'.")
            task, enc = _targets.encode_regression(self, y, fit=fit)
            self._cw = None
        return [task], {"y": enc}

    def _sample_class_weight(self, targets):
        return self._cw

    @property
    def _n_features_out(self):
        return int(self.model_.encoder.config.hidden_size)

    def transform(self, X):
        """Pooled embeddings of the fine-tuned encoder.

        Returns
        -------
        ndarray of shape (n_samples, hidden_size), float32
        """
        check_is_fitted(self)
        return self._forward(X, forward="embed")

    def fit_transform(self, X, y, **fit_params):
        """Fine-tune on ``(X, y)`` and return the embeddings of ``X``."""
        return self.fit(X, y, **fit_params).transform(X)
