"""``python -m skempathy`` runs the ``skempathy`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
