"""What an interrupt (Ctrl-C, SIGTERM) means: the end of a run, except at an interactive prompt.

In a notebook or at the Python prompt, Ctrl-C during a fine-tuned estimator's
fit ends that fit early and keeps its best weights so far (``interrupted_``),
as skorch does. Everywhere else (scripts, the ``skempathy`` command, jobs under
a scheduler) an interrupt ends the run: the training loop re-raises it, and a
SIGTERM always does. Meta-estimators never count an interrupted member as
fitted (:func:`raise_if_interrupted`).
"""

import contextlib
import signal
import sys
import threading

from ._flags import thread_flag

__all__ = [
    "Terminated",
    "deferred_interrupts",
    "interrupts_end_runs",
    "keep_weights_on_interrupt",
    "raise_if_interrupted",
    "sigterm_as_interrupt",
]

_state = threading.local()


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every cleanup (``finally``) runs."""


def _interactive_session():
    if hasattr(sys, "ps1") or sys.flags.interactive:  # the Python prompt, python -i
        return True
    ipython = sys.modules.get("IPython")
    return ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None


def keep_weights_on_interrupt(exc):
    """Whether the training loop may end a fit early on ``exc`` and keep its weights."""
    if isinstance(exc, Terminated) or getattr(_state, "end_runs", False):
        return False
    return _interactive_session()


def interrupts_end_runs():
    """Inside the block (this thread), an interrupt always ends the run, even in a notebook."""
    return thread_flag(_state, "end_runs")


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Inside the block, SIGTERM raises :class:`Terminated` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def deferred_interrupts():
    """Hold SIGINT and SIGTERM until the block ends, then deliver them.

    For a few renames that must happen all or none: a signal that arrives
    inside the block takes effect after it (the previous handlers run then).
    Only the main thread receives signals, so elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []

    def hold(signum, frame):
        received.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(received):
            signal.raise_signal(sig)


def _interrupted(estimator, depth=0):
    if getattr(estimator, "interrupted_", False):
        return True
    if depth > 8 or not hasattr(estimator, "get_params"):
        return False
    inner = [getattr(estimator, name, None) for name in ("estimator_", "student_", "teacher_")]
    inner += [step for _, step in getattr(estimator, "steps", [])]
    return any(
        sub is not None and sub is not estimator and _interrupted(sub, depth + 1) for sub in inner
    )


def raise_if_interrupted(estimator, name=None):
    """Re-raise ``KeyboardInterrupt`` if ``estimator`` (or a step of it) ended its fit early.

    A meta-estimator calls this after fitting a member: a member whose fit
    was cut short by Ctrl-C must not count as fitted. Returns ``estimator``.
    """
    if _interrupted(estimator):
        what = name or type(estimator).__name__
        raise KeyboardInterrupt(f"the fit of {what} was interrupted; it does not count as fitted")
    return estimator
