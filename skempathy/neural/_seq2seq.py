"""Classification as label generation: an encoder-decoder decoding only the label strings."""

from types import SimpleNamespace

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._docstring import Substitution
from ..utils._sklearn_compat import _fit_context
from ..base import TextInputMixin, check_texts, check_y_given
from . import _targets
from .. import _engine as T
from ._params import LOOP_PARAMS, shared_constraints, shared_param_docs

__all__ = ["Seq2SeqLabelClassifier"]


def _load_seq2seq(model):
    """``(tokenizer, model)``; an encoder-only checkpoint becomes a BERT2BERT encoder-decoder."""
    import logging

    import transformers

    from ..base import resolve_model

    from ..utils._progress import transformers_progress_off

    path = resolve_model(model)
    config = transformers.AutoConfig.from_pretrained(path)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    if getattr(config, "is_encoder_decoder", False):
        with transformers_progress_off():
            return tokenizer, transformers.AutoModelForSeq2SeqLM.from_pretrained(path)
    # Warm-start an encoder-decoder from an encoder (Rothe et al. 2020): the
    # decoder copies the encoder and gets new cross-attention layers.
    level = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity(logging.ERROR)
    try:
        with transformers_progress_off():
            net = transformers.EncoderDecoderModel.from_encoder_decoder_pretrained(path, path)
    finally:
        transformers.logging.set_verbosity(level)
    start = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    net.config.decoder_start_token_id = start if start is not None else T.pad_token_id(tokenizer)
    net.config.pad_token_id = T.pad_token_id(tokenizer)
    net.config.eos_token_id = _eos_id(tokenizer)
    for key in ("decoder_start_token_id", "pad_token_id", "eos_token_id"):
        setattr(net.generation_config, key, getattr(net.config, key))
    return tokenizer, net


def _eos_id(tokenizer):
    for attr in ("eos_token_id", "sep_token_id"):
        value = getattr(tokenizer, attr, None)
        if value is not None:
            return int(value)
    raise ValueError("The tokenizer has neither an end-of-sequence nor a separator token.")


# where the classifier differs from the fine-tuned estimators' shared parameters
_TEXT = {
    "batch_size": "Training and inference batch size.",
    "random_state": "Seeds torch (new weights, dropout) and the data order.",
}


@Substitution(**shared_param_docs(_TEXT))
class Seq2SeqLabelClassifier(
    T.TrainingTemplate,
    TextInputMixin,
    _targets.ClassScoresMixin,
    ClassifierMixin,
    T.PackedModelPickling,
    BaseEstimator,
):
    """Classify by generating the label's text with an encoder-decoder model.

    The Team Phoenix WASSA 2021 Track 2 system fine-tuned T5 to write the
    emotion word. Here training is teacher-forced cross-entropy on the label
    text, and decoding is *constrained*: every label sequence is scored
    (sum of its token log-probabilities given the input) and the best one
    wins, so an invalid label can never be produced (Phoenix had to map
    invalid generations to "neutral"). ``predict_proba`` is the softmax of
    the label sequences' scores over the label set.

    Parameters
    ----------
    model : str or path-like, default="all-MiniLM-L6-v2"
        Any sequence-to-sequence checkpoint (T5, BART, ... name or folder).
        An encoder-only checkpoint, such as the embedded MiniLM, is turned
        into a BERT2BERT encoder-decoder (decoder warm-started from the
        encoder, new cross-attention).
    prefix : str, default=""
        Text prepended to every input (T5 style, e.g. ``"emotion: "``).
    label_texts : dict, default=None
        Text to generate for each class (e.g. ``{{0: "none", 1: "seeking
        empathy"}}``). None uses ``str(label)``. Texts must be distinct.
    length_normalize : bool, default=False
        Score label sequences by their mean instead of their sum of token
        log-probabilities (matters when label texts differ in length).
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
    classes_ : ndarray
        The labels.
    label_texts_ : list of str
        Generated text of each class, aligned with ``classes_``.
    label_ids_ : list of list of int
        Token ids of each label text (ending with the end-of-sequence token).
    model_ : transformers model
        The fine-tuned encoder-decoder.
    tokenizer_ : transformers tokenizer
    history_ : list of dict
        Per-epoch training loss and timing.

    See Also
    --------
    skempathy.neural.TransformerClassifier : A classification head instead of generation.

    Examples
    --------
    >>> from skempathy.neural import Seq2SeqLabelClassifier
    >>> texts = ["so sad for them", "this makes me angry", "poor kids, heartbreaking",
    ...          "outrageous and unfair"]
    >>> clf = Seq2SeqLabelClassifier(max_epochs=1, max_length=32, random_state=0)
    >>> clf.fit(texts, ["sadness", "anger", "sadness", "anger"])  # doctest: +SKIP
    >>> set(clf.predict(["I cried"])) <= {{"anger", "sadness"}}  # doctest: +SKIP
    True
    """

    _parameter_constraints = shared_constraints(
        *LOOP_PARAMS, prefix=[str], label_texts=[None, dict], length_normalize=["boolean"]
    )

    def __init__(
        self,
        model="all-MiniLM-L6-v2",
        *,
        prefix="",
        label_texts=None,
        length_normalize=False,
        max_length=256,
        batch_size=16,
        learning_rate=0.0001,
        max_epochs=4,
        warmup_ratio=0.1,
        weight_decay=0.01,
        device="auto",
        precision="auto",
        fast_paths=True,
        random_state=None,
        verbose=0,
    ):
        self.model = model
        self.prefix = prefix
        self.label_texts = label_texts
        self.length_normalize = length_normalize
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

    _auto_class = "AutoModelForSeq2SeqLM"  # pickled as the whole encoder-decoder

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def _label_texts(self, classes):
        mapping = self.label_texts or {}
        texts = []
        for c in classes:
            key = c.item() if hasattr(c, "item") else c
            text = mapping.get(key, mapping.get(str(key), str(key)))
            if not isinstance(text, str) or not text.strip():
                raise ValueError(
                    f"{type(self).__name__}: label text for {key!r} must be a "
                    f"non-empty string, got {text!r}."
                )
            texts.append(text)
        if len(set(texts)) != len(texts):
            raise ValueError(f"{type(self).__name__}: label texts must be distinct, got {texts}.")
        return texts

    def _encode_inputs(self, texts):
        return T.tokenize(
            self.tokenizer_,
            [self.prefix + t for t in texts],
            self.max_length,
            who=f"{type(self).__name__}: ",
        )[0]

    def _loss(self, model, batch):
        return model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            labels=batch["labels"],
        ).loss

    def _label_matrix(self):
        import torch

        width = max(len(r) for r in self.label_ids_)
        labels = torch.full((len(self.label_ids_), width), -100, dtype=torch.long)
        for k, row in enumerate(self.label_ids_):
            labels[k, : len(row)] = torch.as_tensor(row)
        return labels

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fine-tune the encoder-decoder to generate each text's label.

        Parameters
        ----------
        X : array-like of str of shape (n_samples,)
            Texts.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : Seq2SeqLabelClassifier
            The fitted classifier.
        """
        from ..base import resolve_device

        check_y_given(y, self)
        classes, y_enc = _targets.encode_labels(y, type(self).__name__)
        texts = check_texts(X, estimator=self)
        if len(y) != len(texts):
            raise ValueError(
                f"{type(self).__name__}: X has {len(texts)} texts but y has {len(y)} labels."
            )
        self._set_input_names(X)
        label_texts = self._label_texts(classes)
        data = SimpleNamespace(texts=texts, y_enc=y_enc, classes=classes, label_texts=label_texts)
        self._train_module(
            data, device=resolve_device(self.device), seed=T.fit_seed(self.random_state)
        )
        self.model_.eval()
        return self

    # ------------------------------------------------------ the template's hooks
    def _build_module(self, data, device):
        tokenizer, net = _load_seq2seq(self.model)
        self.tokenizer_ = tokenizer
        eos = _eos_id(tokenizer)
        self.label_ids_ = [
            tokenizer(t, add_special_tokens=False)["input_ids"] + [eos] for t in data.label_texts
        ]
        if len({tuple(r) for r in self.label_ids_}) != len(self.label_ids_):
            raise ValueError(
                f"{type(self).__name__}: two label texts tokenize to the same "
                f"ids: {data.label_texts}."
            )
        self.classes_ = data.classes
        self.label_texts_ = data.label_texts
        self.device_ = device
        self.model_ = net.to(device)
        return self.model_

    def _prepare_data(self, data):
        data.ids = self._encode_inputs(data.texts)
        data.lengths = np.array([len(r) for r in data.ids])
        data.pad = T.pad_token_id(self.tokenizer_)
        data.label_matrix = self._label_matrix()

    def _epoch_batches(self, data, epoch, seed):
        import torch

        out = []
        for rows in T.length_grouped_batches(
            data.lengths, self.batch_size, shuffle=True, rng=T.epoch_rng(seed, epoch)
        ):
            batch = T.collate([data.ids[i] for i in rows], data.pad)
            batch["labels"] = data.label_matrix[torch.as_tensor(data.y_enc[rows])]
            out.append(batch)
        return out

    def _sequence_scores(self, model, batch):
        """Log-probability of every label sequence for every input: ``(batch, n_classes)``."""
        import torch

        labels = batch["label_matrix"]
        n_cls, width = labels.shape
        n = batch["input_ids"].shape[0]
        encoder = model.get_encoder()
        hidden = encoder(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state
        hidden = hidden.repeat_interleave(n_cls, dim=0)
        mask = batch["attention_mask"].repeat_interleave(n_cls, dim=0)
        tiled = labels.repeat(n, 1)
        out = model(encoder_outputs=(hidden,), attention_mask=mask, labels=tiled)
        logp = torch.log_softmax(out.logits.float(), dim=-1)
        valid = tiled != -100
        token_logp = logp.gather(-1, tiled.clamp(min=0).unsqueeze(-1)).squeeze(-1) * valid
        scores = token_logp.sum(-1)
        if self.length_normalize:
            scores = scores / valid.sum(-1)
        return scores.view(n, n_cls)

    def decision_function(self, X):
        """Log-probability of each label sequence, shape ``(n_samples, n_classes)``.

        Parameters
        ----------
        X : array-like of str

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        texts = check_texts(X, estimator=self)
        ids = self._encode_inputs(texts)
        pad = T.pad_token_id(self.tokenizer_)
        label_matrix = self._label_matrix()
        order = T.length_grouped_batches([len(r) for r in ids], self.batch_size)

        def make(rows):
            batch = T.collate([ids[i] for i in rows], pad)
            batch["label_matrix"] = label_matrix
            return rows, batch

        return T.predict_loop(
            self.model_,
            (make(r) for r in order),
            self._sequence_scores,
            len(ids),
            device=self.device_,
            precision=self.precision,
            show_progress=self.verbose > 1,
        ).astype(np.float64)

    def _class_scores(self, X):
        return self.decision_function(X)

    def generate(self, X, max_new_tokens=8):
        """Unconstrained greedy generation, decoded to text (for inspection).

        This is what an unconstrained system outputs; it may be any string,
        unlike :meth:`predict`.
        """
        import torch

        check_is_fitted(self)
        texts = check_texts(X, estimator=self)
        ids = self._encode_inputs(texts)
        batch = T.to_device(T.collate(ids, T.pad_token_id(self.tokenizer_)), self.device_)
        with torch.no_grad():
            config = self.model_.config
            out = self.model_.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                decoder_start_token_id=config.decoder_start_token_id,
                pad_token_id=config.pad_token_id,
                eos_token_id=config.eos_token_id,
            )
        return [s.strip() for s in self.tokenizer_.batch_decode(out, skip_special_tokens=True)]
