"""The one training loop and the one inference loop."""

import contextlib
import math
import time
import warnings

import numpy as np

from ._batching import batch_len, to_device
from ._precision import autocast_for


def cpu_state_dict(model):
    """A detached CPU copy of ``model.state_dict()``."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def make_optimizer(model, learning_rate, weight_decay):
    """AdamW with no weight decay on biases and normalisation weights.

    The fused kernel (one pass over all parameters, as Hugging Face ``Trainer``
    uses by default) takes a CPU step of MiniLM from about 65 to 17 ms; the
    loop falls back to the default kernel where fusion is unavailable.
    """
    import torch

    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim < 2 or "norm" in name.lower():
            no_decay.append(param)
        else:
            decay.append(param)
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    devices = {p.device.type for group in groups for p in group["params"]}
    fusable = devices <= {"cpu", "cuda"} and all(
        p.dtype.is_floating_point for group in groups for p in group["params"]
    )
    if fusable:
        try:
            return torch.optim.AdamW(groups, lr=learning_rate, fused=True)
        except (RuntimeError, TypeError):  # an older torch, or a dtype the kernel lacks
            pass
    return torch.optim.AdamW(groups, lr=learning_rate)


class Callback:
    """Hooks into :func:`train_loop` (skorch's callbacks, reduced to what the estimators use).

    Subclass and override what you need; every hook is a no-op here. ``step`` counts the
    batches of the whole fit from 0.
    """

    def on_train_begin(self, n_batches):
        """Before the first batch; ``n_batches``: batches of the whole fit (this process)."""

    def on_batch_begin(self, batch, step):
        """Before the loss of a batch (still on the CPU); returns the batch ``loss_fn`` gets."""
        return batch

    def on_epoch_end(self, record):
        """After each epoch, with its history record (add keys to it to record them)."""


def train_loop(
    model,
    batches,
    loss_fn,
    *,
    max_epochs,
    learning_rate=5e-5,
    weight_decay=0.01,
    warmup_ratio=0.1,
    gradient_accumulation_steps=1,
    max_grad_norm=1.0,
    device="cpu",
    precision="auto",
    eval_fn=None,
    n_iter_no_change=None,
    tol=0.0,
    start_epoch=0,
    initial_best=None,
    show_progress=False,
    desc="fit",
    callbacks=(),
    fast_paths=True,
    data_parallel=None,
    seed=None,
):
    """Train ``model`` for up to ``max_epochs`` epochs; the one loop of the package.

    Parameters
    ----------
    model : torch.nn.Module
        Already on ``device``.
    batches : callable
        ``batches(epoch) -> list`` of the batches of one epoch (call order
        defines the data order, so seed its shuffling). Dicts/lists of tensors
        are moved to ``device``.
    loss_fn : callable
        ``loss_fn(model, batch) -> scalar tensor`` (the batch's mean loss).
    max_epochs : int
    learning_rate, weight_decay, warmup_ratio : float
        AdamW and a linear warm-up / linear decay schedule.
    gradient_accumulation_steps : int, default=1
        Optimizer step every this many batches.
    max_grad_norm : float or None, default=1.0
        Gradient clipping.
    device : str
    precision : {"auto", "fp32", "bf16", "fp16"}
        Autocast dtype on CUDA (``"auto"``: bf16 when supported, else fp16
        with a GradScaler). On CPU only ``"bf16"`` autocasts; the others
        compute in fp32.
    eval_fn : callable, optional
        ``eval_fn(model) -> float``, higher is better, called after every epoch
        with the model in eval mode. Enables best-epoch tracking and restore.
    n_iter_no_change : int, optional
        With ``eval_fn``: stop after this many epochs without an improvement
        larger than ``tol``.
    start_epoch : int, default=0
        Number of epochs already run (``warm_start``), used for numbering.
    initial_best : tuple (score, epoch) or None, default=None
        With ``eval_fn`` and ``warm_start``: the best validation score and epoch
        of the earlier fit, whose weights ``model`` holds now. A resumed run
        then keeps them unless a new epoch beats that score.
    show_progress : bool
        tqdm bar per epoch showing the running loss and the last valid score.
    callbacks : sequence of Callback, default=()
        Per-batch and per-epoch hooks (e.g. a schedule that a loss reads from the batch).
    fast_paths : bool, default=True
        On CPU, train with the fast dropout masks and attention of :mod:`._fast_paths`,
        local to ``model``.
    data_parallel : bool or None, default=None
        Train data-parallel over the running process group: True requires one, False never
        shards, None follows :func:`skempathy.neural.data_parallel` (off unless a script turned
        it on).
    seed : int, optional
        Seed of the fast paths' dropout masks; None draws it from torch's random state.

    Returns
    -------
    dict
        ``history`` (list of per-epoch dicts: epoch, train_loss, valid_score,
        learning_rate, n_samples, duration_s, samples_per_s), ``best_epoch``
        (epoch number, or the last completed epoch without ``eval_fn``),
        ``best_score`` and ``interrupted`` (bool).

    Notes
    -----
    Launched in several processes (``torchrun``, ``accelerate launch``) by a script that
    turned on :func:`skempathy.neural.data_parallel`, the loop trains data-parallel: see
    :mod:`skempathy._engine._parallel`.

    On CPU the loop trains inside :func:`._fast_paths.fast_training_paths`: the model's
    dropout masks come from its own NumPy SFC64 generator (seeded from torch's) and its
    attention skips SDPA's checks, both undone when training ends.

    At an interactive prompt (a notebook, the Python shell), a
    ``KeyboardInterrupt`` ends training early and keeps the best weights so
    far: the best validation epoch with ``eval_fn``, else the weights at the
    end of the last completed epoch (the current weights if none completed).
    Anywhere else, and for SIGTERM, the interrupt propagates and ends the run
    (:mod:`skempathy.utils._interrupts`).
    """
    import torch
    from transformers import get_linear_schedule_with_warmup

    from ..utils._progress import progress_bar

    from ..utils._interrupts import keep_weights_on_interrupt
    from ._fast_paths import fast_training_paths
    from ._parallel import (
        average_gradients,
        broadcast_parameters,
        reduce_sum,
        shard_batches,
        training_group,
    )

    group = training_group(data_parallel)  # None: one process
    rank, world = group if group is not None else (0, 1)
    if world > 1:
        broadcast_parameters(model)  # one starting point, whatever each process drew
        epoch_batches_of = batches

        def batches(epoch):
            return shard_batches(epoch_batches_of(epoch), rank, world)

    accum = max(int(gradient_accumulation_steps), 1)
    first = batches(start_epoch)
    steps_per_epoch = max(math.ceil(len(first) / accum), 1)
    total_steps = steps_per_epoch * max_epochs
    optimizer = make_optimizer(model, learning_rate, weight_decay)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(round(warmup_ratio * total_steps)), total_steps
    )
    autocast, need_scaler = autocast_for(device, precision)
    scaler = torch.amp.GradScaler("cuda") if need_scaler else None

    history, best_score, best_epoch, best_state = [], -np.inf, None, None
    if eval_fn is not None and initial_best is not None and initial_best[0] is not None:
        best_score, best_epoch = float(initial_best[0]), initial_best[1]
        best_state = cpu_state_dict(model)
    # Without eval_fn an interrupt falls back to the end of the last full epoch.
    completed_state = cpu_state_dict(model) if eval_fn is None and start_epoch else None
    since_best, interrupted = 0, False
    epoch_batches = first
    for callback in callbacks:
        callback.on_train_begin(len(first) * max_epochs)
    global_step = 0
    if seed is None:  # the fit's mask generator
        seed = int(torch.randint(0, 2**62, (), dtype=torch.int64))
    kernels = contextlib.ExitStack()  # faster dropout masks and attention on CPU
    kernels.enter_context(fast_training_paths(model, device, seed=seed, enabled=fast_paths))
    try:
        for local_epoch in range(max_epochs):
            epoch = start_epoch + local_epoch + 1
            if local_epoch > 0:
                epoch_batches = batches(start_epoch + local_epoch)
            model.train()
            tic, loss_sum, n_seen = time.perf_counter(), 0.0, 0
            bar = progress_bar(
                total=len(epoch_batches),
                desc=f"{desc} epoch {epoch}",
                enabled=show_progress and rank == 0,
                leave=True,
            )
            optimizer.zero_grad(set_to_none=True)
            for step, batch in enumerate(epoch_batches):
                size = batch_len(batch)
                for callback in callbacks:
                    batch = callback.on_batch_begin(batch, global_step)
                global_step += 1
                batch = to_device(batch, device)
                with autocast:
                    loss = loss_fn(model, batch)
                # Mean over the batches of this optimizer step; the last group of
                # an epoch may hold fewer than ``accum`` batches.
                group_start = (step // accum) * accum
                scaled = loss / min(accum, len(epoch_batches) - group_start)
                (scaled if scaler is None else scaler.scale(scaled)).backward()
                last = step + 1 == len(epoch_batches)
                if (step + 1) % accum == 0 or last:
                    if world > 1:  # before unscaling: every process sees the same gradients
                        average_gradients(model, world)
                    if scaler is not None:
                        scaler.unscale_(optimizer)
                    if max_grad_norm:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
                    if scaler is not None:
                        scaler.step(optimizer)
                        scaler.update()
                    else:
                        optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                loss_sum += float(loss.detach()) * size
                n_seen += size
                bar.update(1)
                bar.set_postfix(loss=f"{loss_sum / max(n_seen, 1):.4f}")
            duration = time.perf_counter() - tic
            if world > 1:  # the epoch's loss and samples over every process
                loss_sum, n_seen = reduce_sum(loss_sum, n_seen)
                n_seen = int(n_seen)
            record = {
                "epoch": epoch,
                "train_loss": loss_sum / max(n_seen, 1),
                "learning_rate": float(scheduler.get_last_lr()[0]),
                "n_samples": n_seen,
                "duration_s": duration,
                "samples_per_s": n_seen / max(duration, 1e-9),
            }
            if eval_fn is not None:
                model.eval()
                score = float(eval_fn(model))
                record["valid_score"] = score
                improved = bool(score > best_score + tol) or best_state is None
                if improved:
                    best_score, best_epoch, since_best = score, epoch, 0
                    best_state = cpu_state_dict(model)
                else:
                    since_best += 1
                record["best"] = improved
                bar.set_postfix(loss=f"{record['train_loss']:.4f}", valid=f"{score:.4f}")
            bar.close()
            for callback in callbacks:
                callback.on_epoch_end(record)
            history.append(record)
            if eval_fn is None and local_epoch + 1 < max_epochs:
                completed_state = cpu_state_dict(model)
            if eval_fn is not None and n_iter_no_change and since_best >= n_iter_no_change:
                break
    except KeyboardInterrupt as exc:
        if not keep_weights_on_interrupt(exc):  # a script, the CLI, SIGTERM: the run ends
            raise
        interrupted = True
        if best_state is None and completed_state is not None:
            best_state = completed_state
            best_epoch = history[-1]["epoch"] if history else start_epoch
        warnings.warn(
            "Training interrupted (KeyboardInterrupt): keeping "
            + (
                f"the best weights so far (epoch {best_epoch})."
                if best_state is not None
                else "the current weights (no epoch had completed)."
            ),
            UserWarning,
            stacklevel=2,
        )
    finally:
        kernels.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    elif history:
        best_epoch = history[-1]["epoch"]
    model.eval()
    optimizer.zero_grad(set_to_none=True)
    del optimizer, scheduler
    return {
        "history": history,
        "best_epoch": best_epoch,
        "best_score": best_score if eval_fn is not None and best_state is not None else None,
        "interrupted": interrupted,
    }


def predict_loop(
    model,
    batches,
    forward_fn,
    n_samples,
    *,
    device="cpu",
    precision="auto",
    show_progress=False,
    desc="predict",
    n_batches=None,
):
    """Batched inference in input order: the one loop behind every prediction
    and every embedding, frozen (:class:`skempathy.text.TransformerEmbedder`)
    or fine-tuned.

    Parameters
    ----------
    model : torch.nn.Module
    batches : iterable of (indices, batch)
        ``indices`` are the input positions of the batch rows. Consumed
        lazily, so a generator that collates each batch keeps one padded
        batch in memory at a time.
    forward_fn : callable
        ``forward_fn(model, batch) -> tensor`` or ``dict of str -> tensor``.
    n_samples : int
    n_batches : int, optional
        Length of ``batches`` for the progress bar, when it is a generator.

    Returns
    -------
    ndarray or dict of str -> ndarray (float32 ``numpy``, input order)
    """
    import torch

    from ..utils._progress import progress_bar

    autocast, _ = autocast_for(device, precision)
    model.eval()
    out = None
    with torch.inference_mode(), autocast:
        for indices, batch in progress_bar(
            batches, desc=desc, enabled=show_progress, total=n_batches
        ):
            result = forward_fn(model, to_device(batch, device))
            single = not isinstance(result, dict)
            result = {None: result} if single else result
            if out is None:
                out = {
                    k: np.zeros((n_samples,) + tuple(v.shape[1:]), dtype=np.float32)
                    for k, v in result.items()
                }
            for k, v in result.items():
                out[k][np.asarray(indices)] = v.detach().float().cpu().numpy()
    if out is None:
        return None
    return out[None] if None in out else out
