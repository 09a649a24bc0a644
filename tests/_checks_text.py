"""Estimator-check registrations for skempathy.text and skempathy.compose.

The embedders use a tiny random BERT (2 layers, hidden size 32, MiniLM
tokenizer) built here at import time into a temporary folder, so the checks
run in seconds and never download anything.
"""

import atexit
import shutil
import tempfile

from tests.conftest import shared_data_dir


def _tiny_bert():
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from skempathy.base import resolve_model

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(resolve_model("minilm"))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64)
    path = tempfile.mkdtemp(prefix="skempathy_checks_tiny_bert_")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _lexicon():
    import pandas as pd

    data = shared_data_dir()
    if data is not None and (data / "empathy_distress_lexicon_sedoc2019").is_dir():
        return str(data / "empathy_distress_lexicon_sedoc2019")
    return pd.DataFrame({"word": ["sad", "happy"], "empathy": [6.0, 2.0]})


def _instances():
    from xgboost import XGBClassifier

    from skempathy.compose import LabelEncodedClassifier
    from skempathy.text import LexiconFeaturizer, SentenceEmbedder, TransformerEmbedder

    tiny = _tiny_bert()
    return [
        SentenceEmbedder(tiny, device="cpu", batch_size=8, show_progress=False),
        TransformerEmbedder(tiny, device="cpu", batch_size=8, show_progress=False),
        LexiconFeaturizer(_lexicon()),
        LabelEncodedClassifier(XGBClassifier(n_estimators=5, max_depth=2, n_jobs=1)),
    ]


INSTANCES = _instances()

_NUMERIC = (
    "the check fits on a random numeric matrix; a text featurizer takes one column of "
    "strings and rejects numeric/multi-column input (skempathy.base.check_texts). The same "
    "property is tested with real texts in tests/test_text.py."
)
# Checks that feed numeric matrices (sklearn has no string-input variants of them).
_NUMERIC_CHECKS = [
    "check_complex_data", "check_dict_unchanged", "check_dont_overwrite_parameters",
    "check_dtype_object", "check_estimators_dtypes", "check_estimators_fit_returns_self",
    "check_estimators_nan_inf", "check_estimators_overwrite_params", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_fit1d", "check_fit2d_1feature",
    "check_fit2d_1sample", "check_fit2d_predict1d", "check_fit_check_is_fitted",
    "check_fit_idempotent", "check_fit_score_takes_y", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_n_features_in", "check_n_features_in_after_fitting",
    "check_pipeline_consistency", "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input", "check_transformer_data_not_an_array",
    "check_transformer_general", "check_transformer_preserve_dtypes",
]
EXPECTED_FAILED = {
    name: {check: _NUMERIC for check in _NUMERIC_CHECKS}
    for name in ("SentenceEmbedder", "TransformerEmbedder", "LexiconFeaturizer")
}
