"""The Hugging Face folder of a fine-tuned estimator: ``save_pretrained`` / ``from_pretrained``.

A folder holds what the Hugging Face world reads and what skempathy needs to
answer exactly as the fitted estimator did:

- ``config.json`` + ``model.safetensors`` and the tokenizer files: the encoder,
  loadable with ``transformers.AutoModel.from_pretrained(folder)``;
- ``skempathy_heads.safetensors``: the task heads (every weight outside the encoder);
- ``skempathy.json``: the estimator class, the skempathy version, the
  constructor parameters and the fitted state (labels, target scaling, history),
  as JSON: no pickle, so loading a folder runs no code from it;
- ``README.md``: a model card with the Hugging Face metadata header.

Why here and not in :mod:`skempathy.io`, which owns persistence: the estimator methods
``save_pretrained`` and ``from_pretrained`` of :mod:`skempathy.neural` write and read this
folder, and the ``Layers`` contract (``pyproject.toml``) forbids ``neural -> io``. import-linter
reads imports inside functions too, so a lazy import would break the contract, and a registry
that io fills would leave ``from_pretrained`` unusable in a process that never imported io.
So the format lives at the lowest layer its code needs (the engine: torch modules and
their weights, as :mod:`._packing` is for pickles), and :mod:`skempathy.io._hf_folder`
re-exports it and adds what only io does: recognising a folder and loading it whatever its
class (:func:`skempathy.io.load_model`). The JSON record of an estimator
(:func:`estimator_record`) is also the state of an ONNX export's manifest.
"""

import json
import os
from pathlib import Path

import numpy as np

HEADS_FILE = "skempathy_heads.safetensors"
STATE_FILE = "skempathy.json"
FORMAT = "skempathy-pretrained/1"
# Fitted state that the folder stores in other files, or that is rebuilt on load.
_NOT_IN_JSON = {
    "_packed_model",
    "_skempathy_version",
    "model_",
    "tokenizer_",
    "_cw",
    "_inference_runner",
}
_HUB_NAMES = {
    "all-MiniLM-L6-v2": "sentence-transformers/all-MiniLM-L6-v2",
    "all-mpnet-base-v2": "sentence-transformers/all-mpnet-base-v2",
}


def _to_json(value, where):
    if isinstance(value, np.ndarray):
        return {
            "__ndarray__": _to_json(value.tolist(), where),
            "dtype": value.dtype.str if value.dtype != object else "object",
        }
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_to_json(v, where) for v in value]}
    if isinstance(value, list):
        return [_to_json(v, where) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"{where}: dict keys must be strings to be saved")
        return {k: _to_json(v, f"{where}[{k!r}]") for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"{where} is a {type(value).__name__}, which save_pretrained cannot store "
        "as JSON; use a name or a plain value (or pickle the estimator instead)"
    )


def _from_json(value):
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, dict):
        if "__ndarray__" in value:
            data = _from_json(value["__ndarray__"])
            return np.asarray(data, dtype=object if value["dtype"] == "object" else value["dtype"])
        if "__tuple__" in value:
            return tuple(_from_json(v) for v in value["__tuple__"])
        return {k: _from_json(v) for k, v in value.items()}
    return value


def _model_card(est, *, metrics, training_data, intended_use):
    from sklearn.base import is_classifier, is_regressor

    from .. import __version__

    base = est.model if isinstance(est.model, str) else os.fspath(est.model)
    from .._models import embedded_name

    base = _HUB_NAMES.get(embedded_name(base), base)
    kind = type(est).__name__
    if kind == "FineTunedEmbedder":
        tag = "feature-extraction"
    else:
        tag = "text-classification"
    lines = [
        "---",
        "library_name: skempathy",
        f"pipeline_tag: {tag}",
        "tags:",
        "- skempathy",
        "- scikit-learn",
        "- empathy",
        "- emotion",
    ]
    if not os.path.isabs(base) and not os.path.exists(base):
        lines.append(f"base_model: {base}")
    if training_data:
        lines.append("datasets:")
        lines += [f"- {name}" for name in training_data]
    if metrics:
        lines.append("metrics:")
        lines += [f"- {name}" for name in metrics]
    lines += ["---", "", f"# {kind} fine-tuned with skempathy", ""]
    task = (
        "classification"
        if is_classifier(est)
        else "regression"
        if is_regressor(est)
        else "several tasks or embeddings"
    )
    lines += [
        f"A `skempathy.neural.{kind}` ({task}) fine-tuned from `{base}` with skempathy "
        f"{__version__}. The encoder loads with `transformers.AutoModel`; the task heads "
        f"and the fitted state are in `{HEADS_FILE}` and `{STATE_FILE}`.",
        "",
    ]
    labels = getattr(est, "classes_", None)
    if labels is not None:
        shown = (
            {k: list(map(str, v)) for k, v in labels.items()}
            if isinstance(labels, dict)
            else list(map(str, labels))
        )
        lines += [f"Labels: `{shown}`.", ""]
    lines += [
        "## Intended use",
        "",
        intended_use
        or (
            "Research on empathy, distress and emotion in text, and applications built on it, "
            "on texts like the training data (English essays or messages). Predictions are "
            "estimates, not a judgement of a person."
        ),
        "",
    ]
    lines += [
        "## Training data",
        "",
        ", ".join(training_data) if training_data else "Not recorded by the trainer.",
        "",
    ]
    lines += ["## Metrics", ""]
    if metrics:
        lines += ["| metric | value |", "|---|---|"]
        lines += [
            f"| {name} | {value:.4f} |" if isinstance(value, float) else f"| {name} | {value} |"
            for name, value in metrics.items()
        ]
    else:
        lines.append("Not recorded by the trainer.")
    lines += [
        "",
        "## Limitations",
        "",
        "Fine-tuned on a small corpus; scores transfer poorly to other domains, languages "
        "and writers unlike the training set. Empathy and distress ratings are "
        "self-reports of the writers, so the model predicts how a writer rated themself. "
        "Check errors per demographic group before use (`skempathy.report.slice_report`).",
        "",
        "## How to load",
        "",
        "```python",
        f"from skempathy.neural import {kind}",
        "",
        f'model = {kind}.from_pretrained("path/to/this/folder")',
        'model.predict(["I feel so sorry for the families who lost their homes."])',
        "```",
        "",
    ]
    return "\n".join(lines)


def estimator_record(est):
    """``{"class", "params", "state"}`` of a fitted estimator as JSON values.

    The torch module and tokenizer are left out: they are stored as files.
    """
    raw_params = est.get_params(deep=False)
    params = _to_json(raw_params, f"{type(est).__name__} parameter")
    state = {k: v for k, v in est.__dict__.items() if k not in _NOT_IN_JSON and k not in raw_params}
    state = _to_json(state, f"{type(est).__name__} fitted attribute")
    return {"class": type(est).__name__, "params": params, "state": state}


def estimator_from_record(cls, record):
    """An instance of ``cls`` with the parameters and fitted state of ``record``
    (no torch module or tokenizer yet)."""
    est = cls(**_from_json(record["params"]))
    for key, value in _from_json(record["state"]).items():
        setattr(est, key, value)
    return est


def save_pretrained(est, save_directory, *, metrics=None, training_data=None, intended_use=None):
    """Write ``est`` (fitted) as a Hugging Face folder; returns its path."""
    from safetensors.torch import save_file
    from sklearn.utils.validation import check_is_fitted

    from .. import __version__
    from ._loop import cpu_state_dict

    check_is_fitted(est)
    folder = Path(save_directory)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"save_pretrained: {folder} exists and is not a folder")
    record = estimator_record(est)
    folder.mkdir(parents=True, exist_ok=True)
    est.model_.encoder.save_pretrained(folder, safe_serialization=True)
    est.tokenizer_.save_pretrained(folder)
    heads = {
        k: v.contiguous()
        for k, v in cpu_state_dict(est.model_).items()
        if not k.startswith("encoder.")
    }
    save_file(heads, str(folder / HEADS_FILE))
    manifest = {"format": FORMAT, "skempathy_version": __version__, **record}
    (folder / STATE_FILE).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(
        _model_card(est, metrics=metrics, training_data=training_data, intended_use=intended_use),
        encoding="utf-8",
    )
    return str(folder)


def read_json_manifest(path, *, expected_format, what, writer):
    """The JSON object at ``path`` (the manifest of a model folder), checked.

    Raises ``FileNotFoundError`` when the folder has no ``path`` (``what``: the folder's
    kind, ``writer``: what writes one), :class:`~skempathy.io.UnsafeFileError` when the
    folder holds links or special files, and ``ValueError`` naming ``path`` when it is not
    a JSON object of ``expected_format`` with a ``skempathy_version``.
    """
    from ..utils._files import check_model_folder

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path.parent} is not {what}: no {path.name} (write one with {writer})"
        )
    check_model_folder(path.parent)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path} is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != expected_format:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise ValueError(f"{path}: unknown format {found!r} (expected {expected_format!r})")
    if not isinstance(manifest.get("skempathy_version"), str):
        raise ValueError(f"{path}: no skempathy_version")
    return manifest


def read_state(directory):
    """The checked ``skempathy.json`` of a folder written by :func:`save_pretrained`."""
    manifest = read_json_manifest(
        Path(directory) / STATE_FILE,
        expected_format=FORMAT,
        what="a skempathy folder",
        writer="save_pretrained",
    )
    if not isinstance(manifest.get("class"), str):
        raise ValueError(f"{Path(directory) / STATE_FILE}: no estimator class")
    return manifest


def load_pretrained(cls, directory, *, device="auto"):
    """Rebuild the estimator saved by :func:`save_pretrained` in ``directory``."""
    import transformers
    from safetensors.torch import load_file

    from .._models import resolve_device
    from ..base import _warn_if_saved_by_another_version
    from ._modules import make_transformer_module

    folder = Path(directory)
    manifest = read_state(folder)
    if manifest["class"] != cls.__name__:
        raise TypeError(
            f"{folder} holds a {manifest['class']}; load it with "
            f"{manifest['class']}.from_pretrained"
        )
    # stacklevel: the caller of from_pretrained
    _warn_if_saved_by_another_version(str(folder), manifest["skempathy_version"], stacklevel=4)
    est = estimator_from_record(cls, manifest)
    from ..utils._progress import transformers_progress_off

    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    with transformers_progress_off():
        encoder = transformers.AutoModel.from_pretrained(folder)
    module = make_transformer_module(encoder, **est._module_config)
    missing, unexpected = module.load_state_dict(load_file(str(folder / HEADS_FILE)), strict=False)
    if unexpected or any(not k.startswith("encoder.") for k in missing):
        raise ValueError(
            f"{folder / HEADS_FILE} does not match the saved heads "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    est.device_ = resolve_device(device)
    est.tokenizer_ = tokenizer
    est.model_ = module.to(est.device_).eval()
    return est
