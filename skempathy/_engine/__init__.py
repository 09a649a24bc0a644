"""The training engine under every torch estimator: private, and the bottom of the torch half.

It imports no estimator package (``skempathy.text``, ``skempathy.neural`` and everything above
them build on it; the layers are enforced by the import-linter contracts in ``pyproject.toml``).
The pieces, in the order a ``fit`` uses them:

``load_pretrained(model, auto_class="AutoModel")`` (:mod:`._packing`)
    ``(tokenizer, model)`` from an embedded name, a local path or a hub name.
``tokenize``, ``length_grouped_batches``, ``pad``, ``collate`` (:mod:`._batching`)
    Un-padded token ids (one truncation warning per call); batches of texts of similar length
    (shuffled mega-batches sorted by length when training, fully sorted for inference);
    dynamic padding to the longest member, as numpy arrays (the ONNX predictor pads without
    torch) or torch tensors.
``make_transformer_module`` (:mod:`._modules`)
    Encoder + pooling (mean, max or CLS) + optional numeric side inputs + one linear head per
    task; ``forward`` returns ``{task: logits}``, ``embed`` the pooled text vectors.
``train_loop(model, batches, loss_fn, ...)`` (:mod:`._loop`)
    AdamW (no decay on biases and norms), linear warm-up and decay, gradient accumulation,
    autocast (:mod:`._precision`), clipping, per-epoch history, early stopping with best-epoch
    restore, interrupt handling, callbacks; the CPU fast paths of :mod:`._fast_paths` and the
    data-parallel steps of :mod:`._parallel`.
``predict_loop(model, batches, forward_fn, n_samples)`` (:mod:`._loop`)
    ``eval()`` + ``inference_mode`` (+ autocast) over ``(indices, batch)`` pairs, answers in
    input order: the one loop behind every prediction and every embedding.
``PackedModelPickling``, ``pack_pretrained``, ``pack_state_dict`` (:mod:`._packing`)
    Device-independent pickles: config and tokenizer files as bytes, weights as safetensors.
``TrainingTemplate`` (:mod:`._template`)
    The one ``fit`` of every estimator that trains a module: it seeds, builds the module through
    the estimator's hooks, runs ``train_loop`` and records the history; the estimators write
    hooks (build the module, batches, loss, evaluation, callbacks), never the loop call.
``seeded(seed)`` (:mod:`._seeding`)
    Seeds torch for one block of work without touching the caller's RNG.

Heavy imports (torch, transformers, tqdm) happen inside functions, so importing the engine is
cheap.
"""

from ._batching import (
    collate,
    length_grouped_batches,
    pad,
    pad_token_id,
    to_device,
    tokenize,
)
from ._loop import Callback, cpu_state_dict, make_optimizer, predict_loop, train_loop
from ._modules import make_multitask_head, make_transformer_module, pool
from ._packing import (
    PackedModelPickling,
    load_pretrained,
    pack_pretrained,
    pack_state_dict,
    unpack_pretrained,
    unpack_state_dict,
    unpickled_device,
)
from ._precision import autocast_for
from ._seeding import seeded
from ._template import TrainingTemplate, epoch_rng, fit_seed

__all__ = [
    "Callback",
    "TrainingTemplate",
    "autocast_for",
    "PackedModelPickling",
    "collate",
    "cpu_state_dict",
    "epoch_rng",
    "fit_seed",
    "length_grouped_batches",
    "load_pretrained",
    "make_multitask_head",
    "make_optimizer",
    "make_transformer_module",
    "pack_pretrained",
    "pack_state_dict",
    "pad",
    "pad_token_id",
    "pool",
    "predict_loop",
    "seeded",
    "to_device",
    "tokenize",
    "train_loop",
    "unpack_pretrained",
    "unpack_state_dict",
    "unpickled_device",
]
