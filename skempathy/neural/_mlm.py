"""Unsupervised domain adaptation: continued masked-language-model pre-training."""

import numbers
import os
import tempfile

from types import SimpleNamespace

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._docstring import Substitution
from ..utils._sklearn_compat import Interval, _fit_context
from ..base import TextInputMixin, check_texts
from .. import _engine as T
from ._params import LOOP_PARAMS, shared_constraints, shared_param_docs

__all__ = ["MaskedLMAdapter"]


# where the adapter differs from the fine-tuned estimators' shared parameters
_TEXT = {
    "random_state": "Seeds the masking, the data order and the head initialisation.",
    "verbose": "1 shows a progress bar per epoch.",
}


@Substitution(**shared_param_docs(_TEXT))
class MaskedLMAdapter(T.TrainingTemplate, TextInputMixin, TransformerMixin, BaseEstimator):
    """Continue masked-language-model pre-training on unlabelled in-domain texts.

    The ``PRETRAIN-*`` setting of Hosseini & Caragea (2021): before fine-tuning
    on the few labelled essays, the encoder reads unlabelled texts of the
    target domain with the BERT masking objective (transformers'
    ``DataCollatorForLanguageModeling``: ``mlm_probability`` of the tokens
    are selected, 80 % of them replaced by ``[MASK]``, 10 % by a random token).
    ``fit`` writes the adapted encoder and its tokenizer to a local folder,
    ``checkpoint_path_``, which every other estimator accepts as ``model=``
    (``TransformerClassifier``, ``TransformerRegressor``, ``SentenceEmbedder``,
    ``TokenAttentionClassifier``, ...). As a transformer, the adapter also
    returns mean-pooled embeddings of the adapted encoder.

    Parameters
    ----------
    model : str or path-like, default="all-MiniLM-L6-v2"
        Encoder to adapt: an embedded name, a local folder or a hub name.
        Checkpoints without a masked-LM head (such as the sentence-transformers
        MiniLM) get a freshly initialised head whose output layer is tied to
        the word embeddings.
    mlm_probability : float, default=0.15
        Fraction of tokens selected for prediction.
    output_dir : str or path-like, default=None
        Where the adapted checkpoint is written. None creates a new temporary
        folder (``skempathy-mlm-*``) in the system temp directory; it is not
        deleted automatically.
    {max_length}
    {batch_size}
    {learning_rate}
    {max_epochs}
    {warmup_ratio}
    {weight_decay}
    {device}
    {precision}
    {fast_paths}
    {random_state}
    {verbose}

    Attributes
    ----------
    checkpoint_path_ : str
        Folder with the adapted encoder (``config.json``, weights, tokenizer
        files); load it with ``AutoModel``/``AutoTokenizer`` or pass it as
        ``model=`` to any skempathy estimator.
    history_ : list of dict
        Per-epoch ``train_loss`` (masked-LM cross-entropy) and timing.
    n_features_out_ : int
        Size of the embeddings returned by :meth:`transform`.

    See Also
    --------
    skempathy.neural.TransformerClassifier : Fine-tune the adapted encoder.

    Examples
    --------
    >>> from skempathy.neural import MaskedLMAdapter, TransformerClassifier
    >>> texts = ["The families lost everything in the flood.",
    ...          "Volunteers helped the children find shelter."] * 4
    >>> adapter = MaskedLMAdapter(max_epochs=1, max_length=32, random_state=0)
    >>> path = adapter.fit(texts).checkpoint_path_
    >>> clf = TransformerClassifier(model=path, max_epochs=1, max_length=32)
    >>> clf.fit(texts, [0, 1] * 4).predict(texts[:2]).shape
    (2,)
    """

    _parameter_constraints = shared_constraints(
        *LOOP_PARAMS,
        mlm_probability=[Interval(numbers.Real, 0, 1, closed="neither")],
        output_dir=[None, str, os.PathLike],
        max_length=[Interval(numbers.Integral, 4, None, closed="left")],
    )

    def __init__(
        self,
        model="all-MiniLM-L6-v2",
        *,
        mlm_probability=0.15,
        output_dir=None,
        max_length=128,
        batch_size=16,
        learning_rate=5e-5,
        max_epochs=1,
        warmup_ratio=0.1,
        weight_decay=0.01,
        device="auto",
        precision="auto",
        fast_paths=True,
        random_state=None,
        verbose=0,
    ):
        self.model = model
        self.mlm_probability = mlm_probability
        self.output_dir = output_dir
        self.max_length = max_length
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.warmup_ratio = warmup_ratio
        self.weight_decay = weight_decay
        self.device = device
        self.precision = precision
        self.fast_paths = fast_paths
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_is_fitted__(self):
        return hasattr(self, "checkpoint_path_")

    def _load_mlm(self, path):
        import transformers

        from ..base import resolve_model

        path = resolve_model(path)
        tokenizer = transformers.AutoTokenizer.from_pretrained(path)
        if tokenizer.mask_token_id is None:
            raise ValueError(
                f"{type(self).__name__}: the tokenizer of {self.model!r} has no mask token, "
                "so masked-language-model training is impossible."
            )
        import logging

        level = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity(logging.ERROR)  # "newly initialised head" notice
        from ..utils._progress import transformers_progress_off

        try:
            with transformers_progress_off():
                net = transformers.AutoModelForMaskedLM.from_pretrained(path)
        finally:
            transformers.logging.set_verbosity(level)
        return tokenizer, net

    def _batches(self, tokenizer, ids, rows, seed):
        """Masked batches for ``rows`` (the masking is seeded per batch)."""
        from transformers import DataCollatorForLanguageModeling

        collator = DataCollatorForLanguageModeling(
            tokenizer, mlm=True, mlm_probability=self.mlm_probability, return_tensors="pt"
        )
        out = []
        for k, batch_rows in enumerate(rows):
            with T.seeded(int(seed) + k):  # leaves the caller's torch RNG as it was
                out.append(dict(collator([{"input_ids": ids[i]} for i in batch_rows])))
        return out

    # ------------------------------------------------------ the template's hooks
    def _build_module(self, data, device):
        data.tokenizer, net = self._load_mlm(self.model)
        return net.to(device)

    def _prepare_data(self, data):
        who = f"{type(self).__name__}: "
        data.ids, _ = T.tokenize(data.tokenizer, data.texts, self.max_length, who=who)
        data.lengths = np.array([len(r) for r in data.ids])

    def _epoch_batches(self, data, epoch, seed):
        rng = T.epoch_rng(seed, epoch)
        rows = T.length_grouped_batches(data.lengths, self.batch_size, shuffle=True, rng=rng)
        return self._batches(data.tokenizer, data.ids, rows, seed + 104729 * (epoch + 1))

    @staticmethod
    def _loss(model, batch):
        return model(**batch).loss

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Adapt the encoder to the texts ``X`` and save it to ``checkpoint_path_``.

        Parameters
        ----------
        X : array-like of str of shape (n_samples,)
            Unlabelled texts of the target domain.
        y : None
            Ignored.

        Returns
        -------
        self : MaskedLMAdapter
            The fitted adapter.
        """
        texts = check_texts(X, estimator=self)
        self._set_input_names(X)
        from ..base import resolve_device

        data = SimpleNamespace(texts=texts)
        net = self._train_module(
            data, device=resolve_device(self.device), seed=T.fit_seed(self.random_state)
        )
        tokenizer = data.tokenizer
        out = self.output_dir
        if out is None:
            out = tempfile.mkdtemp(prefix="skempathy-mlm-")
        out = os.fspath(out)
        os.makedirs(out, exist_ok=True)
        net.to("cpu")
        # Encoder + masked-LM head: AutoModel (and so sentence-transformers and
        # every task head) loads the encoder part and ignores the head.
        net.save_pretrained(out)
        tokenizer.save_pretrained(out)
        self.checkpoint_path_ = out
        self.n_features_out_ = int(net.config.hidden_size)
        self._encoder = None
        return self

    def _encoder_and_tokenizer(self):
        if getattr(self, "_encoder", None) is None:
            import transformers

            from ..utils._progress import transformers_progress_off

            tokenizer = transformers.AutoTokenizer.from_pretrained(self.checkpoint_path_)
            with transformers_progress_off():
                encoder = transformers.AutoModel.from_pretrained(self.checkpoint_path_)
            self._encoder = (encoder.eval(), tokenizer)
        return self._encoder

    def transform(self, X):
        """Mean-pooled token states of the adapted encoder.

        Parameters
        ----------
        X : array-like of str of shape (n_samples,)

        Returns
        -------
        ndarray of shape (n_samples, hidden_size)
        """
        check_is_fitted(self)
        texts = check_texts(X, estimator=self)
        encoder, tokenizer = self._encoder_and_tokenizer()
        ids, _ = T.tokenize(tokenizer, texts, self.max_length, who=f"{type(self).__name__}: ")
        pad = T.pad_token_id(tokenizer)
        order = T.length_grouped_batches([len(r) for r in ids], self.batch_size * 2)

        def fwd(m, b):
            out = m(input_ids=b["input_ids"], attention_mask=b["attention_mask"])
            return T.pool(out.last_hidden_state, b["attention_mask"], "mean")

        batches = ((rows, T.collate([ids[i] for i in rows], pad)) for rows in order)
        return T.predict_loop(encoder, batches, fwd, len(ids), show_progress=self.verbose > 1)

    def get_feature_names_out(self, input_features=None):
        """Names ``maskedlmadapter0``, ``maskedlmadapter1``, ..."""
        check_is_fitted(self)
        return np.asarray(
            [f"maskedlmadapter{i}" for i in range(self.n_features_out_)], dtype=object
        )

    def masked_lm_loss(self, X, model=None, random_state=0):
        """Mean masked-LM cross-entropy of a checkpoint on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of str
            Texts to score.
        model : str or path-like, default=None
            Checkpoint to score; None scores the adapted one. Pass the
            starting checkpoint (``self.model``) to measure the adaptation.
        random_state : int, default=0
            Seeds the masking so two checkpoints see the same masks.

        Returns
        -------
        float
        """
        import torch

        texts = check_texts(X, estimator=self)
        path = self.checkpoint_path_ if model is None else model
        if model is None:
            check_is_fitted(self)
        # forked RNG: loading (fresh MLM-head init) and masking leave the caller's RNG alone
        with T.seeded(int(random_state)):
            tokenizer, net = self._load_mlm(path)
        net.eval()
        ids, _ = T.tokenize(tokenizer, texts, self.max_length, who=f"{type(self).__name__}: ")
        rows = T.length_grouped_batches([len(r) for r in ids], self.batch_size)
        total, count = 0.0, 0
        with torch.no_grad():
            for batch in self._batches(tokenizer, ids, rows, random_state):
                n = int((batch["labels"] != -100).sum())
                total += float(net(**batch).loss) * n
                count += n
        return total / max(count, 1)

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_encoder", None)
        return state
