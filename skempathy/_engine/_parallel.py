"""Data-parallel fine-tuning across processes (``torchrun``, ``accelerate launch``), on request.

A training script started by a launcher turns it on once with :func:`data_parallel`, which
starts a ``torch.distributed`` process group from the launcher's environment (``RANK``,
``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``, ``LOCAL_RANK``; gloo on CPU, NCCL on GPUs)
unless one is running. Every process then runs the same ``fit``, and the training loop

* gives each process every ``world_size``-th batch of the epoch (the batch
  list is the same everywhere: one seed), wrapping around so that all
  processes take the same number of steps;
* starts from rank 0's weights and averages the gradients of all processes
  before each optimizer step, so the weights stay identical everywhere.

A two-process fit with ``batch_size=b`` is therefore the single-process fit
with ``batch_size=b`` and ``gradient_accumulation_steps=2`` (an effective
batch of ``2 b``), and every process ends with the same fitted estimator:
rank 0 saves it (:func:`is_main_process`).

Without :func:`data_parallel` a fit never shards its batches or averages gradients, even
inside a process group that the script started for other work.
"""

import os

__all__ = [
    "average_gradients",
    "broadcast_parameters",
    "data_parallel",
    "is_main_process",
    "reduce_sum",
    "shard_batches",
    "training_group",
]

# The one switch, set by the training script: data-parallel training is a decision about the
# whole run (every process must take the same steps), not about one thread's fit.
_SWITCH = {"on": False}


def _running_group():
    """``(rank, world_size)`` of the running process group of several processes, or None."""
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_initialized():
        return None
    world = dist.get_world_size()
    return None if world <= 1 else (dist.get_rank(), world)


def data_parallel(enabled=True):
    """Train every following ``fit`` of this process data-parallel across the launched processes.

    Call it once, near the top of a script started by ``torchrun`` or ``accelerate launch``.
    It starts the process group from the launcher's environment when none is running yet.

    Parameters
    ----------
    enabled : bool, default=True
        False turns data-parallel training off again.

    Returns
    -------
    tuple of (int, int)
        This process's rank and the number of processes (``(0, 1)`` outside a launcher).

    Examples
    --------
    >>> from skempathy.neural import data_parallel
    >>> data_parallel()  # a plain process: one rank of one
    (0, 1)
    >>> _ = data_parallel(False)
    """
    import torch
    import torch.distributed as dist

    _SWITCH["on"] = bool(enabled)
    if enabled and dist.is_available() and not dist.is_initialized():
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            if torch.cuda.is_available():
                torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    group = _running_group()
    return (0, 1) if group is None else group


def training_group(requested=None):
    """``(rank, world_size)`` a fit trains over, or None for a single-process fit.

    ``requested``: True requires a running group of several processes, False never shards,
    None follows :func:`data_parallel`.
    """
    if requested is False or (requested is None and not _SWITCH["on"]):
        return None
    group = _running_group()
    if group is None and requested:
        raise ValueError(
            "data_parallel=True needs a running process group of several processes: start "
            "the script with torchrun or accelerate launch and call "
            "skempathy.neural.data_parallel() first."
        )
    return group


def is_main_process():
    """True in the process that should save results: rank 0, or the only process.

    Examples
    --------
    >>> from skempathy.neural import is_main_process
    >>> is_main_process()
    True
    """
    group = _running_group()
    if group is None:
        return int(os.environ.get("RANK", "0")) == 0
    return group[0] == 0


def local_device(device):
    """``cuda`` becomes this process's GPU (``cuda:<LOCAL_RANK>``) under a launcher."""
    if str(device) == "cuda" and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return device


def shard_batches(batches, rank, world):
    """Every ``world``-th batch from ``rank``, padded by wrapping around so that
    each process gets ``ceil(len / world)`` batches (equal step counts)."""
    if not batches:
        return batches
    per_rank = -(-len(batches) // world)
    padded = list(batches) + list(batches[: per_rank * world - len(batches)])
    return padded[rank::world]


def broadcast_parameters(model):
    """Copy rank 0's parameters and buffers to every process."""
    import torch.distributed as dist

    for tensor in list(model.parameters()) + list(model.buffers()):
        dist.broadcast(tensor.data, src=0)


def average_gradients(model, world):
    """All-reduce the gradients (one flat buffer) and divide by ``world``.

    A parameter without a gradient in this process counts as zeros, so every
    process reduces the same buffer.
    """
    import torch
    import torch.distributed as dist

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def reduce_sum(*values):
    """Sums of Python numbers over every process (for the epoch's loss and count)."""
    import torch
    import torch.distributed as dist

    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor)
    return tensor.tolist()
