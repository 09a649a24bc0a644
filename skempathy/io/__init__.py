"""Persistence of fitted estimators: one reader of every format skempathy writes.

``load_model(path)`` loads whatever skempathy saved, recognised by content: a ``.skops`` file,
the model file of the command line, a pickle (only with ``allow_pickle=True``), the Hugging
Face folder of an estimator's ``save_pretrained`` and the ONNX folder of
:func:`skempathy.export.to_onnx` (an :class:`~skempathy.export.OnnxPredictor`).
``read_model(path)`` reads the same as a model-file dict (the estimator with its task, columns
and dev scores), as the command line and :class:`~skempathy.batch.BatchPredictor` do.

``dump(estimator, path)`` writes a ``.skops`` file; ``load(path)`` reads one back, trusting
the types skempathy and scikit-learn define (:func:`get_trusted_types`) and refusing any other
type unless you pass it in ``trusted``. Torch weights inside are safetensors bytes. Needs
``pip install "skempathy[skops]"``.

``write_model(bundle, path)``: the model file that the command line writes (a fitted estimator
with its task, columns and dev scores); ``.skops``, or a pickle for another suffix.
"""

from ..utils._files import UnsafeFileError
from ._model_file import (
    MODEL_FORMAT,
    PickleRefusedError,
    UnknownModelFormatError,
    load_model,
    read_model,
    write_model,
)
from ._skops import UntrustedTypesError, dump, get_trusted_types, load

__all__ = [
    "MODEL_FORMAT",
    "PickleRefusedError",
    "UnknownModelFormatError",
    "UnsafeFileError",
    "UntrustedTypesError",
    "dump",
    "get_trusted_types",
    "load",
    "load_model",
    "read_model",
    "write_model",
]
