"""Named recipes: the pipelines ``skempathy wassa`` trains for Track 1 and Track 2.

A recipe maps ``"track1"`` (empathy + distress, one multi-output regressor)
and ``"track2"`` (emotion classifier) to functions returning **unfitted**
plain scikit-learn pipelines. Add a recipe by adding an entry to
:data:`RECIPES`; ``skempathy wassa --recipe NAME`` picks it.

Examples
--------
>>> from skempathy.recipes import get_recipe
>>> recipe = get_recipe("default")
>>> sorted(recipe)
['track1', 'track2']
>>> recipe["track2"]().steps[-1][0]
'head'
"""

__all__ = ["RECIPES", "TRACK1_TASK", "TRACK2_TASK", "default_track1", "default_track2",
           "get_recipe"]

TRACK1_TASK = ["empathy", "distress"]
TRACK2_TASK = "emotion"
_FEATURES = ("text", "demographic", "personality", "iri")


def default_track1(embedder=None):
    """Track 1: one model for empathy and distress (multi-output).

    Per target, a weighted average (``VotingRegressor``, weights 0.7/0.3) of

    * ``Ridge(alpha=2000)`` on standard-scaled MiniLM embeddings + the scaled
      demographic, personality and IRI columns, and
    * ``SVR(C=3)`` (RBF) on the raw embeddings + the same scaled columns (an
      RBF kernel on unscaled 384-d unit vectors leans on the person-level
      columns, which carry most of the distress signal).

    Chosen with 5-fold grouped CV on train (grouped by writer) and checked on
    dev; see benchmarks/RESULTS.md. The two branches share the embedder, so the
    essays are encoded once (embedding cache).
    """
    from sklearn.ensemble import VotingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVR

    from .compose import make_preprocessor
    from .text import SentenceEmbedder

    embedder = SentenceEmbedder() if embedder is None else embedder
    ridge = Pipeline([("preprocessor", make_preprocessor(embedder=embedder)),
                      ("head", Ridge(alpha=2000.0))])
    svr = Pipeline([("preprocessor", make_preprocessor(embedder=embedder, scale_text=False)),
                    ("head", SVR(C=3.0))])
    return MultiOutputRegressor(VotingRegressor([("ridge", ridge), ("svr", svr)],
                                                weights=[0.7, 0.3]))


def default_track2(embedder=None):
    """Track 2: scaled MiniLM embeddings + WASSA columns -> ``LogisticRegression(C=0.01,
    class_weight="balanced")`` (chosen on dev among C in 0.003..1, SVC and RidgeClassifier)."""
    from .compose import make_wassa_pipeline

    return make_wassa_pipeline(TRACK2_TASK, head="logreg", features=_FEATURES, embedder=embedder)


RECIPES = {
    "default": {"track1": default_track1, "track2": default_track2},
}


def get_recipe(name="default"):
    """The ``{"track1": builder, "track2": builder}`` dict of a named recipe.

    Each builder takes an optional ``embedder`` (shared between the tracks so
    the essays are encoded once) and returns an unfitted Pipeline.
    """
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(f"Unknown recipe {name!r}; available: {sorted(RECIPES)}") from None
