"""Seeding of torch work.

torch has one global random generator per device. A fit builds its module (random head
initialisation) inside :func:`seeded`, which holds the process-wide lock for that short block.
Training then holds the lock only where the model draws from torch's global generator
(:func:`draws_from_torch_rng` finds out with one probing forward pass): on CPU with the fast
paths every dropout mask comes from the fit's own generator, so concurrent fits train at once
and each still reproduces; functional dropout inside third-party modules (e.g.
``nn.MultiheadAttention``), CUDA and ``fast_paths=False`` keep training inside the lock.
"""

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


def draws_from_torch_rng(step):
    """Whether ``step()`` draws from torch's global CPU generator.

    The step runs inside the lock and a forked, freshly seeded state, so no draw of it is seen
    outside; an exception counts as a draw (the caller then keeps the lock).
    """
    import torch

    with _RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        before = torch.random.get_rng_state()
        try:
            step()
        except Exception:
            return True
        return not torch.equal(before, torch.random.get_rng_state())
