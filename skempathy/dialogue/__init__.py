"""Dialogue tools: utterance emotion annotation, emotion-transition patterns, response retrieval.

Follows the pipeline of "Emotion Modeling for Improving Empathy in
Conversations": annotate every utterance of a dialogue corpus with a
GoEmotions classifier (:class:`EmotionAnnotator`, :func:`annotate_dialogues`),
study which speaker -> listener emotion transitions go with a kind of
conversation (:class:`EmotionTransitionFeaturizer`, :func:`emotion_patterns`),
select training dialogues by those patterns (:func:`select_by_patterns`) and
measure the effect with a bi-encoder response retriever
(:class:`BiEncoderRetriever`, :func:`precision_at_k`, :func:`corpus_bleu_score`).

Dialogue corpora are read into one tidy frame (``conv_id``, ``turn``,
``speaker``, ``text`` + labels) by the ``load_*`` functions, which take the
path of the files as distributed (they are not bundled).
"""

from ._annotator import (
    EKMAN_MAPPING,
    GOEMOTIONS_LABELS,
    SENTIMENT_MAPPING,
    EmotionAnnotator,
    map_emotions,
)
from ._data import (
    DialogueDataWarning,
    load_dailydialog,
    load_emorynlp,
    load_empathetic_dialogues,
    load_empathetic_intents,
    load_meld,
    validate_dialogues,
)
from ._patterns import (
    EmotionTransitionFeaturizer,
    annotate_dialogues,
    emotion_patterns,
    plot_transition_matrix,
    select_by_patterns,
    to_conversations,
)
from ._retrieval import (
    BiEncoderRetriever,
    bleu_scorer,
    corpus_bleu_score,
    precision_at_k,
    precision_at_k_scorer,
)

__all__ = [
    "BiEncoderRetriever",
    "DialogueDataWarning",
    "EKMAN_MAPPING",
    "EmotionAnnotator",
    "EmotionTransitionFeaturizer",
    "GOEMOTIONS_LABELS",
    "SENTIMENT_MAPPING",
    "annotate_dialogues",
    "bleu_scorer",
    "corpus_bleu_score",
    "emotion_patterns",
    "load_dailydialog",
    "load_emorynlp",
    "load_empathetic_dialogues",
    "load_empathetic_intents",
    "load_meld",
    "map_emotions",
    "plot_transition_matrix",
    "precision_at_k",
    "precision_at_k_scorer",
    "select_by_patterns",
    "to_conversations",
    "validate_dialogues",
]
