"""Recipes as declarations: which members vote, on which columns, with which weights."""

import inspect
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Optional

from .._models import require_mpnet
from ._members import (
    MINILM,
    MPNET,
    finetuned_goemotions,
    finetuned_multitask,
    logreg_track2,
    svr_track1,
    text_logreg_track2,
)

_TRACK1 = ["empathy", "distress"]


@dataclass(frozen=True)
class Member:
    """One voter of a recipe: its ``name`` in the vote, ``build`` (called with the frozen
    encoder named by ``encoder``: the recipe's, ``"minilm"`` for a MiniLM one of the same kind,
    None for a fine-tuned member that carries its own), the ``columns`` it predicts (None: all)
    and its ``weights`` per column (1.0 where not given; normalised per column over the members
    that predict it)."""

    name: str
    build: Callable
    columns: object
    encoder: Optional[str] = "recipe"
    weights: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    """A vote of ``members`` over ``emotion``, ``empathy`` and ``distress``, sharing one frozen
    encoder on the ``encoder`` checkpoint: a :class:`~skempathy.text.SentenceEmbedder`
    (``layers="last"``) or a :class:`~skempathy.text.TransformerEmbedder` averaging every layer
    (``layers="all"``). ``summary`` is its line in ``skempathy wassa --help``."""

    members: tuple
    encoder: str = MINILM
    layers: str = "last"
    summary: str = ""

    def make_embedder(self, model=None, **params):
        """The recipe's frozen encoder on ``model`` (default: its own checkpoint); a
        ``"static-<name>"`` model is a :class:`~skempathy.text.StaticEmbedder` distilled from
        ``<name>`` (the parameters it has no use for, ``device`` and ``precision``, are
        dropped)."""
        from ..text import SentenceEmbedder, TransformerEmbedder
        from ..text._static import frozen_embedder, static_source

        model = model or self.encoder
        if static_source(model) is not None:
            return frozen_embedder(model, **params)
        if model == MPNET:
            require_mpnet("This recipe")
        if self.layers == "all":
            return TransformerEmbedder(model, layers="all", **params)
        return SentenceEmbedder(model, **params)

    def build(self, *, embedder=None, drop=(), data_home=None, memory=None):
        """The unfitted :class:`~skempathy.ensemble.MultiTaskVoting` of the members, sharing
        ``embedder`` (default: :meth:`make_embedder`), less those named in ``drop`` (the others'
        weights are renormalised per column); members that read a corpus in ``fit``
        (GoEmotions) find it in ``data_home``; each fitted member is cached in ``memory`` (a
        folder or a :class:`joblib.Memory`), so an interrupted fit resumes."""
        from sklearn.base import clone

        from ..ensemble import MultiTaskVoting
        from ..text._base import _BaseEmbedder

        names = [member.name for member in self.members]
        kept = [member for member in self.members if member.name not in drop]
        if set(drop) - set(names) or not kept:
            raise ValueError(
                f"drop={list(drop)} must name some of the members {names}, not all of them."
            )
        embedder = self.make_embedder() if embedder is None else embedder
        encoders = {
            "recipe": embedder,
            "minilm": (
                clone(embedder).set_params(model=MINILM)
                if isinstance(embedder, _BaseEmbedder)
                else self.make_embedder(MINILM)
            ),
        }
        estimators = []
        for member in kept:
            build = member.build
            if "data_home" in inspect.signature(build).parameters:
                build = partial(build, data_home=data_home)
            estimator = build(encoders[member.encoder]) if member.encoder else build()
            estimators.append((member.name, estimator, member.columns))
        columns = sorted({column for member in kept for column in member.weights})
        weights = {
            column: [float(member.weights.get(column, 1.0)) for member in kept]
            for column in columns
        }
        return MultiTaskVoting(estimators, weights=weights or None, memory=memory)


# the base-size fine-tunings: the usual rate for base-size encoders, bf16 where it is fast
_mpnet_multitask = partial(finetuned_multitask, MPNET, learning_rate=3e-5, precision="fast")
_mpnet_goemotions = partial(finetuned_goemotions, MPNET, learning_rate=3e-5, precision="fast")
_fifth, _tenth = {"emotion": 0.2}, {"emotion": 0.1}  # shares of the emotion vote
RECIPES = {
    "default": Recipe(
        summary="frozen MiniLM + writer columns, SVR / logistic regression (1 min)",
        members=(
            Member("track1", partial(svr_track1, text_weight=0.3), _TRACK1),
            Member("track2", partial(text_logreg_track2, C=0.003), "emotion"),
        ),
    ),
    "mpnet": Recipe(
        encoder=MPNET,
        layers="all",
        summary="frozen all-mpnet-base-v2, all layers averaged (6 min)",
        members=(
            Member("track1", svr_track1, _TRACK1),
            Member("track2", text_logreg_track2, "emotion"),
        ),
    ),
    "finetuned": Recipe(
        summary="multi-task MiniLM fine-tuned + frozen MiniLM, half each (9 min)",
        members=(
            Member("finetuned", finetuned_multitask, None, encoder=None),
            Member("track1", svr_track1, _TRACK1),
            Member("track2", logreg_track2, "emotion"),
        ),
    ),
    "best": Recipe(
        encoder=MPNET,
        layers="all",
        summary="multi-task mpnet fine-tuned + frozen MiniLM and mpnet + MiniLM and "
        "mpnet fine-tuned with GoEmotions (45 min with bf16 units, 1 h+ else)",
        members=(
            Member("finetuned_seed0", _mpnet_multitask, None, None, _fifth),
            Member("track1_minilm", svr_track1, _TRACK1, "minilm"),
            Member("track2_minilm", logreg_track2, "emotion", "minilm", _fifth),
            Member("track1_mpnet", svr_track1, _TRACK1),
            Member("track2_mpnet", text_logreg_track2, "emotion", weights=_fifth),
            Member("emotion_goemotions_seed0", finetuned_goemotions, "emotion", None, _tenth),
            Member(
                "emotion_goemotions_seed1",
                partial(finetuned_goemotions, random_state=1),
                "emotion",
                None,
                _tenth,
            ),
            Member("emotion_goemotions_base", _mpnet_goemotions, "emotion", None, _fifth),
        ),
    ),
}


def get_recipe(name="default"):
    """The :class:`Recipe` declared under ``name`` in :data:`RECIPES`.

    Parameters
    ----------
    name : {"default", "mpnet", "finetuned", "best"}, default="default"
    """
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(f"Unknown recipe {name!r}; available: {sorted(RECIPES)}") from None


def build_recipe(name="default", **params):
    """``get_recipe(name).build(**params)``: the recipe's unfitted vote.

    Parameters
    ----------
    name : {"default", "mpnet", "finetuned", "best"}, default="default"
    **params
        ``embedder``, ``drop``, ``data_home``, ``memory``: see :meth:`Recipe.build`.

    Examples
    --------
    >>> from skempathy.recipes import build_recipe
    >>> vote = build_recipe("default")
    >>> [(name, columns) for name, _, columns in vote.estimators]
    [('track1', ['empathy', 'distress']), ('track2', 'emotion')]
    """
    return get_recipe(name).build(**params)
