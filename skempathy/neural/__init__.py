"""Fine-tuned transformer estimators with the scikit-learn contract.

The encoder itself is trained (as the WASSA 2021/2022 winning systems did),
while the estimators behave like any sklearn estimator: lazy construction,
``clone``/``set_params``, ``Pipeline``/``GridSearchCV``, ``random_state``
reproducibility and device-independent pickles. The training loop lives in
the private package :mod:`skempathy._engine`, under every torch estimator.
"""

from .._engine._parallel import data_parallel, is_main_process
from ._embedder import FineTunedEmbedder
from ._multitask import MultiTaskTransformer
from .._models import cpu_has_fast_bf16
from ._transformer import TransformerClassifier, TransformerRegressor

# the published methods
from ._distill import DistilledMultiTaskClassifier
from ._mlm import MaskedLMAdapter
from ._seq2seq import Seq2SeqLabelClassifier
from ._token_attention import TokenAttentionClassifier

__all__ = [
    "FineTunedEmbedder",
    "MultiTaskTransformer",
    "TransformerClassifier",
    "TransformerRegressor",
    "DistilledMultiTaskClassifier",
    "MaskedLMAdapter",
    "Seq2SeqLabelClassifier",
    "TokenAttentionClassifier",
    "cpu_has_fast_bf16",
    "data_parallel",
    "is_main_process",
]
