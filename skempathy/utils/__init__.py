"""Utilities: estimator discovery, and what this machine is."""

from ._machine import cpu_summary, show_versions
from .discovery import all_estimators

__all__ = ["all_estimators", "cpu_summary", "show_versions"]
