"""ONNX export of fitted encoders and an ONNX Runtime predictor.

:func:`to_onnx` writes a folder: ``model.onnx`` (the encoder, pooling and task
heads as one graph with dynamic batch and sequence axes), the tokenizer files
and ``skempathy_onnx.json`` (what the graph's inputs and outputs mean, the
tokenizer settings and, for the fine-tuned estimators, their parameters and
fitted state as JSON). :class:`OnnxPredictor` reads the folder and answers
``predict``/``predict_proba``/``decision_function``/``transform`` exactly as
the exported estimator does, running the graph on onnxruntime: the label and
target mapping is the estimator's own code, rebuilt from the JSON state, so
the two cannot drift apart.
"""

import contextlib
import copy
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .._models import embedded_name
from ..base import check_texts
from ..io._onnx_folder import FORMAT, MANIFEST, MODEL_FILE, TOKENIZER_FILE, read_onnx_folder

EMBEDDING = "sentence_embedding"
# Outputs of fp32 graphs must match torch within this (checked at export).
TOLERANCE = 1e-4
_PROBES = [
    "I feel so sorry for the families who lost their homes in the flood.",
    "This makes me angry. Nobody should have to live like that, and nobody helps.",
    "ok",
]


# --------------------------------------------------------------------------------------
# Graphs
# --------------------------------------------------------------------------------------
def _graph_classes():
    from torch import nn

    class FineTunedGraph(nn.Module):
        """Encoder + pooling (+ side inputs) + heads: (embedding, *logits per task)."""

        def __init__(self, module, task_names):
            super().__init__()
            self.module = module
            self.task_names = list(task_names)

        def forward(self, input_ids, attention_mask, extra=None):
            import torch

            pooled = self.module.embed(input_ids, attention_mask)
            features = pooled
            if self.module.n_extra:
                features = torch.cat([pooled, extra.to(pooled.dtype)], dim=1)
            logits = self.module.head(features)
            return (pooled, *[logits[name] for name in self.task_names])

    class SentenceGraph(nn.Module):
        """A SentenceTransformer's modules (+ the embedder's normalisation)."""

        def __init__(self, model, normalize):
            super().__init__()
            self.model = model
            self.normalize = bool(normalize)

        def forward(self, input_ids, attention_mask):
            import torch

            out = self.model({"input_ids": input_ids, "attention_mask": attention_mask})
            emb = out["sentence_embedding"].float()
            if self.normalize:
                emb = torch.nn.functional.normalize(emb, p=2, dim=1)
            return (emb,)

    class TransformerGraph(nn.Module):
        """A TransformerEmbedder's encoder and pooling (its own ``_embed_batch``)."""

        def __init__(self, embedder, net):
            super().__init__()
            self.embedder = embedder
            self.net = net

        def forward(self, input_ids, attention_mask):
            return (self.embedder._embed_batch(self.net, input_ids, attention_mask),)

    return FineTunedGraph, SentenceGraph, TransformerGraph


def _kind(estimator):
    from ..neural._base import _BaseTransformerEstimator
    from ..text import SentenceEmbedder, TransformerEmbedder

    if isinstance(estimator, _BaseTransformerEstimator):
        return "finetuned"
    if isinstance(estimator, SentenceEmbedder):
        return "sentence"
    if isinstance(estimator, TransformerEmbedder):
        return "transformer"
    raise TypeError(
        f"to_onnx exports the fine-tuned estimators of skempathy.neural (TransformerClassifier, "
        f"TransformerRegressor, MultiTaskTransformer, FineTunedEmbedder, "
        f"DistilledMultiTaskClassifier) and the frozen SentenceEmbedder and TransformerEmbedder; "
        f"got {type(estimator).__name__}. For a pipeline, export its encoder step."
    )


def _build(estimator, kind):
    """``(graph module in fp32 on CPU, tokenizer, manifest entries)``."""
    FineTunedGraph, SentenceGraph, TransformerGraph = _graph_classes()
    if kind == "finetuned":
        from ..io._hf_folder import estimator_record

        module = copy.deepcopy(estimator.model_).to("cpu").float().eval()
        names = [task["name"] for task in estimator._tasks]
        graph = FineTunedGraph(module, names)
        entries = {
            "max_length": int(estimator._effective_max_length()),
            "n_extra": int(module.n_extra),
            "outputs": [EMBEDDING] + [f"logits.{name}" for name in names],
            "estimator": estimator_record(estimator),
        }
        return graph, estimator.tokenizer_, entries
    # frozen embedders: a fresh fp32 copy of the weights, whatever ``precision`` serves
    from ..utils._progress import transformers_progress_off

    with transformers_progress_off():
        loaded = estimator._load_model(estimator.model_path_, "cpu")
    if kind == "sentence":
        first = loaded[0]
        tokenizer = getattr(first, "tokenizer", None)
        if tokenizer is None or not hasattr(first, "auto_model"):
            raise TypeError(
                f"to_onnx: the SentenceTransformer {estimator.model!r} does not start with a "
                "Hugging Face transformer module; it cannot be exported."
            )
        graph = SentenceGraph(loaded.eval(), estimator.normalize)
        max_length = int(loaded.max_seq_length)
        lowercase = bool(getattr(first, "do_lower_case", False))
    else:
        graph = TransformerGraph(estimator, loaded["model"].eval())
        tokenizer = loaded["tokenizer"]
        max_length = estimator._max_length(tokenizer)
        lowercase = False
    entries = {
        "max_length": max_length,
        "lowercase": lowercase,
        "n_extra": 0,
        "outputs": [EMBEDDING],
        "embedding_dim": int(estimator.embedding_dim_),
        "model": (embedded_name(estimator.model) or os.fspath(estimator.model)),
    }
    return graph.eval(), tokenizer, entries


def _example_inputs(tokenizer, n_extra):
    """Two probe texts of different lengths: batch 2, sequence > 2, so that the
    exporter keeps both axes dynamic (it specialises sizes 0 and 1)."""
    import torch

    enc = tokenizer(_PROBES[:2], padding=True, truncation=True, max_length=32, return_tensors="pt")
    args = (enc["input_ids"].long(), enc["attention_mask"].long())
    if n_extra:
        args = args + (torch.zeros((2, n_extra), dtype=torch.float32),)
    return args


@contextlib.contextmanager
def _quiet_export():
    """Silence the exporter's and the quantizer's progress prints and advice."""
    import warnings

    root = logging.getLogger()
    torch_logger = logging.getLogger("torch")
    levels = root.level, torch_logger.level
    root.setLevel(logging.ERROR)
    torch_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with contextlib.redirect_stdout(open(os.devnull, "w")) as sink:
                try:
                    yield
                finally:
                    sink.close()
    finally:
        root.setLevel(levels[0])
        torch_logger.setLevel(levels[1])


def _export_graph(graph, args, output_names, path, opset_version):
    import torch

    names = ["input_ids", "attention_mask", "extra"][: len(args)]
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    shapes = {"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}}
    if len(args) == 3:
        shapes["extra"] = {0: batch}
    with torch.no_grad():
        program = torch.onnx.export(
            graph,
            args,
            None,
            dynamo=True,
            verbose=False,
            input_names=names,
            dynamic_shapes=shapes,
            opset_version=opset_version,
            external_data=False,
        )
    _rename_outputs(program.model.graph, output_names)
    program.save(str(path))


def _rename_outputs(graph, names):
    """Give the graph outputs stable names (intermediate values may hold them:
    the exporter names values after their ops, e.g. ``embedding``)."""
    taken = {}
    for node in graph:
        for value in node.outputs:
            taken[value.name] = value
    for value, name in zip(graph.outputs, names):
        other = taken.get(name)
        if other is not None and other is not value:
            other.name = f"{name}__internal"
        value.name = name


def _feed_forward_nodes(model_path, graph):
    """Names of the MatMul nodes of the feed-forward output projections, found by
    the shape of their weights (intermediate size x hidden size)."""
    import onnx

    from .._models import feed_forward_outputs

    shapes = set()
    for name in feed_forward_outputs(graph):
        linear = graph.get_submodule(name)
        shapes.add((linear.in_features, linear.out_features))
    model = onnx.load(str(model_path))
    weights = {init.name: tuple(init.dims) for init in model.graph.initializer}
    return [
        node.name
        for node in model.graph.node
        if node.op_type in ("MatMul", "Gemm") and any(weights.get(i) in shapes for i in node.input)
    ]


def _quantize(src, dst, keep_fp32):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel weight scales: per-tensor ones move MiniLM outputs about twice
    # as far from fp32 at the same speed. The feed-forward output projections
    # stay fp32, as in apply_precision("int8"): quantized, they cost a
    # fine-tuned MiniLM classifier 7 points of dev macro-F1.
    quantize_dynamic(
        str(src),
        str(dst),
        weight_type=QuantType.QInt8,
        per_channel=True,
        nodes_to_exclude=list(keep_fp32),
    )


# --------------------------------------------------------------------------------------
# Static (calibrated) int8
# --------------------------------------------------------------------------------------
QUANTIZE = (None, "int8", "int8-static")
# Fewer calibration texts give activation ranges of little worth.
MIN_CALIBRATION_TEXTS = 16
# Texts calibrated on (an evenly spaced subset of more) and, among them, texts on
# which the fp32 fallback measures the error; more cost export time, not accuracy.
_CALIBRATION_LIMIT = 128
_SEARCH_TEXTS = 32
# Default largest relative error of the outputs (see to_onnx's fallback_tolerance):
# about a mean cosine of 0.995 to fp32 for an embedding, Pearson r of 0.995 for a score.
FALLBACK_TOLERANCE = 0.1
# Ops quantized: the linear layers, the attention scores and the embedding tables.
_STATIC_OPS = ("MatMul", "Gemm", "Gather")


def _require_static():
    """The calibration cache of ``quantize_static`` (onnxruntime 1.27): calibrate
    once, then quantize again for each fallback trial."""
    import inspect

    import onnxruntime
    from onnxruntime.quantization import quantize_static

    if "calibration_cache_path" not in inspect.signature(quantize_static).parameters:
        raise ImportError(
            "to_onnx: quantize='int8-static' needs onnxruntime>=1.27 (found "
            f"{onnxruntime.__version__}): pip install -U onnxruntime"
        )


def _spread_subset(n, k):
    """``k`` evenly spaced indices of ``range(n)`` (all of them when ``n <= k``)."""
    if n <= k:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, k).round().astype(int))


def _calibration_inputs(estimator, kind, manifest, folder, calibration_texts):
    """``(ids, extra)`` of the calibration texts, tokenised as OnnxPredictor does."""
    if calibration_texts is None:
        raise ValueError(
            "to_onnx: quantize='int8-static' needs calibration_texts: texts like those the "
            f"model will see (at least {MIN_CALIBRATION_TEXTS}, e.g. a sample of its training "
            "texts), on which the int8 ranges of the activations are measured"
        )
    if isinstance(calibration_texts, str):
        raise TypeError("to_onnx: calibration_texts must be a list of texts, not one string")
    tokenizer = _FastTokenizer(folder / TOKENIZER_FILE, manifest["pad_token_id"])
    if kind == "finetuned":
        from .. import _engine as T

        column = getattr(estimator, "text_column", None)
        if column is not None and not hasattr(calibration_texts, "columns"):
            if getattr(estimator, "extra_features", None):
                raise TypeError(
                    f"to_onnx: {type(estimator).__name__} reads {len(estimator.extra_features)} "
                    "numeric columns besides its texts: give calibration_texts as a DataFrame "
                    f"holding its text column {column!r} and those columns"
                )
            import pandas as pd

            # plain texts, as the one column the estimator reads
            calibration_texts = pd.DataFrame({column: list(calibration_texts)})
        texts, extra = estimator._read_X(calibration_texts, fit=False)
    else:
        texts, extra = check_texts(calibration_texts, estimator="to_onnx calibration_texts"), None
    if len(texts) < MIN_CALIBRATION_TEXTS:
        raise ValueError(
            f"to_onnx: calibration_texts holds {len(texts)} texts; static int8 needs at "
            f"least {MIN_CALIBRATION_TEXTS}"
        )
    keep = _spread_subset(len(texts), _CALIBRATION_LIMIT)
    texts = [texts[i] for i in keep]
    extra = None if extra is None else np.asarray(extra, dtype=np.float32)[keep]
    if kind == "finetuned":
        import warnings

        with warnings.catch_warnings():  # truncation of long texts, as in predict
            warnings.simplefilter("ignore", UserWarning)
            ids, _ = T.tokenize(tokenizer, texts, manifest["max_length"])
    else:
        if manifest.get("lowercase"):
            texts = [t.lower() for t in texts]
        ids = tokenizer(texts, truncation=True, max_length=manifest["max_length"])["input_ids"]
    return ids, extra


def _feeds(ids, extra, manifest, batch_size=8):
    """Graph inputs of length-grouped, padded batches, in a fixed order."""
    from .._engine import length_grouped_batches, pad

    lengths = np.array([len(r) for r in ids])
    feeds = []
    for rows in length_grouped_batches(lengths, batch_size, shuffle=False):
        feed = pad([ids[r] for r in rows], manifest["pad_token_id"])
        if "extra" in manifest["inputs"]:
            feed["extra"] = np.asarray(extra[rows], dtype=np.float32)
        feeds.append(feed)
    return feeds


def _reader(feeds):
    """An onnxruntime calibration data reader over ``feeds``. It serves a range of
    them at a time: the calibrator then gets one batch shape per call, as its
    histogram methods need (texts of different lengths)."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.set_range(0, len(feeds))

        def __len__(self):
            return len(feeds)

        def set_range(self, start_index, end_index):
            self._it = iter(feeds[start_index:end_index])

        def get_next(self):
            return next(self._it, None)

    return Reader()


def _outputs_of(path, feeds, names):
    """``{output: rows of all feeds}`` of the graph at ``path``."""
    session = _session(path, ["CPUExecutionProvider"], None)
    got = [session.run(names, feed) for feed in feeds]
    return {name: np.concatenate([g[i] for g in got]) for i, name in enumerate(names)}


def _relative_error(ref, got):
    """Largest relative error over the outputs: for an embedding, the RMS over texts
    of ``|got - ref| / |ref|`` (about ``sqrt(2 (1 - cosine))``); for logits and
    scores, the RMS of ``got - ref`` over the spread of ``ref`` across texts (its
    RMS about its mean row), what moves labels and correlations."""
    worst = 0.0
    for name, r in ref.items():
        diff = got[name] - r
        if name == EMBEDDING:
            norms = np.maximum(np.linalg.norm(r, axis=1), 1e-12)
            error = np.sqrt(np.mean((np.linalg.norm(diff, axis=1) / norms) ** 2))
        else:
            spread = np.sqrt(np.mean((r - r.mean(0)) ** 2)) or np.sqrt(np.mean(r**2)) or 1.0
            error = np.sqrt(np.mean(diff**2)) / spread
        worst = max(worst, float(error))
    return worst


def _producers(model):
    return {out: node for node in model.graph.node for out in node.output}


def _reads_softmax(node, producers, depth=3):
    """Whether the first input of ``node`` comes from a Softmax within ``depth`` ops
    (attention probabilities: a uint8 grid of 1/255 erases the small ones)."""
    frontier = [node.input[0]]
    for _ in range(depth):
        nodes = [producers[name] for name in frontier if name in producers]
        if any(n.op_type == "Softmax" for n in nodes):
            return True
        frontier = [name for n in nodes for name in n.input]
    return False


def _static_plan(model):
    """``(kept fp32 by rule {node: reason}, fallback groups)``.

    A group is the quantizable linear layers that read one activation (the query,
    key and value projections share the quantized copy of their input), as
    ``(activation, [node names], weight elements)`` in graph order.
    """
    weights = {init.name: tuple(init.dims) for init in model.graph.initializer}
    producers = _producers(model)
    outputs = {value.name for value in model.graph.output}
    # a head writes a graph output, itself or through the Add of its bias
    writes = set(outputs)
    writes |= {
        n.input[0] for n in model.graph.node if n.op_type == "Add" and n.output[0] in outputs
    }
    rules, groups = {}, {}
    for node in model.graph.node:
        if node.op_type not in ("MatMul", "Gemm"):
            continue
        if node.input[0] in outputs or node.output[0] in writes:
            rules[node.name] = "task head (negligible cost)"
        elif len(weights.get(node.input[1], ())) != 2:
            if _reads_softmax(node, producers):
                rules[node.name] = "attention probabilities x values"
        else:
            group = groups.setdefault(node.input[0], [[], 0])
            group[0].append(node.name)
            group[1] += int(np.prod(weights[node.input[1]]))
    return rules, [(act, names, cost) for act, (names, cost) in groups.items()]


def _quantize_static(src, dst, workdir, feeds, search_feeds, outputs, tolerance):
    """Static int8 (QDQ) of the graph at ``src`` into ``dst``; returns the manifest
    entry. Calibrates once (MinMax ranges, cached), then keeps linear layers in
    fp32, most harmful per cost first, until the outputs on ``search_feeds`` are
    within ``tolerance`` of fp32."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    pre, pre_processed = workdir / "pre.onnx", True
    try:  # shape inference and graph clean-up, recommended before static quantization
        from onnxruntime.quantization.shape_inference import quant_pre_process

        # Without the symbolic shape inference, which adds nothing to the exporter's
        # shapes here and, where it fails, leaves files in the working directory.
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
    except Exception:  # noqa: BLE001 - an optional step: quantize the graph as exported
        pre, pre_processed = src, False
    model = onnx.load(str(pre))
    rules, groups = _static_plan(model)
    cache = workdir / "calibration.json"
    trial = workdir / "trial.onnx"

    def quantize(target, exclude=(), only=None, reader=None):
        quantize_static(
            str(pre),
            str(target),
            reader,
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(_STATIC_OPS),
            per_channel=True,
            reduce_range=False,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_quantize=only,
            nodes_to_exclude=sorted(set(rules) | set(exclude)),
            calibrate_method=CalibrationMethod.MinMax,
            calibration_cache_path=str(cache),
            extra_options={
                # linear outputs stay float: the next op reads them unrounded
                "OpTypesToExcludeOutputQuantization": ["MatMul", "Gemm"],
                "CalibStridedMinMax": 1,
            },
        )
        return target

    def error(path):
        return _relative_error(ref, _outputs_of(path, search_feeds, outputs))

    ref = _outputs_of(src, search_feeds, outputs)
    quantize(dst, reader=_reader(feeds))
    full = current = error(dst)
    excluded, sensitivity = [], {}
    if current > tolerance and groups:
        # each group's damage alone, then keep the worst per weight in fp32
        for act, names, _ in groups:
            sensitivity[act] = error(quantize(trial, only=names))
        order = sorted(
            range(len(groups)),
            key=lambda i: (-(sensitivity[groups[i][0]] ** 2) / max(groups[i][2], 1), i),
        )

        # the fewest of them (in that order) that bring the error within the
        # tolerance: a bisection, the error falling as more stay fp32
        def excluded_at(k):
            return [name for i in order[:k] for name in groups[i][1]]

        errors = {0: full}

        def attempt(k):
            path = workdir / f"fallback-{k}.onnx"
            errors[k] = error(quantize(path, exclude=excluded_at(k)))
            return path

        lo, hi = 0, len(order)
        best = attempt(hi)
        while hi - lo > 1 and errors[hi] <= tolerance:
            mid = (lo + hi) // 2
            path = attempt(mid)
            if errors[mid] > tolerance:
                lo = mid
                os.remove(path)
            else:
                hi = mid
                os.remove(best)
                best = path
        excluded, current = excluded_at(hi), errors[hi]
        os.replace(best, dst)
    for path in (trial, cache, workdir / "pre.onnx"):
        if Path(path).exists():
            os.remove(path)
    return {
        "method": "QDQ, uint8 activations (MinMax calibration), int8 per-channel weights",
        "ops": list(_STATIC_OPS),
        "calibration_texts": int(sum(len(f["input_ids"]) for f in feeds)),
        "pre_processed": pre_processed,
        "tolerance": float(tolerance),
        "relative_error_all_int8": float(full),
        "relative_error": float(current),
        "fp32_by_rule": dict(sorted(rules.items())),
        "fp32_by_fallback": excluded,
        "nodes_to_exclude": sorted(set(rules) | set(excluded)),
        "sensitivity": {act: round(float(v), 6) for act, v in sensitivity.items()},
    }


def _replace_folder(tmp, target):
    """Move the finished folder ``tmp`` to ``target``, replacing an earlier export."""
    target = Path(target)
    if target.exists():
        if not target.is_dir():
            raise ValueError(f"to_onnx: {target} exists and is not a folder")
        if any(target.iterdir()) and not (target / MANIFEST).is_file():
            raise ValueError(
                f"to_onnx: {target} is a folder that holds other files (no {MANIFEST}); "
                "export to a new or empty folder"
            )
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / "x")
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


def to_onnx(
    estimator,
    path,
    *,
    quantize=None,
    calibration_texts=None,
    fallback_tolerance=FALLBACK_TOLERANCE,
    opset_version=None,
    check=True,
):
    """Export a fitted encoder estimator to an ONNX folder.

    The graph holds the encoder, the pooling and (for fine-tuned estimators)
    the task heads, with dynamic batch and sequence axes; the tokenizer is
    saved beside it. :class:`OnnxPredictor` loads the folder and predicts
    without torch.

    Parameters
    ----------
    estimator : fitted estimator
        A fine-tuned estimator of :mod:`skempathy.neural` (whose predictions
        come from one fine-tuned encoder) or a frozen
        :class:`~skempathy.text.SentenceEmbedder` /
        :class:`~skempathy.text.TransformerEmbedder`. The fp32 weights are
        exported whatever ``precision`` or ``predict_precision`` is set.
    path : str or path-like
        Folder to write. It is created; an earlier export there is replaced
        as a whole once the new one is complete.
    quantize : {None, "int8", "int8-static"}, default=None
        ``"int8"``: dynamic int8 quantization with onnxruntime (per-channel
        weight scales) of every linear layer but the feed-forward output
        projections, which stay fp32 (the rule of ``precision="int8"``):
        smaller and faster on CPU, with slightly different outputs.
        ``"int8-static"``: static (calibrated) int8 in QDQ format of the
        linear layers, the attention scores and the embedding tables: the
        ranges of the activations are measured once on ``calibration_texts``
        (MinMax), the weights get per-channel int8 scales, and the linear
        layers that move the outputs most for the time they save are kept in
        fp32 until the outputs are within ``fallback_tolerance`` of fp32 (the
        task heads and the products of attention probabilities and values
        always stay fp32). Faster than ``"int8"`` on CPU; the export takes
        half a minute for a MiniLM, two when layers must fall back. The
        manifest records the calibration, the errors and the fp32 nodes.
    calibration_texts : array-like of str, default=None
        ``quantize="int8-static"`` only, and then required: at least 16 texts
        like those the model will serve (a sample of its training texts). Up
        to 128, evenly spaced, are used. For a fine-tuned estimator with
        ``extra_features``, a DataFrame as its ``predict`` takes.
    fallback_tolerance : float, default=0.1
        ``quantize="int8-static"`` only: the largest relative error allowed
        on the calibration texts, for each output served (the task logits; the
        embedding of a frozen embedder or of an estimator with ``transform``):
        for an embedding, the RMS
        of ``|int8 - fp32| / |fp32|`` (0.1: a mean cosine of about 0.995 to
        fp32); for logits and scores, the RMS of the difference over the RMS
        spread of the fp32 output across texts (0.1: a Pearson r of about
        0.995). Smaller keeps more layers in fp32 (closer to fp32, slower);
        ``float("inf")`` keeps none beyond the fixed rules.
    opset_version : int, default=None
        ONNX opset (None: the exporter's default).
    check : bool, default=True
        Run the exported graph on probe texts and compare it with the
        estimator (fp32: within 1e-4, else a ``ValueError``; int8: the
        largest difference is recorded in the manifest).

    Returns
    -------
    path : str
        The folder.

    Examples
    --------
    >>> from skempathy.export import OnnxPredictor, to_onnx
    >>> from skempathy.neural import TransformerClassifier
    >>> texts = ["so sad for them", "this makes me angry", "poor kids", "so unfair"]
    >>> clf = TransformerClassifier(max_epochs=1, max_length=32, random_state=0)
    >>> clf = clf.fit(texts, ["sadness", "anger", "sadness", "anger"])
    >>> folder = to_onnx(clf, "emotion-onnx")  # doctest: +SKIP
    >>> OnnxPredictor(folder).predict(["what a tragedy"])  # doctest: +SKIP
    array(['sadness'], dtype=object)
    """
    from sklearn.utils.validation import check_is_fitted

    from .. import __version__
    from .._engine import pad_token_id

    if quantize not in QUANTIZE:
        raise ValueError(f"quantize must be one of {QUANTIZE}, got {quantize!r}")
    if quantize != "int8-static" and calibration_texts is not None:
        raise ValueError("to_onnx: calibration_texts is used by quantize='int8-static' only")
    if not (isinstance(fallback_tolerance, (int, float)) and fallback_tolerance >= 0):
        raise ValueError(f"fallback_tolerance must be a number >= 0, got {fallback_tolerance!r}")
    kind = _kind(estimator)
    check_is_fitted(estimator)
    _require("onnxscript", "to_onnx")
    _require("onnxruntime", "to_onnx")
    if quantize == "int8-static":
        _require_static()
    target = Path(path)
    parent = target.absolute().parent
    try:  # before any work: an unwritable destination fails at once
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=parent))
    except OSError as exc:
        raise OSError(f"to_onnx: cannot write to {parent}: {exc.strerror or exc}") from None
    try:
        graph, tokenizer, entries = _build(estimator, kind)
        if not getattr(tokenizer, "is_fast", False):
            raise TypeError(
                f"to_onnx: the tokenizer of {estimator.model!r} is not a fast "
                "(Rust) tokenizer, which the ONNX predictor needs"
            )
        args = _example_inputs(tokenizer, entries["n_extra"])
        tokenizer.save_pretrained(tmp)
        manifest = {
            "format": FORMAT,
            "skempathy_version": __version__,
            "kind": kind,
            "class": type(estimator).__name__,
            "quantize": quantize,
            "pad_token_id": pad_token_id(tokenizer),
            "inputs": ["input_ids", "attention_mask"] + (["extra"] if entries["n_extra"] else []),
            "files": {"model": MODEL_FILE, "tokenizer": TOKENIZER_FILE},
            **entries,
        }
        if quantize == "int8-static":  # before the slow export: fail early on bad texts
            ids, extra = _calibration_inputs(estimator, kind, manifest, tmp, calibration_texts)
            feeds = _feeds(ids, extra, manifest)
            search = _spread_subset(len(ids), _SEARCH_TEXTS)
            search_feeds = _feeds(
                [ids[i] for i in search], None if extra is None else extra[search], manifest
            )
        with _quiet_export():
            _export_graph(graph, args, entries["outputs"], tmp / MODEL_FILE, opset_version)
            if quantize == "int8":
                _quantize(
                    tmp / MODEL_FILE,
                    tmp / "model.int8.onnx",
                    _feed_forward_nodes(tmp / MODEL_FILE, graph),
                )
                os.replace(tmp / "model.int8.onnx", tmp / MODEL_FILE)
            elif quantize == "int8-static":
                served = [
                    name
                    for name in entries["outputs"]
                    if name != EMBEDDING or kind != "finetuned" or hasattr(estimator, "transform")
                ]
                manifest["static_int8"] = _quantize_static(
                    tmp / MODEL_FILE,
                    tmp / "model.int8.onnx",
                    tmp,
                    feeds,
                    search_feeds,
                    served,
                    float(fallback_tolerance),
                )
                os.replace(tmp / "model.int8.onnx", tmp / MODEL_FILE)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        if check:
            diff = _check_export(estimator, kind, tmp)
            if quantize is None and not diff <= TOLERANCE:
                raise ValueError(
                    f"to_onnx: the exported graph differs from {type(estimator).__name__} by "
                    f"{diff:.2e} (more than {TOLERANCE:.0e}) on probe texts"
                )
            manifest["max_abs_difference"] = float(diff)
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        _replace_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return str(target)


def _check_export(estimator, kind, folder):
    """Largest absolute difference between the graph and the estimator's fp32
    outputs on the probe texts."""
    from ..utils._progress import transformers_progress_off

    predictor = OnnxPredictor(folder)
    if kind == "finetuned":
        from .. import _engine as T

        ids, _ = T.tokenize(estimator.tokenizer_, _PROBES, estimator._effective_max_length())
        n_extra = predictor.manifest_["n_extra"]
        extra = np.zeros((len(ids), n_extra), dtype=np.float32) if n_extra else None
        fp32 = copy.copy(estimator)  # the same fitted module, predicting in fp32
        fp32.predict_precision = "fp32"
        ref = fp32._predict_ids(ids, extra)
        ref[EMBEDDING] = fp32._predict_ids(ids, extra, forward="embed")
        got = predictor._runner.run(ids, extra)
        names = {f"logits.{k}": k for k in ref if k != EMBEDDING}
        return max(float(np.abs(got[out] - ref[names.get(out, out)]).max()) for out in got)
    clone = copy.copy(estimator)
    clone.precision, clone.cache, clone._model = "fp32", False, None
    clone.show_progress = False
    with transformers_progress_off():
        ref = clone.transform(_PROBES)
    return float(np.abs(predictor.transform(_PROBES) - ref).max())


def _require(module, who):
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ImportError(f"{who} needs the {module!r} package: pip install 'skempathy[onnx]'")


# --------------------------------------------------------------------------------------
# Runtime
# --------------------------------------------------------------------------------------
class _FastTokenizer:
    """The folder's ``tokenizer.json`` on the ``tokenizers`` library, called like a
    transformers tokenizer (for :func:`skempathy._engine.tokenize`):
    transformers imports torch, the predictor does not need it."""

    def __init__(self, path, pad_token_id):
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(path))
        self._tokenizer.no_padding()
        self.pad_token_id = int(pad_token_id)

    def __call__(
        self, texts, *, add_special_tokens=True, truncation=False, max_length=None, verbose=False
    ):
        if truncation:
            self._tokenizer.enable_truncation(int(max_length))
        else:
            self._tokenizer.no_truncation()
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=add_special_tokens)
        return {"input_ids": [e.ids for e in encodings]}


class _OnnxRunner:
    """Runs the graph over token-id lists: length-grouped batches, dynamic padding,
    outputs in input order."""

    def __init__(self, session, manifest, pad_id, batch_size):
        self.session = session
        self.outputs = manifest["outputs"]
        self.inputs = manifest["inputs"]
        self.pad_id = int(pad_id)
        self.batch_size = int(batch_size)

    def run(self, ids, extra=None):
        from .._engine import length_grouped_batches, pad

        n = len(ids)
        out = {}
        lengths = np.array([len(r) for r in ids])
        for rows in length_grouped_batches(lengths, self.batch_size, shuffle=False):
            feed = pad([ids[r] for r in rows], self.pad_id)
            if "extra" in self.inputs:
                feed["extra"] = np.asarray(extra[rows], dtype=np.float32)
            for name, value in zip(self.outputs, self.session.run(self.outputs, feed)):
                if name not in out:
                    out[name] = np.zeros((n,) + value.shape[1:], dtype=np.float32)
                out[name][rows] = value
        return out


def _session(path, providers, n_threads):
    import onnxruntime as ort

    options = ort.SessionOptions()
    if n_threads is not None:
        options.intra_op_num_threads = int(n_threads)
    available = ort.get_available_providers()
    if providers is None:
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    return ort.InferenceSession(str(path), options, providers=list(providers))


class OnnxPredictor:
    """Predict with an exported model on onnxruntime, as the estimator did.

    Loads a folder written by :func:`to_onnx`. A fine-tuned estimator's
    methods (``predict``, ``predict_proba``, ``decision_function``,
    ``predict_task``, ``transform``, ``score``: those the exported estimator
    has) answer in its own output format (labels, scales, DataFrames); a
    frozen embedder's ``transform`` returns its embeddings. Torch is not
    needed. Not an estimator: it has no ``fit``.

    Parameters
    ----------
    path : str or path-like
        The folder.
    providers : list of str, default=None
        onnxruntime execution providers (None: CUDA where available, then CPU).
    n_threads : int, default=None
        Intra-op threads (None: onnxruntime's default, all cores).
    batch_size : int, default=32
        Texts per graph run (grouped by length, so little padding).

    Attributes
    ----------
    estimator_ : estimator or None
        The exported fine-tuned estimator rebuilt from its JSON state, without
        torch weights (None for frozen embedders).
    manifest_ : dict
        The folder's ``skempathy_onnx.json``.

    Examples
    --------
    >>> from skempathy.export import OnnxPredictor
    >>> model = OnnxPredictor("emotion-onnx")  # doctest: +SKIP
    >>> model.predict_proba(["I cried reading about the flood."]).shape  # doctest: +SKIP
    (1, 7)
    """

    def __init__(self, path, *, providers=None, n_threads=None, batch_size=32):
        self.path = os.fspath(path)
        self.providers = providers
        self.n_threads = n_threads
        self.batch_size = batch_size
        self._load()

    def _load(self):
        # the folder and its manifest are checked and read by skempathy.io (the format's home)
        folder = read_onnx_folder(self.path, stacklevel=4)
        manifest = folder["manifest"]
        _require("onnxruntime", "OnnxPredictor")
        tokenizer = _FastTokenizer(folder["tokenizer_file"], manifest["pad_token_id"])
        session = _session(folder["model_file"], self.providers, self.n_threads)
        self._tokenizer = tokenizer
        self._runner = _OnnxRunner(session, manifest, tokenizer.pad_token_id, self.batch_size)
        self.manifest_ = manifest
        self.estimator_ = est = folder["estimator"]
        if est is not None:
            est.tokenizer_ = tokenizer
            est.device_ = "cpu"
            est._inference_runner = self._runner

    # -- the exported estimator's API -----------------------------------------
    def _delegate(self, name):
        if self.estimator_ is None or not hasattr(self.estimator_, name):
            raise AttributeError(f"this ONNX export ({self.manifest_['class']}) has no {name}")
        return getattr(self.estimator_, name)

    def __getattr__(self, name):
        if name in (
            "predict",
            "predict_proba",
            "decision_function",
            "predict_task",
            "score",
            "classes_",
            "n_outputs_",
            "__sklearn_tags__",  # is_classifier(predictor): as the exported estimator
        ):
            return self._delegate(name)
        raise AttributeError(name)

    def transform(self, X):
        """Embeddings: the frozen embedder's output, or the fine-tuned encoder's
        pooled vectors (as ``FineTunedEmbedder.transform``).

        Parameters
        ----------
        X : array-like of str
            Texts.

        Returns
        -------
        ndarray of shape (n_texts, embedding_dim), float32
        """
        if self.estimator_ is not None:
            if hasattr(self.estimator_, "transform"):
                return self.estimator_.transform(X)
            return self.estimator_._forward(X, forward="embed")
        texts = check_texts(X, estimator=self)
        if self.manifest_.get("lowercase"):
            texts = [t.lower() for t in texts]
        ids = self._tokenizer(
            list(texts), truncation=True, max_length=self.manifest_["max_length"], verbose=False
        )["input_ids"]
        return self._runner.run(ids)[EMBEDDING]

    def __getstate__(self):  # an InferenceSession does not pickle: reload the folder
        return {k: getattr(self, k) for k in ("path", "providers", "n_threads", "batch_size")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._load()

    def __repr__(self):
        return f"OnnxPredictor({self.path!r})"
