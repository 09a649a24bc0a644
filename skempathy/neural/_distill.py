"""Multi-task knowledge distillation with teacher annealing (Clark et al. 2019)."""

from types import SimpleNamespace

import numpy as np
from sklearn.base import ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..utils._docstring import Substitution
from ..utils._sklearn_compat import _fit_context
from ..base import TextInputMixin, check_texts, check_y_given
from . import _targets
from .. import _engine as T
from ._base import _BaseTransformerEstimator, _task_score
from ._params import shared_param_docs

__all__ = ["DistilledMultiTaskClassifier"]


class TeacherAnnealing(T.Callback):
    """λ of teacher annealing (Clark et al. 2019): 0 at the first batch, rising linearly to 1
    at the last (0 throughout when off); the loss reads it from ``batch["lambda"]``."""

    def __init__(self, on=True):
        self.on = on
        self.schedule = []

    def on_train_begin(self, n_batches):
        self.total = n_batches

    def on_batch_begin(self, batch, step):
        if not self.on:
            lam = 0.0
        elif self.total > 1:
            lam = min(step / (self.total - 1), 1.0)
        else:  # a single batch: all gold
            lam = 1.0
        self.schedule.append(lam)
        return {**batch, "lambda": lam}

    def on_epoch_end(self, record):
        record["lambda_end"] = float(self.schedule[-1]) if self.schedule else 0.0


# where the distilled student differs from the fine-tuned estimators' shared parameters
_TEXT = {
    "early_stopping": "Hold out ``validation_fraction`` of the *target-task* data and keep the "
    "epoch with the best target macro-F1. Stopping early also stops the "
    "schedule before λ reaches 1.",
}


@Substitution(**shared_param_docs({**_TEXT, "model": "Encoder of the student."}))
class DistilledMultiTaskClassifier(
    TextInputMixin, _targets.ClassScoresMixin, ClassifierMixin, _BaseTransformerEstimator
):
    """A multi-task student distilled from single-task teachers, with teacher annealing.

    The method of "Distilling Knowledge for Empathy Detection" (Hosseini &
    Caragea 2021), after Clark et al. (2019, "BAM! Born-Again Multi-Task
    Networks"). One fitted single-task teacher per auxiliary task (e.g.
    sentiment, emotion) labels its auxiliary dataset with a class
    distribution. The student, one shared encoder with a head per task, is
    trained on the target task (``X, y`` of :meth:`fit`, e.g. binary empathy)
    with its gold labels and on each auxiliary dataset with the mixed target

        λ · gold + (1 − λ) · teacher distribution,

    where λ rises linearly from 0 at the first training step to 1 at the last
    one: the student first imitates its teachers, then learns the gold labels
    (so it can surpass them). An auxiliary task without a teacher is trained
    on gold labels only, which gives the plain multi-task baseline. A teacher
    named ``"target"`` supervises the target task the same way (the paper's
    Eq. 2-3, where every task has a teacher): it is fitted on the training
    rows of ``X, y`` and its distribution on them is mixed with the gold
    labels.
    ``predict`` answers the target task.

    Parameters
    ----------
    teachers : dict of str -> estimator, default=None
        One classifier with ``predict_proba`` per auxiliary task name, and
        optionally one for ``"target"``, the task of :meth:`fit`. Each is
        cloned and fitted on its dataset (unless ``refit_teachers=False``).
        None or {{}} trains a multi-task student without distillation.
    aux_data : dict of str -> (X_aux, y_aux), default=None
        Auxiliary datasets: texts and gold labels, one per task name.
    teacher_annealing : bool, default=True
        Anneal λ from 0 to 1. False keeps λ = 0 (pure distillation on the
        auxiliary tasks).
    refit_teachers : bool, default=True
        Fit clones of the teachers on the auxiliary data. False uses the given
        teachers as already fitted.
    {model}
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
    {device}
    {precision}
    {predict_precision}
    {fast_paths}
    {random_state}
    {verbose}

    Attributes
    ----------
    classes_ : ndarray
        Target-task labels.
    teachers_ : dict of str -> estimator
        The fitted teachers, by task name (``"target"`` included when given).
    aux_classes_ : dict of str -> ndarray
        Labels of each auxiliary task.
    lambda_schedule_ : ndarray
        λ used at each training step (batch), in order; it starts at 0 and
        its last value is 1 when the schedule ran to the end.
    model_ : torch.nn.Module
        Shared encoder with one head per task (``"target"`` and the auxiliary
        task names).
    tokenizer_ : transformers tokenizer
    history_ : list of dict
        Per epoch: ``train_loss``, ``lambda_end`` (λ after the epoch) and,
        with early stopping, ``valid_score``.
    best_epoch_ : int

    See Also
    --------
    skempathy.neural.MultiTaskTransformer : Several targets for the same texts.

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skempathy.neural import DistilledMultiTaskClassifier
    >>> X = ["I feel for them", "whatever", "so sorry for your loss", "who cares"]
    >>> X_sent = ["great day", "awful news", "love it", "hate it"]
    >>> y_sent = ["pos", "neg", "pos", "neg"]
    >>> teacher = make_pipeline(TfidfVectorizer(), LogisticRegression())
    >>> clf = DistilledMultiTaskClassifier(
    ...     teachers={{"sentiment": teacher}}, aux_data={{"sentiment": (X_sent, y_sent)}},
    ...     max_epochs=2, max_length=32, random_state=0)
    >>> clf.fit(X, [1, 0, 1, 0]).lambda_schedule_[[0, -1]].tolist()
    [0.0, 1.0]
    """

    _parameter_constraints = {
        **{
            k: v
            for k, v in _BaseTransformerEstimator._parameter_constraints.items()
            if k not in ("scoring", "warm_start")
        },
        "teachers": [None, dict],
        "aux_data": [None, dict],
        "teacher_annealing": ["boolean"],
        "refit_teachers": ["boolean"],
    }

    def __init__(
        self,
        teachers=None,
        aux_data=None,
        *,
        teacher_annealing=True,
        refit_teachers=True,
        model="all-MiniLM-L6-v2",
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
        device="auto",
        precision="auto",
        predict_precision=None,
        fast_paths=True,
        random_state=None,
        verbose=0,
    ):
        self.teachers = teachers
        self.aux_data = aux_data
        self.teacher_annealing = teacher_annealing
        self.refit_teachers = refit_teachers
        self.model = model
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
        self.device = device
        self.precision = precision
        self.predict_precision = predict_precision
        self.fast_paths = fast_paths
        self.random_state = random_state
        self.verbose = verbose

    def _teacher_distributions(self):
        """Fit the teachers; return ``{task: (texts, classes, gold_enc, proba or None)}``."""
        who = type(self).__name__
        aux_data = self.aux_data or {}
        teachers = self.teachers or {}
        unknown = sorted(set(teachers) - set(aux_data) - {"target"})
        if unknown:
            raise ValueError(
                f"{who}: teachers {unknown} have no auxiliary dataset in aux_data "
                f"(tasks with data: {sorted(aux_data)}; 'target' names the task "
                "of fit(X, y))."
            )
        if "target" in aux_data:
            raise ValueError(
                f"{who}: 'target' is reserved for the task of fit(X, y); rename "
                "that auxiliary task."
            )
        tasks, self.teachers_ = {}, {}
        for name, data in aux_data.items():
            if not isinstance(data, (tuple, list)) or len(data) != 2:
                raise ValueError(f"{who}: aux_data[{name!r}] must be a pair (X_aux, y_aux).")
            texts = check_texts(data[0], estimator=f"{who} aux_data[{name!r}]")
            classes, enc = _targets.encode_labels(data[1], f"{who} aux_data[{name!r}]")
            if len(enc) != len(texts):
                raise ValueError(
                    f"{who}: aux_data[{name!r}] has {len(texts)} texts but {len(enc)} labels."
                )
            proba = None
            if name in teachers:
                proba = self._teacher_proba(name, data[0], data[1], classes, data[0])
            tasks[name] = (texts, classes, enc, proba)
        return tasks

    def _teacher_proba(self, name, X_fit, y_fit, classes, X_soft):
        """Fit (a clone of) ``teachers[name]``; its distribution over ``classes`` on ``X_soft``."""
        who = type(self).__name__
        teacher = self.teachers[name]
        if not hasattr(teacher, "predict_proba"):
            raise TypeError(
                f"{who}: teacher {name!r} ({type(teacher).__name__}) has no predict_proba."
            )
        if self.refit_teachers:
            teacher = clone(teacher).fit(X_fit, y_fit)
        else:
            check_is_fitted(teacher)
        raw = np.asarray(teacher.predict_proba(X_soft), dtype=np.float64)
        source = "y" if name == "target" else f"aux_data[{name!r}]"
        proba = np.zeros((len(raw), len(classes)))
        for j, label in enumerate(teacher.classes_):
            where = np.flatnonzero(classes == label)
            if not len(where):
                raise ValueError(
                    f"{who}: teacher {name!r} predicts label {label!r} "
                    f"absent from {source} ({list(classes)})."
                )
            proba[:, where[0]] = raw[:, j]
        proba /= np.clip(proba.sum(1, keepdims=True), 1e-12, None)
        self.teachers_[name] = teacher
        return proba

    def _loss(self, model, batch):
        import torch
        import torch.nn.functional as F

        lam = batch.get("lambda", 0.0)  # set by the TeacherAnnealing callback while training
        name = batch["task"]
        logits = model(batch["input_ids"], batch["attention_mask"])[name].float()
        gold = batch["y"]
        if "soft" not in batch:
            return F.cross_entropy(logits, gold)
        onehot = F.one_hot(gold, logits.shape[1]).to(logits.dtype)
        target = lam * onehot + (1.0 - lam) * batch["soft"].to(logits.dtype)
        return -(target * torch.log_softmax(logits, dim=1)).sum(1).mean()

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the teachers, then train the multi-task student with teacher annealing.

        Parameters
        ----------
        X : array-like of str of shape (n_samples,)
            Texts of the target task.
        y : array-like of shape (n_samples,)
            Target-task labels.

        Returns
        -------
        self : DistilledMultiTaskClassifier
            The fitted student.
        """
        from ..base import resolve_device

        who = type(self).__name__
        check_y_given(y, self)
        classes, y_enc = _targets.encode_labels(y, who)
        texts = check_texts(X, estimator=self)
        if len(y_enc) != len(texts):
            raise ValueError(f"{who}: X has {len(texts)} texts but y has {len(y_enc)} labels.")
        self._set_input_names(X)
        aux = self._teacher_distributions()
        self.classes_ = classes
        self.multilabel_ = False
        self.aux_classes_ = {name: value[1] for name, value in aux.items()}
        self._tasks = [{"name": "target", "kind": "multiclass", "dim": len(classes)}] + [
            {"name": name, "kind": "multiclass", "dim": len(value[1])}
            for name, value in aux.items()
        ]
        seed = T.fit_seed(self.random_state)
        n = len(texts)
        train_idx, val_idx = np.arange(n), None
        if self.early_stopping:
            train_idx, val_idx = self._validation_split(
                n, {"target": y_enc}, None, np.random.RandomState(seed)
            )
        data = SimpleNamespace(
            texts=texts,
            y_enc=y_enc,
            classes=classes,
            aux=aux,
            train_idx=train_idx,
            val_idx=val_idx,
            annealing=TeacherAnnealing(self.teacher_annealing),
        )
        self._train_module(data, device=resolve_device(self.device), seed=seed)
        self.lambda_schedule_ = np.asarray(data.annealing.schedule)
        return self

    # ------------------------------------------------------ the template's hooks
    def _build_module(self, data, device):
        tokenizer, encoder = T.load_pretrained(self.model)
        max_pos = getattr(encoder.config, "max_position_embeddings", None)
        self._max_positions = int(max_pos) if max_pos else None
        self._module_config = {
            "head_dims": {t["name"]: t["dim"] for t in self._tasks},
            "pooling": self.pooling,
            "n_extra": 0,
            "dropout": float(self.dropout),
        }
        self.model_ = T.make_transformer_module(encoder, **self._module_config).to(device)
        self.tokenizer_, self.device_ = tokenizer, device
        return self.model_

    def _prepare_data(self, data):
        """Token ids of every task, and the target teacher's distributions."""
        who = type(self).__name__
        self._pad_id = T.pad_token_id(self.tokenizer_)
        max_length = self._effective_max_length()
        data.ids, _ = T.tokenize(self.tokenizer_, data.texts, max_length, who=f"{who}: ")
        target_soft = None
        if "target" in (self.teachers or {}):
            fit_rows = [data.texts[i] for i in data.train_idx]
            labels = data.classes[data.y_enc[data.train_idx]]
            target_soft = self._teacher_proba("target", fit_rows, labels, data.classes, data.texts)
        data.tasks = {"target": (data.ids, data.y_enc, target_soft, data.train_idx)}
        for name, (a_texts, _, enc, proba) in data.aux.items():
            a_ids, _ = T.tokenize(self.tokenizer_, a_texts, max_length, who=f"{who} [{name}]: ")
            data.tasks[name] = (a_ids, enc, proba, np.arange(len(a_ids)))

    def _epoch_batches(self, data, epoch, seed):
        """Length-grouped batches of every task, shuffled together."""
        import torch

        rs = T.epoch_rng(seed, epoch)
        out = []
        for name, (d_ids, enc, proba, rows_all) in data.tasks.items():
            lengths = np.array([len(d_ids[i]) for i in rows_all])
            for b in T.length_grouped_batches(lengths, self.batch_size, shuffle=True, rng=rs):
                rows = rows_all[b]
                batch = T.collate([d_ids[i] for i in rows], self._pad_id)
                batch["task"] = name
                batch["y"] = torch.as_tensor(enc[rows], dtype=torch.long)
                if proba is not None:
                    batch["soft"] = torch.as_tensor(proba[rows], dtype=torch.float32)
                out.append(batch)
        return [out[i] for i in rs.permutation(len(out))]

    def _make_eval_fn(self, data):
        if data.val_idx is None:
            return None
        val_ids = [data.ids[i] for i in data.val_idx]
        val_y = data.y_enc[data.val_idx]

        def eval_fn(model):
            logits = self._predict_ids(val_ids, None)["target"]
            return _task_score("multiclass", logits, val_y)

        return eval_fn

    def _fit_callbacks(self, data):
        return [data.annealing]

    def decision_function(self, X):
        """Target-task logits, shape ``(n_samples, n_classes)`` (a 1-D margin for 2 classes)."""
        logits = self._class_scores(X)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def _class_scores(self, X):
        return self._forward(X)["target"]

    def predict_task(self, X, task):
        """Labels of an auxiliary task from the student's head for ``task``."""
        check_is_fitted(self)
        if task not in self.aux_classes_:
            raise ValueError(
                f"Unknown task {task!r}; auxiliary tasks: {sorted(self.aux_classes_)}."
            )
        logits = self._forward(X)[task]
        return self.aux_classes_[task][logits.argmax(1)]
