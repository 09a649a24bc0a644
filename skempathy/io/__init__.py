"""Persistence of fitted estimators: safe ``.skops`` files and the skempathy model file.

``dump(estimator, path)`` writes a ``.skops`` file; ``load(path)`` reads it back,
trusting the types skempathy and scikit-learn define (:func:`get_trusted_types`)
and refusing any other type unless you pass it in ``trusted``. Torch weights
inside are safetensors bytes. Needs ``pip install "skempathy[skops]"``.

``write_model(bundle, path)`` / ``read_model(path)``: the model file that the command line
writes and reads, and :class:`~skempathy.batch.BatchPredictor` reads (a fitted estimator with
its task, columns and dev scores); a pickle loads only with ``allow_pickle=True``.
"""

from ..utils._files import UnsafeFileError
from ._model_file import MODEL_FORMAT, PickleRefusedError, read_model, write_model
from ._skops import UntrustedTypesError, dump, get_trusted_types, load

__all__ = [
    "MODEL_FORMAT",
    "PickleRefusedError",
    "UnsafeFileError",
    "UntrustedTypesError",
    "dump",
    "get_trusted_types",
    "load",
    "read_model",
    "write_model",
]
