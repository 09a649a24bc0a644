"""StaticEmbedder: model2vec static embeddings distilled from a sentence-transformer."""

import functools
import hashlib
import json
import os
import shutil
import tempfile
import threading
from numbers import Integral

from .._models import checkpoint_digest, embedded_name, model_identity, resolve_model
from ..utils._sklearn_compat import HasMethods, Interval, StrOptions
from ._base import _BaseEmbedder

__all__ = ["StaticEmbedder", "distill_static_model"]

# ``--model static-minilm`` in the recipes and the command line: a static model distilled
# from the named checkpoint
STATIC_PREFIX = "static-"

_DISTILL_LOCK = threading.Lock()
# model2vec's weighting of tokens by their Zipf-estimated frequency; part of a static model's key
_SIF_COEFFICIENT = 1e-4


def static_source(model):
    """The checkpoint behind a ``"static-<name>"`` model name, or None for other names."""
    if isinstance(model, str) and model.lower().startswith(STATIC_PREFIX):
        return model[len(STATIC_PREFIX) :]
    return None


def frozen_embedder(model, **params):
    """The frozen encoder a command-line ``--model`` names: a :class:`StaticEmbedder` for a
    ``"static-<name>"`` model (without the parameters it has no use for, such as ``device``),
    else a :class:`~skempathy.text.SentenceEmbedder`."""
    if static_source(model) is None:
        from ._sentence import SentenceEmbedder

        return SentenceEmbedder(model, **params)
    kept = StaticEmbedder().get_params()
    return StaticEmbedder(model, **{k: v for k, v in params.items() if k in kept})


def _require_model2vec():
    try:
        import model2vec  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "StaticEmbedder needs model2vec, an optional dependency: "
            "pip install 'skempathy[static]'"
        ) from exc


def _is_static_folder(path):
    """Whether ``path`` is a local model2vec model (its config says so)."""
    config = os.path.join(path, "config.json")
    if not os.path.isfile(config):
        return False
    try:
        with open(config, encoding="utf-8") as handle:
            return json.load(handle).get("model_type") == "model2vec"
    except (OSError, ValueError):
        return False


def _distillation_identity(source, pca_dims, sif_coefficient):
    """What the distilled vectors depend on: the source weights, the settings, model2vec."""
    import model2vec

    version = ".".join(model2vec.__version__.split(".")[:2])
    identity = model_identity(source)
    return f"static:{identity}:pca={pca_dims}:sif={sif_coefficient}:model2vec=={version}"


def distill_static_model(
    model="all-MiniLM-L6-v2", *, pca_dims=None, sif_coefficient=_SIF_COEFFICIENT, data_home=None
):
    """Distil a sentence-transformer into model2vec static embeddings, once.

    Every token of the model's vocabulary is embedded by the model on its own,
    the vectors are reduced by PCA and weighted by a Zipf estimate of the
    token's frequency (model2vec's distillation; no training data, no hub).
    The result is stored under ``<data home>/models/static-<digest>``, keyed by
    the source weights and the settings, so later calls (and other processes)
    return the stored folder at once.

    Parameters
    ----------
    model : str or path-like, default="all-MiniLM-L6-v2"
        An embedded name (``"all-MiniLM-L6-v2"``, ``"all-mpnet-base-v2"``), a
        local sentence-transformers folder or a hub name.
    pca_dims : int or None, default=None
        Output dimensions after PCA; None keeps the model's own (the PCA then only
        decorrelates them). On WASSA 2021, MiniLM's 384 kept more than 256 or 128 (the results
        page, section "Static embeddings").
    sif_coefficient : float, default=1e-4
        Weight of the Zipf-estimated frequency (smaller: rare tokens count more).
    data_home : str or path-like, default=None
        See :func:`skempathy.datasets.get_data_home`.

    Returns
    -------
    str
        The folder of the static model (model2vec's format:
        ``model.safetensors``, ``tokenizer.json``, ``config.json``).

    Examples
    --------
    >>> from skempathy.text import distill_static_model
    >>> folder = distill_static_model("all-MiniLM-L6-v2")  # doctest: +SKIP
    """
    _require_model2vec()
    from ..datasets import get_data_home

    pca_dims = None if pca_dims is None else int(pca_dims)
    identity = _distillation_identity(model, pca_dims, float(sif_coefficient))
    key = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
    root = os.path.join(get_data_home(data_home), "models")
    target = os.path.join(root, f"static-{key}")
    with _DISTILL_LOCK:  # one distillation per process; other processes race on the rename
        if _is_static_folder(target):
            return target
        os.makedirs(root, exist_ok=True)
        work = tempfile.mkdtemp(prefix=".static-", dir=root)
        try:
            _distil_into(model, work, pca_dims, float(sif_coefficient), identity)
            try:
                os.replace(work, target)
            except OSError:  # another process finished first: keep its folder
                if not _is_static_folder(target):
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def _distil_into(model, folder, pca_dims, sif_coefficient, identity):
    import torch
    from model2vec.distill import distill_from_model
    from transformers import AutoModel, AutoTokenizer

    from ..utils._progress import transformers_progress_off

    from model2vec.distill import inference

    from ..utils._progress import show_progress

    path = resolve_model(model)
    with transformers_progress_off():
        encoder = AutoModel.from_pretrained(path)
        tokenizer = AutoTokenizer.from_pretrained(path, use_fast=True)
    # model2vec's bar over the vocabulary has no switch: quiet it off a terminal, as ours are
    # (under _DISTILL_LOCK, the one caller of that module in this process)
    bar = inference.tqdm
    inference.tqdm = functools.partial(bar, disable=not show_progress(), leave=False)
    try:
        with torch.inference_mode():
            static = distill_from_model(
                encoder,
                tokenizer,
                device="cpu",
                pca_dims="auto" if pca_dims is None else pca_dims,
                sif_coefficient=sif_coefficient,
            )
    finally:
        inference.tqdm = bar
    static.save_pretrained(folder)
    with open(os.path.join(folder, "skempathy.json"), "w", encoding="utf-8") as handle:
        json.dump({"source": embedded_name(model) or str(model), "identity": identity}, handle)


class StaticEmbedder(_BaseEmbedder):
    """Embed texts with static token vectors: a sentence-transformer at a fraction of its cost.

    A static model (`model2vec <https://github.com/MinishLab/model2vec>`_) keeps
    one vector per token, distilled from a sentence-transformer; a text's
    embedding is the mean of its tokens' vectors, so encoding is a tokenizer
    and a table lookup, with no network to run: hundreds of times the texts per
    second of the model it comes from, on any CPU, at a small loss of quality.
    Distillation runs once, offline, and is stored under the data home (see
    :func:`distill_static_model`); everything else behaves as in
    :class:`SentenceEmbedder`: the embedding cache, ``get_feature_names_out``,
    pickling (by name, or with the vectors inside with ``embed_weights=True``).

    Parameters
    ----------
    model : str or path-like, default="all-MiniLM-L6-v2"
        The sentence-transformer to distil (an embedded name such as
        ``"all-MiniLM-L6-v2"`` or ``"all-mpnet-base-v2"``, a local folder or a
        hub name; a ``"static-"`` prefix, as in ``"static-minilm"``, is
        accepted), or a ready model2vec model: a local folder, or a hub name
        such as ``"minishlab/potion-base-8M"`` for users of the hub.
    pca_dims : int or None, default=None
        Dimensions of the distilled vectors; None keeps the model's own (384 for MiniLM).
        Ignored for a ready model2vec model.
    batch_size : int, default=1024
        Texts per batch of the tokenizer.
    normalize : bool, default=True
        L2-normalise the embeddings (as model2vec's distilled models do).
    max_length : int or None, default=None
        Maximum tokens per text; None keeps model2vec's limit (512).
    cache : None, bool, "memory", str, path-like or joblib.Memory, default=None
        See :class:`SentenceEmbedder`.
    show_progress : bool or "auto", default="auto"
        Show a progress bar while encoding; ``"auto"`` shows it for 256+ texts
        on an interactive terminal.
    embed_weights : bool, default=False
        Store the static model's files (about 22 MB for MiniLM) inside the
        pickle or skops file, so that the artifact loads where the model was
        never distilled. Loading unpacks them once into
        ``<data home>/models/<sha256>``.

    Attributes
    ----------
    model_path_ : str
        The folder of the static model.
    device_ : str
        Always ``"cpu"``.
    precision_ : str
        Always ``"fp32"`` (the vectors are stored in float16 and averaged in float32).
    embedding_dim_ : int
        Number of output features.
    model_identity_ : str
        Identity of the vectors: the source weights and the distillation
        settings, or the SHA-256 of a ready model's files.
    n_features_in_ : int
        Always 1 (one text column).
    feature_names_in_ : ndarray of shape (1,)
        Name of the text column, when fitted on a one-column DataFrame.

    See Also
    --------
    SentenceEmbedder : The sentence-transformer itself: slower, more accurate.
    distill_static_model : The distillation, stored once under the data home.

    Examples
    --------
    >>> from skempathy.text import StaticEmbedder
    >>> emb = StaticEmbedder().fit(["I feel so sorry for them."])  # doctest: +SKIP
    >>> emb.transform(["I feel so sorry for them.", "What a relief!"]).shape  # doctest: +SKIP
    (2, 384)
    """

    _parameter_constraints = {
        "model": [str, os.PathLike],
        "pca_dims": [Interval(Integral, 2, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "normalize": ["boolean"],
        "max_length": [Interval(Integral, 1, None, closed="left"), None],
        "cache": [None, "boolean", StrOptions({"memory"}), str, os.PathLike, HasMethods(["cache"])],
        "show_progress": ["boolean", StrOptions({"auto"})],
        "embed_weights": ["boolean"],
    }

    # a static model runs on the CPU in numpy: no device or precision to choose
    device = "cpu"
    precision = "fp32"

    def __init__(
        self,
        model="all-MiniLM-L6-v2",
        *,
        pca_dims=None,
        batch_size=1024,
        normalize=True,
        max_length=None,
        cache=None,
        show_progress="auto",
        embed_weights=False,
    ):
        self.model = model
        self.pca_dims = pca_dims
        self.batch_size = batch_size
        self.normalize = normalize
        self.max_length = max_length
        self.cache = cache
        self.show_progress = show_progress
        self.embed_weights = embed_weights

    # -- where the vectors are, and what they are --------------------------------
    def _source(self):
        source = static_source(self.model)
        return self.model if source is None else source

    def _is_ready_model(self):
        """A model2vec model used as it is (a local folder, or a hub name that is not a
        sentence-transformer we can distil)."""
        source = self._source()
        if embedded_name(source) is not None:
            return False
        path = resolve_model(source)
        if os.path.isdir(path):
            return _is_static_folder(path)
        return _hub_is_static(path)

    def _resolve_path(self):
        _require_model2vec()
        source = self._source()
        if self._is_ready_model():
            return resolve_model(source)
        return distill_static_model(source, pca_dims=self.pca_dims)

    def _identity(self):
        path = getattr(self, "model_path_", None)
        ready = self._is_ready_model()
        if self.embed_weights or (ready and path and os.path.isdir(path)):
            return checkpoint_digest(path)  # the files themselves
        if ready:
            return str(self._source())  # a hub name
        dims = None if self.pca_dims is None else int(self.pca_dims)
        return _distillation_identity(self._source(), dims, _SIF_COEFFICIENT)

    def _relocate(self):
        # a distilled model is found again (or distilled again) wherever the artifact loads
        return not self.embed_weights and not self._is_ready_model()

    # -- the model ----------------------------------------------------------------
    def _load_model(self, path, device):
        from model2vec import StaticModel

        return StaticModel.from_pretrained(path, force_download=False)

    def _apply_precision(self, model, precision, device):
        return model

    def _embedding_dim(self, model):
        return model.dim

    def _output_settings(self, model):
        import model2vec

        return {
            "max_length": self.max_length,
            "normalize": bool(self.normalize),
            "library": "model2vec " + ".".join(model2vec.__version__.split(".")[:2]),
        }

    def _encode(self, model, texts, show_progress):
        kwargs = {} if self.max_length is None else {"max_length": int(self.max_length)}
        return model.encode(
            list(texts),
            show_progress_bar=show_progress,
            normalize=bool(self.normalize),
            batch_size=self.batch_size,
            **kwargs,
        )


@functools.lru_cache(maxsize=None)
def _hub_is_static(name):
    """Whether a hub name is a model2vec model; False when the hub cannot be reached (the
    name is then distilled, which fails with the hub's own error if it is not a checkpoint)."""
    try:
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(name, "config.json")
    except Exception:  # offline, unknown repository, no config: not a ready static model
        return False
    return _is_static_folder(os.path.dirname(path))
