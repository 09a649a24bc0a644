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

FORMAT = "skempathy-onnx/1"
MANIFEST = "skempathy_onnx.json"
MODEL_FILE = "model.onnx"
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
        from ..neural._pretrained import estimator_record

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


def to_onnx(estimator, path, *, quantize=None, opset_version=None, check=True):
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
    quantize : {None, "int8"}, default=None
        ``"int8"``: dynamic int8 quantization with onnxruntime (per-channel
        weight scales) of every linear layer but the feed-forward output
        projections, which stay fp32 (the rule of ``precision="int8"``):
        smaller and faster on CPU, with slightly different outputs.
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
    from ..neural._training import pad_token_id

    if quantize not in (None, "int8"):
        raise ValueError(f"quantize must be None or 'int8', got {quantize!r}")
    kind = _kind(estimator)
    check_is_fitted(estimator)
    _require("onnxscript", "to_onnx")
    _require("onnxruntime", "to_onnx")
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
        with _quiet_export():
            _export_graph(graph, args, entries["outputs"], tmp / MODEL_FILE, opset_version)
            if quantize:
                _quantize(
                    tmp / MODEL_FILE,
                    tmp / "model.int8.onnx",
                    _feed_forward_nodes(tmp / MODEL_FILE, graph),
                )
                os.replace(tmp / "model.int8.onnx", tmp / MODEL_FILE)
        tokenizer.save_pretrained(tmp)
        manifest = {
            "format": FORMAT,
            "skempathy_version": __version__,
            "kind": kind,
            "class": type(estimator).__name__,
            "quantize": quantize,
            "pad_token_id": pad_token_id(tokenizer),
            "inputs": ["input_ids", "attention_mask"] + (["extra"] if entries["n_extra"] else []),
            **entries,
        }
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
        from ..neural import _training as T

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
    transformers tokenizer (for :func:`skempathy.neural._training.tokenize`):
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
        from ..neural._training import length_grouped_batches, pad

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
        from ..base import _warn_if_saved_by_another_version

        folder = Path(self.path)
        manifest_path = folder / MANIFEST
        if not manifest_path.is_file():
            raise FileNotFoundError(
                f"{folder} is not an ONNX export of skempathy: no "
                f"{MANIFEST} (write one with skempathy.export.to_onnx)"
            )
        from ..utils._files import check_model_folder

        check_model_folder(folder)
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise ValueError(f"{manifest_path}: unknown format {manifest.get('format')!r}")
        _warn_if_saved_by_another_version(str(folder), manifest["skempathy_version"], stacklevel=4)
        _require("onnxruntime", "OnnxPredictor")
        tokenizer = _FastTokenizer(folder / "tokenizer.json", manifest["pad_token_id"])
        session = _session(folder / MODEL_FILE, self.providers, self.n_threads)
        self._tokenizer = tokenizer
        self._runner = _OnnxRunner(session, manifest, tokenizer.pad_token_id, self.batch_size)
        self.manifest_ = manifest
        self.estimator_ = None
        if manifest["kind"] == "finetuned":
            from .. import neural
            from ..neural._base import _BaseTransformerEstimator
            from ..neural._pretrained import estimator_from_record

            cls = getattr(neural, manifest["class"], None)
            if not (isinstance(cls, type) and issubclass(cls, _BaseTransformerEstimator)):
                raise ValueError(f"{manifest_path}: unknown estimator class {manifest['class']!r}")
            est = estimator_from_record(cls, manifest["estimator"])
            est.tokenizer_ = tokenizer
            est.device_ = "cpu"
            est._inference_runner = self._runner
            self.estimator_ = est

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
