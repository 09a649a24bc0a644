"""Peak memory of a block of code, as the growth of the process's resident set.

We sample the resident set size (RSS) of the current process from a
background thread. Unlike ``tracemalloc`` this sees native allocations (torch
tensors, tokenizers, xgboost), and unlike ``resource.getrusage`` it is not a
process-lifetime high-water mark, so it can be measured per model. Limits:
spikes shorter than the sampling interval are missed, and memory the
allocator already holds from earlier work is reused without growing the RSS
(so a model fitted after a bigger one may read low).
"""

import os
import threading
import time

__all__ = ["PeakRSS", "current_rss"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def current_rss():
    """Resident set size of this process in bytes, or None where unsupported."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        pass
    try:  # optional, cross-platform
        import psutil

        return psutil.Process().memory_info().rss
    except Exception:
        return None


_ACTIVE = set()  # the measurements open in this process
_ACTIVE_LOCK = threading.Lock()


class PeakRSS:
    """Context manager measuring the peak RSS growth (MiB) while it is open.

    RSS belongs to the whole process: a measurement that overlapped another one
    in the same process (thread-based joblib or Dask workers) cannot be told
    apart from it and reports NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from skempathy.model_selection._memory import PeakRSS
    >>> with PeakRSS() as mem:
    ...     a = np.ones(20_000_000)  # 160 MB
    >>> mem.peak_mb > 100 or mem.peak_mb != mem.peak_mb  # NaN where unsupported
    True
    """

    def __init__(self, interval=0.01):
        self.interval = interval
        self.peak_mb = float("nan")

    def _sample(self):
        while not self._stop.wait(self.interval):
            rss = current_rss()
            if rss is not None and rss > self._peak:
                self._peak = rss

    def __enter__(self):
        self._start = current_rss()
        if self._start is None:
            return self
        self._overlapped = False
        with _ACTIVE_LOCK:
            for other in _ACTIVE:
                other._overlapped = True
            self._overlapped = bool(_ACTIVE)
            _ACTIVE.add(self)
        self._peak = self._start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        if self._start is None:
            return False
        self._stop.set()
        self._thread.join()
        with _ACTIVE_LOCK:
            _ACTIVE.discard(self)
        end = current_rss()
        if end is not None and end > self._peak:
            self._peak = end
        self.peak_mb = float("nan") if self._overlapped else (self._peak - self._start) / 2**20
        return False


def _timed(func, *args):
    start = time.perf_counter()
    out = func(*args)
    return out, time.perf_counter() - start
