"""Data-parallel fine-tuning across processes (``torchrun``, ``accelerate launch``).

Every process runs the same script and the same ``fit``. The launcher's
environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``,
``LOCAL_RANK``) starts a ``torch.distributed`` process group: gloo on CPU,
NCCL on GPUs. The training loop then

* gives each process every ``world_size``-th batch of the epoch (the batch
  list is the same everywhere: one seed), wrapping around so that all
  processes take the same number of steps;
* starts from rank 0's weights and averages the gradients of all processes
  before each optimizer step, so the weights stay identical everywhere.

A two-process fit with ``batch_size=b`` is therefore the single-process fit
with ``batch_size=b`` and ``gradient_accumulation_steps=2`` (an effective
batch of ``2 b``), and every process ends with the same fitted estimator:
rank 0 saves it (:func:`is_main_process`).
"""

import os

__all__ = [
    "average_gradients",
    "broadcast_parameters",
    "is_main_process",
    "process_group",
    "reduce_sum",
    "shard_batches",
]


def process_group():
    """``(rank, world_size)`` of the running process group, or None in one process.

    Starts the group from the launcher's environment when ``WORLD_SIZE`` > 1
    and none is running yet.
    """
    import torch
    import torch.distributed as dist

    if not dist.is_available():
        return None
    if not dist.is_initialized():
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return None
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    world = dist.get_world_size()
    return None if world <= 1 else (dist.get_rank(), world)


def is_main_process():
    """True in the process that should save results: rank 0, or the only process.

    Examples
    --------
    >>> from skempathy.neural import is_main_process
    >>> is_main_process()
    True
    """
    group = process_group()
    return group is None or group[0] == 0


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
