"""Bi-encoder response retrieval and its metrics (P@k,n and corpus BLEU)."""

import contextlib
import numbers
import os
import warnings
from types import SimpleNamespace

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..utils._sklearn_compat import Interval, StrOptions, _fit_context
from ..base import TextInputMixin, check_texts
from .._models import resolve_device, resolve_model
from ..utils._progress import show_progress
from .. import _engine as T

__all__ = [
    "BiEncoderRetriever",
    "precision_at_k",
    "corpus_bleu_score",
    "precision_at_k_scorer",
    "bleu_scorer",
]


def precision_at_k(scores, target=None, *, k=1, n_candidates=100, random_state=0):
    """Share of queries whose true response ranks in the top ``k`` of a candidate pool.

    ``P@1,100`` (EmpatheticDialogues' retrieval metric) is ``k=1,
    n_candidates=100``: the true response plus 99 responses of other queries
    drawn at random. Ties count against the true response.

    Parameters
    ----------
    scores : array-like of shape (n_queries, n_responses)
        Similarity of every query to every response.
    target : array-like of shape (n_queries,), default=None
        Column of each query's true response. None: the diagonal (``scores``
        must be square, query i answered by response i).
    k : int, default=1
        A query is a hit when its true response is among the ``k`` best.
    n_candidates : int or None, default=100
        Pool size per query including the true response; distractors are
        drawn without replacement from the other columns. None, or a value
        of at least ``n_responses``, uses every column.
    random_state : int, RandomState instance or None, default=0
        Seeds the distractor draw.

    Returns
    -------
    float
        Precision at k in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from skempathy.dialogue import precision_at_k
    >>> scores = np.array([[0.9, 0.1, 0.3],
    ...                    [0.8, 0.5, 0.2],
    ...                    [0.1, 0.7, 0.6]])
    >>> precision_at_k(scores, k=1, n_candidates=None)  # only query 0 ranks its response first
    0.3333333333333333
    >>> precision_at_k(scores, k=2, n_candidates=None)
    1.0
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (queries x responses), got shape {scores.shape}.")
    n_q, n_r = scores.shape
    if target is None:
        if n_q != n_r:
            raise ValueError(
                f"scores has shape {scores.shape}; pass target= for a non-square score matrix."
            )
        target = np.arange(n_q)
    target = np.asarray(target)
    if target.shape != (n_q,) or not np.issubdtype(target.dtype, np.integer):
        raise ValueError("target must hold one integer column index per query.")
    if (target < 0).any() or (target >= n_r).any():
        raise ValueError("target holds a column index outside the score matrix.")
    if not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    if np.isnan(scores).any():
        raise ValueError("scores contains NaN.")
    true = scores[np.arange(n_q), target]
    if n_candidates is None or n_candidates >= n_r:
        better = (scores >= true[:, None]).sum(axis=1) - 1  # minus the true response itself
        return float(np.mean(better < k))
    if n_candidates < 2:
        raise ValueError(f"n_candidates must be at least 2, got {n_candidates}.")
    rng = check_random_state(random_state)
    hits = 0
    for i in range(n_q):
        others = rng.choice(n_r - 1, size=n_candidates - 1, replace=False)
        others = others + (others >= target[i])  # skip the true column
        better = int((scores[i, others] >= true[i]).sum())
        hits += better < k
    return hits / n_q


def corpus_bleu_score(
    references, hypotheses, *, max_order=4, average_orders=False, tokenize="13a", lowercase=False
):
    """Corpus BLEU (0-100) of ``hypotheses`` against one reference each, via sacrebleu.

    BLEU-n is the brevity-penalised geometric mean of the 1- to n-gram
    precisions. Dialogue papers often report the mean of BLEU-1 to BLEU-4
    (``average_orders=True``), which rewards a response that shares words
    with the reference even when it shares no 4-gram.

    Parameters
    ----------
    references : sequence of str
        Reference responses.
    hypotheses : sequence of str
        Generated or retrieved responses, aligned with ``references``.
    max_order : int, default=4
        Longest n-gram: 4 gives BLEU-4, 1 gives BLEU-1.
    average_orders : bool, default=False
        Return the mean of BLEU-1, ..., BLEU-``max_order``.
    tokenize : str, default="13a"
        sacrebleu tokenizer (``"13a"`` is the WMT standard, ``"none"`` for
        pre-tokenised text).
    lowercase : bool, default=False
        Case-insensitive BLEU.

    Returns
    -------
    float

    Examples
    --------
    >>> from skempathy.dialogue import corpus_bleu_score
    >>> round(corpus_bleu_score(["I am so sorry to hear that ."],
    ...                         ["I am so sorry to hear that ."]), 2)
    100.0
    >>> refs, hyps = ["I am so sorry to hear that ."], ["so sorry , that is sad ."]
    >>> round(corpus_bleu_score(refs, hyps, max_order=1), 1)
    49.5
    >>> round(corpus_bleu_score(refs, hyps, average_orders=True), 1)
    27.1
    """
    from sacrebleu.metrics import BLEU

    references = check_texts(references, allow_empty=True, estimator="corpus_bleu_score")
    hypotheses = check_texts(hypotheses, allow_empty=True, estimator="corpus_bleu_score")
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses.")
    if not isinstance(max_order, numbers.Integral) or max_order < 1:
        raise ValueError(f"max_order must be a positive integer, got {max_order!r}.")
    orders = range(1, max_order + 1) if average_orders else [max_order]
    scores = [
        BLEU(max_ngram_order=n, tokenize=tokenize, lowercase=lowercase)
        .corpus_score(hypotheses, [references])
        .score
        for n in orders
    ]
    return float(np.mean(scores))


def precision_at_k_scorer(k=1, n_candidates=100, random_state=0):
    """A scorer ``(retriever, contexts, responses) -> P@k,n`` for sklearn model selection.

    Parameters
    ----------
    k : int, default=1
        A hit is the true response among the ``k`` best ranked.
    n_candidates : int, default=100
        Candidates per context: the true response and ``n_candidates - 1`` others.
    random_state : int, RandomState instance or None, default=0
        Draws the other candidates.

    Examples
    --------
    >>> from skempathy.dialogue import precision_at_k_scorer
    >>> scorer = precision_at_k_scorer(k=1, n_candidates=100)
    """

    def scorer(estimator, X, y):
        return precision_at_k(
            estimator.similarity(X, y), k=k, n_candidates=n_candidates, random_state=random_state
        )

    scorer.__name__ = f"precision_at_{k}_{n_candidates}"
    return scorer


def bleu_scorer(candidates=None, **bleu_kw):
    """A scorer ``(retriever, contexts, responses) -> corpus BLEU`` of the top-1 retrieved response.

    Parameters
    ----------
    candidates : sequence of str, default=None
        Response pool to retrieve from (default: the responses of the scored
        data, i.e. retrieval among the evaluation responses).
    **bleu_kw
        Passed to :func:`corpus_bleu_score`.
    """

    def scorer(estimator, X, y):
        y = check_texts(y, estimator="bleu_scorer")
        pool = y if candidates is None else candidates
        return corpus_bleu_score(y, estimator.predict(X, candidates=pool), **bleu_kw)

    scorer.__name__ = "bleu"
    return scorer


class BiEncoderRetriever(T.TrainingTemplate, TextInputMixin, BaseEstimator):
    """Response retrieval with a bi-encoder trained on (context, response) pairs.

    Contexts and responses are embedded by the same sentence-transformers model
    and ranked by cosine similarity. ``fit`` fine-tunes the model with
    sentence-transformers' ``MultipleNegativesRankingLoss``: within a batch,
    each context must pick its own response among the batch's responses
    (in-batch negatives), so larger batches give harder training.

    Parameters
    ----------
    model : str, default="minilm"
        Sentence-transformers model name or local path (embedded names such as
        ``"minilm"`` work offline; a plain transformers folder gets mean
        pooling).
    batch_size : int, default=32
        Training batch size (= 1 positive + ``batch_size - 1`` in-batch
        negatives per context) and encoding batch size.
    epochs : int, default=1
        Training epochs; 0 keeps the pretrained model (zero-shot retrieval).
    learning_rate : float, default=2e-5
        AdamW learning rate (linear warm-up then linear decay).
    warmup_ratio : float, default=0.1
        Share of the steps used for warm-up.
    weight_decay : float, default=0.01
        AdamW weight decay.
    scale : float, default=20.0
        Inverse temperature of the ranking loss (sentence-transformers' default).
    max_seq_length : int, default=128
        Tokens kept per text (contexts keep their last part when
        ``truncate_context="left"``).
    truncate_context : {"left", "right"}, default="left"
        Which end of a long context to keep: ``"left"`` keeps the most recent
        turns.
    n_candidates : int, default=100
        Pool size used by :meth:`score` (P@1,100 by default).
    device : str, default="auto"
        Torch device.
    random_state : int or None, default=None
        Seeds batch order and torch.
    show_progress : bool, default=False
        Show tqdm progress bars.

    Attributes
    ----------
    model_ : SentenceTransformer
        The (fine-tuned) encoder.
    candidates_ : list of str
        The training responses, the default pool of :meth:`predict`.
    history_ : list of dict
        Per-epoch records of the shared training loop: ``epoch``, ``train_loss``,
        ``learning_rate``, ``n_samples`` (pairs trained on), ``duration_s`` and
        ``samples_per_s``.

    Examples
    --------
    >>> from skempathy.dialogue import BiEncoderRetriever
    >>> contexts = ["I lost my dog today.", "I got the job!"]
    >>> responses = ["I'm so sorry, that must hurt.", "Congratulations, well deserved!"]
    >>> retriever = BiEncoderRetriever(epochs=0).fit(contexts, responses)
    >>> retriever.predict(["My cat died."])
    ["I'm so sorry, that must hurt."]
    """

    _parameter_constraints = {
        "model": [str, os.PathLike],
        "batch_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "warmup_ratio": [Interval(numbers.Real, 0, 1, closed="both")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_seq_length": [Interval(numbers.Integral, 8, None, closed="left")],
        "truncate_context": [StrOptions({"left", "right"})],
        "n_candidates": [Interval(numbers.Integral, 2, None, closed="left")],
        "device": [str],
        "random_state": [None, numbers.Integral],
        "show_progress": ["boolean"],
    }

    def __init__(
        self,
        model="minilm",
        *,
        batch_size=32,
        epochs=1,
        learning_rate=2e-5,
        warmup_ratio=0.1,
        weight_decay=0.01,
        scale=20.0,
        max_seq_length=128,
        truncate_context="left",
        n_candidates=100,
        device="auto",
        random_state=None,
        show_progress=False,
    ):
        self.model = model
        self.batch_size = batch_size
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.warmup_ratio = warmup_ratio
        self.weight_decay = weight_decay
        self.scale = scale
        self.max_seq_length = max_seq_length
        self.truncate_context = truncate_context
        self.n_candidates = n_candidates
        self.device = device
        self.random_state = random_state
        self.show_progress = show_progress

    def _load(self):
        import logging

        from sentence_transformers import SentenceTransformer

        st_logger = logging.getLogger("sentence_transformers")
        level = st_logger.level
        st_logger.setLevel(logging.ERROR)  # "no sentence-transformers model found" for plain BERT
        from ..utils._progress import transformers_progress_off

        try:
            with transformers_progress_off():
                model = SentenceTransformer(resolve_model(self.model), device=self.device_)
        finally:
            st_logger.setLevel(level)
        model.max_seq_length = self.max_seq_length
        return model

    def _check_pairs(self, X, y):
        contexts = check_texts(X, estimator=self)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y: the responses to the contexts in X."
            )
        responses = check_texts(y, estimator=self)
        if len(contexts) != len(responses):
            raise ValueError(
                f"X has {len(contexts)} contexts but y has {len(responses)} responses."
            )
        return contexts, responses

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fine-tune the bi-encoder on (context, response) pairs.

        Parameters
        ----------
        X : array-like of str
            Contexts (e.g. the dialogue history joined into one string).
        y : array-like of str
            The response to each context.

        Returns
        -------
        self
        """
        contexts, responses = self._check_pairs(X, y)
        self._set_input_names(X)
        self.device_ = resolve_device(self.device)
        self.history_ = []
        seed = None if self.random_state is None else T.fit_seed(self.random_state)
        if self.epochs > 0:
            data = SimpleNamespace(contexts=contexts, responses=responses)
            self._train_module(data, device=self.device_, seed=seed)
            del self._ranking_loss  # holds the model: pickles carry model_ alone
        else:  # the pretrained bi-encoder as it is
            with contextlib.nullcontext() if seed is None else T.seeded(seed, self.device_):
                self.model_ = self._load()
        self.model_.eval()
        self.candidates_ = list(responses)
        return self

    @contextlib.contextmanager
    def _truncation(self, side):
        """Contexts keep the turns ``truncate_context`` says; responses their beginning."""
        tokenizer = self.model_.tokenizer
        old = getattr(tokenizer, "truncation_side", "right")
        if side == "context":
            tokenizer.truncation_side = self.truncate_context
        try:
            yield
        finally:
            tokenizer.truncation_side = old

    def _tokenize(self, texts, side):
        # sentence-transformers >= 6 calls it preprocess; older releases tokenize
        prepare = getattr(self.model_, "preprocess", None) or self.model_.tokenize
        with self._truncation(side):
            return prepare(list(texts))

    # ------------------------------------------------------ the template's hooks
    def _build_module(self, data, device):
        try:  # the module moved in sentence-transformers 6
            from sentence_transformers.sentence_transformer.losses import (
                MultipleNegativesRankingLoss,
            )
        except ImportError:  # pragma: no cover - sentence-transformers < 6
            from sentence_transformers.losses import MultipleNegativesRankingLoss

        self.model_ = self._load()
        self._ranking_loss = MultipleNegativesRankingLoss(self.model_, scale=self.scale)
        return self.model_

    def _epoch_batches(self, data, epoch, seed):
        n = len(data.contexts)
        order = T.epoch_rng(seed, epoch).permutation(n)
        return [
            [
                self._tokenize([data.contexts[i] for i in idx], "context"),
                self._tokenize([data.responses[i] for i in idx], "response"),
            ]
            for idx in (order[i : i + self.batch_size] for i in range(0, n, self.batch_size))
            if len(idx) > 1
        ]  # a single pair has no in-batch negative

    def _loss(self, module, pair):
        return self._ranking_loss(pair, None)

    def _loop_settings(self):
        return {
            "max_epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "warmup_ratio": self.warmup_ratio,
        }

    def _show_progress(self):
        return show_progress(self.show_progress)

    def _encode(self, texts, side):
        with self._truncation(side):
            emb = self.model_.encode(
                list(texts),
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=show_progress(self.show_progress),
            )
        return np.asarray(emb, dtype=np.float32)

    def encode(self, X, *, side="context"):
        """Unit-norm embeddings of contexts (``side="context"``) or responses.

        Returns
        -------
        ndarray of shape (n_texts, dim)
        """
        check_is_fitted(self, "model_")
        if side not in ("context", "response"):
            raise ValueError(f"side must be 'context' or 'response', got {side!r}.")
        return self._encode(check_texts(X, estimator=self), side)

    def similarity(self, X, candidates):
        """Cosine similarity of every context in ``X`` to every candidate response.

        Returns
        -------
        ndarray of shape (n_contexts, n_candidates)
        """
        return self.encode(X, side="context") @ self.encode(candidates, side="response").T

    def rank(self, X, candidates, *, top_k=None):
        """Candidate indices per context, best first.

        Returns
        -------
        ndarray of shape (n_contexts, top_k or n_candidates)
        """
        sims = self.similarity(X, candidates)
        order = np.argsort(-sims, axis=1, kind="stable")
        return order if top_k is None else order[:, :top_k]

    def predict(self, X, candidates=None):
        """The best response for each context, retrieved from ``candidates``.

        Parameters
        ----------
        X : array-like of str
            Contexts.
        candidates : array-like of str, default=None
            Response pool (default: the training responses ``candidates_``).

        Returns
        -------
        list of str
        """
        check_is_fitted(self, "model_")
        pool = self.candidates_ if candidates is None else check_texts(candidates, estimator=self)
        best = self.rank(X, pool, top_k=1)[:, 0]
        return [pool[i] for i in best]

    def score(self, X, y):
        """P@1,``n_candidates`` of retrieving each true response in ``y`` among the others."""
        contexts, responses = self._check_pairs(X, y)
        check_is_fitted(self, "model_")
        if len(responses) < self.n_candidates:
            warnings.warn(
                f"Only {len(responses)} pairs: P@1 is computed among all of them "
                f"instead of {self.n_candidates} candidates.",
                UserWarning,
                stacklevel=2,
            )
        return precision_at_k(
            self.similarity(contexts, responses),
            k=1,
            n_candidates=self.n_candidates,
            random_state=0,
        )

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def __getstate__(self):
        state = self.__dict__.copy()
        model = state.get("model_")
        if model is not None and str(model.device) != "cpu":
            import copy

            state["model_"] = copy.deepcopy(model).to("cpu")
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        model = state.get("model_")
        if model is not None:
            self.device_ = resolve_device(self.device)
            if self.device_ != "cpu":
                try:
                    self.model_ = model.to(self.device_)
                except Exception:  # pragma: no cover - unavailable device: stay on CPU
                    self.device_ = "cpu"
