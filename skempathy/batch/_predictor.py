"""A fitted model as a function of DataFrame chunks (files, Dask partitions, Ray batches)."""

import os
import threading
from pathlib import Path

import numpy as np

__all__ = ["BatchPredictor"]

_METHODS = ("predict", "predict_proba", "decision_function", "transform", "predict_labels")

# Models loaded from a path, per process: (absolute path, size, mtime) -> (estimator, bundle).
_LOADED = {}
_LOADED_LOCK = threading.Lock()


def _stamp(path):
    path = Path(path).absolute()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return (str(path),) + tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)


def _load(path, allow_pickle):
    """``(estimator, model file or None)`` for a saved model, whatever its format
    (:func:`skempathy.io.read_model`): a model file, a ``.skops`` or pickled estimator, a
    Hugging Face folder or an ONNX export folder."""
    from ..io import read_model

    bundle = read_model(path, allow_pickle=allow_pickle)
    said = bundle.get("columns") or bundle.get("text_column")  # a bare estimator says neither
    return bundle["estimator"], (bundle if said else None)


class BatchPredictor:
    """A fitted model as a function ``chunk (DataFrame) -> predictions (DataFrame)``.

    Give it to :func:`map_table` to stream a file, to
    ``dask.dataframe.DataFrame.map_partitions`` or to
    ``ray.data.Dataset.map_batches`` (``batch_format="pandas"``). Given a path,
    the model is loaded on the first call in each process and kept there, so a
    Dask or Ray worker loads it once however many partitions it predicts;
    pickling the predictor sends the path, not the model.

    Parameters
    ----------
    model : estimator, str or path-like
        A fitted estimator, or the path of a model file (``skempathy wassa`` or
        ``skempathy train``), of a ``.skops`` or pickled (``.joblib``, ``.pkl``; with
        ``allow_pickle``) estimator, or of a folder written by an estimator's
        ``save_pretrained`` or by :func:`skempathy.export.to_onnx`: whatever
        :func:`skempathy.io.load_model` reads.
    method : {"predict", "predict_proba", "decision_function", "transform", \
"predict_labels"}, default="predict"
        What to compute. ``"predict_labels"`` (:class:`~skempathy.dialogue.EmotionAnnotator`)
        gives each text's label set joined by ``";"``.
    text_column : str, default=None
        Column of the texts. Default: the saved model's text column, else
        ``"text"``, else ``"essay"``. Ignored when the model was fitted on a
        DataFrame: it then reads the columns it was fitted on
        (``feature_names_in_``).
    keep : list of str, default=None
        Input columns copied to the output before the predictions (ids).
    allow_pickle : bool, default=False
        Load a model path that is a pickle (``.joblib``, ``.pkl``). Unpickling runs whatever
        code the file carries: only for files you trust; ``.skops`` files need no permission.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skempathy.batch import BatchPredictor
    >>> clf = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(
    ...     ["so sad", "very sad", "great day", "happy day"], ["sad", "sad", "joy", "joy"])
    >>> chunk = pd.DataFrame({"id": [7, 8], "text": ["a sad story", "a happy day"]})
    >>> BatchPredictor(clf, keep=["id"])(chunk)
       id prediction
    0   7        sad
    1   8        joy
    >>> BatchPredictor(clf, method="predict_proba")(chunk).columns.tolist()
    ['proba_joy', 'proba_sad']
    """

    def __init__(self, model, *, method="predict", text_column=None, keep=None, allow_pickle=False):
        if method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
        if isinstance(model, (str, os.PathLike)):
            if not Path(model).exists():
                raise FileNotFoundError(f"model not found: {model}")
            model = os.fspath(model)
        elif not (hasattr(model, "predict") or hasattr(model, "transform")):
            raise TypeError(
                f"model must be a fitted estimator or a path, got {type(model).__name__}"
            )
        self.model = model
        self.method = method
        self.text_column = text_column
        self.keep = None if keep is None else list(keep)
        self.allow_pickle = allow_pickle

    # -- the model, loaded once per process ------------------------------------------
    def _estimator(self):
        if not isinstance(self.model, str):
            return self.model, None
        key = _stamp(self.model)
        with _LOADED_LOCK:
            if key not in _LOADED:
                for old in [k for k in _LOADED if k[0] == key[0]]:  # the file changed
                    del _LOADED[old]
                # a predictor pickled before allow_pickle existed loads no pickle
                _LOADED[key] = _load(self.model, getattr(self, "allow_pickle", False))
            return _LOADED[key]

    def _inputs(self, chunk, estimator, bundle):
        """The columns the model reads: those it was fitted on (several, or the
        ones a saved bundle names), else one column of texts."""
        names = (bundle or {}).get("columns") or getattr(estimator, "feature_names_in_", None)
        if names is not None and (len(names) > 1 or (bundle or {}).get("columns")):
            missing = [c for c in names if c not in chunk.columns]
            if missing:
                raise KeyError(
                    f"the model reads column(s) {missing} that the input lacks "
                    f"(columns: {list(chunk.columns)})"
                )
            return chunk[list(names)]
        if self.text_column is not None:
            candidates = [self.text_column]
        else:
            candidates = [str(names[0])] if names is not None else []
            candidates += [c for c in ((bundle or {}).get("text_column"), "text", "essay") if c]
        column = next((c for c in candidates if c in chunk.columns), None)
        if column is None:
            raise KeyError(
                f"no text column {candidates} in the input (columns: "
                f"{list(chunk.columns)}); pass text_column="
            )
        return chunk[column]

    # -- predictions as a DataFrame ---------------------------------------------------
    def __call__(self, chunk):
        """Predictions for the rows of ``chunk`` (a DataFrame), with its index."""
        import pandas as pd

        if not isinstance(chunk, pd.DataFrame):
            raise TypeError(
                f"BatchPredictor takes a pandas DataFrame, got "
                f"{type(chunk).__name__} (Ray: map_batches(..., "
                "batch_format='pandas'))"
            )
        estimator, bundle = self._estimator()
        if len(chunk) == 0:
            out = pd.DataFrame(index=chunk.index)
        else:
            X = self._inputs(chunk, estimator, bundle)
            out = self._frame(estimator, bundle, X, chunk.index)
        if self.keep:
            out = pd.concat([chunk[self.keep], out], axis=1)
        return out

    def _frame(self, estimator, bundle, X, index):
        import pandas as pd

        if not hasattr(estimator, self.method):
            raise AttributeError(f"{type(estimator).__name__} has no {self.method}")
        result = getattr(estimator, self.method)(X)
        if self.method == "predict_labels":
            return pd.DataFrame({"labels": [";".join(map(str, s)) for s in result]}, index=index)
        if isinstance(result, pd.DataFrame):
            return result.set_axis(index, axis=0)
        if isinstance(result, dict):  # multi-task probabilities: one block per task
            blocks = [
                self._named(estimator, task, np.asarray(values), index, prefix=task)
                for task, values in result.items()
            ]
            return pd.concat(blocks, axis=1)
        targets = (bundle or {}).get("targets")
        return self._named(estimator, targets, np.asarray(result), index)

    def _named(self, estimator, targets, values, index, prefix=None):
        import pandas as pd

        classes = getattr(estimator, "classes_", None)
        if isinstance(classes, dict):
            classes = classes.get(prefix)
        lead = f"{prefix}_" if prefix else ""
        if (
            self.method in ("predict_proba", "decision_function")
            and classes is not None
            and values.ndim == 2
            and values.shape[1] == len(classes)
        ):
            kind = "proba" if self.method == "predict_proba" else "score"
            names = [f"{kind}_{lead}{c}" for c in classes]
        elif values.ndim == 1:
            name = {"predict": "prediction", "decision_function": "score"}.get(
                self.method, self.method
            )
            if isinstance(targets, (list, tuple)) and len(targets) == 1:
                name = targets[0]
            names, values = [lead + name], values[:, None]
        elif self.method == "transform" and hasattr(estimator, "get_feature_names_out"):
            names = [str(n) for n in estimator.get_feature_names_out()]
        elif isinstance(targets, (list, tuple)) and len(targets) == values.shape[1]:
            names = list(targets)
        else:
            names = [f"{lead}{self.method}_{j}" for j in range(values.shape[1])]
        return pd.DataFrame(values, index=index, columns=names)

    def __repr__(self):
        model = self.model if isinstance(self.model, str) else type(self.model).__name__
        return f"BatchPredictor({model!r}, method={self.method!r})"
