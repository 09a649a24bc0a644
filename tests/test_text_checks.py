"""Every public estimator that takes raw text passes the text-estimator checks
(:mod:`skempathy.utils.estimator_checks`) on real WASSA essays; meta-estimators are checked
with their feature on (augmentation drawing comments, seeds voting, members voting).

scikit-learn's numeric checks do not apply to them (``input_tags.two_d_array=False``, as for
``TfidfVectorizer``); tests/test_common.py runs those on every estimator that takes numbers.
"""

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skempathy.augment import AugmentedEstimator
from skempathy.dialogue import BiEncoderRetriever, EmotionAnnotator
from skempathy.ensemble import MultiTaskVoting, SeedEnsemble
from skempathy.neural import (
    DistilledMultiTaskClassifier,
    FineTunedEmbedder,
    MaskedLMAdapter,
    MultiTaskTransformer,
    Seq2SeqLabelClassifier,
    TokenAttentionClassifier,
    TransformerClassifier,
    TransformerRegressor,
)
from skempathy.text import (
    LexiconFeaturizer,
    SentenceEmbedder,
    StaticEmbedder,
    TransformerEmbedder,
)
from skempathy.utils.estimator_checks import parametrize_with_checks, text_check_data
from tests._checks_methods import _BERT, _T5
from tests._checks_text import _lexicon

_KW = dict(model=_BERT, max_epochs=1, max_length=32, batch_size=8, random_state=0, device="cpu")
_EMBED = dict(device="cpu", batch_size=8, show_progress=False)
_COMMENTS = [
    "I am so angry about this",
    "what a sad day",
    "this makes me furious",
    "heartbroken for them",
    "livid",
    "so much grief",
]


def _retriever_data():
    X, _ = text_check_data(TransformerRegressor())
    return X, [f"reply to essay {i}: that sounds hard" for i in range(len(X))]


TEXT_ESTIMATORS = [
    SentenceEmbedder(_BERT, **_EMBED),
    TransformerEmbedder(_BERT, **_EMBED),
    StaticEmbedder(_BERT, pca_dims=16, show_progress=False),
    LexiconFeaturizer(_lexicon()),
    TransformerClassifier(**_KW),
    TransformerRegressor(**_KW),
    MultiTaskTransformer(**_KW),
    FineTunedEmbedder(**_KW),
    DistilledMultiTaskClassifier(**_KW),
    MaskedLMAdapter(**_KW),
    Seq2SeqLabelClassifier(**{**_KW, "model": _T5}),
    TokenAttentionClassifier(
        model=_BERT, max_epochs=2, max_length=32, random_state=0, device="cpu"
    ),
    EmotionAnnotator(encoder=TfidfVectorizer(), taxonomy=None),
    (
        BiEncoderRetriever(model=_BERT, epochs=1, batch_size=8, device="cpu", random_state=0),
        *_retriever_data(),
    ),
    AugmentedEstimator(
        TransformerClassifier(**_KW),
        _COMMENTS,
        ["anger", "sadness", "anger", "sadness", "anger", "sadness"],
        strategy="random",
        random_state=0,
    ),
    SeedEnsemble(TransformerRegressor(**_KW), n_estimators=2, random_state=0),
    MultiTaskVoting(
        [
            ("tuned", TransformerClassifier(**_KW), None),
            (
                "frozen",
                make_pipeline(SentenceEmbedder(_BERT, **_EMBED), LogisticRegression()),
                None,
            ),
        ]
    ),
]

EXPECTED_FAILED = {}


def _expected(estimator):
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


@parametrize_with_checks(TEXT_ESTIMATORS, expected_failed_checks=_expected)
def test_text_estimator(estimator, check):
    check(estimator)
