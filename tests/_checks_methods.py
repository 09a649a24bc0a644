"""Estimators of issue 5 (published methods) for sklearn's check suite.

The meta-estimators wrap numeric sklearn estimators here so every check applies;
their text behaviour is tested on real data in tests/test_augment.py and
tests/test_ensemble.py. ``AugmentedEstimator`` is registered with
``n_samples=0`` because the checks change the number of features from one check
to the next while external examples have a fixed width; augmentation itself is
tested in tests/test_augment.py.

The neural estimators use a tiny random BERT (2 layers, width 32, MiniLM
tokenizer) and a tiny random T5 built here at import time into temporary
folders, so no check downloads anything. sklearn's checks feed numeric
matrices; a text estimator rejects them with a TypeError (by design:
``check_texts``), so the checks that need to *fit* on numeric X cannot apply.
Everything else (clone, get_params/set_params, nothing set in ``__init__``,
parameter validation, unfitted errors, tags, ...) runs and must pass.
"""

import os
import shutil
import tempfile

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeRegressor

from skempathy.augment import AugmentedEstimator
from skempathy.ensemble import MultiTaskVoting, SeedEnsemble


def _build(path, make):
    """Build a model folder at a fixed path (stable test ids, also under pytest-xdist).

    The folder is written to a fresh temporary directory and renamed into place,
    so concurrent workers never see a half-written model.
    """
    if os.path.isdir(path):
        return path
    tmp = tempfile.mkdtemp(prefix=os.path.basename(path) + "_tmp_")
    make(tmp)
    try:
        os.rename(tmp, path)
    except OSError:  # another worker won the race; its copy is identical (seed 0)
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def _tiny_models():
    import torch
    from transformers import (AutoTokenizer, BertConfig, BertModel, T5Config,
                              T5ForConditionalGeneration)

    from skempathy.base import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("minilm"))

    def bert(path):
        torch.manual_seed(0)
        BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32,
                             num_hidden_layers=2, num_attention_heads=2,
                             intermediate_size=64)).save_pretrained(path)
        tokenizer.save_pretrained(path)

    def t5(path):
        torch.manual_seed(0)
        T5ForConditionalGeneration(T5Config(
            vocab_size=tokenizer.vocab_size, d_model=32, d_ff=64, d_kv=16, num_layers=2,
            num_decoder_layers=2, num_heads=2, pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.sep_token_id, decoder_start_token_id=tokenizer.pad_token_id,
        )).save_pretrained(path)
        tokenizer.save_pretrained(path)

    root = tempfile.gettempdir()
    return (_build(os.path.join(root, "skempathy_checks_methods_bert_v1"), bert),
            _build(os.path.join(root, "skempathy_checks_methods_t5_v1"), t5))


_BERT, _T5 = _tiny_models()
_KW = dict(max_epochs=1, max_length=16, batch_size=8, random_state=0, device="cpu")

from skempathy.neural import (  # noqa: E402
    DistilledMultiTaskClassifier,
    MaskedLMAdapter,
    Seq2SeqLabelClassifier,
    TokenAttentionClassifier,
)

INSTANCES = [
    AugmentedEstimator(LogisticRegression(), np.zeros((3, 2)), [0, 1, 0], n_samples=0),
    SeedEnsemble(LogisticRegression(), n_estimators=2, random_state=0),
    SeedEnsemble(DecisionTreeRegressor(max_depth=3), n_estimators=2, random_state=0),
    # one column of y, both members voting on it (classifiers, then regressors)
    MultiTaskVoting([("logreg", LogisticRegression(), None), ("nb", GaussianNB(), None)]),
    MultiTaskVoting([("ridge", Ridge(), None),
                     ("tree", DecisionTreeRegressor(max_depth=3, random_state=0), None)],
                    weights=[2, 1]),
    DistilledMultiTaskClassifier(model=_BERT, **_KW),
    MaskedLMAdapter(model=_BERT, **_KW),
    Seq2SeqLabelClassifier(model=_T5, **_KW),
    TokenAttentionClassifier(model=_BERT, max_epochs=2, early_stopping=False, max_length=16,
                             random_state=0, device="cpu"),
]

_NUMERIC = (
    "the check fits on a numeric (or sparse/complex/empty-feature) matrix; the estimator takes "
    "raw texts and rejects non-text X by design (skempathy.base.check_texts). The same property "
    "is tested with real texts in tests/test_methods_neural.py"
)
# Checks that fit on numeric matrices (sklearn has no string-input variants of them).
_COMMON = [
    "check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object",
    "check_estimator_sparse_array", "check_estimator_sparse_matrix", "check_estimator_sparse_tag",
    "check_estimators_dtypes", "check_estimators_empty_data_messages",
    "check_estimators_fit_returns_self", "check_estimators_nan_inf",
    "check_estimators_overwrite_params", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_fit1d", "check_fit2d_1feature",
    "check_fit2d_predict1d", "check_fit_check_is_fitted", "check_fit_idempotent",
    "check_fit_score_takes_y", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_n_features_in", "check_n_features_in_after_fitting",
    "check_pipeline_consistency", "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
]
_CLASSIFIER = ["check_classifier_data_not_an_array", "check_classifiers_classes",
               "check_classifiers_train", "check_supervised_y_2d"]
_EXTRA = {
    "DistilledMultiTaskClassifier": _CLASSIFIER + ["check_decision_proba_consistency"],
    "Seq2SeqLabelClassifier": _CLASSIFIER + ["check_decision_proba_consistency"],
    "TokenAttentionClassifier": _CLASSIFIER,
    "MaskedLMAdapter": ["check_complex_data", "check_fit2d_1sample",
                        "check_transformer_data_not_an_array", "check_transformer_general",
                        "check_transformer_preserve_dtypes"],
}
EXPECTED_FAILED = {
    name: {check: _NUMERIC for check in _COMMON + extra} for name, extra in _EXTRA.items()
}
