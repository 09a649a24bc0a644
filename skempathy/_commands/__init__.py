"""Subcommands of the ``skempathy`` command (one module each; see skempathy/cli.py)."""
