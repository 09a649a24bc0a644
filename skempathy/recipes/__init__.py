"""Named recipes: the estimators ``skempathy wassa --recipe NAME`` fits.

A :class:`Recipe` declares its members, the columns each predicts and their weights per column;
:func:`build_recipe` turns it into one unfitted :class:`~skempathy.ensemble.MultiTaskVoting`.
"""

from ._members import (default_track1, default_track2, finetuned_goemotions, finetuned_multitask,
                       mpnet_track1, mpnet_track2)
from ._registry import RECIPES, Member, Recipe, build_recipe, get_recipe

__all__ = ["RECIPES", "Member", "Recipe", "build_recipe", "default_track1", "default_track2",
           "finetuned_goemotions", "finetuned_multitask", "get_recipe", "mpnet_track1",
           "mpnet_track2"]
