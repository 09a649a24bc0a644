"""Predict with a saved model on a CSV, TSV or JSON-lines file."""

import sys

from ..cli import CLIError
from ._common import (
    add_model_arguments,
    check_not_an_input,
    check_readable,
    check_writable,
    load_model,
    model_digest,
    positive_int,
    predictions_frame,
    required_columns,
)


def add_arguments(parser):
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="model saved by 'skempathy train' or 'wassa' (.skops; a pickle "
        "such as .joblib needs --allow-pickle), or a folder written by an estimator's "
        "save_pretrained or by skempathy.export.to_onnx",
    )
    parser.add_argument(
        "--input", required=True, metavar="FILE", help="input table (.csv, .tsv or .jsonl)"
    )
    parser.add_argument(
        "--text-column", default=None, help="column holding the texts, if not the model's (essay)"
    )
    parser.add_argument(
        "--output",
        default=None,
        metavar="FILE",
        help="output table (.csv, .tsv, .jsonl); default: CSV on stdout",
    )
    parser.add_argument(
        "--chunk-size",
        type=positive_int,
        default=10_000,
        metavar="N",
        help="rows read, predicted and written at a time: memory stays "
        "bounded whatever the file's size (default: 10000)",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="torch",
        help="what runs the model's transformer encoders: torch, or onnx (ONNX Runtime; "
        "exported once per model file to a cache folder) (default: torch; an ONNX folder "
        "always runs on ONNX Runtime)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS + ONNX_PRECISIONS,
        default=None,
        help="inference precision of the model's transformer encoders (default: as saved; "
        "onnx runs fp32, int8 or int8-static: int8 calibrated on the bundled WASSA "
        "training essays)",
    )
    parser.add_argument(
        "--no-resume",
        "--restart",
        dest="restart",
        action="store_true",
        help="start from the first row even if an interrupted run with the same --output "
        "left its partial output (by default a rerun goes on from it)",
    )
    add_model_arguments(parser)


BACKENDS = ("torch", "onnx")
PRECISIONS = ("fp32", "bf16", "int8", "auto")  # those of skempathy._models.PRECISIONS
# ONNX Runtime's alone: static int8, its activation ranges calibrated on training essays
ONNX_PRECISIONS = ("int8-static",)
CALIBRATION_ESSAYS = 128


_TEXT_NAMES = ("text", "essay", "message", "content", "sentence", "body", "utterance")


def _text_only_beside(model):
    """The text-only model that ``skempathy wassa`` wrote beside ``model``, if it is there."""
    from pathlib import Path

    from .wassa import TEXT_ONLY_MODEL

    path = Path(model)
    for suffix in dict.fromkeys((path.suffix.lower(), ".skops", ".joblib")):
        beside = path.with_name(TEXT_ONLY_MODEL + suffix)
        if beside.is_file() and beside.name != path.name:
            return beside
    return None


def _missing_columns_message(args, columns, missing, needed, text_column):
    """Name the missing columns and say what would help: --text-column, or a text-only model."""
    shown = ", ".join(map(str, missing[:4])) + (
        f" and {len(missing) - 4} more" if len(missing) > 4 else ""
    )
    message = f"{args.input} lacks column(s) {shown} needed by the model"
    others = [c for c in missing if c != text_column]
    if text_column in missing and args.text_column is None:
        guess = next((c for c in columns if str(c).lower() in _TEXT_NAMES), None)
        if guess is not None:
            message += f"; if {guess!r} holds the texts, pass --text-column {guess}"
    if others:
        message += f". This model also reads {len(others)} writer column(s) besides the text; "
        beside = _text_only_beside(args.model)
        if beside is not None:
            message += f"score plain texts with {beside}, the text-only model written beside it"
        else:
            message += (
                "to score plain texts, use a model of the text alone (the text_only_emotion_"
                "empathy_distress.skops that skempathy wassa writes beside its model, "
                "skempathy train --features text, or skempathy distill)"
            )
    elif text_column not in missing:
        message += f" (it uses: {', '.join(map(str, needed))})"
    return message


# --------------------------------------------------------------------------------------
# Backends and precision
# --------------------------------------------------------------------------------------
def _members(obj, path="estimator", seen=None, depth=0):
    """``(path, estimator)`` for every scikit-learn estimator inside a fitted model:
    pipeline steps, a ColumnTransformer's fitted transformers, the members of
    meta-estimators (whatever attribute holds them)."""
    from sklearn.base import BaseEstimator

    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 16:
        return
    if isinstance(obj, BaseEstimator):
        seen.add(id(obj))
        yield path, obj
        items = list(vars(obj).items())
    elif isinstance(obj, dict):
        items = list(obj.items())
    elif isinstance(obj, (list, tuple)):
        items = list(enumerate(obj))
    else:
        return
    seen.add(id(obj))
    for key, value in items:
        if isinstance(value, (BaseEstimator, dict, list, tuple)):
            yield from _members(value, f"{path}.{key}", seen, depth + 1)


def _fitted(estimator):
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except (NotFittedError, TypeError):
        return False
    return True


def _encoders(model):
    """``(path, estimator, kind)`` of the transformer encoders inside ``model``:
    ``"finetuned"`` (the estimators of skempathy.neural) or ``"frozen"``
    (SentenceEmbedder, TransformerEmbedder)."""
    from ..neural._base import _BaseTransformerEstimator
    from ..text import SentenceEmbedder, TransformerEmbedder

    for path, est in _members(model):
        if isinstance(est, _BaseTransformerEstimator):
            yield path, est, "finetuned"
        elif isinstance(est, (SentenceEmbedder, TransformerEmbedder)):
            yield path, est, "frozen"


_NO_ENCODER = (
    "transformer encoders (the fine-tuned estimators of skempathy.neural, "
    "SentenceEmbedder, TransformerEmbedder)"
)


def set_precision(model, precision, who="the model"):
    """Serve every transformer encoder inside ``model`` at ``precision``: the
    ``predict_precision`` of fine-tuned estimators, the ``precision`` of frozen
    embedders. Returns how many were set."""
    n = 0
    for _, est, kind in _encoders(model):
        if kind == "finetuned":
            est.set_params(predict_precision=precision)
        else:
            est.set_params(precision=precision)
            if getattr(est, "_model", None) is not None:
                est._model = None  # loaded again at that precision
        n += 1
    if not n:
        raise CLIError(f"--precision applies to {_NO_ENCODER}; {who} has none")
    return n


def onnx_cache_home():
    """Where ``--backend onnx`` keeps its exports: ``$XDG_CACHE_HOME/skempathy/onnx``
    (``~/.cache/skempathy/onnx``)."""
    import os
    from pathlib import Path

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(base).expanduser() / "skempathy" / "onnx"


def calibration_texts(est):
    """What ``--precision int8-static`` calibrates ``est`` on: the first 128 bundled WASSA
    2022 training essays (the same texts on every machine, so one export serves every
    input), with their writer columns for an encoder that reads them."""
    from ..datasets import load_wassa

    frame = load_wassa("train").frame.iloc[:CALIBRATION_ESSAYS]
    if getattr(est, "extra_features", None):
        return frame
    return frame["essay"].astype(str).tolist()


def _cached_export(est, folder, quantize, notify):
    """The ONNX folder of ``est`` in the cache, exported unless a complete export
    by this skempathy version is there already."""
    import json

    from .. import __version__
    from ..export import to_onnx
    from ..io._onnx_folder import MANIFEST

    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if (
            manifest.get("skempathy_version") == __version__
            and manifest.get("class") == type(est).__name__
            and manifest.get("quantize") == quantize
        ):
            return folder
    except (OSError, ValueError):
        pass
    notify(f"exporting {type(est).__name__} to ONNX (once per model file): {folder}")
    calibration = calibration_texts(est) if quantize == "int8-static" else None
    to_onnx(est, folder, quantize=quantize, calibration_texts=calibration)
    return folder


def _onnx_transform(embedder, predictor):
    """A frozen embedder's ``transform`` answered by an ONNX Runtime session (the
    last texts' embeddings kept, as the embedder's memory cache would)."""
    from ..text._base import _validate_texts
    from ..utils._sklearn_compat import _wrap_data_with_container

    last = {}  # predict, then predict_proba, of one chunk: encoded once

    def transform(X):
        texts = list(_validate_texts(X, embedder))
        if last.get("texts") != texts:
            last.clear()
            last["out"] = predictor.transform(texts)
            last["texts"] = texts
        return _wrap_data_with_container("transform", last["out"].copy(), X, embedder)

    return transform


def serve_with_onnx(model, digest, precision=None, notify=print, who="the model"):
    """Run every fitted transformer encoder inside ``model`` on ONNX Runtime.

    Each is exported once to ``onnx_cache_home()/<digest>-<place>-<fp32|int8>``
    (``digest``: the model file's SHA-256) and served from there: a fine-tuned
    estimator through its ``_inference_runner``, a frozen embedder through its
    ``transform``. int8 (``precision``, else the precision the encoder was saved
    with) quantizes the graph's weights, int8-static its activations too, calibrated on
    :func:`calibration_texts`; bf16 is torch's alone. Returns how many are served.
    """
    import hashlib

    encoders = [(p, e, k) for p, e, k in _encoders(model) if _fitted(e)]
    if not encoders:
        raise CLIError(
            f"--backend onnx serves {_NO_ENCODER}; {who} has none "
            "(use --backend torch, the default)"
        )
    if precision == "bf16":
        raise CLIError(
            "--backend onnx runs fp32 or int8 graphs; use --precision fp32, int8, "
            "int8-static or auto, or --backend torch for bf16"
        )
    try:
        from ..export import OnnxPredictor
        from ..export._onnx import _require

        _require("onnxruntime", "--backend onnx")
        _require("onnxscript", "--backend onnx")
    except ImportError as exc:
        raise CLIError(str(exc)) from exc
    home = onnx_cache_home()
    for path, est, kind in encoders:
        saved = getattr(est, "predict_precision" if kind == "finetuned" else "precision", None)
        wanted = precision or saved
        quantize = wanted if wanted in ("int8", "int8-static") else None
        place = hashlib.sha256(path.encode("utf-8")).hexdigest()[:8]
        folder = home / f"{digest[:24]}-{place}-{quantize or 'fp32'}"
        try:
            _cached_export(est, folder, quantize, notify)
            batch_size = 2 * int(getattr(est, "batch_size", 16))
            predictor = OnnxPredictor(folder, batch_size=batch_size)
        except Exception as exc:  # the exporter's, onnxruntime's: one line
            raise CLIError(
                f"could not serve {type(est).__name__} with ONNX Runtime: "
                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            ) from exc
        if kind == "finetuned":
            est._inference_runner = predictor._runner
        else:
            est.transform = _onnx_transform(est, predictor)
    return len(encoders)


def run(args):
    from .. import __version__
    from ..batch import map_table

    if args.output is not None:
        check_writable(args.output)
        check_not_an_input(args.output, args.input, args.model)
    check_readable(args.input)

    def notify(message):
        if not args.quiet:
            print(f"skempathy predict: {message}", file=sys.stderr)

    bundle = load_model(args.model, allow_pickle=args.allow_pickle, trusted=args.trusted)
    from ..export import OnnxPredictor

    digest = model_digest(args.model) if args.output or args.backend == "onnx" else None
    if isinstance(bundle["estimator"], OnnxPredictor):  # an ONNX folder runs as exported
        if args.precision is not None:
            raise CLIError(
                f"{args.model} is an ONNX export, which runs at the precision it was exported "
                "with; leave out --precision (export again with to_onnx(quantize=...))"
            )
    elif args.backend == "onnx":
        serve_with_onnx(bundle["estimator"], digest, args.precision, notify, who=args.model)
    elif args.precision in ONNX_PRECISIONS:
        raise CLIError(
            f"--precision {args.precision} is a precision of ONNX Runtime graphs: "
            "add --backend onnx"
        )
    elif args.precision is not None:
        set_precision(bundle["estimator"], args.precision, who=args.model)
    text_column = bundle.get("text_column") or "essay"
    needed = required_columns(bundle)

    guessed = {}  # the text column a text-only model reads, when the file names it otherwise

    def predict(chunk):
        if args.text_column is None and needed == [text_column] and text_column not in chunk:
            if "column" not in guessed:
                names = [c for c in chunk.columns if str(c).lower() in _TEXT_NAMES]
                guessed["column"] = names[0] if len(names) == 1 else None
                if guessed["column"] is not None:
                    notify(
                        f"reading the texts from column {guessed['column']!r} (the model was "
                        f"fitted on {text_column!r}; --text-column chooses another)"
                    )
            if guessed["column"] is not None:
                chunk = chunk.rename(columns={guessed["column"]: text_column})
        if args.text_column is not None and args.text_column != text_column:
            if args.text_column not in chunk.columns:
                raise CLIError(
                    f"{args.input} has no column {args.text_column!r} "
                    f"(columns: {', '.join(map(str, chunk.columns))})"
                )
            chunk = chunk.rename(columns={args.text_column: text_column})
        missing = [c for c in needed if c not in chunk.columns]
        if missing:
            raise CLIError(
                _missing_columns_message(args, chunk.columns, missing, needed, text_column)
            )
        texts = chunk[text_column]
        bad = texts.isna() | (texts.astype(str).str.strip() == "")
        if bad.any():
            first = int(chunk.index[bad.to_numpy().argmax()]) + 1
            raise CLIError(
                f"{args.input}: {int(bad.sum())} row(s) of a chunk have an empty or "
                f"missing {text_column!r} (first at row {first})"
            )
        X = chunk[needed]
        if (
            needed == [text_column]
            and getattr(bundle["estimator"], "feature_names_in_", None) is None
        ):
            X = chunk[text_column]  # a text model fitted on a list or a Series of texts
        out = predictions_frame(bundle, X)
        for key in ("message_id", "id"):
            if key in chunk.columns and key not in out.columns:
                out.insert(0, key, chunk[key].to_numpy())
                break
        return out

    resume = args.output is not None  # standard output cannot be resumed
    fingerprint = {
        "model": digest,
        "skempathy version": __version__,
        "text column": args.text_column,
        "backend": args.backend,
        "precision": args.precision,
    }
    try:
        rows = map_table(
            predict,
            args.input,
            args.output,
            chunk_size=args.chunk_size,
            show_progress=not args.quiet,
            desc="predict",
            resume=resume,
            restart=args.restart,
            fingerprint=fingerprint if resume else None,
            notify=notify,
        )
    except (ValueError, OSError) as exc:  # the table's parser, the output's writer
        raise CLIError(str(exc)) from exc
    if args.output is not None and not args.quiet:
        print(f"Wrote {rows} predictions to {args.output}", file=sys.stderr)
    return 0
