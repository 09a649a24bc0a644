"""Per-thread switches that a ``with`` block turns on and restores."""

import contextlib

__all__ = ["thread_flag"]


@contextlib.contextmanager
def thread_flag(state, name, value=True):
    """Set ``state.<name>`` (a ``threading.local``) to ``value`` inside the block, then restore
    what it was (False when unset)."""
    previous = getattr(state, name, False)
    setattr(state, name, value)
    try:
        yield
    finally:
        setattr(state, name, previous)
