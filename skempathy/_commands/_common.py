"""Helpers shared by the subcommands: input and output checks, atomic writes, model bundles."""

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from ..batch._tables import _FORMATS as _TABLE_FORMATS
from ..cli import CLIError
from ..utils._files import write_atomic

TASKS = {
    "empathy": "empathy",
    "distress": "distress",
    "emotion": "emotion",
    "empathy+distress": ["empathy", "distress"],
}


def parse_task(text):
    """Task from ``empathy``, ``distress``, ``emotion`` or ``empathy+distress`` (or a comma)."""
    key = text.replace(",", "+").replace(" ", "")
    if key == "distress+empathy":
        key = "empathy+distress"
    if key not in TASKS:
        raise CLIError(f"unknown task {text!r}; choose from {', '.join(TASKS)}")
    return TASKS[key]


def task_targets(task):
    return [task] if isinstance(task, str) else list(task)


def positive_int(text):
    """argparse type: an integer >= 1."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


FEATURE_GROUPS = ("text", "demographic", "personality", "iri")


def add_features_argument(parser, default):
    """``--features``: WASSA column groups, space- or comma-separated (``text iri`` or
    ``text,iri``), the same in every command."""
    parser.add_argument(
        "--features",
        nargs="+",
        default=list(default),
        type=_feature_groups,
        metavar="GROUP",
        help=f"column groups, from {', '.join(FEATURE_GROUPS)}; separated by "
        f"spaces or commas (default: {' '.join(default)})",
    )


def _feature_groups(text):
    import argparse

    groups = [g.strip() for g in text.split(",") if g.strip()]
    bad = [g for g in groups if g not in FEATURE_GROUPS]
    if bad or not groups:
        raise argparse.ArgumentTypeError(
            f"unknown feature group(s) {', '.join(bad) or text!r}; "
            f"choose from {', '.join(FEATURE_GROUPS)}"
        )
    return groups


def feature_groups(values):
    """The groups of a parsed ``--features`` (lists from the arguments, or plain names)."""
    out = []
    for value in values:
        for group in [value] if isinstance(value, str) else value:
            if group not in out:
                out.append(group)
    return out


def check_readable(path):
    """Fail at once on a missing, empty or unsupported input table."""
    path = Path(path)
    if not path.is_file():
        raise CLIError(f"input file not found: {path}")
    if path.stat().st_size == 0:
        raise CLIError(f"input file is empty: {path}")
    if path.suffix.lower() not in _TABLE_FORMATS:
        raise CLIError(
            f"unsupported input format {path.suffix.lower()!r} (use .csv, .tsv or .jsonl): {path}"
        )
    return path


def check_writable(path, *, folder=False):
    """Fail at once, before any work, if ``path`` (a file, or a ``folder``) cannot be written.

    Writes and removes a probe file in the nearest folder that exists on the
    way to the output (nothing is created: a run that fails later on bad
    arguments leaves no empty folder behind).
    """
    path = Path(path).absolute()
    target = path if folder else path.parent
    if folder and path.exists() and not path.is_dir():
        raise CLIError(f"output folder {path} exists and is not a folder")
    if not folder and path.is_dir():
        raise CLIError(f"output file {path} is a folder")
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(20, f"{existing} is not a folder")
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".skempathy-write-check-")
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        raise CLIError(f"cannot write to {target}: {exc.strerror or exc}") from None


MODEL_SUFFIXES = (".skops", ".joblib", ".pkl")


def check_model_path(path):
    """A model is written to ``.skops`` (safe) or a pickle suffix, never over a table."""
    suffix = Path(path).suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise CLIError(
            f"a model file must end in .skops (or .joblib/.pkl for a pickle), got "
            f"{path}"
            + (" (a data table: it would be overwritten)" if suffix in _TABLE_FORMATS else "")
        )
    return path


def check_not_an_input(output, *inputs):
    """Refuse an output path that is one of the command's inputs (it would be replaced)."""
    target = Path(output)
    for path in inputs:
        if path is None:
            continue
        same = (
            os.path.samefile(path, target)
            if target.exists() and Path(path).exists()
            else Path(path).resolve() == target.resolve()
        )
        if same:
            raise CLIError(
                f"the output {output} is also an input of this command; write to another file"
            )
    return output


MANIFEST = "manifest.json"


LOCK = ".skempathy.lock"
_STAGING_PREFIX = ".staging-"


@contextlib.contextmanager
def staged_output(folder):
    """Write a run's files into a staging folder inside ``folder``, then commit them.

    One run at a time: an exclusive lock on ``folder`` (``.skempathy.lock``,
    released when the run ends, however it ends) refuses a second run with the
    same output folder at once. The staging folder lives inside ``folder``, so
    only ``folder`` has to be writable and every move is a rename within one
    file system. The commit step removes the previous manifest, moves the new
    files in, removes the previous run's files that this run did not write,
    and writes the new ``manifest.json`` (run id, skempathy version, files) last;
    Ctrl-C and SIGTERM wait until it is done. A folder without a manifest holds
    an incomplete run (only a hard kill inside the commit step leaves one). On
    an error or an interrupt before the commit the staging folder is deleted
    and ``folder`` keeps the previous run untouched.
    """
    import shutil

    from filelock import FileLock, Timeout

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise CLIError(
            f"another skempathy run is writing to {folder}; wait for it to finish "
            "or choose another output folder"
        ) from None
    try:
        for stale in folder.glob(_STAGING_PREFIX + "*"):  # left by a killed run
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(dir=folder, prefix=_STAGING_PREFIX))
        try:
            yield staging
            from ..utils._interrupts import deferred_interrupts

            with deferred_interrupts():
                _commit(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        lock.release()


def _previous_files(folder):
    """The files the manifest in ``folder`` lists (plain names only), or none."""
    import json

    from ..utils._files import UnsafeFileError, check_member_name

    try:
        names = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    kept = []
    for name in names if isinstance(names, list) else []:
        try:
            if "/" not in check_member_name(name) and "\\" not in name:
                kept.append(name)
        except UnsafeFileError:
            continue
    return kept


def _commit(staging, folder):
    import json
    import uuid

    from .. import __version__

    names = sorted(p.name for p in staging.iterdir())
    previous = _previous_files(folder)
    (folder / MANIFEST).unlink(missing_ok=True)
    for name in names:
        os.replace(staging / name, folder / name)
    for name in previous:
        if name not in names and name not in (MANIFEST, LOCK):
            path = folder / name
            if path.is_file() and not path.is_symlink():
                path.unlink()
    manifest = {"run_id": uuid.uuid4().hex, "skempathy_version": __version__, "files": names}
    write_atomic(
        folder / MANIFEST, lambda tmp: Path(tmp).write_text(json.dumps(manifest, indent=2) + "\n")
    )


def model_predict(estimator, X):
    """``estimator.predict(X)``, with a failure reported as one line that never quotes the
    input (a foreign model's message may hold an essay)."""
    try:
        return estimator.predict(X)
    except CLIError:
        raise
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        raise CLIError(
            f"the model could not predict on this input ({type(exc).__name__} in "
            f"{type(estimator).__name__}.predict); is it a skempathy model trained "
            "on these columns?"
        ) from exc


def track_scores(estimator, X, y, targets):
    """The official WASSA metrics of a fitted model's predictions for ``X``, per track: emotion
    (classification) and the score columns among ``targets`` (empathy, distress)."""
    import pandas as pd

    from ..metrics import wassa_evaluate

    pred = model_predict(estimator, X)
    if not isinstance(pred, pd.DataFrame):
        pred = pd.DataFrame(
            pred.reshape(len(X), -1) if hasattr(pred, "reshape") else pred, columns=targets
        )
    if len(targets) == 1:
        return wassa_evaluate(y[targets[0]], pred[targets[0]])
    return wassa_evaluate(y[targets], pred[targets])


def save_model(
    estimator,
    path,
    *,
    task,
    head,
    features,
    columns,
    text_column="essay",
    scores=None,
    fitted_on=None,
):
    """Dump a fitted pipeline with its metadata (a dict), atomically: skops for a ``.skops``
    path, joblib otherwise."""
    from ..io import write_model

    write_model(
        {
            "estimator": estimator,
            "task": task,
            "targets": task_targets(task),
            "head": head,
            "features": list(features),
            "columns": list(columns),
            "text_column": text_column,
            "dev_scores": scores,
            "fitted_on": fitted_on,
        },
        path,
    )


def add_model_arguments(parser, *, what="MODEL"):
    """The model-loading options of every command that reads a saved model."""
    parser.add_argument(
        "--allow-pickle",
        action="store_true",
        help=f"also load a {what} saved as a pickle (.joblib, .pkl): loading a "
        "pickle runs any code it carries, so only use files you trust "
        "(.skops files need no flag)",
    )
    parser.add_argument(
        "--trusted",
        action="append",
        default=[],
        metavar="TYPE",
        type=_type_names,
        help="trust more types in a .skops file (module.Class, repeatable or "
        "comma-separated), after checking them with "
        "skops.io.get_untrusted_types",
    )


def _type_names(text):
    return [name.strip() for name in text.split(",") if name.strip()]


def load_model(path, *, allow_pickle=False, trusted=()):
    """:func:`skempathy.io.read_model` with the command line's errors and warnings.

    Every format skempathy writes loads, recognised by content: a ``.skops`` file (a zip) with
    skempathy's trusted types plus ``trusted``, a Hugging Face folder (``save_pretrained``), an
    ONNX folder (``skempathy.export.to_onnx``); a pickle loads only with ``allow_pickle``
    (``--allow-pickle``), since unpickling runs whatever code the file carries.
    """
    import warnings

    from ..base import SkempathyVersionWarning
    from ..io import PickleRefusedError, UnknownModelFormatError, UntrustedTypesError, read_model

    path = Path(path)
    if not path.exists():
        raise CLIError(f"model file not found: {path}")
    trusted = [name for names in trusted for name in ([names] if isinstance(names, str) else names)]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SkempathyVersionWarning)
            bundle = read_model(path, allow_pickle=allow_pickle, trusted=trusted)
    except PickleRefusedError as exc:
        raise CLIError(
            f"{path} is a pickle, and loading a pickle runs any code it carries; "
            "pass --allow-pickle if you trust this file, or save the model as "
            ".skops (skempathy wassa writes .skops by default; skempathy train --out MODEL.skops)"
        ) from exc
    except UntrustedTypesError as exc:
        raise CLIError(
            f"{path} holds types that are not trusted: {exc.types}. Check them, then pass "
            "--trusted TYPE for each."
        ) from exc
    except UnknownModelFormatError as exc:  # names the path and the formats, never contents
        message = str(exc).replace("allow_pickle=True", "--allow-pickle")
        raise CLIError(f"could not load model: {message}") from exc
    except Exception as exc:
        # the first line only, cut short: a foreign file's message may quote its contents
        raise CLIError(
            f"could not load model {path}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200] if str(exc) else ''}"
        ) from exc
    for w in caught:
        if issubclass(w.category, SkempathyVersionWarning):  # one line, as the CLI warns
            print(f"skempathy: warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if not hasattr(bundle["estimator"], "predict"):  # a frozen embedder's ONNX export, say
        raise CLIError(
            f"{path} does not hold a skempathy model or a fitted estimator (it holds "
            f"a {type(bundle['estimator']).__name__})"
        )
    if bundle.get("text_column") is None:
        bundle["text_column"] = "essay"
    return bundle


def model_digest(path):
    """SHA-256 of a model: of its file, or of a model folder's files (names and contents)."""
    import hashlib

    from ..datasets._base import sha256sum

    path = Path(path)
    if not path.is_dir():
        return sha256sum(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode("utf-8") + b"\0")
        digest.update(bytes.fromhex(sha256sum(file)))
    return digest.hexdigest()


def required_columns(bundle):
    """Columns the model reads from its input."""
    if bundle.get("columns"):
        return list(bundle["columns"])
    names = getattr(bundle["estimator"], "feature_names_in_", None)
    if names is not None:
        return [str(c) for c in names]
    return [bundle.get("text_column") or "essay"]


def predictions_frame(bundle, X):
    """Predictions of a model bundle on ``X`` as a DataFrame.

    Emotion: ``emotion`` then ``proba_<label>`` per class, or, for heads
    without probabilities (``svr``/``ridge``: SVC, RidgeClassifier),
    ``score_<label>`` decision scores; regression: one column per target.
    A joint model (one estimator predicting several targets as a DataFrame,
    e.g. the ``finetuned`` recipe) gives its columns, then ``proba_<label>``
    of its ``emotion`` column when it has probabilities. A fine-tuned model runs once
    for the labels and the probabilities.
    """
    from ..utils._reuse import reuse_outputs

    with reuse_outputs():
        return _predictions_frame(bundle, X)


def _predictions_frame(bundle, X):
    import numpy as np
    import pandas as pd

    from sklearn.base import is_classifier

    est = bundle["estimator"]
    if bundle.get("task") == "emotion" and not is_classifier(est):
        raise CLIError(
            f"the model is labelled as an emotion model but holds a "
            f"{type(est).__name__}, which is not a classifier"
        )
    pred = model_predict(est, X)
    targets = bundle.get("targets")
    if isinstance(pred, pd.DataFrame):
        out = pred.reset_index(drop=True)
        if "emotion" in out.columns and hasattr(est, "predict_proba"):
            proba = est.predict_proba(X)
            if isinstance(proba, dict) and "emotion" in proba:
                for j, label in enumerate(est.classes_["emotion"]):
                    out[f"proba_{label}"] = proba["emotion"][:, j]
        return out
    if bundle.get("task") == "emotion":
        out = pd.DataFrame({"emotion": np.asarray(pred)})
        if hasattr(est, "predict_proba"):
            prefix, scores = "proba", est.predict_proba(X)
        elif hasattr(est, "decision_function"):
            prefix, scores = "score", np.asarray(est.decision_function(X))
        else:
            return out
        if scores.ndim == 1:  # binary decision_function: the score of classes_[1]
            scores = np.column_stack([-scores, scores])
        for j, label in enumerate(est.classes_):
            out[f"{prefix}_{label}"] = scores[:, j]
        return out
    pred = np.asarray(pred, dtype=float)
    if pred.ndim == 1:
        pred = pred[:, None]
    if not targets or len(targets) != pred.shape[1]:
        targets = ["score"] if pred.shape[1] == 1 else [f"score_{j}" for j in range(pred.shape[1])]
    return pd.DataFrame(pred, columns=targets)


def print_table(rows, headers, file=None):
    """Print a small aligned text table."""
    import sys

    file = file or sys.stdout
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for k, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip(), file=file)
        if k == 0:
            print("  ".join("-" * w for w in widths), file=file)
