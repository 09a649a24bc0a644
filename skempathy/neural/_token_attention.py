"""MilaNLP's WASSA 2021 model: attention over frozen encoder token states."""

import numbers
import warnings

from types import SimpleNamespace

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ..utils._docstring import Substitution
from ..utils._sklearn_compat import Interval, _fit_context
from ..base import TextInputMixin, check_texts, check_y_given
from ..text._cache import _MEMORY, settings_key, text_hash
from . import _targets
from .. import _engine as T
from ._params import shared_constraints, shared_param_docs

__all__ = ["TokenAttentionClassifier"]

# the parameters it shares with the fine-tuned estimators (its fit fixes warm-up and weight
# decay at 0)
_SHARED = (
    "max_length",
    "batch_size",
    "learning_rate",
    "max_epochs",
    "dropout",
    "early_stopping",
    "validation_fraction",
    "n_iter_no_change",
    "device",
    "random_state",
    "verbose",
)

_CLASSES = {}


def _module_class():
    if _CLASSES:
        return _CLASSES["TokenAttentionModule"]
    import torch
    from torch import nn

    class TokenAttentionModule(nn.Module):
        """One Transformer encoder layer over token vectors, mean pooling, one head per task."""

        def __init__(
            self, d_model, head_dims, *, n_heads=1, dim_feedforward=512, dropout=0.1, n_extra=0
        ):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(
                d_model,
                n_heads,
                dim_feedforward=dim_feedforward,
                dropout=dropout,
                batch_first=True,
            )
            self.n_extra = int(n_extra)
            self.head = T.make_multitask_head(d_model + self.n_extra, head_dims, dropout=dropout)

        def forward(self, tokens, attention_mask, extra=None, **_):
            hidden = self.layer(tokens, src_key_padding_mask=attention_mask == 0)
            pooled = T.pool(hidden, attention_mask, "mean")
            if self.n_extra:
                pooled = torch.cat([pooled, extra.to(pooled.dtype)], dim=1)
            return self.head(pooled)

    _CLASSES["TokenAttentionModule"] = TokenAttentionModule
    return TokenAttentionModule


# where the classifier differs from the fine-tuned estimators' shared parameters
_TEXT = {
    "model": "Frozen encoder: an embedded name, a local folder or a hub name.",
    "batch_size": "Training batch size.",
    "learning_rate": "AdamW learning rate, decayed linearly to 0 (no warm-up).",
    "dropout": "Dropout in the Transformer layer and before the heads.",
    "early_stopping": "Hold out ``validation_fraction`` of the training data, stop after "
    "``n_iter_no_change`` epochs without a lower validation loss and keep the "
    "best epoch's weights.",
}


@Substitution(**shared_param_docs(_TEXT))
class TokenAttentionClassifier(
    T.TrainingTemplate, TextInputMixin, _targets.ClassScoresMixin, ClassifierMixin, BaseEstimator
):
    """Frozen encoder token states → one-head Transformer layer → dense heads.

    The model of MilaNLP at WASSA 2021 (Fornaciari et al. 2021): the token
    matrix of a frozen pre-trained encoder feeds a single-layer, single-head
    Transformer encoder whose mean-pooled output goes to a dense output layer.
    Optional numeric side inputs (their multi-input "MI" settings, e.g. the
    WASSA demographic, personality and IRI columns) are standardised and
    concatenated to the pooled vector, and optional auxiliary targets (their
    multi-task "MTL" settings, e.g. empathy and distress next to the emotion)
    get their own heads. Training stops early on the validation loss.

    Only the small attention model is trained, so fitting is cheap on CPU:
    the encoder runs once over the training texts (and once per ``predict``).

    Parameters
    ----------
    {model}
    text_column : str, default=None
        Name of the text column when ``X`` is a DataFrame. None: ``X`` is a
        sequence of texts, or the only non-``extra_features`` column.
    extra_features : list of str, default=None
        Numeric DataFrame columns used as side inputs (multi-input setting).
    {max_length}
    {batch_size}
    {learning_rate}
    {max_epochs}
    {dropout}
    {early_stopping}
    {validation_fraction}
    {n_iter_no_change}
    {device}
    {random_state}
    {verbose}
    n_heads : int, default=1
        Attention heads (the published model used 1; must divide the encoder
        width).
    dim_feedforward : int, default=512
        Width of the feed-forward block of the Transformer layer.
    aux_weight : float, default=1.0
        Weight of each auxiliary task's loss relative to the main task.
    cache : bool, default=True
        Keep the frozen token states of the texts in the package's memory
        cache (:func:`skempathy.text.set_embedding_cache_size` bounds it;
        keyed on the encoder's identity and ``max_length``), so refits in
        cross-validation or on other settings skip the encoder. The states of
        a text are stored in float16 (about 100 KB per 128-token text for a
        384-wide encoder).

    Attributes
    ----------
    classes_ : ndarray
        Labels of the main task.
    aux_tasks_ : list of dict
        Auxiliary tasks: ``name``, ``kind`` ("multiclass"/"regression"),
        ``classes`` or ``mean``/``scale``.
    model_ : torch.nn.Module
        The trained attention model (the fitted model of every torch estimator of
        skempathy is ``model_``; ``module_`` is a deprecated alias).
    history_ : list of dict
        Per epoch ``train_loss`` and, with early stopping, ``valid_score``
        (the negated validation loss).
    best_epoch_ : int
    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit`` (1 for a column of texts).
    feature_names_in_ : ndarray of str
        Their names, when ``X`` was a DataFrame.
    n_extra_features_ : int
        Number of side features (0 without ``extra_features``).

    See Also
    --------
    skempathy.neural.MultiTaskTransformer : Fine-tunes the whole encoder instead.

    Examples
    --------
    >>> from skempathy.neural import TokenAttentionClassifier
    >>> texts = ["so sad for them", "this makes me angry", "poor kids, heartbreaking",
    ...          "outrageous and unfair", "I cried reading it", "furious at them"] * 3
    >>> labels = ["sadness", "anger", "sadness", "anger", "sadness", "anger"] * 3
    >>> clf = TokenAttentionClassifier(max_epochs=5, early_stopping=False, random_state=0)
    >>> clf.fit(texts, labels).predict(["so unfair and outrageous"]).shape
    (1,)
    """

    _parameter_constraints = shared_constraints(
        *_SHARED,
        text_column=[None, str],
        extra_features=[None, list, tuple],
        n_heads=[Interval(numbers.Integral, 1, None, closed="left")],
        dim_feedforward=[Interval(numbers.Integral, 1, None, closed="left")],
        aux_weight=[Interval(numbers.Real, 0, None, closed="left")],
        cache=["boolean"],
    )

    def __init__(
        self,
        model="all-MiniLM-L6-v2",
        *,
        text_column=None,
        extra_features=None,
        max_length=128,
        batch_size=32,
        learning_rate=0.001,
        max_epochs=30,
        dropout=0.1,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=3,
        device="auto",
        random_state=None,
        verbose=0,
        n_heads=1,
        dim_feedforward=512,
        aux_weight=1.0,
        cache=True,
    ):
        self.model = model
        self.text_column = text_column
        self.extra_features = extra_features
        self.max_length = max_length
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.n_heads = n_heads
        self.dim_feedforward = dim_feedforward
        self.aux_weight = aux_weight
        self.cache = cache

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    @property
    def module_(self):
        """Deprecated alias of ``model_``."""
        warnings.warn(
            "TokenAttentionClassifier.module_ is deprecated; use model_, the fitted model of "
            "every torch estimator.",
            FutureWarning,
            stacklevel=2,
        )
        try:
            return self.model_
        except AttributeError:
            raise AttributeError("module_") from None

    # ------------------------------------------------------------------ input
    def _read_X(self, X, *, fit):
        who = type(self).__name__
        extra_cols = list(self.extra_features or [])
        if not extra_cols and self.text_column is None:
            return check_texts(X, estimator=self), None
        if not hasattr(X, "columns"):
            raise TypeError(
                f"{who}: with extra_features or text_column, X must be a DataFrame; got "
                f"{type(X).__name__}."
            )
        text_col = self.text_column
        if text_col is None:
            others = [c for c in X.columns if c not in extra_cols]
            if len(others) != 1:
                raise ValueError(
                    f"{who}: cannot tell the text column among {others[:10]}; set text_column."
                )
            text_col = others[0]
        missing = [c for c in [text_col] + extra_cols if c not in X.columns]
        if missing:
            raise ValueError(f"{who}: X lacks the column(s) {missing}.")
        texts = check_texts(X[text_col], estimator=self)
        if not extra_cols:
            return texts, None
        try:
            extra = X[extra_cols].to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{who}: extra_features {extra_cols} must be numeric: {exc}") from exc
        if not np.all(np.isfinite(extra)):
            raise ValueError(f"{who}: extra_features contain NaN or infinite values.")
        if fit:
            self.extra_mean_ = extra.mean(0)
            scale = extra.std(0)
            self.extra_scale_ = np.where(scale > 0, scale, 1.0)
        return texts, (extra - self.extra_mean_) / self.extra_scale_

    def _read_y(self, y):
        """Main labels and auxiliary task targets from a 1-D y or a DataFrame."""
        aux = []
        if hasattr(y, "columns"):
            if y.shape[1] == 0:
                raise ValueError(f"{type(self).__name__}: y has no columns.")
            main = y.iloc[:, 0].to_numpy()
            for name in y.columns[1:]:
                col = y[name]
                if col.isna().any():
                    raise ValueError(
                        f"{type(self).__name__}: auxiliary target {name!r} has missing values."
                    )
                if np.issubdtype(col.dtype, np.floating):
                    values = col.to_numpy(dtype=np.float64)
                    mean, scale = values.mean(), values.std() or 1.0
                    aux.append(
                        (
                            {
                                "name": str(name),
                                "kind": "regression",
                                "dim": 1,
                                "mean": mean,
                                "scale": scale,
                            },
                            ((values - mean) / scale).astype(np.float32)[:, None],
                        )
                    )
                else:
                    classes, enc = np.unique(col.to_numpy(), return_inverse=True)
                    aux.append(
                        (
                            {
                                "name": str(name),
                                "kind": "multiclass",
                                "dim": len(classes),
                                "classes": classes,
                            },
                            enc,
                        )
                    )
        else:
            main = column_or_1d(np.asarray(y), warn=True)
        check_classification_targets(main)
        return main, aux

    # ------------------------------------------------------------- encoder
    def _frozen_encoder(self):
        if getattr(self, "_encoder", None) is None:
            tokenizer, encoder = T.load_pretrained(self.model)
            self._encoder = (tokenizer, encoder.to(self.device_).eval())
        return self._encoder

    def _token_states(self, texts):
        """Per-text float16 CPU tensors ``(n_tokens, width)`` of the frozen encoder."""
        import torch
        from .._models import model_identity
        from ..utils._progress import progress_bar

        # the package's one memory cache (bounded LRU, shared by threads), its own settings key
        key = settings_key(
            kind="token states", model=model_identity(self.model), max_length=self.max_length
        )
        hashes = [text_hash(text) for text in texts]
        found = _MEMORY.get_many(key, hashes) if self.cache else {}
        states = [found.get(h) for h in hashes]
        todo = [i for i, state in enumerate(states) if state is None]
        if todo:
            tokenizer, encoder = self._frozen_encoder()
            ids, _ = T.tokenize(
                tokenizer, [texts[i] for i in todo], self.max_length, who=f"{type(self).__name__}: "
            )
            pad = T.pad_token_id(tokenizer)
            order = T.length_grouped_batches([len(r) for r in ids], 64)
            with torch.no_grad():
                for rows in progress_bar(order, desc="encode tokens", enabled=self.verbose >= 2):
                    batch = T.to_device(T.collate([ids[k] for k in rows], pad), self.device_)
                    hidden = encoder(**batch).last_hidden_state.float().cpu()
                    for j, k in enumerate(rows):
                        states[todo[k]] = hidden[j, : len(ids[k])].to(torch.float16)
            if self.cache:
                _MEMORY.put_many(key, {hashes[i]: states[i] for i in todo})
        return states

    def _collate(self, states, rows, extra, targets=None):
        import torch

        width = max(states[i].shape[0] for i in rows)
        dim = states[rows[0]].shape[1]
        tokens = torch.zeros((len(rows), width, dim), dtype=torch.float32)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for j, i in enumerate(rows):
            n = states[i].shape[0]
            tokens[j, :n] = states[i].float()
            mask[j, :n] = 1
        batch = {"tokens": tokens, "attention_mask": mask}
        if extra is not None:
            batch["extra"] = torch.as_tensor(extra[rows], dtype=torch.float32)
        if targets is not None:
            batch["targets"] = {}
            for task in self._tasks:
                values = targets[task["name"]][rows]
                dtype = torch.long if task["kind"] == "multiclass" else torch.float32
                batch["targets"][task["name"]] = torch.as_tensor(values, dtype=dtype)
        return batch

    def _loss(self, model, batch):
        import torch.nn.functional as F

        outputs = model(batch["tokens"], batch["attention_mask"], batch.get("extra"))
        total = 0.0
        for task in self._tasks:
            logits, target = outputs[task["name"]].float(), batch["targets"][task["name"]]
            if task["kind"] == "multiclass":
                loss = F.cross_entropy(logits, target)
            else:
                loss = F.mse_loss(logits, target.view_as(logits))
            total = total + (1.0 if task["name"] == "main" else self.aux_weight) * loss
        return total

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Encode the texts once with the frozen encoder and train the attention model.

        Parameters
        ----------
        X : array-like of str, or DataFrame
            Texts, or a DataFrame with the text column and ``extra_features``.
        y : array-like of shape (n_samples,) or DataFrame
            Main-task labels; a DataFrame's first column is the main task and
            every other column an auxiliary task (float columns: regression,
            others: classification). Auxiliary targets are used in training
            only.

        Returns
        -------
        self : TokenAttentionClassifier
            The fitted classifier.
        """
        from ..base import resolve_device

        check_y_given(y, self)
        main, aux = self._read_y(y)
        classes, main_enc = _targets.encode_labels(main, type(self).__name__)
        texts, extra = self._read_X(X, fit=True)
        if len(main) != len(texts):
            raise ValueError(
                f"{type(self).__name__}: X has {len(texts)} texts but y has {len(main)} rows."
            )
        self.classes_ = classes
        self.aux_tasks_ = [task for task, _ in aux]
        self._tasks = [{"name": "main", "kind": "multiclass", "dim": len(classes)}] + [
            {k: task[k] for k in ("name", "kind", "dim")} for task, _ in aux
        ]
        targets = {"main": main_enc, **{task["name"]: values for task, values in aux}}
        self.n_extra_features_ = 0 if extra is None else extra.shape[1]
        self._set_input_names(X)

        seed = T.fit_seed(self.random_state)
        self.device_ = resolve_device(self.device)
        self._encoder = None
        n = len(texts)
        train_idx, val_idx = np.arange(n), None
        if self.early_stopping:
            if n < 4:
                raise ValueError(
                    f"{type(self).__name__}: early_stopping needs at least 4 samples, got {n}."
                )
            perm = np.random.RandomState(seed).permutation(n)
            n_val = max(1, int(round(self.validation_fraction * n)))
            val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        data = SimpleNamespace(
            texts=texts, extra=extra, targets=targets, train_idx=train_idx, val_idx=val_idx
        )
        self.model_ = self._train_module(data, device=self.device_, seed=seed).eval()
        return self

    # ------------------------------------------------------ the template's hooks
    def _build_module(self, data, device):
        """The attention module over the frozen encoder's token states (encoded here, once)."""
        data.states = self._token_states(data.texts)
        width = int(data.states[0].shape[1])
        if width % self.n_heads:
            raise ValueError(
                f"{type(self).__name__}: n_heads={self.n_heads} must divide "
                f"the encoder width {width}."
            )
        self._module_config = {
            "d_model": width,
            "head_dims": {t["name"]: t["dim"] for t in self._tasks},
            "n_heads": self.n_heads,
            "dim_feedforward": self.dim_feedforward,
            "dropout": float(self.dropout),
            "n_extra": self.n_extra_features_,
        }
        return _module_class()(**self._module_config).to(device)

    def _epoch_batches(self, data, epoch, seed):
        order = T.epoch_rng(seed, epoch).permutation(data.train_idx)
        return [
            self._collate(data.states, order[i : i + self.batch_size], data.extra, data.targets)
            for i in range(0, len(order), self.batch_size)
        ]

    def _make_eval_fn(self, data):
        """Minus the mean validation loss (the attention model has no task score of its own)."""
        import torch

        if data.val_idx is None:
            return None
        val_batches = [
            self._collate(data.states, data.val_idx[i : i + 256], data.extra, data.targets)
            for i in range(0, len(data.val_idx), 256)
        ]

        def eval_fn(model):
            total = 0.0
            with torch.no_grad():
                for b in val_batches:
                    b = T.to_device(b, self.device_)
                    total += float(self._loss(model, b)) * len(b["tokens"])
            return -total / len(data.val_idx)

        return eval_fn

    def _loop_settings(self):
        # a small model trained from scratch: no weight decay, no warm-up
        return {
            "max_epochs": self.max_epochs,
            "learning_rate": self.learning_rate,
            "n_iter_no_change": self.n_iter_no_change,
            "weight_decay": 0.0,
            "warmup_ratio": 0.0,
        }

    # -------------------------------------------------------------- inference
    def _outputs(self, X):
        check_is_fitted(self)
        texts, extra = self._read_X(X, fit=False)
        states = self._token_states(texts)
        order = T.length_grouped_batches([s.shape[0] for s in states], 128)
        batches = ((rows, self._collate(states, rows, extra)) for rows in order)

        def fwd(m, b):
            return m(b["tokens"], b["attention_mask"], b.get("extra"))

        return T.predict_loop(self.model_, batches, fwd, len(texts), device=self.device_)

    def _class_scores(self, X):
        return self._outputs(X)["main"]

    def predict_aux(self, X):
        """Predictions of the auxiliary heads, ``{task name: array}``.

        Regression tasks are returned on their original scale, classification
        tasks as labels.
        """
        out = self._outputs(X)
        result = {}
        for task in self.aux_tasks_:
            values = out[task["name"]]
            if task["kind"] == "regression":
                result[task["name"]] = values[:, 0] * task["scale"] + task["mean"]
            else:
                result[task["name"]] = task["classes"][values.argmax(1)]
        return result

    # ---------------------------------------------------------------- pickling
    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_encoder", None)
        module = state.pop("model_", None)
        if module is not None:
            state["_packed_module"] = T.pack_state_dict(module)
        return state

    def __setstate__(self, state):
        state = dict(state)
        packed = state.pop("_packed_module", None)
        super().__setstate__(state)
        self._encoder = None
        if packed is not None:
            self.device_ = device = T.unpickled_device(self.device_)
            module = _module_class()(**self._module_config)
            module.load_state_dict(T.unpack_state_dict(packed))
            self.model_ = module.to(device).eval()
