"""Named recipes: the pipelines ``skempathy wassa`` trains for Track 1 and Track 2.

A recipe maps ``"track1"`` (empathy + distress, one multi-output regressor)
and ``"track2"`` (emotion classifier) to functions returning **unfitted**
plain scikit-learn pipelines, or, for a *joint* recipe, ``"joint"`` to one
function returning an estimator fitted on the targets of both tracks at once.

* ``"default"``: frozen embedded MiniLM + writer columns, linear/SVR heads (1 min).
* ``"mpnet"``: the same design on frozen all-mpnet-base-v2 (optional install),
  all its layers averaged (:func:`frozen_encoder`), heads tuned by grouped CV
  (:func:`best_track1`, :func:`best_track2`).
* ``"finetuned"`` (joint): a multi-task MiniLM fine-tuned on all three
  targets, soft-voted with the frozen MiniLM pipelines (~9 min on a 2-core CPU).
* ``"best"`` (joint): the multi-task model fine-tuned from mpnet + the frozen
  MiniLM pipelines + the frozen mpnet pipelines (all layers averaged), 1/3
  each, and for emotion two more systems fine-tuned with GoEmotions comments
  (MiniLM, two seeds, and mpnet; :func:`best_joint`; ~45 min on a 2-core CPU
  with bf16 matrix units, over an hour without).

Add a recipe by adding an entry to :data:`RECIPES`; ``skempathy wassa
--recipe NAME`` picks it. An entry's optional ``"encoder"`` names the model and
``"embedder"`` the function that builds the shared frozen encoder from it
(default :class:`~skempathy.text.SentenceEmbedder`).

Examples
--------
>>> from skempathy.recipes import get_recipe
>>> recipe = get_recipe("default")
>>> sorted(recipe)
['track1', 'track2']
>>> recipe["track2"]().steps[-1][0]
'head'
"""

__all__ = ["BEST_ENCODER", "FINETUNED_ENCODER", "FINETUNED_LEARNING_RATE", "FINETUNED_PRECISION",
           "FINETUNED_SEEDS", "FINETUNED_TASKS", "FROZEN_LAYERS", "GOEMOTIONS_BASE_ENCODER",
           "GOEMOTIONS_BASE_LEARNING_RATE", "GOEMOTIONS_BASE_WEIGHT", "GOEMOTIONS_SEEDS",
           "GOEMOTIONS_WEIGHT", "RECIPES", "TRACK1_TASK", "TRACK2_TASK",
           "best_joint", "best_track1", "best_track2", "default_track1", "default_track2",
           "finetuned_emotion_goemotions", "finetuned_joint", "finetuned_multitask",
           "frozen_encoder", "get_recipe", "goemotions_pool", "recipe_embedder"]

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
    dev; see docs/results.md. The two branches share the embedder, so the
    essays are encoded once (embedding cache).

    Parameters
    ----------
    embedder : transformer, default=None
        The frozen text encoder (default: a new :class:`~skempathy.text.SentenceEmbedder`).
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
    class_weight="balanced")`` (chosen on dev among C in 0.003..1, SVC and RidgeClassifier).

    Parameters
    ----------
    embedder : transformer, default=None
        The frozen text encoder (default: a new :class:`~skempathy.text.SentenceEmbedder`).
    """
    from .compose import make_wassa_pipeline

    return make_wassa_pipeline(TRACK2_TASK, head="logreg", features=_FEATURES, embedder=embedder)


# -------------------------------------------------------------------------- mpnet
# The "mpnet" recipe (the frozen members of "best"): frozen all-mpnet-base-v2
# (optional PyPI install) instead of
# the embedded MiniLM, the embeddings down-weighted against the writer columns
# under an RBF SVR (Track 1), a strongly regularised balanced logistic regression
# on the text alone (Track 2; GoEmotions augmentation is available but measured
# to hurt, so off). Every number behind
# these choices (grouped 5-fold CV on train, then dev once) is in
# docs/results.md under "Leaderboard"; `benchmarks/wassa_leaderboard.py`
# reproduces them.

BEST_ENCODER = "all-mpnet-base-v2"
_NUMERIC = ["age", "income",
            "personality_conscientiousness", "personality_openness", "personality_extraversion",
            "personality_agreeableness", "personality_stability",
            "iri_perspective_taking", "iri_personal_distress", "iri_fantasy",
            "iri_empathic_concern"]
_CATEGORICAL = ["gender", "education", "race"]


# Frozen encoders of recipes "mpnet" and "best" average the mean-pooled hidden states of all
# their layers: sentence-transformers training tunes the last layer for semantic similarity
# (topic), and the middle layers keep more of the emotion. Writer-grouped CV5 on train, frozen
# mpnet: Track 2 macro-F1 0.388 -> 0.459, Track 1 average r 0.498 -> 0.536 (docs/results.md).
FROZEN_LAYERS = "all"


def frozen_encoder(model=BEST_ENCODER, **params):
    """The frozen text encoder of recipes "mpnet" and "best": all layers, averaged.

    A :class:`~skempathy.text.TransformerEmbedder` that mean-pools every
    transformer layer of ``model`` and averages them (``layers="all"``,
    :data:`FROZEN_LAYERS`), instead of the last layer that a
    :class:`~skempathy.text.SentenceEmbedder` returns. On WASSA 2021
    (writer-grouped 5-fold CV on train) this raised the frozen mpnet
    pipelines from 0.388 to 0.459 emotion macro-F1 and from 0.498 to 0.536
    average Pearson r; MiniLM gained less (docs/results.md).

    Parameters
    ----------
    model : str or path-like, default=BEST_ENCODER
        Embedded name, local folder or hub name of the checkpoint.
    **params
        Other :class:`~skempathy.text.TransformerEmbedder` parameters
        (``cache``, ``device``, ``batch_size``, ``show_progress``, ...).

    Returns
    -------
    embedder : skempathy.text.TransformerEmbedder
        Unfitted.

    Examples
    --------
    >>> from skempathy.recipes import frozen_encoder
    >>> frozen_encoder("minilm", device="cpu").fit_transform(["So sad to read."]).shape
    (1, 384)
    """
    from .text import TransformerEmbedder

    return TransformerEmbedder(model, layers=FROZEN_LAYERS, **params)


def _best_embedder(embedder):
    """The recipe's encoder: ``embedder`` if given, else :func:`frozen_encoder` (mpnet).

    Fails at once, in one line, when the optional mpnet parts are missing.
    """
    from ._models import MPNET_INSTALL, mpnet_available

    if embedder is not None:
        return embedder
    if not mpnet_available():
        import os

        from .datasets import get_data_home

        assembled = os.path.join(get_data_home(), "models", BEST_ENCODER, "model.safetensors")
        if not os.path.isfile(assembled):
            raise ImportError(
                f"The 'best' recipe encodes with {BEST_ENCODER}, an optional install: "
                f"{MPNET_INSTALL} (or pass embedder=frozen_encoder(<another model>))."
            )
    return frozen_encoder(BEST_ENCODER)


def best_track1(embedder=None, *, text_weight=0.2, C=1.0, lexicon=False):
    """Track 1 of recipe "mpnet" (a member of "best"): mpnet embeddings, down-weighted,
    + writer columns -> RBF SVR.

    ``ColumnTransformer`` blocks: the standard-scaled essay embeddings
    multiplied by ``text_weight`` (``transformer_weights``), the standard-scaled
    numeric demographic, personality and IRI columns, and the one-hot coded
    gender/education/race; then one ``SVR(C)`` (RBF kernel) per target
    (``MultiOutputRegressor``). Down-weighting the 768 embedding dimensions
    keeps the kernel distance from being all text, so the 24 writer columns,
    which carry much of the distress signal, still count. The weight and ``C``
    were chosen by grouped 5-fold CV on train (groups: writers); a ``Ridge``
    head on the same features was 0.026 mean Pearson r lower in that CV
    (``set_params(head=Ridge(300.0))`` gives it back).

    Parameters
    ----------
    embedder : transformer or None, default=None
        Text encoder; None uses ``frozen_encoder("all-mpnet-base-v2")``, all
        layers averaged (optional install, see
        :data:`skempathy._models.MPNET_INSTALL`).
    text_weight : float, default=0.2
        Weight of the scaled embedding block.
    C : float, default=1.0
        SVR regularisation parameter.
    lexicon : bool, default=False
        Add the mean/max Sedoc et al. (2019) empathy and distress word ratings
        (:class:`~skempathy.text.LexiconFeaturizer`). Off by default: the
        lexicon is not bundled (it must be in the data home) and it was learned
        from the ratings of the very essays of the WASSA training split, so
        cross-validation on train over-rates it (see docs/results.md for
        its honest dev number).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Steps ``preprocessor`` and ``head``; fit it with the WASSA feature frame
        and a two-column ``y`` (empathy, distress).

    Examples
    --------
    >>> from skempathy.recipes import best_track1, frozen_encoder
    >>> pipe = best_track1(frozen_encoder("minilm"))
    >>> [name for name, _, _ in pipe.named_steps["preprocessor"].transformers]
    ['text', 'numeric', 'categorical']
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.svm import SVR

    blocks = [
        ("text", make_pipeline(_best_embedder(embedder), StandardScaler()), "essay"),
        ("numeric", StandardScaler(), list(_NUMERIC)),
        ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
         list(_CATEGORICAL)),
    ]
    if lexicon:
        from .text import LexiconFeaturizer

        blocks.append(("lexicon", make_pipeline(LexiconFeaturizer(), StandardScaler()), "essay"))
    preprocessor = ColumnTransformer(blocks, sparse_threshold=0.0,
                                     transformer_weights={"text": text_weight})
    return Pipeline([("preprocessor", preprocessor), ("head", MultiOutputRegressor(SVR(C=C)))])


def goemotions_pool(per_class=1500, *, random_state=0, data_home=None):
    """A class-stratified random subset of the GoEmotions comments in WASSA labels.

    The single-label GoEmotions training comments mapped to the seven WASSA
    emotions (:func:`skempathy.augment.goemotions_to_wassa`), at most
    ``per_class`` of each emotion, so that encoding the pool takes minutes on a
    CPU instead of encoding all 39,555 comments.

    Parameters
    ----------
    per_class : int, default=1500
        At most this many comments of each emotion.
    random_state : int, default=0
        Seeds the subset.
    data_home : str or path-like, default=None
        Where GoEmotions is read (see :func:`skempathy.datasets.fetch_goemotions`).

    Returns
    -------
    X : ndarray of shape (n, 1), object
        The comments, as one text column.
    y : ndarray of shape (n,), str
        Their WASSA emotion.
    """
    import numpy as np

    from .augment import goemotions_to_wassa

    texts, labels = goemotions_to_wassa("train", data_home=data_home)
    rng = np.random.RandomState(random_state)
    keep = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        keep.extend(rng.choice(members, size=min(per_class, len(members)), replace=False))
    keep = np.sort(np.asarray(keep))
    X = np.empty((len(keep), 1), dtype=object)
    X[:, 0] = [texts[i] for i in keep]
    return X, labels[keep]


def best_track2(embedder=None, *, C=0.001, augment=False, data_home=None):
    """Track 2 of recipe "mpnet" (a member of "best"): mpnet embeddings -> balanced
    logistic regression, with
    optional GoEmotions augmentation (WASSA@IITK's recipe, here with a frozen encoder).

    The pipeline selects the essay column, then an
    :class:`~skempathy.augment.AugmentedEstimator` fits ``embedder ->
    StandardScaler -> LogisticRegression(C, class_weight="balanced")``. With
    ``augment=True`` it adds GoEmotions comments (from :func:`goemotions_pool`)
    to each training set, drawn so that every emotion is brought up to the size
    of the largest one (``"balanced"``); only training folds are augmented, so
    cross-validation stays honest. Augmentation is **off** by default because
    it lowered macro-F1 with this frozen encoder (grouped CV 0.389 -> 0.370,
    dev 0.389 -> 0.372; docs/results.md). The writer columns are left
    out: they did not help emotion in grouped CV.

    Parameters
    ----------
    embedder : transformer or None, default=None
        Text encoder; None uses ``frozen_encoder("all-mpnet-base-v2")``.
    C : float, default=0.001
        Inverse regularisation strength of the logistic regression (grouped
        CV on train: 0.001 ~ 0.003 > 0.01 with mpnet).
    augment : bool, default=False
        Add GoEmotions comments (needs :func:`skempathy.datasets.fetch_goemotions`
        data; read when the recipe is built). ``False`` gives the same
        pipeline with ``augment__n_samples=0``.
    data_home : str or None, default=None
        Where GoEmotions is (or is downloaded to).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Steps ``essay`` (column selector) and ``augment``.

    Examples
    --------
    >>> from skempathy.recipes import best_track2, frozen_encoder
    >>> pipe = best_track2(frozen_encoder("minilm"), augment=False)
    >>> pipe.named_steps["augment"].n_samples
    0
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    classifier = Pipeline([
        ("embedder", _best_embedder(embedder)),
        ("scaler", StandardScaler()),
        ("head", LogisticRegression(C=C, class_weight="balanced", max_iter=3000)),
    ])
    return _essay_goemotions_pipeline(classifier, per_class=1500 if augment else 0,
                                      data_home=data_home)


def _essay_goemotions_pipeline(classifier, *, per_class, data_home):
    """Select the essay column, then fit ``classifier`` on the essays plus GoEmotions
    comments (``per_class`` at most per emotion, balanced fill-up; 0: no comments)."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    from .augment import AugmentedEstimator

    if per_class:
        X_extra, y_extra = goemotions_pool(per_class=per_class, data_home=data_home)
    else:
        X_extra, y_extra = np.empty((0, 1), dtype=object), np.empty(0, dtype=object)
    return Pipeline([
        ("essay", ColumnTransformer([("essay", "passthrough", ["essay"])])),
        ("augment", AugmentedEstimator(classifier, X_extra, y_extra, strategy="balanced",
                                       n_samples=None if per_class else 0, random_state=0)),
    ])


# --------------------------------------------------------------------- finetuned
# The "finetuned" recipe: one MultiTaskTransformer fine-tuned from the embedded
# MiniLM on all three WASSA targets (emotion head + empathy and distress
# regression heads, the writer columns as side inputs: the PVG / MilaNLP
# multi-input multi-task design), soft-voted 50/50 with the frozen pipelines of
# each track. Trains both tracks at once (a "joint" recipe), ~9 min on a
# 2-core CPU. Grouped CV and dev numbers: docs/results.md, "Leaderboard".

# Share of the emotion vote of recipe best's GoEmotions members (seeds 0 and 1), chosen by
# writer-grouped 5-fold CV on train. With the all-layer frozen encoders the pooled macro-F1 at
# 0.25 / 0.5 / 0.75 was 0.540 / 0.537 / 0.527, so the four emotion systems (GoEmotions,
# multi-task, frozen MiniLM, frozen mpnet) weigh 1/4 each. (With last-layer frozen encoders,
# 0, 0.25, ..., 1 gave 0.460, 0.514, 0.530, 0.529, 0.525, and the share was 0.5.)
GOEMOTIONS_WEIGHT = 0.25
GOEMOTIONS_SEEDS = (0, 1)
# The multi-task member of "best": all-mpnet-base-v2 fine-tuned at 3e-5, the usual rate for
# base-size encoders (fixed a priori, not tuned), one seed. In place of two seeds of MiniLM at
# 1e-4 (~5 min per fit against ~24) it gained +0.012 writer-grouped CV5 average r (0.540 ->
# 0.552) and +0.005 macro-F1; keeping the MiniLM seeds beside it gave 0.550. A second mpnet
# seed was not measured (docs/results.md, wassa_finetune_mpnet.py).
FINETUNED_ENCODER = BEST_ENCODER
FINETUNED_LEARNING_RATE = 3e-5
# Seeds of the multi-task member, averaged within its third of the vote (several seeds: each
# one more fit).
FINETUNED_SEEDS = (0,)
# Autocast of the two mpnet fine-tunings of "best", used only where the CPU has bf16 matrix
# units (Intel AMX, AVX512-BF16: ~3x faster than fp32 for mpnet, benchmarks/bench_precision.py);
# elsewhere "auto" (fp32 on CPU, where bf16 is emulated and about 16x slower; bf16 on a CUDA GPU).
FINETUNED_PRECISION = "bf16"

# The fifth emotion system of "best" (``goemotions_base=True``): finetuned_emotion_goemotions on
# all-mpnet-base-v2 at 3e-5 (fixed a priori like the multi-task member's rate), seed 0, with 1/5
# of the emotion vote (~15 min in bf16 on a 2-core CPU with bf16 units). In writer-grouped CV on
# train it raised the vote's macro-F1 from 0.545 to 0.563 (docs/results.md,
# wassa_goemotions_mpnet.py); in place of the MiniLM GoEmotions seeds it did not.
GOEMOTIONS_BASE_ENCODER = BEST_ENCODER
GOEMOTIONS_BASE_LEARNING_RATE = 3e-5
GOEMOTIONS_BASE_WEIGHT = 0.2

FINETUNED_TASKS = {"emotion": "classification", "empathy": "regression",
                   "distress": "regression"}


def finetuned_multitask(model="all-MiniLM-L6-v2", *, max_epochs=3, learning_rate=1e-4,
                        batch_size=16, random_state=0, device="auto", precision="auto",
                        verbose=0):
    """The fine-tuned member of the "finetuned" recipe: a multi-input multi-task transformer.

    One encoder fine-tuned with an emotion classification head and empathy /
    distress regression heads (:class:`~skempathy.neural.MultiTaskTransformer`);
    the 11 numeric writer columns (age, income, Big Five, IRI), standardised,
    are concatenated to the pooled essay embedding before the heads.

    Parameters
    ----------
    model : str, default="all-MiniLM-L6-v2"
        Encoder to fine-tune (a model name, a Hugging Face name or a local folder).
    max_epochs : int, default=3
        Training epochs. 3 epochs at ``learning_rate=1e-4`` are the settings
        measured in ``benchmarks/wassa_finetune_blend.py``; they were not tuned.
    learning_rate : float, default=1e-4
        Peak AdamW learning rate (linear warm-up then decay).
    batch_size : int, default=16
        Essays per step.
    random_state : int, default=0
        Seed of the head initialisation and the data order.
    device : str, default="auto"
        Torch device.
    precision : {"auto", "fp32", "bf16", "fp16"}, default="auto"
        Autocast of the fine-tuning; ``"bf16"`` also on CPU, where it is about 3x
        faster on CPUs with bf16 matrix units (``"auto"`` stays fp32 there).
    verbose : int, default=0
        1 shows progress bars.

    Returns
    -------
    estimator : skempathy.neural.MultiTaskTransformer
        Unfitted; fit it with the WASSA feature frame and a ``y`` frame holding
        ``emotion``, ``empathy`` and ``distress``.

    Examples
    --------
    >>> from skempathy.recipes import finetuned_multitask
    >>> finetuned_multitask().extra_features[:2]
    ['age', 'income']
    """
    from .neural import MultiTaskTransformer

    return MultiTaskTransformer(model, tasks=dict(FINETUNED_TASKS), extra_features=list(_NUMERIC),
                                text_column="essay", max_epochs=max_epochs,
                                learning_rate=learning_rate, batch_size=batch_size,
                                max_length=256, device=device, precision=precision,
                                random_state=random_state, verbose=verbose)


def finetuned_joint(embedder=None, *, finetuned=None, weight=0.5):
    """The "finetuned" recipe: a fine-tuned multi-task model soft-voted with frozen pipelines.

    A :class:`~skempathy.ensemble.MultiTaskVoting` of three members:

    * ``finetuned``: :func:`finetuned_multitask` (all three targets);
    * ``track1``: :func:`best_track1` on the frozen ``embedder`` (empathy,
      distress);
    * ``track2``: :func:`default_track2` on the frozen ``embedder`` (emotion).

    Emotion probabilities and empathy / distress scores are averaged with
    weight ``weight`` for the fine-tuned member and ``1 - weight`` for the
    frozen one. The 0.5 default was fixed before looking at dev; writer-grouped
    CV on train measured the blend above each part (docs/results.md).

    Parameters
    ----------
    embedder : transformer or None, default=None
        The frozen text encoder of the two pipelines (None: the embedded MiniLM).
    finetuned : estimator or None, default=None
        The fine-tuned member (None: ``finetuned_multitask()``).
    weight : float, default=0.5
        Weight of the fine-tuned member, in [0, 1].

    Returns
    -------
    estimator : skempathy.ensemble.MultiTaskVoting
        Unfitted. ``fit(X, y)`` takes the WASSA feature frame and a ``y`` frame
        with ``emotion``, ``empathy`` and ``distress``; ``predict`` returns a
        frame with the same columns, ``predict_proba(X)["emotion"]`` the
        emotion probabilities. ``set_params(finetuned__max_epochs=...)``
        reaches the members.

    Examples
    --------
    >>> from skempathy.recipes import finetuned_joint
    >>> [name for name, _, _ in finetuned_joint().estimators]
    ['finetuned', 'track1', 'track2']
    """
    from .ensemble import MultiTaskVoting
    from .text import SentenceEmbedder

    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1]; got {weight}.")
    embedder = SentenceEmbedder() if embedder is None else embedder
    finetuned = finetuned_multitask() if finetuned is None else finetuned
    return MultiTaskVoting(
        [("finetuned", finetuned, None),
         ("track1", best_track1(embedder), list(TRACK1_TASK)),
         ("track2", default_track2(embedder), TRACK2_TASK)],
        weights=[weight, 1.0 - weight, 1.0 - weight],
    )


def finetuned_emotion_goemotions(model="all-MiniLM-L6-v2", *, per_class=1500, max_epochs=3,
                                 learning_rate=1e-4, batch_size=16, random_state=0,
                                 device="auto", verbose=0, precision="auto", data_home=None):
    """An emotion classifier fine-tuned on the essays plus GoEmotions comments (WASSA@IITK).

    The essay column goes to an :class:`~skempathy.augment.AugmentedEstimator`
    around a :class:`~skempathy.neural.TransformerClassifier`
    (``class_weight="balanced"``): every ``fit`` adds GoEmotions comments from
    :func:`goemotions_pool` (``per_class`` per emotion at most), drawn so that
    each emotion is filled up to the size of the largest one (about 2,700
    comments on the full WASSA train split). Only training data is augmented.
    GoEmotions is read when the recipe is built (``data_home``).

    Alone it measured dev macro-F1 0.531 (accuracy 0.622) and writer-grouped
    3-fold CV macro-F1 0.520 on train, against 0.467 / 0.460 for the emotion
    vote of the ``best`` recipe (docs/results.md). It was measured after
    ``best`` was fixed, so ``best`` adds it only with ``goemotions=True``.

    Parameters
    ----------
    model : str, default="all-MiniLM-L6-v2"
        Encoder to fine-tune (a model name, a Hugging Face name or a local folder).
    per_class : int, default=1500
        GoEmotions comments per emotion in the pool (0: no comments).
    max_epochs, learning_rate, batch_size, random_state, device, verbose
        As for :class:`~skempathy.neural.TransformerClassifier`.
    precision : {"auto", "fp32", "bf16", "fp16"}, default="auto"
        Autocast of the fine-tuning; ``"bf16"`` also on CPU (about 3x faster on
        CPUs with bf16 matrix units; ``"auto"`` stays fp32 there).
    data_home : str or None, default=None
        Where GoEmotions is (None: ``SKEMPATHY_DATA`` or ``~/skempathy_data``).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Steps ``essay`` (column selector) and ``augment``.

    Examples
    --------
    >>> from skempathy.recipes import finetuned_emotion_goemotions
    >>> finetuned_emotion_goemotions(per_class=0).named_steps["augment"].n_samples
    0
    """
    from .neural import TransformerClassifier

    classifier = TransformerClassifier(model, max_epochs=max_epochs, learning_rate=learning_rate,
                                       batch_size=batch_size, max_length=256,
                                       class_weight="balanced", device=device,
                                       precision=precision, random_state=random_state,
                                       verbose=verbose)
    return _essay_goemotions_pipeline(classifier, per_class=per_class, data_home=data_home)


def best_joint(embedder=None, *, minilm=None, finetuned=None, finetuned_seeds=FINETUNED_SEEDS,
               goemotions=True, goemotions_weight=GOEMOTIONS_WEIGHT,
               goemotions_seeds=GOEMOTIONS_SEEDS, goemotions_base=None, data_home=None):
    """The "best" recipe: fine-tuned + frozen members voting per target (WASSA Tracks 1 and 2).

    A :class:`~skempathy.ensemble.MultiTaskVoting` of these members:

    * ``finetuned_seed0``: :func:`finetuned_multitask` (emotion, empathy,
      distress) fine-tuned from all-mpnet-base-v2 (:data:`FINETUNED_ENCODER`,
      an optional install) at ``learning_rate=3e-5``, once per seed in
      ``finetuned_seeds`` (``finetuned`` with ``finetuned_seeds=None``);
    * ``track1_minilm`` / ``track2_minilm``: :func:`best_track1` /
      :func:`default_track2` on the frozen MiniLM (``minilm``);
    * ``track1_mpnet`` / ``track2_mpnet``: :func:`best_track1` /
      :func:`best_track2` on the frozen ``embedder`` (all-mpnet-base-v2);
    * ``emotion_goemotions_seed0``, ``emotion_goemotions_seed1`` (with
      ``goemotions=True``): :func:`finetuned_emotion_goemotions`, MiniLM
      fine-tuned for emotion on the essays plus GoEmotions comments
      (WASSA@IITK's lever), once per seed in ``goemotions_seeds``;
    * ``emotion_goemotions_base`` (with ``goemotions_base``): the same
      classifier fine-tuned from all-mpnet-base-v2 at 3e-5, a fifth emotion
      system with 1/5 of the vote.

    Both frozen encoders average all their layers (:func:`frozen_encoder`).
    Empathy and distress are the plain mean of three systems (the fine-tuned
    model, its seeds averaged; the MiniLM and the mpnet pipelines): in
    writer-grouped 5-fold CV on train that beat each member and every
    two-member blend. The fine-tuned mpnet replaced two seeds of a MiniLM
    fine-tuned at 1e-4 (pooled CV average r 0.552 instead of 0.540,
    macro-F1 0.545 instead of 0.540); keeping the MiniLM seeds beside it
    gave 0.550, and as a fourth empathy / distress system it gave
    0.546. Its emotion head is weak alone (it leans to the two largest
    classes), yet its emotion vote still helps: without it CV macro-F1 was
    0.524. Emotion gives ``goemotions_weight`` of the vote to the
    GoEmotions members (split equally between the seeds) and the rest,
    equally, to the three other emotion voters (the multi-task model's
    emotion head and the two frozen emotion pipelines). The same grouped CV
    chose 0.25, four systems at 1/4 each (0.540 at 0.25, 0.537 at 0.5, 0.492
    without the GoEmotions members, measured with the MiniLM multi-task
    seeds); their second seed added +0.012 CV macro-F1 and evens out a large
    seed-to-seed spread on dev (0.531 and 0.470 for the two members alone;
    docs/results.md, "Leaderboard"). The mpnet GoEmotions member then
    took 1/5 of the emotion vote, the four others 4/5 in the same
    proportions: writer-grouped CV5 macro-F1 0.563 instead of 0.545 (a
    near-chance member in its place: 0.549), dev 0.556 instead of 0.533. Both mpnet
    fine-tunings run in bf16 autocast where the CPU has bf16 matrix units
    (about 3x faster there), else in fp32. Fitting time and memory from a
    cold embedding cache are in docs/results.md ("Leaderboard"): on a
    CPU without bf16 units (AVX2 only) the mpnet fine-tunings run in fp32
    and the recipe takes well over an hour.

    Parameters
    ----------
    embedder : transformer or None, default=None
        Frozen encoder of the mpnet pipelines (None: ``all-mpnet-base-v2``).
    minilm : transformer or None, default=None
        Frozen encoder of the MiniLM pipelines (None: a clone of ``embedder``
        with the embedded MiniLM when ``embedder`` is a skempathy embedder
        (:class:`~skempathy.text.TransformerEmbedder` or
        :class:`~skempathy.text.SentenceEmbedder`), so layers, cache and
        device carry over; else ``frozen_encoder("all-MiniLM-L6-v2")``).
    finetuned : estimator or None, default=None
        The fine-tuned multi-task member (None:
        ``finetuned_multitask(FINETUNED_ENCODER, learning_rate=FINETUNED_LEARNING_RATE)``,
        all-mpnet-base-v2 at 3e-5, in :data:`FINETUNED_PRECISION` (bf16
        autocast) where :func:`skempathy.neural.cpu_has_fast_bf16`, else
        ``precision="auto"``; ``finetuned_multitask()`` is the faster MiniLM
        one, at 1e-4).
    finetuned_seeds : sequence of int or None, default=FINETUNED_SEEDS
        One clone of ``finetuned`` per seed (its ``random_state``), their
        outputs averaged within the fine-tuned system's share of every vote
        (default: seed 0 alone; each seed is one more fit). None:
        ``finetuned`` itself, as given, is the only one.
    goemotions : bool, default=True
        Add the GoEmotions members. They need the GoEmotions data
        (not bundled: :func:`skempathy.datasets.fetch_goemotions` downloads it
        to ``data_home``, or finds it there), read when the recipe is built.
        False gives the three-system vote for emotion too (with the MiniLM
        multi-task seeds: dev macro-F1 0.480, CV 0.492, instead of about
        0.54) and skips their two fine-tunings (~14 min on a 2-core CPU).
    goemotions_weight : float, default=GOEMOTIONS_WEIGHT
        Share of the emotion vote of the GoEmotions members, in (0, 1]; at 1
        the frozen emotion pipelines are left out, as they would not vote.
    goemotions_seeds : sequence of int, default=GOEMOTIONS_SEEDS
        Seeds of the GoEmotions members, one member each (a seed ensemble;
        the comments drawn are the same for all).
    goemotions_base : bool or None, default=None
        Add ``emotion_goemotions_base``, a fifth emotion system with
        :data:`GOEMOTIONS_BASE_WEIGHT` (1/5) of the emotion vote, the other
        weights scaled down to make room: :func:`finetuned_emotion_goemotions`
        on all-mpnet-base-v2 at 3e-5 (the same comments, the first seed), in
        bf16 autocast where the CPU has bf16 matrix units
        (:func:`skempathy.neural.cpu_has_fast_bf16`), else ``precision="auto"``.
        None: the same as ``goemotions``. True needs ``goemotions=True``.
        False gives the four-system emotion vote (CV macro-F1 0.545, dev
        0.533) and skips ~15 min of fine-tuning on a 2-core CPU with bf16
        units (about 3x that without).
    data_home : str or None, default=None
        Where GoEmotions is (None: ``SKEMPATHY_DATA`` or ``~/skempathy_data``).

    Returns
    -------
    estimator : skempathy.ensemble.MultiTaskVoting
        Unfitted; fit with the WASSA feature frame and a ``y`` frame holding
        ``emotion``, ``empathy`` and ``distress``.

    Examples
    --------
    >>> from skempathy.recipes import best_joint, frozen_encoder
    >>> vote = best_joint(frozen_encoder("minilm"), goemotions=False)
    >>> [(name, targets) for name, _, targets in vote.estimators][:2]
    [('finetuned_seed0', None), ('track1_minilm', ['empathy', 'distress'])]
    >>> vote.weights["empathy"]
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    from sklearn.base import clone

    from .ensemble import MultiTaskVoting
    from .text._base import _BaseEmbedder

    if goemotions and not 0.0 < goemotions_weight <= 1.0:
        raise ValueError(f"goemotions_weight must be in (0, 1]; got {goemotions_weight}.")
    if goemotions and not len(goemotions_seeds):
        raise ValueError("goemotions_seeds is empty; give at least one seed.")
    if goemotions_base is None:  # the mpnet GoEmotions member comes with the MiniLM ones
        goemotions_base = goemotions
    if goemotions_base and not goemotions:
        raise ValueError("goemotions_base=True adds a GoEmotions member; it needs "
                         "goemotions=True.")
    embedder = _best_embedder(embedder)
    if minilm is None:
        minilm = (clone(embedder).set_params(model="all-MiniLM-L6-v2")
                  if isinstance(embedder, _BaseEmbedder) else frozen_encoder("all-MiniLM-L6-v2"))
    if finetuned is None:
        finetuned = finetuned_multitask(FINETUNED_ENCODER, learning_rate=FINETUNED_LEARNING_RATE,
                                        precision=_fast_precision())
    if finetuned_seeds is None:
        tuned = [("finetuned", finetuned, None)]
    else:
        if not len(finetuned_seeds):
            raise ValueError("finetuned_seeds is empty; give at least one seed, or None.")
        tuned = [(f"finetuned_seed{seed}", clone(finetuned).set_params(random_state=seed), None)
                 for seed in finetuned_seeds]
    # the fine-tuned seeds share one system's vote: each of the 3 systems weighs 1/3
    system = [1.0 / len(tuned)] * len(tuned) + [1.0] * 4
    members = tuned + [
        ("track1_minilm", best_track1(minilm), list(TRACK1_TASK)),
        ("track2_minilm", default_track2(minilm), TRACK2_TASK),
        ("track1_mpnet", best_track1(embedder), list(TRACK1_TASK)),
        ("track2_mpnet", best_track2(embedder), TRACK2_TASK),
    ]
    if not goemotions:
        return MultiTaskVoting(members, weights={column: list(system)
                                                 for column in [*TRACK1_TASK, TRACK2_TASK]})
    if goemotions_weight == 1.0:  # the frozen emotion pipelines would not vote
        keep = [m[2] != TRACK2_TASK for m in members]
        members = [m for m, k in zip(members, keep) if k]
        system = [w for w, k in zip(system, keep) if k]
    try:
        first = finetuned_emotion_goemotions(data_home=data_home, random_state=goemotions_seeds[0])
    except OSError as exc:
        from .datasets import get_data_home

        raise OSError(f"recipe 'best' fine-tunes its emotion member on GoEmotions comments, "
                      f"which could not be read ({exc}); put the GoEmotions files in "
                      f"{get_data_home(data_home)}/goemotions/ (fetch_goemotions downloads "
                      f"them when online) or use best_joint(goemotions=False).") from exc
    # the other emotion voters (the multi-task model predicts all targets) share the rest
    votes_emotion = [targets in (None, TRACK2_TASK) for _, _, targets in members]
    systems = sum(w for w, v in zip(system, votes_emotion) if v)
    emotion = [(1.0 - goemotions_weight) * w / systems if v else 0.0
               for w, v in zip(system, votes_emotion)]
    for seed in goemotions_seeds:  # the other seeds reuse the comments read for the first
        member = first if seed == goemotions_seeds[0] else clone(first).set_params(
            augment__estimator__random_state=seed)
        members.append((f"emotion_goemotions_seed{seed}", member, TRACK2_TASK))
        emotion.append(goemotions_weight / len(goemotions_seeds))
    if goemotions_base:  # a fifth emotion system; the others make room for its share
        members.append(("emotion_goemotions_base", clone(first).set_params(
            augment__estimator__model=GOEMOTIONS_BASE_ENCODER,
            augment__estimator__learning_rate=GOEMOTIONS_BASE_LEARNING_RATE,
            augment__estimator__precision=_fast_precision()), TRACK2_TASK))
        emotion = [w * (1.0 - GOEMOTIONS_BASE_WEIGHT) for w in emotion] + [GOEMOTIONS_BASE_WEIGHT]
    n_extra = len(members) - len(system)
    weights = {column: system + [0.0] * n_extra for column in TRACK1_TASK}
    return MultiTaskVoting(members, weights={**weights, TRACK2_TASK: emotion})


def _fast_precision():
    """FINETUNED_PRECISION (bf16) where this CPU runs it fast, else "auto" (fp32 on CPU)."""
    from .neural import cpu_has_fast_bf16

    return FINETUNED_PRECISION if cpu_has_fast_bf16() else "auto"


RECIPES = {
    "default": {"track1": default_track1, "track2": default_track2},
    # joint recipes: one estimator fitted on both tracks' targets at once
    # "embedder": how the command builds the frozen encoder (default: SentenceEmbedder)
    "best": {"joint": best_joint, "encoder": BEST_ENCODER, "embedder": frozen_encoder},
    "finetuned": {"joint": finetuned_joint},
    "mpnet": {"track1": best_track1, "track2": best_track2, "encoder": BEST_ENCODER,
              "embedder": frozen_encoder},
}


def get_recipe(name="default"):
    """The ``{"track1": builder, "track2": builder}`` (or ``{"joint": builder}``) dict
    of a named recipe.

    Each builder takes an optional ``embedder`` (shared between the tracks so
    the essays are encoded once) and returns an unfitted estimator.

    Parameters
    ----------
    name : {"default", "mpnet", "finetuned", "best"}, default="default"
        The recipe.
    """
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(f"Unknown recipe {name!r}; available: {sorted(RECIPES)}") from None


def recipe_embedder(recipe, model=None, **params):
    """The shared frozen encoder of a recipe: its ``"embedder"`` factory on its ``"encoder"``.

    Parameters
    ----------
    recipe : dict
        An entry of :data:`RECIPES` (see :func:`get_recipe`).
    model : str, default=None
        Replaces the recipe's ``"encoder"`` (default ``"all-MiniLM-L6-v2"``).
    **params
        Passed to the factory (default :class:`~skempathy.text.SentenceEmbedder`),
        e.g. ``cache``, ``device``, ``show_progress``.

    Returns
    -------
    embedder : transformer
        Unfitted; pass it as ``embedder=`` to the recipe's builders.

    Examples
    --------
    >>> from skempathy.recipes import get_recipe, recipe_embedder
    >>> recipe_embedder(get_recipe("best")).layers
    'all'
    >>> type(recipe_embedder(get_recipe("default"))).__name__
    'SentenceEmbedder'
    """
    from .text import SentenceEmbedder

    make_embedder = recipe.get("embedder", SentenceEmbedder)
    return make_embedder(model or recipe.get("encoder", "all-MiniLM-L6-v2"), **params)
