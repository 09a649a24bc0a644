"""Base class of the fine-tuned transformer estimators.

:class:`_BaseTransformerEstimator` owns everything the task variants share:
parameter validation, input checks, seeding, the held-out validation split,
model construction, the call into :func:`skempathy._engine.train_loop`, batched
inference and device-independent pickling. A subclass only says how ``y`` maps
to *tasks* (``_encode_targets``) and how outputs map back to predictions.

A *task* is a dict ``{"name", "kind", "dim"}`` with ``kind`` in
``{"multiclass", "multilabel", "regression"}``; the network has one linear
head per task on the pooled encoder output (see
:func:`skempathy._engine.make_transformer_module`).
"""

import contextlib
import copy
import hashlib
import inspect
import numbers
import os
import warnings
import weakref
from types import SimpleNamespace

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ..utils._sklearn_compat import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    _num_samples,
)
from .._models import PRECISIONS
from ..base import check_texts, check_y_given
from ..utils._reuse import reused
from .. import _engine as T

# Converted inference copies of fitted modules, {model_: {precision: module}}. Kept
# outside the estimator so that predict leaves its __dict__ unchanged; an entry
# goes with its module, and fit drops it (warm_start trains model_ in place).
_INFERENCE_COPIES = weakref.WeakKeyDictionary()


def _task_score(kind, logits, y_enc):
    """Default validation metric of one task: macro-F1 or mean Pearson r."""
    from sklearn.metrics import f1_score

    if kind == "multiclass":
        if y_enc.ndim == 2:  # soft targets: score against their most likely class
            y_enc = y_enc.argmax(1)
        return f1_score(y_enc, logits.argmax(1), average="macro", zero_division=0)
    if kind == "multilabel":
        return f1_score(y_enc, (logits >= 0).astype(int), average="macro", zero_division=0)
    from ..metrics import pearson_score

    if len(y_enc) < 2 or not np.all(np.isfinite(logits)):  # a diverged fit scores nothing
        return float("nan")
    return pearson_score(
        np.asarray(y_enc, float).reshape(len(y_enc), -1),
        np.asarray(logits, float).reshape(len(logits), -1),
    )


def _text_column_of(estimator, X):
    """The texts of ``X``: its ``text_column`` when the estimator names one, else ``X``."""
    column = getattr(estimator, "text_column", None)
    if column is None:
        return X
    who = type(estimator).__name__
    if not hasattr(X, "columns"):
        raise TypeError(
            f"{who}: text_column={column!r} needs X as a DataFrame holding that "
            f"column; got {type(X).__name__}."
        )
    if column not in X.columns:
        raise ValueError(
            f"{who}: X has no column {column!r}; it has {[str(c) for c in X.columns][:20]}."
        )
    return X[column]


class _BaseTransformerEstimator(T.TrainingTemplate, T.PackedModelPickling, BaseEstimator):
    """Shared machinery: see the module docstring. Not for direct use."""

    # With metadata routing on, ``groups`` reaches the early-stopping split without
    # ``set_fit_request(groups=True)``: the grouped split is what every user of groups wants.
    __metadata_request__fit = {"groups": True}

    # every parameter a subclass may share, constrained once; each subclass writes its own
    # ``__init__`` and takes the constraints of the parameters it has
    _parameter_constraints = {
        "model": [str, os.PathLike],
        "max_length": [Interval(numbers.Integral, 2, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "warmup_ratio": [Interval(numbers.Real, 0, 1, closed="both")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "gradient_accumulation_steps": [Interval(numbers.Integral, 1, None, closed="left")],
        "pooling": [StrOptions({"mean", "cls"})],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "scoring": [None, str, callable],
        "device": [str],
        "precision": [StrOptions({"auto", "fp32", "bf16", "fp16"})],
        "predict_precision": [None, StrOptions(set(PRECISIONS))],
        "fast_paths": ["boolean"],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # ------------------------------------------------------------------ hooks
    def _read_X(self, X, *, fit):
        """Return ``(texts, extra)``; ``extra`` is a float array or None."""
        return check_texts(_text_column_of(self, X), estimator=self), None

    def __setstate__(self, state):
        # a parameter added since the pickle was written takes its default
        defaults = {
            name: p.default
            for name, p in inspect.signature(type(self).__init__).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        super().__setstate__({**{k: v for k, v in defaults.items() if k not in state}, **state})

    def _encode_targets(self, y, *, fit):
        """Return ``(tasks, targets)``: task dicts and ``{name: encoded array}``."""
        raise NotImplementedError

    def _sample_class_weight(self, targets):
        """Per-sample multiplier from ``class_weight`` (1 by default)."""
        return None

    def _loss_weights(self):
        return {}

    # --------------------------------------------------------------- fitting
    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_") or getattr(self, "_inference_runner", None) is not None

    def _check_lengths(self, texts, y):
        n_y = _num_samples(y)
        if n_y != len(texts):
            raise ValueError(
                f"{type(self).__name__}: X has {len(texts)} texts but y has {n_y} rows; "
                "they must have the same length."
            )

    def _validation_split(self, n, targets, groups, rng):
        from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit, StratifiedShuffleSplit

        seed = rng.randint(np.iinfo(np.int32).max)
        if n < 4:
            raise ValueError(
                f"{type(self).__name__}: early_stopping needs at least 4 samples, got {n}."
            )
        idx = np.arange(n)
        if groups is not None:
            groups = np.asarray(groups)
            if len(groups) != n:
                raise ValueError(f"groups has {len(groups)} entries but X has {n} texts.")
            splitter = GroupShuffleSplit(1, test_size=self.validation_fraction, random_state=seed)
            return next(splitter.split(idx, groups=groups))
        first = self._tasks[0]
        y = targets[first["name"]]
        if first["kind"] == "multiclass" and len(self._tasks) == 1 and y.ndim == 1:
            counts = np.bincount(y)
            n_val = int(np.ceil(self.validation_fraction * n))
            if counts[counts > 0].min() >= 2 and n_val >= (counts > 0).sum():
                splitter = StratifiedShuffleSplit(
                    1, test_size=self.validation_fraction, random_state=seed
                )
                return next(splitter.split(idx, y))
        splitter = ShuffleSplit(1, test_size=self.validation_fraction, random_state=seed)
        return next(splitter.split(idx))

    def _build_batch(self, ids, rows, extra, targets=None, weight=None, pad_to=None):
        import torch

        batch = T.collate([ids[i] for i in rows], self._pad_id, pad_to=pad_to)
        if extra is not None:
            batch["extra"] = torch.as_tensor(extra[rows], dtype=torch.float32)
        if targets is not None:
            tgt = {}
            for task in self._tasks:
                values = targets[task["name"]][rows]
                if task["kind"] == "multiclass" and values.ndim == 1:
                    tgt[task["name"]] = torch.as_tensor(values, dtype=torch.long)
                else:
                    tgt[task["name"]] = torch.as_tensor(values, dtype=torch.float32)
            batch["targets"] = tgt
            batch["weight"] = torch.as_tensor(weight[rows], dtype=torch.float32)
        return batch

    def _loss(self, model, batch):
        import torch.nn.functional as F

        outputs = model(batch["input_ids"], batch["attention_mask"], batch.get("extra"))
        weight = batch["weight"]
        loss_weights = self._loss_weights()
        total = 0.0
        for task in self._tasks:
            name, logits = task["name"], outputs[task["name"]].float()
            target = batch["targets"][name]
            if task["kind"] == "multiclass":  # labels, or class probabilities (soft)
                per = F.cross_entropy(logits, target, reduction="none")
            elif task["kind"] == "multilabel":
                per = F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(1)
            else:
                per = F.mse_loss(logits, target.view_as(logits), reduction="none").mean(1)
            total = total + loss_weights.get(name, 1.0) * (per * weight).mean()
        return total

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, groups=None, soft_targets=None):
        """Fine-tune the encoder and the task heads on ``(X, y)``.

        Parameters
        ----------
        X : array-like of str of shape (n_samples,)
            Texts (list, Series, one-column DataFrame or array).
        y : array-like
            Targets (see the subclass).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample loss weights.
        groups : array-like of shape (n_samples,), default=None
            Group labels (e.g. the WASSA writer ``response_id``); with
            ``early_stopping`` the validation fraction holds out whole groups.
        soft_targets : DataFrame, ndarray or dict, default=None
            Class probabilities to train classification tasks on instead of
            the labels of ``y`` (cross-entropy against the distribution, as in
            knowledge distillation; see :class:`skempathy.distill.Distiller`).
            One row per sample, summing to 1: a DataFrame whose columns are
            class labels (every class of ``y``; classes absent from ``y`` are
            an error) or an array with columns in the order of ``classes_``;
            for several tasks, a dict ``{task: DataFrame or array}`` over
            some classification tasks. ``y`` still sets the labels and the
            early-stopping score.

        Returns
        -------
        self : object
        """
        return self._fit(
            X, y, sample_weight=sample_weight, groups=groups, soft_targets=soft_targets
        )

    def _soft_targets(self, soft, tasks, targets):
        """Replace the encoded labels of classification tasks by ``soft`` distributions."""
        import pandas as pd

        who = type(self).__name__
        if not isinstance(soft, dict):
            if len(tasks) != 1:
                raise ValueError(
                    f"{who}: soft_targets must be a dict {{task: probabilities}} "
                    "naming classification tasks"
                )
            soft = {tasks[0]["name"]: soft}
        kinds = {t["name"]: t["kind"] for t in tasks}
        for name, proba in soft.items():
            if kinds.get(name) != "multiclass":
                raise ValueError(
                    f"{who}: soft_targets given for {name!r}, which is not a single-label "
                    f"classification task (tasks: {kinds}); a regression target is soft "
                    "already: pass the teacher's values as y"
                )
            classes = self.classes_[name] if isinstance(self.classes_, dict) else self.classes_
            if isinstance(proba, pd.DataFrame):
                extra = [c for c in proba.columns if c not in set(classes)]
                absent = [c for c in classes if c not in set(proba.columns)]
                if extra or absent:
                    raise ValueError(
                        f"{who}: soft_targets columns for {name!r} must be the classes of y "
                        f"{list(classes)}; unknown {extra[:5]}, missing {absent[:5]}"
                    )
                proba = proba[list(classes)]
            proba = np.asarray(proba, dtype=np.float64)
            n = len(targets[name])
            if proba.shape != (n, len(classes)):
                raise ValueError(
                    f"{who}: soft_targets for {name!r} has shape {proba.shape}; "
                    f"expected {(n, len(classes))} (samples x classes_)"
                )
            if (
                not np.all(np.isfinite(proba))
                or np.any(proba < 0)
                or not np.allclose(proba.sum(1), 1, atol=1e-3)
            ):
                raise ValueError(
                    f"{who}: soft_targets for {name!r} must be finite, "
                    "non-negative and sum to 1 in every row"
                )
            targets[name] = (proba / proba.sum(1, keepdims=True)).astype(np.float32)
        return targets

    def _fit_weights(self, sample_weight, tasks, targets, n):
        """Per-sample loss weights (sample and class weights), checked, with mean 1."""
        weight = _check_sample_weight(sample_weight, np.zeros((n, 1)), dtype=np.float64)
        cw = self._sample_class_weight(targets)
        if cw is not None:
            weight = weight * cw
        if not np.all(np.isfinite(weight)) or np.any(weight < 0) or weight.sum() <= 0:
            raise ValueError("sample_weight must be finite, non-negative and not all zero.")
        for task in tasks:
            if task["kind"] == "multiclass":
                weighted = np.unique(targets[task["name"]][weight > 0])
                if len(weighted) < 2:
                    raise ValueError(
                        f"{type(self).__name__}: only one class has a non-zero sample_weight; "
                        "at least 2 classes are needed."
                    )
        return weight / weight.mean()

    def _fit(self, X, y, sample_weight=None, groups=None, soft_targets=None):
        check_y_given(y, self)
        _reject_sparse(X, self)
        if _num_samples(y) == 0:
            raise ValueError(
                f"{type(self).__name__}: Found 0 samples in y; at least 1 is required."
            )
        warm = bool(self.warm_start) and self.__sklearn_is_fitted__()
        # y and sample_weight are checked before the texts so that target errors
        # (one class, continuous labels, all-zero weights) read the same as in sklearn.
        tasks, targets = self._encode_targets(y, fit=not warm)
        self._tasks = tasks
        n = _num_samples(y)
        weight = self._fit_weights(sample_weight, tasks, targets, n)
        if soft_targets is not None:
            targets = self._soft_targets(soft_targets, tasks, targets)
        texts, extra = self._read_X(X, fit=True)
        self._check_lengths(texts, y)
        self._set_input_names(X)

        seed = T.fit_seed(self.random_state)
        train_idx, val_idx = np.arange(n), None
        if self.early_stopping:
            train_idx, val_idx = self._validation_split(
                n, targets, groups, np.random.RandomState(seed)
            )
        data = SimpleNamespace(
            X=X,
            y=y,
            texts=texts,
            extra=extra,
            targets=targets,
            weight=weight,
            train_idx=train_idx,
            val_idx=val_idx,
        )
        device = self.device_ if warm else _resolve_device(self.device)
        self._train_module(data, device=device, seed=seed, module=self.model_ if warm else None)
        return self

    # ------------------------------------------------------ the template's hooks
    def _build_module(self, data, device):
        tokenizer, encoder = T.load_pretrained(self.model, show_progress=bool(self.verbose))
        max_pos = getattr(encoder.config, "max_position_embeddings", None)
        self._module_config = {
            "head_dims": {t["name"]: t["dim"] for t in self._tasks},
            "pooling": self.pooling,
            "n_extra": 0 if data.extra is None else data.extra.shape[1],
            "dropout": float(self.dropout),
        }
        self.tokenizer_ = tokenizer
        self.model_ = T.make_transformer_module(encoder, **self._module_config).to(device)
        self.device_ = device
        self._max_positions = int(max_pos) if max_pos else None
        self.history_ = []
        return self.model_

    def _prepare_data(self, data):
        self._pad_id = T.pad_token_id(self.tokenizer_)
        who = f"{type(self).__name__}: "
        data.ids, _ = T.tokenize(self.tokenizer_, data.texts, self._effective_max_length(), who=who)
        data.train_lengths = np.array([len(data.ids[i]) for i in data.train_idx])

    def _epoch_batches(self, data, epoch, seed):
        order = T.length_grouped_batches(
            data.train_lengths, self.batch_size, shuffle=True, rng=T.epoch_rng(seed, epoch)
        )
        return [
            self._build_batch(data.ids, data.train_idx[b], data.extra, data.targets, data.weight)
            for b in order
        ]

    def _training_scope(self):
        return self._training_weights()

    def _effective_max_length(self):
        limit = getattr(self, "_max_positions", None)
        return min(self.max_length, limit) if limit else self.max_length

    def _make_eval_fn(self, data):
        if data.val_idx is None:
            return None
        X, y, ids, extra = data.X, data.y, data.ids, data.extra
        targets, val_idx = data.targets, data.val_idx
        if self.scoring is not None:
            from ..utils._sklearn_compat import _safe_indexing

            scorer = _get_scorer(self.scoring)
            X_val, y_val = _safe_indexing(X, val_idx), _safe_indexing(y, val_idx)

            def eval_fn(model):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    return scorer(self, X_val, y_val)

            return eval_fn

        val_ids = [ids[i] for i in val_idx]
        val_extra = None if extra is None else extra[val_idx]
        val_targets = {k: v[val_idx] for k, v in targets.items()}

        def eval_fn(model):
            outputs = self._predict_ids(val_ids, val_extra)
            scores = [
                _task_score(t["kind"], outputs[t["name"]], val_targets[t["name"]])
                for t in self._tasks
            ]
            return float(np.mean(scores))

        return eval_fn

    # -------------------------------------------------------------- inference
    @contextlib.contextmanager
    def _training_weights(self):
        """Inside: predictions (validation scores) use the weights being trained.

        On exit the converted inference copies of ``model_`` are dropped,
        since training changed the weights they were made from.
        """
        self._fitting = True
        try:
            yield
        finally:
            del self._fitting
            _INFERENCE_COPIES.pop(self.model_, None)

    def _inference_module(self):
        """``(module, autocast precision)`` that serves predictions.

        ``predict_precision=None`` keeps the training behaviour (the fitted
        module, autocast as ``precision``); otherwise a bf16 or int8 copy of
        the fitted module is made once and reused until the next ``fit``.
        """
        from .._models import apply_precision, resolve_precision

        wanted = getattr(self, "predict_precision", None)
        if wanted is None or getattr(self, "_fitting", False):
            return self.model_, self.precision
        resolved = resolve_precision(wanted, self.device_)
        if resolved == "fp32":
            return self.model_, "fp32"
        copies = _INFERENCE_COPIES.setdefault(self.model_, {})
        if resolved not in copies:
            copies[resolved] = apply_precision(
                copy.deepcopy(self.model_), resolved, self.device_
            ).eval()
        return copies[resolved], "fp32"

    def _predict_ids(self, ids, extra, forward="logits"):
        runner = getattr(self, "_inference_runner", None)
        if runner is not None:  # an ONNX Runtime session (skempathy.export.OnnxPredictor)
            outputs = runner.run(ids, extra)
            if forward == "embed":
                return outputs["sentence_embedding"]
            return {t["name"]: outputs[f"logits.{t['name']}"] for t in self._tasks}
        lengths = np.array([len(r) for r in ids])
        order = T.length_grouped_batches(lengths, self.batch_size * 2, shuffle=False)
        batches = ((rows, self._build_batch(ids, rows, extra)) for rows in order)
        if forward == "embed":

            def fwd(m, b):
                return m.embed(b["input_ids"], b["attention_mask"])
        else:

            def fwd(m, b):
                return m(b["input_ids"], b["attention_mask"], b.get("extra"))

        module, precision = self._inference_module()
        return T.predict_loop(
            module,
            batches,
            fwd,
            len(ids),
            device=self.device_,
            precision=precision,
            show_progress=self.verbose > 1,
        )

    def _forward(self, X, forward="logits"):
        """Raw outputs ``{task: logits}`` (or pooled embeddings) in input order."""
        check_is_fitted(self)
        _reject_sparse(X, self)
        texts, extra = self._read_X(X, fit=False)

        def compute():
            ids, _ = T.tokenize(
                self.tokenizer_, texts, self._effective_max_length(), who=f"{type(self).__name__}: "
            )
            return self._predict_ids(ids, extra, forward=forward)

        # inside a vote, a distiller or skempathy predict, predict and predict_proba share
        # one pass; the outputs belong to what computes them (an ONNX session, else the module)
        runner = getattr(self, "_inference_runner", None)
        return reused(
            runner if runner is not None else getattr(self, "model_", None),
            lambda: self._outputs_key(texts, extra, forward),
            compute,
        )

    def _outputs_key(self, texts, extra, forward):
        """What the raw outputs of ``_forward`` depend on: the inputs (digest), the
        settings read at inference and the version counters of the weights (an ONNX
        Runtime session's graph does not change); None (never reused) during fit."""
        runner = getattr(self, "_inference_runner", None)
        if getattr(self, "_fitting", False) or (runner is None and not hasattr(self, "model_")):
            return None
        digest = hashlib.sha1()
        for text in texts:
            data = text.encode("utf-8")
            digest.update(len(data).to_bytes(8, "little") + data)
        if extra is not None:
            extra = np.ascontiguousarray(extra)
            digest.update(f"{extra.dtype}{extra.shape}".encode() + extra.tobytes())
        weights = 0 if runner is not None else sum(p._version for p in self.model_.parameters())
        return (
            forward,
            digest.hexdigest(),
            self._effective_max_length(),
            getattr(self, "predict_precision", None),
            self.precision,
            str(self.device_),
            weights,
        )

    # ------------------------------------------------------- Hugging Face folders
    def save_pretrained(
        self, save_directory, *, metrics=None, training_data=None, intended_use=None
    ):
        """Save the fitted estimator as a Hugging Face folder, with a model card.

        The encoder (``config.json``, ``model.safetensors``, tokenizer files)
        loads with ``transformers.AutoModel.from_pretrained``; the task heads
        go to ``skempathy_heads.safetensors`` and the parameters and fitted
        state to ``skempathy.json`` (no pickle); ``README.md`` is a model card
        with the Hugging Face metadata header.

        Parameters
        ----------
        save_directory : str or path-like
            Folder to write (created if missing; files in it are replaced).
        metrics : dict of str -> float, default=None
            Scores to put in the model card (e.g. ``wassa_evaluate``'s dict).
        training_data : list of str, default=None
            Names of the training data sets, for the card's metadata.
        intended_use : str, default=None
            Replaces the card's generic "Intended use" paragraph.

        Returns
        -------
        path : str
            The folder.
        """
        from .._engine._hf_folder import save_pretrained

        return save_pretrained(
            self,
            save_directory,
            metrics=metrics,
            training_data=training_data,
            intended_use=intended_use,
        )

    @classmethod
    def from_pretrained(cls, pretrained_directory, *, device="auto"):
        """Load an estimator saved with :meth:`save_pretrained`.

        Parameters
        ----------
        pretrained_directory : str or path-like
            The folder.
        device : str, default="auto"
            Where the model runs (``"auto"``: cuda, then mps, then cpu).

        Returns
        -------
        estimator : fitted estimator of this class
        """
        from .._engine._hf_folder import load_pretrained

        return load_pretrained(cls, pretrained_directory, device=device)

    def push_to_hub(
        self,
        repo_id,
        *,
        token=None,
        private=None,
        metrics=None,
        training_data=None,
        commit_message="Upload skempathy model",
    ):
        """Save with :meth:`save_pretrained` and upload the folder to the Hugging Face Hub.

        A thin pass-through to ``huggingface_hub.HfApi.upload_folder`` (needs
        network access and a token).

        Parameters
        ----------
        repo_id : str
            ``"user/name"`` of the model repository (created if missing).
        token : str, default=None
            Hub token (default: the one ``huggingface-cli login`` stored).
        private : bool, default=None
            Visibility of a newly created repository.
        metrics, training_data
            Passed to :meth:`save_pretrained`.
        commit_message : str, default="Upload skempathy model"

        Returns
        -------
        commit : huggingface_hub.CommitInfo
        """
        import tempfile

        from huggingface_hub import HfApi

        api = HfApi(token=token)
        api.create_repo(repo_id, private=private, exist_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            self.save_pretrained(folder, metrics=metrics, training_data=training_data)
            return api.upload_folder(
                repo_id=repo_id, folder_path=folder, commit_message=commit_message
            )

    # ---------------------------------------------------------------- pickling
    def _pretrained_part(self, model):
        return model.encoder

    def _rebuild_model(self, encoder):
        return T.make_transformer_module(encoder, **self._module_config)


def _reject_sparse(X, est):
    import scipy.sparse

    if scipy.sparse.issparse(X):
        raise TypeError(
            f"{type(est).__name__} takes raw texts; sparse input is not supported "
            "(got a sparse matrix)."
        )


def _resolve_device(device):
    from ..base import resolve_device
    from .._engine._parallel import local_device

    return local_device(resolve_device(device))


def _get_scorer(scoring):
    if callable(scoring):
        return scoring
    try:
        from ..metrics import get_scorer
    except ImportError:  # metrics not available yet
        from sklearn.metrics import get_scorer
    return get_scorer(scoring)
