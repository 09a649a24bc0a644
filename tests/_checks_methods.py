"""The meta-estimators on numeric members, for scikit-learn's check suite.

Wrapping numeric estimators, every scikit-learn check applies to them. The same
meta-estimators on text members, with their feature on, are in
tests/test_text_checks.py, which also uses the tiny random BERT and T5 built here
(2 layers, width 32, MiniLM tokenizer) so that no check downloads anything.
"""

import os
import shutil
import tempfile

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

from skempathy.augment import AugmentedEstimator
from skempathy.compose import WassaPipeline
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
    from transformers import (
        AutoTokenizer,
        BertConfig,
        BertModel,
        T5Config,
        T5ForConditionalGeneration,
    )

    from skempathy.base import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("minilm"))

    def bert(path):
        torch.manual_seed(0)
        BertModel(
            BertConfig(
                vocab_size=tokenizer.vocab_size,
                hidden_size=32,
                num_hidden_layers=2,
                num_attention_heads=2,
                intermediate_size=64,
            )
        ).save_pretrained(path)
        tokenizer.save_pretrained(path)

    def t5(path):
        torch.manual_seed(0)
        T5ForConditionalGeneration(
            T5Config(
                vocab_size=tokenizer.vocab_size,
                d_model=32,
                d_ff=64,
                d_kv=16,
                num_layers=2,
                num_decoder_layers=2,
                num_heads=2,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.sep_token_id,
                decoder_start_token_id=tokenizer.pad_token_id,
            )
        ).save_pretrained(path)
        tokenizer.save_pretrained(path)

    root = tempfile.gettempdir()
    return (
        _build(os.path.join(root, "skempathy_checks_methods_bert_v1"), bert),
        _build(os.path.join(root, "skempathy_checks_methods_t5_v1"), t5),
    )


_BERT, _T5 = _tiny_models()  # for tests/test_text_checks.py

INSTANCES = [
    WassaPipeline([("scale", StandardScaler()), ("head", Ridge())]),
    WassaPipeline([("scale", StandardScaler()), ("head", LogisticRegression())]),
    # no external rows drawn: the checks change the number of features from one check to the
    # next, external rows have a fixed width (augmentation is on in tests/test_text_checks.py)
    AugmentedEstimator(LogisticRegression(), np.zeros((3, 2)), [0, 1, 0], n_samples=0),
    SeedEnsemble(LogisticRegression(), n_estimators=2, random_state=0),
    SeedEnsemble(DecisionTreeRegressor(max_depth=3), n_estimators=2, random_state=0),
    # one column of y, both members voting on it (classifiers, then regressors)
    MultiTaskVoting([("logreg", LogisticRegression(), None), ("nb", GaussianNB(), None)]),
    MultiTaskVoting(
        [
            ("ridge", Ridge(), None),
            ("tree", DecisionTreeRegressor(max_depth=3, random_state=0), None),
        ],
        weights=[2, 1],
    ),
]

_FITS_ITS_STEPS = (
    "a Pipeline fits the estimators of its steps parameter in place, as "
    "scikit-learn's own Pipeline does (it fails this check the same way)"
)
EXPECTED_FAILED = {
    "WassaPipeline": {
        "check_estimators_overwrite_params": _FITS_ITS_STEPS,
        "check_dont_overwrite_parameters": _FITS_ITS_STEPS,
    },
}
