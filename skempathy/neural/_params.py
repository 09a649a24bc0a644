"""The parameters the fine-tuned estimators share: constrained and documented once.

Every estimator writes out its own ``__init__``, as scikit-learn's do. The constraints of the
shared parameters are declared on :class:`~._base._BaseTransformerEstimator`
(:func:`shared_constraints` picks some of them) and their numpydoc entries here
(:func:`shared_param_docs` hands them to :class:`~skempathy.utils._docstring.Substitution`,
each entry showing the default of the class it documents).
"""

import functools
import inspect
import textwrap

from ._base import _BaseTransformerEstimator

# the settings of the training loop itself, shared by every estimator trained with it
LOOP_PARAMS = (
    "max_length",
    "batch_size",
    "learning_rate",
    "max_epochs",
    "warmup_ratio",
    "weight_decay",
    "device",
    "precision",
    "fast_paths",
    "random_state",
    "verbose",
)

# numpydoc type and description of each shared parameter
_PARAM_DOCS = {
    "model": (
        "str or path-like",
        'Encoder checkpoint: an embedded name (``"all-MiniLM-L6-v2"``, ``"minilm"``), a '
        "local folder or a Hugging Face hub name. Loaded in ``fit``, never in "
        "``__init__``.",
    ),
    "text_column": (
        "str",
        "The column of a DataFrame ``X`` that holds the texts; its other columns are ignored "
        "(a WASSA frame with writer columns, as a teacher reads it). None: ``X`` is a sequence "
        "of texts or a one-column frame.",
    ),
    "max_length": ("int", "Texts are truncated to this many tokens (one warning per call)."),
    "batch_size": ("int", "Training batch size (inference uses twice this)."),
    "learning_rate": ("float", "Peak AdamW learning rate (linear warm-up, then linear decay)."),
    "max_epochs": ("int", "Number of epochs (the most, with ``early_stopping``)."),
    "warmup_ratio": ("float", "Fraction of the optimizer steps used for warm-up."),
    "weight_decay": ("float", "AdamW weight decay (not applied to biases and LayerNorm)."),
    "gradient_accumulation_steps": (
        "int",
        "Optimizer step every this many batches (effective batch size "
        "``batch_size * gradient_accumulation_steps``).",
    ),
    "pooling": ('{"mean", "cls"}', "Mean over non-padding tokens, or the first ([CLS]) token."),
    "dropout": ("float", "Dropout before the task heads."),
    "early_stopping": (
        "bool",
        "Hold out ``validation_fraction`` of the training data (whole groups when "
        "``groups`` is passed to ``fit``), score it after every epoch, stop after "
        "``n_iter_no_change`` epochs without improvement and restore the best epoch's "
        "weights.",
    ),
    "validation_fraction": ("float", "Share of the training data held out by ``early_stopping``."),
    "n_iter_no_change": ("int", "Epochs without improvement before ``early_stopping`` stops."),
    "tol": ("float", "Minimum improvement of the validation score."),
    "scoring": (
        "str, callable or None",
        "Validation score for early stopping. None uses the task metric (macro-F1 for "
        "classification, mean Pearson r for regression, their mean for several tasks); a "
        "string is looked up with ``skempathy.metrics.get_scorer`` (sklearn names work too); a "
        "callable is ``scorer(estimator, X, y)``.",
    ),
    "device": ("str", '``"auto"`` picks cuda, then mps, then cpu.'),
    "precision": (
        '{"auto", "fp32", "bf16", "fp16"}',
        'Autocast on CUDA (``"auto"``: bf16 where supported, else fp16). On CPU, ``"bf16"`` '
        "autocasts too: about 3x faster fine-tuning on CPUs with bf16 matrix units (Intel AMX, "
        "AVX512-BF16), slightly different numbers, but about 16x slower on CPUs without them (a "
        'warning says so); ``"auto"`` and ``"fp16"`` compute in fp32 there.',
    ),
    "predict_precision": (
        '{None, "auto", "fp32", "bf16", "int8"}',
        "Precision of ``predict``/``transform`` (the fitted fp32 weights are kept; a converted "
        'copy serves inference). None: as in training (``precision``). ``"bf16"``: bf16 '
        'weights, fast on CPUs with bf16 matrix units and on recent GPUs. ``"int8"``: dynamic '
        "int8 quantization of the linear layers (CPU only), about 2x faster on any CPU, slightly "
        'different outputs. ``"auto"``: bf16 where it is fast, else fp32 (the rule of '
        ":class:`~skempathy.text.SentenceEmbedder`). Can be set after ``fit`` with "
        "``set_params``. Calibrated (static) int8 is an export: "
        ':func:`skempathy.export.to_onnx` with ``quantize="int8-static"``.',
    ),
    "fast_paths": (
        "bool",
        "On CPU, train with the model's own fast dropout masks (NumPy's SFC64 generator) and "
        "attention without SDPA's masked-row checks, about 1.2x faster; nothing outside the "
        "model changes. False trains with torch's own kernels (needed for gradient "
        "checkpointing).",
    ),
    "warm_start": (
        "bool",
        "Continue training the fitted weights on the next ``fit`` (a fresh "
        "optimizer and schedule over ``max_epochs`` more epochs).",
    ),
    "random_state": (
        "int, RandomState instance or None",
        "Seeds torch (head initialisation, dropout), the data order and the validation split. "
        "Two fits with the same integer on CPU give identical predictions.",
    ),
    "verbose": (
        "int",
        "1: a progress bar per epoch with the training loss (and the validation "
        "score, with ``early_stopping``); 2: also progress bars at prediction.",
    ),
}


def shared_constraints(*names, **own):
    """``_parameter_constraints`` of the shared parameters ``names`` (as declared on
    :class:`_BaseTransformerEstimator`, ``model`` included), updated with ``own``."""
    base = _BaseTransformerEstimator._parameter_constraints
    return {**{name: base[name] for name in ("model",) + names}, **own}


def _format_default(value):
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and value and abs(value) < 1e-2:  # 5e-5, not 5e-05
        mantissa, exponent = f"{value:e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return repr(value)


def _param_doc(name, description, cls):
    kind, default_description = _PARAM_DOCS[name]
    description = default_description if description is None else description
    default = inspect.signature(cls.__init__).parameters[name].default
    entry = f"{name} : {kind}, default={_format_default(default)}"
    if description:
        entry += "\n" + textwrap.indent(textwrap.fill(description, 70), " " * 8)
    return entry


def shared_param_docs(text=None):
    """:class:`~skempathy.utils._docstring.Substitution` fields ``{name}``: the numpydoc entry
    of each shared parameter, with the default of the decorated class's ``__init__``.

    ``text`` (a dict ``name: description``) replaces the description of some. An entry is
    indented for a class docstring whose sections start at four spaces: place its field after
    four spaces.
    """
    text = text or {}
    return {name: functools.partial(_param_doc, name, text.get(name)) for name in _PARAM_DOCS}
