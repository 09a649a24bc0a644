"""The ``skempathy`` command: thin subcommands over the library.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int`` (and a one-line module docstring used as its help). This
file only maps names to module paths and imports the chosen one lazily, so
``skempathy --help`` and every command start without importing torch.

Every subcommand takes ``--quiet`` (no progress bars, no messages on standard
error); progress bars are drawn only on a terminal anyway.

Outputs are checked for writability before any work; SIGTERM is handled like
Ctrl-C (exit status 143, temporary files removed), and either ends the run: a
fine-tuning loop never keeps going with its weights so far. Errors (missing file or
column, empty input, unreadable model, ...) are reported as one line
``skempathy <command>: error: <message>`` with exit status 1; set
``SKEMPATHY_DEBUG=1`` to see the traceback instead.
"""

import argparse
import contextlib
import importlib
import os
import sys

__all__ = ["COMMANDS", "CLIError", "main"]

COMMANDS = {
    "wassa": "skempathy._commands.wassa",
    "train": "skempathy._commands.train",
    "predict": "skempathy._commands.predict",
    "evaluate": "skempathy._commands.evaluate",
    "distill": "skempathy._commands.distill",
    "compare": "skempathy._commands.compare",
}


class CLIError(Exception):
    """An error to report as one line (no traceback)."""


def _import_command(name):
    """The subcommand module, or None if it is not installed (optional commands)."""
    path = COMMANDS[name]
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as exc:
        if exc.name and path.startswith(exc.name):
            return None
        raise


def _summary(module):
    doc = (module.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def add_common_arguments(parser):
    """The options every subcommand takes (``--quiet``); returns ``parser``."""
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bars and no messages on standard error"
    )
    return parser


def build_parser(only=None):
    """The argument parser; ``only`` restricts the subcommands imported."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="skempathy",
        description="Empathy, distress and emotion prediction (WASSA 2021) with scikit-learn.",
    )
    parser.add_argument("--version", action="version", version=f"skempathy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if only is None else [only]:
        module = _import_command(name)
        if module is None:
            continue
        summary = _summary(module)
        cmd = sub.add_parser(name, help=summary, description=summary)
        module.add_arguments(cmd)
        add_common_arguments(cmd)
        cmd.set_defaults(_module=module)
    return parser


def main(argv=None):
    """Entry point of the ``skempathy`` console script; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; None reads ``sys.argv[1:]``.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in COMMANDS else None
    if only is not None and _import_command(only) is None:
        print(
            f"skempathy: error: the '{only}' command is not available in this installation",
            file=sys.stderr,
        )
        return 2
    parser = build_parser(only)
    args = parser.parse_args(argv)
    if getattr(args, "_module", None) is None:
        parser.print_help()
        return 0 if not argv else 2
    from .utils._interrupts import Terminated, interrupts_end_runs, sigterm_as_interrupt
    from .utils._progress import interactive, progress_disabled, silence_library_progress_bars

    if args.quiet or not interactive():
        silence_library_progress_bars()
    quiet = progress_disabled() if args.quiet else contextlib.nullcontext()
    try:
        with quiet, sigterm_as_interrupt(), interrupts_end_runs():
            return int(args._module.run(args) or 0)
    except Terminated:
        print(f"skempathy {args.command}: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"skempathy {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line, never a traceback (unless debugging)
        if os.environ.get("SKEMPATHY_DEBUG"):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"skempathy {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
