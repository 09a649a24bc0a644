"""Common machinery of the frozen text embedders (private)."""

import os
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._sklearn_compat import HasMethods, Interval, StrOptions, _fit_context
from .._models import (
    PRECISIONS,
    apply_precision,
    checkpoint_digest,
    embedded_name,
    model_identity,
    pack_checkpoint,
    resolve_device,
    resolve_model,
    resolve_precision,
    unpack_checkpoint,
)
from ..base import TextInputMixin, check_texts
from ..utils._progress import show_progress
from ._cache import CacheSnapshot, EmbeddingCache, get_shared_model, settings_key


def _validate_texts(X, estimator):
    """``check_texts`` plus explicit errors for sparse and zero-column input."""
    import scipy.sparse as sp

    if sp.issparse(X):
        raise TypeError(
            f"{type(estimator).__name__}: sparse input is not supported; pass one column of texts."
        )
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 2 and shape[1] == 0:
        raise ValueError(
            f"0 feature(s) (shape={tuple(shape)}) while a minimum of 1 is required: "
            f"{type(estimator).__name__} needs one column of texts."
        )
    return check_texts(X, estimator=estimator)


# Below this many texts to encode, ``show_progress="auto"`` stays quiet.
_AUTO_PROGRESS_MIN = 256


class _BaseEmbedder(TextInputMixin, TransformerMixin, BaseEstimator):
    """Frozen encoder over one column of texts.

    Subclasses implement ``_load_model(path, device)`` (returns the model
    object, kept in ``self._model``), ``_embedding_dim(model)``,
    ``_output_settings(model)`` (dict of everything that changes the output)
    and ``_encode(model, texts, show_progress)`` (2-D float array).

    The model is loaded in ``fit`` and kept in the private ``_model`` slot; it
    is **not pickled** (``__getstate__`` drops it) and is reloaded lazily from
    ``model_path_`` on the first ``transform`` after unpickling.
    """

    _parameter_constraints = {
        "model": [str, os.PathLike],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "normalize": ["boolean"],
        "max_length": [Interval(Integral, 1, None, closed="left"), None],
        "cache": [None, "boolean", StrOptions({"memory"}), str, os.PathLike, HasMethods(["cache"])],
        "show_progress": ["boolean", StrOptions({"auto"})],
        "precision": [StrOptions(set(PRECISIONS))],
        "embed_weights": ["boolean"],
    }

    # -- sklearn API -------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the texts and load the encoder (no text is encoded).

        Parameters
        ----------
        X : list of str, Series, 1-column DataFrame or (n, 1) array
            Texts.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted embedder.
        """
        _validate_texts(X, self)
        self._set_input_names(X)
        self.model_path_ = self._resolve_path()
        self.device_ = resolve_device(self.device)
        self._model = None  # _get_model loads it and sets precision_
        self.model_identity_ = self._identity()
        model = self._get_model()
        self.embedding_dim_ = int(self._embedding_dim(model))
        self._n_features_out = self.embedding_dim_
        return self

    def transform(self, X):
        """Embed the texts.

        Parameters
        ----------
        X : list of str, Series, 1-column DataFrame or (n, 1) array
            Texts.

        Returns
        -------
        embeddings : ndarray of shape (n_texts, n_features), float32
            One row per text, in input order; ``n_features`` is ``embedding_dim_``.
        """
        check_is_fitted(self)
        texts = _validate_texts(X, self)
        model = self._get_model()
        cache = EmbeddingCache(self._cache_key(model), self.cache)

        def compute(batch):
            return self._encode(model, batch, self._progress(len(batch)))

        return cache.embed(texts, compute).astype(np.float32, copy=False)

    def fit_transform(self, X, y=None):
        """Fit, then embed ``X`` (same result as ``fit(X).transform(X)``)."""
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self, input_features=None):
        """Output feature names ``<classname>_0 .. <classname>_{dim-1}``.

        Parameters
        ----------
        input_features : array-like of str or None
            Ignored apart from validation (the output does not depend on it).

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self, "_n_features_out")
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}_{i}" for i in range(self._n_features_out)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    # -- internals ----------------------------------------------------------
    def _identity(self):
        if getattr(self, "embed_weights", False):  # the files travel: identify them by content
            return checkpoint_digest(self.model_path_)
        # embedded checkpoints by name: the same wherever the environment lives
        return model_identity(self.model if embedded_name(self.model) else self.model_path_)

    def _resolve_path(self):
        """The local location (or hub name) of the weights ``model`` names."""
        return resolve_model(self.model)

    def _relocate(self):
        """Whether an unpickled embedder finds its weights again by name (the embedded
        checkpoints, installed at another path elsewhere) rather than at ``model_path_``."""
        return embedded_name(self.model) is not None and not getattr(self, "embed_weights", False)

    def __skempathy_warm__(self, X):
        """The vectors of ``X``, encoded once by the caller of a parallel fit
        (:mod:`skempathy.utils._warm`); None with caching off or an input the job will refuse."""
        from sklearn.base import clone

        if self.cache is False:
            return None
        try:
            texts = list(dict.fromkeys(check_texts(X, estimator=self)))
            fitted = clone(self).fit(texts)
            key = fitted._cache_key(fitted._get_model())
            vectors = fitted.transform(texts)
        except (ValueError, TypeError, OSError, ImportError, RuntimeError):
            return None  # invalid input or an unloadable model: the job reports it
        return CacheSnapshot(key, texts, vectors)

    def _get_model(self):
        model = getattr(self, "_model", None)
        if model is None:
            device = self.device_
            if self.device == "auto":
                device = resolve_device("auto")  # may differ after unpickling elsewhere
            if self._relocate():
                # resolved again where the artifact is loaded (another venv, another path)
                self.model_path_ = self._resolve_path()
            precision = resolve_precision(self.precision, device)
            self.precision_ = precision
            current = self._identity()
            key = (
                type(self).__name__,
                self.model_path_,
                current,
                device,
                self._load_settings(),
                precision,
            )

            def load():
                loaded = self._load_model(self.model_path_, device)
                return self._apply_precision(loaded, precision, device)

            try:
                model = get_shared_model(key, load)
            except (OSError, ValueError) as exc:
                raise OSError(
                    f"{type(self).__name__}: could not load model {self.model!r} "
                    f"(resolved to {self.model_path_!r}): {exc}"
                ) from exc
            identity = getattr(self, "model_identity_", None)
            if identity is not None and current != identity:
                warnings.warn(
                    f"{type(self).__name__}: the weights at {self.model_path_!r} changed "
                    "since fit; embeddings may differ from those seen in training.",
                    UserWarning,
                )
            self._model = model
        return model

    def _load_settings(self):
        """Constructor settings applied to the loaded model object (part of its share key)."""
        return None

    def _apply_precision(self, model, precision, device):
        return apply_precision(model, precision, device)

    def _cache_key(self, model):
        settings = self._output_settings(model)
        if self.precision_ != "fp32":  # fp32 keys stay those of earlier versions
            settings["precision"] = self.precision_
        return settings_key(
            estimator=type(self).__name__,
            model=self._identity(),
            **settings,
        )

    def _progress(self, n_texts):
        if self.show_progress == "auto":
            return n_texts >= _AUTO_PROGRESS_MIN and show_progress()
        return show_progress(self.show_progress)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_model", None)  # never pickle the torch model: reloaded lazily
        if getattr(self, "embed_weights", False) and hasattr(self, "model_path_"):
            state["_checkpoint_files"] = pack_checkpoint(self.model_path_)
        return state

    def __setstate__(self, state):
        state = dict(state)
        files = state.pop("_checkpoint_files", None)
        super().__setstate__(state)
        if files is not None:  # the weights came inside the artifact
            self.model_path_ = unpack_checkpoint(files, self.model_identity_)
