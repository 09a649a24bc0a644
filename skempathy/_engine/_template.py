"""The one fit of every estimator that trains a torch module: a template with hooks.

skorch keeps the training of all its estimators in one ``fit_loop`` and lets subclasses
override ``get_loss``; here :class:`TrainingTemplate` plays that part. An estimator's ``fit``
validates its input into one object (``data``: whatever its hooks understand), then calls
:meth:`TrainingTemplate._train_module`, which seeds torch, builds the module, runs
:func:`~skempathy._engine.train_loop` and records what the fit learned about itself
(``history_``, ``n_iter_``, ``best_epoch_``, ``best_score_``, ``interrupted_``,
``train_samples_per_s_``). No estimator calls the loop itself.

The hooks, in the order the template calls them:

``_build_module(data, device)``
    The module to train, on ``device`` (load the checkpoint, add heads; tokenise ``data`` with
    the tokenizer just loaded). Runs seeded, so its random initialisation follows
    ``random_state``. Required.
``_prepare_data(data)``
    Complete ``data`` with what needs the module or its tokenizer, token ids above all (after
    ``_build_module``, and before a warm start trains further; seeded); default: nothing.
``_epoch_batches(data, epoch, seed)``
    The batches of epoch ``epoch`` (0-based), shuffled from ``seed`` (:func:`epoch_rng`).
    Required.
``_loss(module, batch)``
    The batch's mean loss, a scalar tensor. Required.
``_make_eval_fn(data)``
    ``eval_fn(module) -> float`` (higher is better) scored after every epoch, or None.
``_fit_callbacks(data)``
    :class:`~skempathy._engine.Callback` objects: per-step state such as the teacher-annealing
    weight of knowledge distillation lives in them, not in the estimator.
``_loop_settings()``
    The keywords of ``train_loop`` that come from the estimator's parameters; by default every
    parameter that has the name of one (``learning_rate``, ``max_epochs``, ...).
``_training_scope()``
    A context manager around the loop (default: none).
"""

import contextlib

import numpy as np

from ._loop import train_loop
from ._seeding import draws_from_torch_rng, seeded

__all__ = ["TrainingTemplate", "epoch_rng", "fit_seed"]

# train_loop's keywords that are also parameters of the estimators, under the same name
_LOOP_KEYWORDS = (
    "max_epochs",
    "learning_rate",
    "weight_decay",
    "warmup_ratio",
    "gradient_accumulation_steps",
    "max_grad_norm",
    "precision",
    "fast_paths",
    "n_iter_no_change",
    "tol",
)


def fit_seed(random_state):
    """The seed of one fit, drawn from ``random_state`` as scikit-learn estimators draw theirs."""
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def epoch_rng(seed, epoch):
    """The NumPy generator that orders the batches of one epoch of the fit seeded ``seed``."""
    return np.random.RandomState((seed + 7919 * (epoch + 1)) % (2**31 - 1))


class TrainingTemplate:
    """Mixin: the fit of estimators that train a torch module (see the module's docstring)."""

    def _build_module(self, data, device):
        raise NotImplementedError

    def _prepare_data(self, data):
        pass

    def _epoch_batches(self, data, epoch, seed):
        raise NotImplementedError

    def _loss(self, module, batch):
        raise NotImplementedError

    def _make_eval_fn(self, data):
        return None

    def _fit_callbacks(self, data):
        return []

    def _loop_settings(self):
        params = self.get_params(deep=False)
        return {key: params[key] for key in _LOOP_KEYWORDS if key in params}

    def _training_scope(self):
        return contextlib.nullcontext()

    def _draws_own_randomness(self, module, first_batches, device, settings):
        """Whether a training step draws only from the fit's own generators (the fast paths).

        One forward pass over the first batch, with the fast paths on, tells (no gradients).
        """
        if str(device).split(":")[0] != "cpu" or not settings.get("fast_paths", True):
            return False
        if not first_batches:
            return False
        import torch

        from ._batching import to_device
        from ._fast_paths import fast_training_paths

        def step():
            was_training = module.training
            try:
                with fast_training_paths(module, device, seed=0), torch.no_grad():
                    module.train()
                    self._loss(module, to_device(first_batches[0], device))
            finally:
                module.train(was_training)

        return not draws_from_torch_rng(step)

    def _show_progress(self):
        return bool(getattr(self, "verbose", 0))

    def _train_module(self, data, *, device, seed, module=None):
        """Build (unless ``module``, a warm start, is given), train and record; returns the module.

        Parameters
        ----------
        data : object
            The validated training data, passed to every hook.
        device : str
            The resolved device.
        seed : int or None
            Seeds torch (module initialisation, dropout) and the batch order; None leaves
            torch's random state as it is and draws the batch order from fresh entropy.
        module : torch.nn.Module, optional
            The fitted module to train further (``warm_start``); the history continues.
        """
        warm = module is not None
        order_seed = seed if seed is not None else fit_seed(None)
        with contextlib.nullcontext() if seed is None else seeded(seed, device):
            if module is None:
                module = self._build_module(data, device)
            self._prepare_data(data)
        previous = list(getattr(self, "history_", [])) if warm else []
        settings = self._loop_settings()
        first = self._epoch_batches(data, len(previous), order_seed)
        own = seed is not None and self._draws_own_randomness(module, first, device, settings)
        # the lock only while the model draws from torch's global generator (see _seeding)
        training_rng = contextlib.nullcontext() if seed is None or own else seeded(seed, device)
        pending = {len(previous): first}

        def batches(epoch):
            return (
                pending.pop(epoch)
                if epoch in pending
                else self._epoch_batches(data, epoch, order_seed)
            )

        with training_rng, self._training_scope():
            result = train_loop(
                module,
                batches,
                self._loss,
                device=device,
                eval_fn=self._make_eval_fn(data),
                callbacks=self._fit_callbacks(data),
                start_epoch=len(previous),
                initial_best=(self.best_score_, self.best_epoch_) if warm else None,
                show_progress=self._show_progress(),
                desc=type(self).__name__,
                seed=None if seed is None else (seed * 7919 + 1) % 2**62,
                **settings,
            )
        self.history_ = previous + result["history"]
        self.n_iter_ = len(self.history_)
        self.best_epoch_ = result["best_epoch"]
        self.best_score_ = result["best_score"]
        self.interrupted_ = result["interrupted"]
        self.train_samples_per_s_ = (
            float(np.mean([h["samples_per_s"] for h in result["history"]]))
            if result["history"]
            else None
        )
        return module
