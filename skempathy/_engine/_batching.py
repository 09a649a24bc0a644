"""Tokenisation without padding, length-grouped batches and dynamic padding."""

import warnings

import numpy as np


def tokenize(tokenizer, texts, max_length, *, who="", add_special_tokens=True):
    """Tokenise texts without padding; truncate to ``max_length`` with one warning.

    Returns
    -------
    input_ids : list of list of int
    n_truncated : int
        How many texts were longer than ``max_length`` tokens.
    """
    enc = tokenizer(
        list(texts), add_special_tokens=add_special_tokens, truncation=False, verbose=False
    )
    ids = enc["input_ids"]
    long = [i for i, row in enumerate(ids) if len(row) > max_length]
    if long:
        trunc = tokenizer(
            [texts[i] for i in long],
            add_special_tokens=add_special_tokens,
            truncation=True,
            max_length=max_length,
            verbose=False,
        )["input_ids"]
        for i, row in zip(long, trunc):
            ids[i] = row
        warnings.warn(
            f"{who}{len(long)} of {len(ids)} texts are longer than max_length={max_length} "
            "tokens and were truncated. Increase max_length to keep more text.",
            UserWarning,
            stacklevel=3,
        )
    return ids, len(long)


def length_grouped_batches(lengths, batch_size, *, shuffle=False, rng=None, mega_batch=50):
    """Split ``range(len(lengths))`` into batches of texts of similar length.

    Parameters
    ----------
    lengths : sequence of int
        Token counts.
    batch_size : int
    shuffle : bool, default=False
        Training mode: shuffle, cut into mega-batches of ``mega_batch *
        batch_size`` items, sort each mega-batch by length, cut into batches
        and shuffle the batch order (randomness stays, padding shrinks).
        Inference mode (False): sort everything by length, longest first.
    rng : numpy.random.RandomState, optional
        Source of randomness when ``shuffle`` is True.

    Returns
    -------
    list of ndarray of int
    """
    lengths = np.asarray(lengths)
    n = len(lengths)
    if not shuffle:
        order = np.argsort(-lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    rng = np.random.RandomState(0) if rng is None else rng
    perm = rng.permutation(n)
    chunk = max(batch_size * mega_batch, batch_size)
    batches = []
    for start in range(0, n, chunk):
        part = perm[start : start + chunk]
        part = part[np.argsort(-lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def pad(input_ids, pad_token_id, pad_to=None):
    """Pad a batch of token-id lists to its longest member (or to ``pad_to``).

    Numpy only, so that the ONNX predictor pads without torch.

    Returns
    -------
    dict with ``input_ids`` and ``attention_mask`` (``int64`` arrays).
    """
    width = max(len(r) for r in input_ids) if pad_to is None else int(pad_to)
    ids = np.full((len(input_ids), width), int(pad_token_id), dtype=np.int64)
    mask = np.zeros((len(input_ids), width), dtype=np.int64)
    for i, row in enumerate(input_ids):
        row = row[:width]
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def collate(input_ids, pad_token_id, pad_to=None):
    """:func:`pad` as ``torch.long`` tensors (``input_ids``, ``attention_mask``)."""
    import torch

    return {k: torch.from_numpy(v) for k, v in pad(input_ids, pad_token_id, pad_to).items()}


def pad_token_id(tokenizer):
    """The id used for padding (pad, then eos, then 0)."""
    for attr in ("pad_token_id", "eos_token_id"):
        value = getattr(tokenizer, attr, None)
        if value is not None:
            return int(value)
    return 0


def to_device(obj, device):
    """Move tensors (possibly nested in mappings/lists/tuples) to ``device``."""
    from collections.abc import Mapping

    import torch

    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, Mapping):  # dicts, and tokenizers' BatchEncoding
        return {k: to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device) for v in obj)
    return obj


def batch_len(batch):
    from collections.abc import Mapping

    import torch

    if isinstance(batch, Mapping):
        for value in batch.values():
            if isinstance(value, torch.Tensor) and value.ndim > 0:
                return int(value.shape[0])
    if isinstance(batch, (list, tuple)) and batch:
        return batch_len(batch[0])
    if isinstance(batch, torch.Tensor) and batch.ndim > 0:
        return int(batch.shape[0])
    return 1
