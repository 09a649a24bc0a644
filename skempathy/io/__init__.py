"""Safe persistence of fitted estimators with skops (no pickle code runs on load).

``dump(estimator, path)`` writes a ``.skops`` file; ``load(path)`` reads it back,
trusting the types skempathy and scikit-learn define (:func:`get_trusted_types`)
and refusing any other type unless you pass it in ``trusted``. Torch weights
inside are safetensors bytes. Needs ``pip install "skempathy[skops]"``.
"""

from ..utils._files import UnsafeFileError
from ._skops import dump, get_trusted_types, load

__all__ = ["UnsafeFileError", "dump", "get_trusted_types", "load"]
