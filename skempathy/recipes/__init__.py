"""Named recipes: the estimators ``skempathy wassa --recipe NAME`` fits.

A :class:`Recipe` declares its members, the columns each predicts and their weights per column;
:func:`build_recipe` turns it into one unfitted :class:`~skempathy.ensemble.MultiTaskVoting`.
"""

from ._members import (
    finetuned_goemotions,
    finetuned_multitask,
    logreg_track2,
    ridge_svr_track1,
    svr_track1,
    text_logreg_track2,
    text_only_vote,
)
from ._registry import RECIPES, Member, Recipe, build_recipe, get_recipe

__all__ = [
    "RECIPES",
    "Member",
    "Recipe",
    "build_recipe",
    "finetuned_goemotions",
    "finetuned_multitask",
    "get_recipe",
    "logreg_track2",
    "ridge_svr_track1",
    "svr_track1",
    "text_logreg_track2",
    "text_only_vote",
]
