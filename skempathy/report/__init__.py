"""Plots and reports for model comparisons.

Matplotlib is imported only when a plot is drawn (install ``skempathy[plots]``);
figures use the Agg canvas and never touch ``pyplot`` state, so they work on
headless machines.
"""

from ._html import make_html_report
from ._plots import (
    figure_to_base64,
    plot_confusion_matrix,
    plot_predictions,
    plot_scores,
    save_figure,
)
from ._slices import DEFAULT_BINS, slice_report

__all__ = [
    "DEFAULT_BINS",
    "figure_to_base64",
    "make_html_report",
    "plot_confusion_matrix",
    "plot_predictions",
    "plot_scores",
    "save_figure",
    "slice_report",
]
