"""skempathy.dialogue estimators registered for sklearn's parametrize_with_checks.

``EmotionAnnotator`` is registered with a TF-IDF encoder and
``BiEncoderRetriever`` with ``epochs=0`` on the tiny random BERT of
``tests/_checks_neural.py`` (no training, no download) so the checks are
fast. Both take raw text and reject numeric matrices with a TypeError/ValueError
by design (``skempathy.base.check_texts``), so the checks that must *fit* on
numeric X cannot apply; the API checks (clone, params, tags, repr, unfitted
errors, y=None, one-class and continuous-y errors) run and pass. Their
behaviour on real text is tested in tests/test_dialogue*.py.

``EmotionTransitionFeaturizer`` reads each row of X as one conversation (a
sequence of emotion labels), so numeric matrices are valid input and nearly
every check runs; only those assuming a fixed number of input features do not
apply (a conversation can have any number of turns).
"""

from sklearn.feature_extraction.text import TfidfVectorizer

from skempathy.dialogue import BiEncoderRetriever, EmotionAnnotator, EmotionTransitionFeaturizer

from ._checks_neural import _TINY

INSTANCES = [
    EmotionAnnotator(encoder=TfidfVectorizer(), taxonomy=None),
    EmotionTransitionFeaturizer(),
    BiEncoderRetriever(model=_TINY, epochs=0, device="cpu"),
]

_NUMERIC = ("sklearn feeds a numeric matrix; a text estimator rejects it (TypeError/ValueError "
            "by design, skempathy.base.check_texts)")
_COMMON_NUMERIC = [
    "check_fit_score_takes_y", "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
    "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_complex_data",
    "check_dtype_object", "check_estimators_empty_data_messages", "check_pipeline_consistency",
    "check_estimators_nan_inf", "check_estimator_sparse_tag", "check_estimator_sparse_array",
    "check_estimator_sparse_matrix", "check_estimators_pickle",
    "check_estimators_pickle(readonly_memmap=True)", "check_f_contiguous_array_estimator",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance",
    "check_fit2d_1sample", "check_fit2d_1feature", "check_dict_unchanged",
    "check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in", "check_fit1d",
    "check_fit2d_predict1d",
]
_CLASSIFIER_NUMERIC = [
    "check_classifier_data_not_an_array", "check_classifiers_classes",
    "check_classifiers_train", "check_classifiers_train(readonly_memmap=True)",
    "check_classifiers_train(readonly_memmap=True,X_dtype=float32)",
    "check_classifiers_multilabel_representation_invariance",
    "check_classifiers_multilabel_output_format_predict",
    "check_classifiers_multilabel_output_format_predict_proba",
    "check_classifiers_multilabel_output_format_decision_function",
    "check_supervised_y_2d",
]
_VARIABLE_LENGTH = ("each row is a conversation of any length: there is no fixed number of "
                    "input features to record or compare")

EXPECTED_FAILED = {
    # check_complex_data and check_fit2d_1sample pass: y is validated before X.
    "EmotionAnnotator": {c: _NUMERIC for c in _COMMON_NUMERIC + _CLASSIFIER_NUMERIC
                         if c not in ("check_complex_data", "check_fit2d_1sample")},
    "BiEncoderRetriever": {c: _NUMERIC for c in _COMMON_NUMERIC},
    "EmotionTransitionFeaturizer": {
        "check_n_features_in": _VARIABLE_LENGTH,
        "check_n_features_in_after_fitting": _VARIABLE_LENGTH,
        "check_transformer_general": (_VARIABLE_LENGTH + " (transform accepts a different "
                                      "number of turns than fit)"),
        "check_transformer_general(readonly_memmap=True)": _VARIABLE_LENGTH,
    },
}
