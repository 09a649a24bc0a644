"""The estimators the recipes are made of. Builders read no data: corpora are read in ``fit``.
Why each setting was chosen, with the measurements, is on the results page."""

from functools import partial

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import VotingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.multioutput import MultiOutputRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVR

from ..augment import AugmentedEstimator, goemotions_pool
from ..compose import make_preprocessor, make_wassa_pipeline
from ..compose._wassa import _CATEGORICAL, _DEFAULT_NUMERIC as _NUMERIC

MINILM = "all-MiniLM-L6-v2"
MPNET = "all-mpnet-base-v2"
_MULTITASK = {"emotion": "classification", "empathy": "regression", "distress": "regression"}
_FINETUNING = {"max_epochs": 3, "batch_size": 16, "max_length": 256}
_essay = partial(ColumnTransformer, [("essay", "passthrough", ["essay"])])  # a new one per call


def _precision(precision):  # "fast": bf16 where this CPU has bf16 matrix units
    from ..neural import cpu_has_fast_bf16

    return ("bf16" if cpu_has_fast_bf16() else "auto") if precision == "fast" else precision


def ridge_svr_track1(embedder):
    """Empathy and distress: 0.7 Ridge(2000) on scaled text + columns, 0.3 SVR(C=3) on raw text
    + columns, voting per target.

    Parameters
    ----------
    embedder : transformer
        The frozen text encoder, shared by both branches (the essays are encoded once).
    """
    ridge = Pipeline(
        [("preprocessor", make_preprocessor(embedder=embedder)), ("head", Ridge(alpha=2000.0))]
    )
    svr = Pipeline(
        [
            ("preprocessor", make_preprocessor(embedder=embedder, scale_text=False)),
            ("head", SVR(C=3.0)),
        ]
    )
    return MultiOutputRegressor(
        VotingRegressor([("ridge", ridge), ("svr", svr)], weights=[0.7, 0.3])
    )


def logreg_track2(embedder):
    """Emotion: scaled text + writer columns -> ``LogisticRegression(C=0.01, "balanced")``.

    Parameters
    ----------
    embedder : transformer
        The frozen text encoder.
    """
    return make_wassa_pipeline(
        "emotion",
        head="logreg",
        embedder=embedder,
        features=("text", "demographic", "personality", "iri"),
    )


def svr_track1(embedder, *, text_weight=0.2, C=1.0, lexicon=False):
    """Empathy and distress: scaled text × ``text_weight`` + writer columns -> RBF ``SVR(C)``
    (recipe ``mpnet``'s, and on MiniLM with ``text_weight=0.3`` recipe ``default``'s).

    Down-weighting the text block keeps the kernel distance from being all text, so the writer
    columns, which carry much of the distress signal, still count.

    Parameters
    ----------
    embedder : transformer
        The frozen text encoder.
    text_weight : float, default=0.2
        Weight of the scaled embedding block (``transformer_weights``).
    C : float, default=1.0
        SVR regularisation.
    lexicon : bool, default=False
        Add the Sedoc et al. (2019) lexicon features. The lexicon was learned from the
        WASSA training essays' ratings, so cross-validation on train over-rates it.

    Examples
    --------
    >>> from skempathy.recipes import svr_track1
    >>> from skempathy.text import SentenceEmbedder
    >>> pipe = svr_track1(SentenceEmbedder())
    >>> [name for name, _, _ in pipe.named_steps["preprocessor"].transformers]
    ['text', 'numeric', 'categorical']
    """
    blocks = [
        ("text", make_pipeline(embedder, StandardScaler()), "essay"),
        ("numeric", StandardScaler(), list(_NUMERIC)),
        (
            "categorical",
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            list(_CATEGORICAL),
        ),
    ]
    if lexicon:
        from ..text import LexiconFeaturizer

        blocks.append(("lexicon", make_pipeline(LexiconFeaturizer(), StandardScaler()), "essay"))
    preprocessor = ColumnTransformer(
        blocks, sparse_threshold=0.0, transformer_weights={"text": text_weight}
    )
    return Pipeline([("preprocessor", preprocessor), ("head", MultiOutputRegressor(SVR(C=C)))])


def text_logreg_track2(embedder, *, C=0.001):
    """Emotion: the essay alone -> scaled embeddings -> ``LogisticRegression(C, "balanced")``
    (recipe ``mpnet``'s, and on MiniLM with ``C=0.003`` recipe ``default``'s).

    Parameters
    ----------
    embedder : transformer
        The frozen text encoder.
    C : float, default=0.001
        Inverse regularisation strength.
    """
    return Pipeline(
        [
            ("essay", _essay()),
            ("embedder", embedder),
            ("scaler", StandardScaler()),
            ("head", LogisticRegression(C=C, class_weight="balanced", max_iter=3000)),
        ]
    )


def text_only_vote(embedder, targets=("emotion", "empathy", "distress"), *, C=0.003):
    """A text-only vote of linear heads on one frozen encoder: ``RidgeCV`` for the
    continuous targets, :func:`text_logreg_track2` for ``emotion``. Reads the ``essay``
    column only, so it scores plain texts; the student that ``skempathy distill --model
    static-minilm`` trains on a :class:`~skempathy.text.StaticEmbedder`.

    Parameters
    ----------
    embedder : transformer
        The frozen text encoder, shared by the heads (each essay is encoded once).
    targets : sequence of str, default=("emotion", "empathy", "distress")
        The columns to predict; ``"emotion"`` is the classification one.
    C : float, default=0.003
        Inverse regularisation of the emotion head.

    Examples
    --------
    >>> from skempathy.recipes import text_only_vote
    >>> from skempathy.text import SentenceEmbedder
    >>> vote = text_only_vote(SentenceEmbedder())
    >>> [(name, columns) for name, _, columns in vote.estimators]
    [('regression', ['empathy', 'distress']), ('emotion', 'emotion')]
    """
    from sklearn.linear_model import RidgeCV

    from ..ensemble import MultiTaskVoting

    members = []
    continuous = [t for t in targets if t != "emotion"]
    if continuous:
        ridge = Pipeline(
            [
                ("essay", _essay()),
                ("embedder", embedder),
                ("scaler", StandardScaler()),
                ("head", RidgeCV(alphas=np.logspace(0, 5, 11))),
            ]
        )
        members.append(("regression", ridge, continuous))
    if "emotion" in targets:
        members.append(("emotion", text_logreg_track2(embedder, C=C), "emotion"))
    return MultiTaskVoting(members)


def finetuned_multitask(
    model=MINILM, *, learning_rate=1e-4, random_state=0, precision="auto", **params
):
    """One encoder fine-tuned for emotion, empathy and distress, the writer columns as side
    inputs (:class:`~skempathy.neural.MultiTaskTransformer`; the PVG / MilaNLP design).

    Parameters
    ----------
    model : str, default="all-MiniLM-L6-v2"
        Encoder to fine-tune.
    learning_rate : float, default=1e-4
        Peak AdamW learning rate.
    random_state : int, default=0
        Seed of the heads and the data order.
    precision : {"auto", "fp32", "bf16", "fp16", "fast"}, default="auto"
        Autocast; ``"fast"`` is bf16 where the CPU has bf16 matrix units, else ``"auto"``.
    **params
        Other :class:`~skempathy.neural.MultiTaskTransformer` parameters (3 epochs, batch 16
        and 256 tokens unless given).

    Examples
    --------
    >>> from skempathy.recipes import finetuned_multitask
    >>> finetuned_multitask().extra_features[:2]
    ['age', 'income']
    """
    from ..neural import MultiTaskTransformer

    return MultiTaskTransformer(
        model,
        tasks=dict(_MULTITASK),
        extra_features=list(_NUMERIC),
        text_column="essay",
        learning_rate=learning_rate,
        precision=_precision(precision),
        random_state=random_state,
        **{**_FINETUNING, **params},
    )


def finetuned_goemotions(
    model=MINILM,
    *,
    learning_rate=1e-4,
    random_state=0,
    precision="auto",
    per_class=1500,
    data_home=None,
    **params,
):
    """An emotion classifier fine-tuned on the essays plus GoEmotions comments (WASSA@IITK).

    Every ``fit`` draws comments from :func:`~skempathy.augment.goemotions_pool`
    (``per_class`` per emotion at most) and fills every emotion up to the largest; predictions
    see the essays alone.

    Parameters
    ----------
    model : str, default="all-MiniLM-L6-v2"
        Encoder to fine-tune.
    learning_rate, random_state, precision
        As in :func:`finetuned_multitask`.
    per_class : int, default=1500
        Size of the comment pool per emotion; 0 fine-tunes on the essays alone.
    data_home : str, default=None
        Where GoEmotions is read at ``fit`` (None: ``SKEMPATHY_DATA`` or ``~/skempathy_data``).
    **params
        Other :class:`~skempathy.neural.TransformerClassifier` parameters.

    Examples
    --------
    >>> from skempathy.recipes import finetuned_goemotions
    >>> finetuned_goemotions().named_steps["augment"].strategy
    'balanced'
    """
    from ..neural import TransformerClassifier

    classifier = TransformerClassifier(
        model,
        learning_rate=learning_rate,
        class_weight="balanced",
        precision=_precision(precision),
        random_state=random_state,
        **{**_FINETUNING, **params},
    )
    # the comments are read in every fit, never when the recipe is built
    extra = (
        (partial(goemotions_pool, per_class=per_class, data_home=data_home), None)
        if per_class
        else (np.empty((0, 1), dtype=object), np.empty(0, dtype=object))
    )
    augment = AugmentedEstimator(
        classifier, *extra, n_samples=None if per_class else 0, random_state=0
    )
    return Pipeline([("essay", _essay()), ("augment", augment)])
