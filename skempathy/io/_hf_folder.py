"""Hugging Face folders of the fine-tuned estimators, as io reads them.

``Estimator.save_pretrained`` writes the folder (``config.json``, ``model.safetensors`` and the
tokenizer files: the encoder; ``skempathy_heads.safetensors``: the task heads;
``skempathy.json``: the class, parameters and fitted state as JSON; ``README.md``: a model card),
and ``Estimator.from_pretrained`` reads it back when the caller knows the class.
:func:`read_hf_folder` reads one whatever its class, for :func:`skempathy.io.load_model`.

The format itself is implemented in :mod:`skempathy._engine._hf_folder` and re-exported here:
the estimator methods in :mod:`skempathy.neural` need it, and the ``Layers`` contract forbids
``neural -> io`` (import-linter reads imports inside functions too, so neural cannot import
io lazily either); see that module's docstring.
"""

from pathlib import Path

from .._engine._hf_folder import (
    FORMAT,
    HEADS_FILE,
    STATE_FILE,
    estimator_from_record,
    estimator_record,
    read_json_manifest,
    read_state,
)

__all__ = [
    "FORMAT",
    "HEADS_FILE",
    "STATE_FILE",
    "estimator_class",
    "estimator_from_record",
    "estimator_record",
    "is_hf_folder",
    "read_hf_folder",
    "read_json_manifest",
    "read_state",
]


def is_hf_folder(path):
    """Whether ``path`` is a folder with the ``skempathy.json`` of ``save_pretrained``."""
    return Path(path).is_dir() and (Path(path) / STATE_FILE).is_file()


def estimator_class(name, where):
    """The fine-tuned estimator class of :mod:`skempathy.neural` called ``name``.

    Only those classes: a name from a file never picks any other code to run. ``where``
    names the file in the error.
    """
    from .. import neural
    from ..neural._base import _BaseTransformerEstimator

    cls = getattr(neural, name, None) if isinstance(name, str) else None
    if not (isinstance(cls, type) and issubclass(cls, _BaseTransformerEstimator)):
        raise ValueError(f"{where}: unknown estimator class {name!r}")
    return cls


def read_hf_folder(path, *, device="auto"):
    """The fitted estimator of a folder written by ``save_pretrained``, whatever its class.

    Parameters
    ----------
    path : str or path-like
        The folder.
    device : str, default="auto"
        Where the model runs (``"auto"``: cuda, then mps, then cpu).

    Returns
    -------
    estimator : fitted estimator of :mod:`skempathy.neural`
    """
    manifest = read_state(path)
    cls = estimator_class(manifest["class"], Path(path) / STATE_FILE)
    return cls.from_pretrained(path, device=device)
