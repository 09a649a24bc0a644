"""Seeding of torch work."""

import contextlib
import threading


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
