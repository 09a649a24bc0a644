"""Progress bars: one rule for every bar skempathy draws.

A bar is drawn only when it was asked for *and* someone can watch it: standard
error is a terminal, or the code runs in a Jupyter kernel (``tqdm.auto`` draws
a widget there). Redirected to a file or a pipe (CI logs, ``2> run.log``), no
bar is drawn, so logs hold no carriage-return escape sequences.
``progress_disabled()`` silences every bar in its block (the CLI's
``--quiet``).
"""

import contextlib
import sys
import threading

from ._flags import thread_flag

__all__ = [
    "interactive",
    "progress_bar",
    "progress_disabled",
    "show_progress",
    "silence_library_progress_bars",
]

_state = threading.local()


def interactive(stream=None):
    """Whether a progress bar on ``stream`` (default: ``sys.stderr``) can be seen."""
    stream = sys.stderr if stream is None else stream
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):  # closed or replaced streams
        return False
    return "ipykernel" in sys.modules


def show_progress(requested=True):
    """Whether to draw a bar that the caller ``requested``."""
    return bool(requested) and not getattr(_state, "disabled", False) and interactive()


def progress_disabled():
    """Draw no progress bar inside the block (in this thread)."""
    return thread_flag(_state, "disabled")


def progress_bar(iterable=None, *, enabled=True, **kwargs):
    """``tqdm.auto.tqdm`` drawn only where :func:`show_progress` allows it."""
    from tqdm.auto import tqdm

    kwargs.setdefault("file", sys.stderr)
    return tqdm(iterable, disable=not show_progress(enabled), **kwargs)


@contextlib.contextmanager
def transformers_progress_off(off=None):
    """Hide transformers' weight-loading bar inside the block (restored after).

    ``off=None`` hides it wherever no bar can be seen (standard error is not a
    terminal, or bars are disabled), so a script's log holds no bar.
    """
    from transformers.utils import logging as hf_logging

    if off is None:
        off = not show_progress()

    was_on = hf_logging.is_progress_bar_enabled()
    if off:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


def silence_library_progress_bars():
    """Turn off the bars of transformers and huggingface_hub (model loading, downloads).

    For programs that own the process, such as the ``skempathy`` command when
    its output is not a terminal or ``--quiet`` is given; a library call never
    changes these global settings.
    """
    try:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers is a dependency
        pass
    try:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    except ImportError:  # pragma: no cover
        pass
