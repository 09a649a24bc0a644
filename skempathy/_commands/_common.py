"""Helpers shared by the subcommands: input and output checks, atomic writes, model bundles."""

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from ..batch._tables import _FORMATS as _TABLE_FORMATS
from ..cli import CLIError
from ..utils._files import write_atomic

MODEL_FORMAT = "skempathy-model/1"
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


def check_readable(path):
    """Fail at once on a missing, empty or unsupported input table."""
    path = Path(path)
    if not path.is_file():
        raise CLIError(f"input file not found: {path}")
    if path.stat().st_size == 0:
        raise CLIError(f"input file is empty: {path}")
    if path.suffix.lower() not in _TABLE_FORMATS:
        raise CLIError(f"unsupported input format {path.suffix.lower()!r} (use .csv, .tsv or "
                       f".jsonl): {path}")
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


MANIFEST = "manifest.json"


@contextlib.contextmanager
def staged_output(folder):
    """Write a run's files into a staging folder, then publish them into ``folder``.

    The files move into ``folder`` only when the block succeeds, each by an
    atomic rename, after the previous run's manifest is removed; a new
    ``manifest.json`` (run id, skempathy version, files) is written last. A
    folder without a manifest holds an incomplete run. On an error or an
    interrupt (Ctrl-C, SIGTERM) the staging folder is deleted and ``folder``
    keeps the previous run untouched.
    """
    import json
    import shutil
    import uuid

    from .. import __version__

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.staging-"))
    try:
        yield staging
        names = sorted(p.name for p in staging.iterdir())
        (folder / MANIFEST).unlink(missing_ok=True)
        for name in names:
            os.replace(staging / name, folder / name)
        manifest = {"run_id": uuid.uuid4().hex, "skempathy_version": __version__,
                    "files": names}
        write_atomic(folder / MANIFEST,
                     lambda tmp: Path(tmp).write_text(json.dumps(manifest, indent=2) + "\n"))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def track_scores(estimator, X, y, targets):
    """The official WASSA metrics of a fitted model's predictions for ``X``, per track: emotion
    (classification) and the score columns among ``targets`` (empathy, distress)."""
    import pandas as pd

    from ..metrics import wassa_evaluate

    pred = estimator.predict(X)
    if not isinstance(pred, pd.DataFrame):
        pred = pd.DataFrame(pred.reshape(len(X), -1) if hasattr(pred, "reshape") else pred,
                            columns=targets)
    if len(targets) == 1:
        return wassa_evaluate(y[targets[0]], pred[targets[0]])
    return wassa_evaluate(y[targets], pred[targets])


def save_model(estimator, path, *, task, head, features, columns, text_column="essay",
               scores=None, fitted_on=None):
    """Dump a fitted pipeline with its metadata (a dict), atomically: skops for a ``.skops``
    path, joblib otherwise."""
    import joblib

    from .. import __version__

    bundle = {
        "format": MODEL_FORMAT,
        "estimator": estimator,
        "task": task,
        "targets": task_targets(task),
        "head": head,
        "features": list(features),
        "columns": list(columns),
        "text_column": text_column,
        "dev_scores": scores,
        "fitted_on": fitted_on,
        "skempathy_version": __version__,
    }
    if Path(path).suffix.lower() == ".skops":   # the safe format: no pickle code on load
        from ..io import dump

        dump(bundle, path)
    else:
        write_atomic(path, lambda tmp: joblib.dump(bundle, tmp))


def load_model(path):
    """Load a bundle written by :func:`save_model`, or a bare fitted estimator."""
    import joblib

    import warnings

    from ..base import SkempathyVersionWarning

    path = Path(path)
    if not path.is_file():
        raise CLIError(f"model file not found: {path}")
    try:
        # every estimator in the file warns about its version: say it once, below
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SkempathyVersionWarning)
            if path.suffix.lower() == ".skops":
                from ..io import load

                obj = load(path)
            else:
                obj = joblib.load(path)
    except Exception as exc:
        raise CLIError(f"could not load model {path}: {type(exc).__name__}: {exc}") from exc
    stale = []
    for w in caught:
        if issubclass(w.category, SkempathyVersionWarning):
            stale.append(str(w.message))
        else:  # other warnings (e.g. scikit-learn's own version warning) as usual
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    is_bundle = isinstance(obj, dict) and obj.get("format") == MODEL_FORMAT
    if is_bundle:
        from .. import __version__

        saved = obj.get("skempathy_version")
        if saved is not None and saved != __version__:
            stale = [f"{path} was saved by skempathy {saved}; this is skempathy {__version__}"]
    if stale:  # one file, one version: the first message says it
        print(f"skempathy: warning: {stale[0]}", file=sys.stderr)
    if is_bundle:
        return obj
    if hasattr(obj, "predict"):
        from sklearn.base import is_classifier

        task = "emotion" if is_classifier(obj) else None
        return {"format": MODEL_FORMAT, "estimator": obj, "task": task,
                "targets": None if task is None else ["emotion"], "head": None,
                "features": None, "columns": None, "text_column": "essay",
                "dev_scores": None}
    raise CLIError(f"{path} does not hold a skempathy model or a fitted estimator")


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
    of its ``emotion`` column when it has probabilities.
    """
    import numpy as np
    import pandas as pd

    from sklearn.base import is_classifier

    est = bundle["estimator"]
    if bundle.get("task") == "emotion" and not is_classifier(est):
        raise CLIError(f"the model is labelled as an emotion model but holds a "
                       f"{type(est).__name__}, which is not a classifier")
    try:
        pred = est.predict(X)
    except CLIError:
        raise
    except Exception as exc:
        # never echo the input: a foreign model's message may quote an essay
        raise CLIError(f"the model could not predict on this input ({type(exc).__name__} in "
                       f"{type(est).__name__}.predict); is it a skempathy model trained on "
                       "these columns?") from exc
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
