"""skempathy.dialogue estimators registered for sklearn's parametrize_with_checks (the text
estimators, ``EmotionAnnotator`` and ``BiEncoderRetriever``, are checked with texts in
tests/test_text_checks.py).

``EmotionTransitionFeaturizer`` reads each row of X as one conversation (a
sequence of emotion labels), so numeric matrices are valid input and nearly
every check runs; only those assuming a fixed number of input features do not
apply (a conversation can have any number of turns).
"""

from skempathy.dialogue import EmotionTransitionFeaturizer

INSTANCES = [EmotionTransitionFeaturizer()]

_VARIABLE_LENGTH = (
    "each row is a conversation of any length: there is no fixed number of "
    "input features to record or compare"
)

EXPECTED_FAILED = {
    "EmotionTransitionFeaturizer": {
        "check_n_features_in": _VARIABLE_LENGTH,
        "check_n_features_in_after_fitting": _VARIABLE_LENGTH,
        "check_transformer_general": (
            _VARIABLE_LENGTH + " (transform accepts a different number of turns than fit)"
        ),
        "check_transformer_general(readonly_memmap=True)": _VARIABLE_LENGTH,
    },
}
