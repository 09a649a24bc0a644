"""The one training loop of :mod:`skempathy.neural` and its building blocks.

Everything here is private to the package but written to be reused by every
torch estimator in ``skempathy/neural`` (the fine-tuned classifiers/regressors
in ``_base.py``, and the seq2seq, MLM, token-attention and distillation
modules). The pieces, in the order a ``fit`` uses them:

``load_pretrained(model, auto_class="AutoModel")``
    ``(tokenizer, model)`` from an embedded name, a local path or a hub name.
``tokenize(tokenizer, texts, max_length, who=...)``
    A list of un-padded ``input_ids`` lists; texts longer than ``max_length``
    are truncated and reported in ONE warning per call.
``length_grouped_batches(lengths, batch_size, shuffle=..., rng=...)``
    Index arrays; texts of similar length share a batch so dynamic padding
    wastes little (shuffled mega-batches sorted by length when training,
    fully sorted for inference).
``pad(input_ids, pad_token_id)`` / ``collate(input_ids, pad_token_id)``
    Pads one batch to its longest member (dynamic padding) and returns
    ``{"input_ids", "attention_mask"}`` as numpy arrays / torch tensors.
``TransformerModule(encoder, head_dims, pooling=..., n_extra=...)``
    Encoder + pooling (mean or CLS) + optional numeric side inputs
    concatenated to the pooled vector + :class:`MultiTaskHead` (one linear
    head per task). ``forward`` returns ``{task: logits}``; ``embed`` returns
    the pooled text vectors.
``train_loop(model, batches, loss_fn, ...)``
    AdamW (no decay on biases/LayerNorm), linear warm-up/decay, gradient
    accumulation, bf16/fp16 autocast on CUDA (bf16 on CPU), gradient clipping, per-epoch
    ``history`` dicts, an optional ``eval_fn`` (higher is better) with early
    stopping and best-epoch restore, KeyboardInterrupt handling (keeps the
    best weights so far) and a tqdm bar per epoch; on CPU, the faster dropout
    masks and eager attention of :mod:`._cpu_kernels` while it trains.
    ``batches(epoch)`` returns the list of batches of one epoch (any objects
    ``loss_fn`` understands; dicts of tensors are moved to the device for you);
    ``loss_fn(model, batch)`` returns a scalar loss tensor.
``predict_loop(model, batches, forward_fn, n_samples, ...)``
    ``eval()`` + ``no_grad()`` (+ autocast as in training) over ``(indices, batch)``
    pairs; outputs are moved to CPU per batch and returned in input order.
``pack_pretrained(model, tokenizer)`` / ``unpack_pretrained(packed)``
    Device-independent pickling: config and tokenizer files as bytes, weights
    as CPU tensors serialised with ``torch.save`` and loaded back with
    ``weights_only=True``; no optimizer state.
``seeded(seed)``
    Context manager seeding torch (CPU and CUDA) inside a forked RNG state, so
    ``random_state`` makes a fit reproducible without touching the caller's
    global RNG.

Heavy imports (torch, transformers, tqdm) happen inside functions: importing
this module is cheap, and classes needing ``torch.nn`` are built lazily by
:func:`_module_classes`.
"""

import contextlib
import io
import math
import tempfile
import threading
import time
import warnings

import numpy as np

__all__ = [
    "collate",
    "length_grouped_batches",
    "load_pretrained",
    "make_transformer_module",
    "pack_pretrained",
    "pad",
    "predict_loop",
    "seeded",
    "to_device",
    "tokenize",
    "train_loop",
    "unpack_pretrained",
]


# --------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------
# torch has one global RNG per process: fits seeded in concurrent threads would draw
# from it in turn and no longer reproduce. Seeded work therefore takes this lock.
_RNG_LOCK = threading.RLock()


@contextlib.contextmanager
def seeded(seed, device="cpu"):
    """Seed torch inside a forked RNG state (the caller's RNG is restored on exit).

    Seeded blocks of one process run one at a time, so a ``random_state``
    reproduces under thread-based workers (joblib's threading backend, Dask's
    default workers) too; torch already spreads each fit over every core.

    Parameters
    ----------
    seed : int
        Seed for ``torch.manual_seed`` (CPU and, when used, CUDA).
    device : str
        The device the work runs on; CUDA RNG state is forked only for CUDA.
    """
    import torch

    devices = []
    if str(device).startswith("cuda") and torch.cuda.is_available():
        devices = [torch.device(device).index or 0]
    with _RNG_LOCK, torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield


# --------------------------------------------------------------------------------------
# Loading, tokenisation and batching
# --------------------------------------------------------------------------------------
def load_pretrained(model, auto_class="AutoModel", *, show_progress=True, **kwargs):
    """Load ``(tokenizer, model)`` for an embedded name, a local path or a hub name.

    Parameters
    ----------
    model : str or os.PathLike
        Resolved with :func:`skempathy.base.resolve_model`.
    auto_class : str, default="AutoModel"
        Name of the ``transformers`` auto class (``"AutoModelForSeq2SeqLM"``,
        ``"AutoModelForMaskedLM"``, ...).
    show_progress : bool, default=True
        Whether transformers shows its weight-loading bar (restored after).
    **kwargs
        Passed to ``from_pretrained`` of the model.
    """
    import transformers

    from ..base import resolve_model

    from ..utils._progress import transformers_progress_off

    path = resolve_model(model)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    with transformers_progress_off(None if show_progress else True):
        net = getattr(transformers, auto_class).from_pretrained(path, **kwargs)
    return tokenizer, net


def tokenize(tokenizer, texts, max_length, *, who="", add_special_tokens=True):
    """Tokenise texts without padding; truncate to ``max_length`` with one warning.

    Returns
    -------
    input_ids : list of list of int
    n_truncated : int
        How many texts were longer than ``max_length`` tokens.
    """
    enc = tokenizer(
        list(texts), add_special_tokens=add_special_tokens, truncation=False, verbose=False
    )
    ids = enc["input_ids"]
    long = [i for i, row in enumerate(ids) if len(row) > max_length]
    if long:
        trunc = tokenizer(
            [texts[i] for i in long],
            add_special_tokens=add_special_tokens,
            truncation=True,
            max_length=max_length,
            verbose=False,
        )["input_ids"]
        for i, row in zip(long, trunc):
            ids[i] = row
        warnings.warn(
            f"{who}{len(long)} of {len(ids)} texts are longer than max_length={max_length} "
            "tokens and were truncated. Increase max_length to keep more text.",
            UserWarning,
            stacklevel=3,
        )
    return ids, len(long)


def length_grouped_batches(lengths, batch_size, *, shuffle=False, rng=None, mega_batch=50):
    """Split ``range(len(lengths))`` into batches of texts of similar length.

    Parameters
    ----------
    lengths : sequence of int
        Token counts.
    batch_size : int
    shuffle : bool, default=False
        Training mode: shuffle, cut into mega-batches of ``mega_batch *
        batch_size`` items, sort each mega-batch by length, cut into batches
        and shuffle the batch order (randomness stays, padding shrinks).
        Inference mode (False): sort everything by length, longest first.
    rng : numpy.random.RandomState, optional
        Source of randomness when ``shuffle`` is True.

    Returns
    -------
    list of ndarray of int
    """
    lengths = np.asarray(lengths)
    n = len(lengths)
    if not shuffle:
        order = np.argsort(-lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    rng = np.random.RandomState(0) if rng is None else rng
    perm = rng.permutation(n)
    chunk = max(batch_size * mega_batch, batch_size)
    batches = []
    for start in range(0, n, chunk):
        part = perm[start : start + chunk]
        part = part[np.argsort(-lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def pad(input_ids, pad_token_id, pad_to=None):
    """Pad a batch of token-id lists to its longest member (or to ``pad_to``).

    Numpy only, so that the ONNX predictor pads without torch.

    Returns
    -------
    dict with ``input_ids`` and ``attention_mask`` (``int64`` arrays).
    """
    width = max(len(r) for r in input_ids) if pad_to is None else int(pad_to)
    ids = np.full((len(input_ids), width), int(pad_token_id), dtype=np.int64)
    mask = np.zeros((len(input_ids), width), dtype=np.int64)
    for i, row in enumerate(input_ids):
        row = row[:width]
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def collate(input_ids, pad_token_id, pad_to=None):
    """:func:`pad` as ``torch.long`` tensors (``input_ids``, ``attention_mask``)."""
    import torch

    return {k: torch.from_numpy(v) for k, v in pad(input_ids, pad_token_id, pad_to).items()}


def pad_token_id(tokenizer):
    """The id used for padding (pad, then eos, then 0)."""
    for attr in ("pad_token_id", "eos_token_id"):
        value = getattr(tokenizer, attr, None)
        if value is not None:
            return int(value)
    return 0


def to_device(obj, device):
    """Move tensors (possibly nested in mappings/lists/tuples) to ``device``."""
    from collections.abc import Mapping

    import torch

    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, Mapping):  # dicts, and tokenizers' BatchEncoding
        return {k: to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device) for v in obj)
    return obj


def _batch_len(batch):
    from collections.abc import Mapping

    import torch

    if isinstance(batch, Mapping):
        for value in batch.values():
            if isinstance(value, torch.Tensor) and value.ndim > 0:
                return int(value.shape[0])
    if isinstance(batch, (list, tuple)) and batch:
        return _batch_len(batch[0])
    if isinstance(batch, torch.Tensor) and batch.ndim > 0:
        return int(batch.shape[0])
    return 1


# --------------------------------------------------------------------------------------
# The multi-task module
# --------------------------------------------------------------------------------------
def pool(hidden, attention_mask, pooling="mean"):
    """Pool token states: ``"mean"`` or ``"max"`` over non-padding tokens, or
    ``"cls"`` (first token). Shared by the frozen and the fine-tuned encoders."""
    if pooling == "cls":
        return hidden[:, 0]
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    if pooling == "max":
        return hidden.masked_fill(mask == 0, float("-inf")).max(1).values
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


_CLASSES = {}


def _module_classes():
    """Build (once) the ``torch.nn`` classes; keeps torch out of module import."""
    if _CLASSES:
        return _CLASSES
    import torch
    from torch import nn

    class MultiTaskHead(nn.Module):
        """One linear layer per task on a shared input vector.

        Parameters
        ----------
        in_features : int
        head_dims : dict of str -> int
            Output size of each task's head (n_classes, n_labels or n_outputs).
        dropout : float
        """

        def __init__(self, in_features, head_dims, dropout=0.1):
            super().__init__()
            self.dropout = nn.Dropout(dropout)
            self.heads = nn.ModuleDict(
                {name: nn.Linear(in_features, int(dim)) for name, dim in head_dims.items()}
            )

        def forward(self, features):
            features = self.dropout(features)
            return {name: head(features) for name, head in self.heads.items()}

    class TransformerModule(nn.Module):
        """Encoder + pooling (+ numeric side inputs) + one head per task.

        ``forward(input_ids, attention_mask, extra=None)`` returns
        ``{task: logits}``; ``embed(...)`` the pooled text vectors.
        """

        def __init__(self, encoder, head_dims, *, pooling="mean", n_extra=0, dropout=0.1):
            super().__init__()
            self.encoder = encoder
            self.pooling = pooling
            self.n_extra = int(n_extra)
            hidden = int(encoder.config.hidden_size)
            self.head = MultiTaskHead(hidden + self.n_extra, head_dims, dropout=dropout)

        def embed(self, input_ids, attention_mask, **_):
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
            return pool(out.last_hidden_state, attention_mask, self.pooling)

        def forward(self, input_ids, attention_mask, extra=None, **_):
            pooled = self.embed(input_ids, attention_mask)
            if self.n_extra:
                pooled = torch.cat([pooled, extra.to(pooled.dtype)], dim=1)
            return self.head(pooled)

    _CLASSES.update(MultiTaskHead=MultiTaskHead, TransformerModule=TransformerModule)
    return _CLASSES


def make_transformer_module(encoder, head_dims, *, pooling="mean", n_extra=0, dropout=0.1):
    """Build a :class:`TransformerModule` (encoder + pooling + multi-task heads)."""
    cls = _module_classes()["TransformerModule"]
    return cls(encoder, head_dims, pooling=pooling, n_extra=n_extra, dropout=dropout)


def make_multitask_head(in_features, head_dims, dropout=0.1):
    """Build a :class:`MultiTaskHead` (one ``nn.Linear`` per task)."""
    return _module_classes()["MultiTaskHead"](in_features, head_dims, dropout=dropout)


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------
def cpu_has_fast_bf16():
    """Whether this CPU has bf16 matrix units (Intel AMX or AVX512-BF16).

    Only there is bf16 autocast on CPU faster than fp32 (about 3x for a base-size
    encoder); elsewhere (e.g. AVX2-only CPUs) torch emulates bf16 and a
    training step is an order of magnitude slower (benchmarks/bench_precision.py).
    """
    import torch

    checks = [
        getattr(torch.cpu, name, None)
        for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    ]
    return any(bool(check()) for check in checks if callable(check))


def _autocast(device, precision):
    """Autocast context + whether a GradScaler is needed, for ``precision``.

    On CUDA ``"auto"`` is bf16 where supported, else fp16 with a GradScaler. On
    CPU only an explicit ``"bf16"`` autocasts: it is about 3x faster on CPUs with
    bf16 matrix units (Intel AMX / AVX512-BF16) but changes the numbers, so
    ``"auto"`` keeps CPU fits in fp32 (and reproducible against fp32 results);
    fp16 has no fast CPU kernels and computes in fp32 there. ``"bf16"`` on a
    CPU without bf16 units is honoured, with a warning: it is much slower.
    """
    import torch

    device_type = str(device).split(":")[0]
    if device_type == "cpu" and precision == "bf16":
        if not cpu_has_fast_bf16():
            warnings.warn(
                "precision='bf16' on a CPU without bf16 matrix units (Intel AMX or "
                "AVX512-BF16): torch emulates bf16 there, and a training step is "
                "about 16x slower than in fp32. Use precision='auto' (fp32 on CPU).",
                UserWarning,
                stacklevel=3,
            )
        return torch.autocast("cpu", dtype=torch.bfloat16), False
    if device_type != "cuda" or precision == "fp32":
        return contextlib.nullcontext(), False
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast("cuda", dtype=dtype), dtype == torch.float16


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

    Returns
    -------
    dict
        ``history`` (list of per-epoch dicts: epoch, train_loss, valid_score,
        learning_rate, n_samples, duration_s, samples_per_s), ``best_epoch``
        (epoch number, or the last completed epoch without ``eval_fn``),
        ``best_score`` and ``interrupted`` (bool).

    Notes
    -----
    Launched in several processes (``torchrun``, ``accelerate launch``), the
    loop trains data-parallel: see :mod:`skempathy.neural._distributed`.

    On CPU the loop trains inside :func:`._cpu_kernels.cpu_training_kernels`:
    dropout masks come from NumPy's SFC64 generator (seeded from torch's) and
    transformers models attend eagerly, both undone when training ends.

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
    from ._cpu_kernels import cpu_training_kernels
    from ._distributed import (
        average_gradients,
        broadcast_parameters,
        process_group,
        reduce_sum,
        shard_batches,
    )

    group = process_group()  # started by torchrun / accelerate launch, else None
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
    autocast, need_scaler = _autocast(device, precision)
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
    kernels = contextlib.ExitStack()  # faster dropout masks and attention on CPU
    kernels.enter_context(cpu_training_kernels(model, device))
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
                size = _batch_len(batch)
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

    autocast, _ = _autocast(device, precision)
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


# --------------------------------------------------------------------------------------
# Device-independent pickling
# --------------------------------------------------------------------------------------
def unpickled_device(device):
    """The device a model unpickled here goes to: the fitted one, or the CPU
    when it was fitted on CUDA and this machine has none."""
    if str(device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            return "cpu"
    return device


class PackedModelPickling:
    """Pickles the fitted ``model_`` and ``tokenizer_`` as the pretrained files plus the
    trained weights (:func:`pack_pretrained`, :func:`pack_state_dict`), so an estimator
    unpickles without the hub, and on the CPU when it was fitted on a GPU this machine lacks.

    ``_auto_class`` names the transformers class that rebuilds the pretrained part;
    ``_pretrained_part`` and ``_rebuild_model`` map between it and ``model_`` where the model
    wraps an encoder.
    """

    _auto_class = "AutoModel"

    def _pretrained_part(self, model):
        return model

    def _rebuild_model(self, pretrained):
        return pretrained

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_cw", None)  # per-sample training weights: not needed after fit
        model = state.pop("model_", None)
        tokenizer = state.pop("tokenizer_", None)
        if model is not None:
            state["_packed_model"] = {
                "pretrained": pack_pretrained(self._pretrained_part(model), tokenizer),
                "state_dict": pack_state_dict(model),
            }
        return state

    def __setstate__(self, state):
        state = dict(state)
        packed = state.pop("_packed_model", None)
        super().__setstate__(state)
        if packed is not None:
            tokenizer, pretrained = unpack_pretrained(
                packed["pretrained"], auto_class=self._auto_class
            )
            model = self._rebuild_model(pretrained)
            model.load_state_dict(unpack_state_dict(packed["state_dict"]))
            self.device_ = device = unpickled_device(self.device_)
            self.model_ = model.to(device).eval()
            self.tokenizer_ = tokenizer


def pack_state_dict(module):
    """Serialise ``module.state_dict()`` as CPU tensors to safetensors bytes.

    Safetensors holds tensors only, so loading runs no code (also inside a
    skops file). ``cpu_state_dict`` copies every tensor, so tied weights do not
    share storage (which safetensors refuses) and are stored once per name.
    """
    from safetensors.torch import save

    return save({k: v.contiguous() for k, v in cpu_state_dict(module).items()})


def unpack_state_dict(data):
    """Inverse of :func:`pack_state_dict`, on CPU; also reads the ``torch.save``
    bytes of earlier pickles (``weights_only=True``)."""
    if bytes(data[:2]) == b"PK":  # a torch.save zip archive
        import torch

        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    from safetensors.torch import load

    return load(bytes(data))


def pack_pretrained(model, tokenizer=None):
    """Config + tokenizer files as bytes (no weights) for a transformers model.

    Returns
    -------
    dict
        ``{"files": {name: bytes}, "class": model class name}``. Store the
        weights separately with :func:`pack_state_dict` (or of a wrapper
        module holding the model).
    """
    from ..utils._files import read_folder

    with tempfile.TemporaryDirectory() as tmp:
        model.config.save_pretrained(tmp)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        files = read_folder(tmp)
    return {"files": files, "class": type(model).__name__}


def unpack_pretrained(packed, auto_class="AutoModel", with_tokenizer=True):
    """Rebuild ``(tokenizer, model)`` (random weights) from :func:`pack_pretrained`.

    Load the weights afterwards with ``load_state_dict(unpack_state_dict(...))``.
    """
    import transformers

    from ..utils._files import write_folder

    with tempfile.TemporaryDirectory() as tmp:
        write_folder(packed["files"], tmp)
        config = transformers.AutoConfig.from_pretrained(tmp)
        tokenizer = transformers.AutoTokenizer.from_pretrained(tmp) if with_tokenizer else None
    model = getattr(transformers, auto_class).from_config(config)
    return tokenizer, model
