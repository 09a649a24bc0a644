"""Estimator-check registrations for skempathy.neural.

The fine-tuned estimators use a tiny random BERT (2 layers, hidden size 32,
MiniLM tokenizer) built here at import time into a temporary folder, with one
epoch and short ``max_length``, so no check downloads anything.

sklearn's checks feed numeric matrices; a text estimator rejects them with a
TypeError (by design: ``check_texts``), so the checks that need to *fit* on
numeric X cannot apply. Everything else (clone, get_params/set_params,
no attributes set in ``__init__``, parameter validation, unfitted errors,
tags, ...) runs and must pass.
"""

import atexit
import shutil
import tempfile


def _tiny_bert():
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from skempathy.base import resolve_model

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(resolve_model("minilm"))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64)
    path = tempfile.mkdtemp(prefix="skempathy_checks_neural_bert_")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


_TINY = _tiny_bert()
_KW = dict(model=_TINY, max_epochs=1, max_length=16, batch_size=8, random_state=0, device="cpu")

from skempathy.neural import (  # noqa: E402
    FineTunedEmbedder,
    MultiTaskTransformer,
    TransformerClassifier,
    TransformerRegressor,
)

INSTANCES = [
    TransformerClassifier(**_KW),
    TransformerRegressor(**_KW),
    MultiTaskTransformer(**_KW),
    FineTunedEmbedder(**_KW),
]

_NUMERIC = (
    "the check fits on a numeric matrix; the estimator takes raw texts and rejects numeric X "
    "by design (skempathy.base.check_texts). The same property is tested with real texts in "
    "tests/test_neural.py"
)
# Checks that fit on numeric matrices (sklearn has no string-input variants of them).
_COMMON = [
    "check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object",
    "check_estimators_dtypes", "check_estimators_fit_returns_self", "check_estimators_nan_inf",
    "check_estimators_overwrite_params", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_fit1d", "check_fit2d_1feature",
    "check_fit2d_predict1d", "check_fit_check_is_fitted", "check_fit_idempotent",
    "check_fit_score_takes_y", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_n_features_in", "check_n_features_in_after_fitting",
    "check_pipeline_consistency", "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input", "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weights_list", "check_sample_weights_not_an_array",
    "check_sample_weights_not_overwritten", "check_sample_weights_pandas_series",
    "check_sample_weights_shape",
]
_EXTRA = {
    "TransformerClassifier": [
        "check_class_weight_classifiers", "check_classifier_data_not_an_array",
        "check_classifiers_classes", "check_classifiers_multilabel_output_format_decision_function",
        "check_classifiers_multilabel_output_format_predict",
        "check_classifiers_multilabel_output_format_predict_proba",
        "check_classifiers_multilabel_representation_invariance", "check_classifiers_train",
        "check_decision_proba_consistency", "check_supervised_y_2d",
    ],
    "TransformerRegressor": [
        "check_fit2d_1sample", "check_regressor_data_not_an_array", "check_regressor_multioutput",
        "check_regressors_int", "check_regressors_no_decision_function", "check_regressors_train",
        "check_supervised_y_2d",
    ],
    "MultiTaskTransformer": [],
    "FineTunedEmbedder": [
        "check_fit2d_1sample", "check_transformer_data_not_an_array", "check_transformer_general",
        "check_transformer_preserve_dtypes",
    ],
}
EXPECTED_FAILED = {
    name: {check: _NUMERIC for check in _COMMON + extra} for name, extra in _EXTRA.items()
}
for _name in _EXTRA:
    EXPECTED_FAILED[_name]["check_estimators_empty_data_messages"] = (
        "the empty-sample part passes; the second part fits an (n, 0) numeric matrix and expects "
        "sklearn's numeric message '0 feature(s)', while a text estimator reports that it needs "
        "one text column"
    )
