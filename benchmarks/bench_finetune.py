"""Fine-tune the embedded MiniLM on WASSA: skempathy.neural vs Hugging Face Trainer and a
plain PyTorch loop.

Every run fine-tunes the same encoder (embedded all-MiniLM-L6-v2) with the same
head (mean pooling + linear), optimizer (AdamW, linear warm-up/decay, gradient
clipping at 1.0), seed, batch size, epochs, precision and ``max_length``:

* ``skempathy``: :class:`~skempathy.neural.TransformerClassifier` /
  :class:`~skempathy.neural.TransformerRegressor`: dynamic padding and
  length-grouped batches.
* ``trainer``: Hugging Face ``Trainer`` with ``train_sampling_strategy=
  "group_by_length"`` and ``DataCollatorWithPadding`` (dynamic padding), the
  peer a user would pick.
* ``no-fast-paths``: the same skempathy estimator with ``fast_paths=False`` (torch's own
  dropout and attention kernels on CPU).
* ``plain``: a textbook PyTorch loop: ``padding="max_length"``, a shuffled
  ``DataLoader``, the same model and optimizer.

Reported per run: training throughput (essays/s over the training epochs,
inference excluded), dev macro-F1 (emotion) or dev Pearson r (empathy,
distress, average), and the wall time. Test-set predictions of the skempathy
model are written to ``--out`` (not committed).

Usage::

    python benchmarks/bench_finetune.py --task emotion --n-train 600 --epochs 2 --out bench_out
    python benchmarks/bench_finetune.py --task empathy-distress --n-train 600 --epochs 2 \\
        --out bench_out
    python benchmarks/bench_finetune.py --n-train 0 --epochs 1 --precision bf16 \\
        --baselines trainer --out bench_out

On a GPU, ``--device cuda --precision auto`` runs both loops with the same
mixed precision (bf16 where supported, else fp16 with a GradScaler).

``--n-train`` takes whole writers (groups of 5 essays) from the start of the
training file so the subsample is deterministic; 0 means all 1860 essays.
"""

import argparse
import json
import math
import os
import time
import warnings

import numpy as np
import pandas as pd


def _subsample(frame, n):
    if not n or n >= len(frame):
        return frame
    writers = frame["response_id"].drop_duplicates().iloc[: math.ceil(n / 5)]
    return frame[frame["response_id"].isin(writers)].iloc[:n]


def _evaluate(task, y_true, y_pred):
    from skempathy.metrics import wassa_evaluate

    return wassa_evaluate(y_true, y_pred)


def run_skempathy(task, train, dev, test, args, fast_paths=True):
    from skempathy.neural import TransformerClassifier, TransformerRegressor

    params = dict(
        max_length=args.max_length,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        max_epochs=args.epochs,
        device=args.device,
        precision=args.precision,
        random_state=args.seed,
        verbose=args.verbose,
        fast_paths=fast_paths,
    )
    if task == "emotion":
        est = TransformerClassifier(**params, class_weight=args.class_weight)
        y = train["emotion"]
    else:
        est, y = TransformerRegressor(**params), train[["empathy", "distress"]]
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est.fit(train["essay"], y)
    fit_s = time.perf_counter() - tic
    train_s = sum(h["duration_s"] for h in est.history_)
    pred_dev = est.predict(dev["essay"])
    pred_test = est.predict(test["essay"])
    return (
        {
            "fit_wall_s": fit_s,
            "train_s": train_s,
            "essays_per_s": sum(h["n_samples"] for h in est.history_) / train_s,
            "history": est.history_,
        },
        pred_dev,
        pred_test,
    )


def _autocast(torch, device, precision):
    """The mixed precision the fine-tuned estimators use: on CUDA bf16 (fp16 with a gradient
    scaler where bf16 is missing) unless "fp32"; on CPU bf16 only when asked for."""
    device_type = str(device).split(":")[0]
    if device_type == "cuda" and precision != "fp32":
        dtype = (
            torch.bfloat16
            if (precision == "bf16" or (precision == "auto" and torch.cuda.is_bf16_supported()))
            else torch.float16
        )
        return torch.autocast("cuda", dtype=dtype), dtype == torch.float16
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16"), False


def _targets(task, train, class_weight):
    """The baselines' targets: ``(y, n_out, class weights or None, decode)``.

    Emotion: class indices (``decode`` maps logits to labels). Empathy and
    distress: standardised scores (``decode`` undoes the scaling).
    """
    if task == "emotion":
        classes = np.unique(train["emotion"])
        weight = None
        if class_weight == "balanced":
            from sklearn.utils.class_weight import compute_class_weight

            weight = compute_class_weight("balanced", classes=classes, y=train["emotion"])
        return (
            np.searchsorted(classes, train["emotion"]),
            len(classes),
            weight,
            lambda out: classes[out.argmax(1)],
        )
    Y = train[["empathy", "distress"]].to_numpy(float)
    mean, scale = Y.mean(0), Y.std(0)
    return ((Y - mean) / scale).astype(np.float32), 2, None, lambda out: out * scale + mean


def run_plain(task, train, dev, args):
    """A plain PyTorch fine-tuning loop that pads every batch to max_length."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

    from skempathy.base import resolve_device, resolve_model

    torch.manual_seed(args.seed)
    device = resolve_device(args.device)
    autocast, need_scaler = _autocast(torch, device, args.precision)
    scaler = torch.amp.GradScaler("cuda") if need_scaler else None
    path = resolve_model("all-MiniLM-L6-v2")
    tokenizer = AutoTokenizer.from_pretrained(path)
    encoder = AutoModel.from_pretrained(path)
    y, n_out, weight, decode = _targets(task, train, args.class_weight)
    y = torch.as_tensor(y)
    head = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(384, n_out))
    model = torch.nn.ModuleDict({"encoder": encoder, "head": head}).to(device)

    def forward(ids, mask):
        hidden = model["encoder"](input_ids=ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).float()
        return model["head"]((hidden * m).sum(1) / m.sum(1).clamp(min=1e-9))

    enc = tokenizer(
        list(train["essay"]),
        padding="max_length",
        truncation=True,
        max_length=args.max_length,
        return_tensors="pt",
    )
    loader = DataLoader(
        TensorDataset(enc["input_ids"], enc["attention_mask"], y),
        batch_size=args.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(args.seed),
    )
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or "norm" in n.lower()]
    decay = [p for n, p in model.named_parameters() if not (p.ndim < 2 or "norm" in n.lower())]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
    )
    total = len(loader) * args.epochs
    sched = get_linear_schedule_with_warmup(opt, int(round(0.1 * total)), total)
    if task == "emotion":
        loss_fn = torch.nn.CrossEntropyLoss(
            weight=None
            if weight is None
            else torch.as_tensor(weight, dtype=torch.float32, device=device)
        )
    else:
        loss_fn = torch.nn.MSELoss()
    train_s = 0.0
    for _ in range(args.epochs):
        model.train()
        tic = time.perf_counter()
        for ids, mask, target in loader:
            ids, mask, target = ids.to(device), mask.to(device), target.to(device)
            with autocast:
                loss = loss_fn(forward(ids, mask).float(), target)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
            else:
                loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            if scaler is not None:
                scaler.step(opt)
                scaler.update()
            else:
                opt.step()
            sched.step()
            opt.zero_grad()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        train_s += time.perf_counter() - tic
    model.eval()
    dev_enc = tokenizer(
        list(dev["essay"]),
        padding="max_length",
        truncation=True,
        max_length=args.max_length,
        return_tensors="pt",
    )
    outs = []
    with torch.no_grad(), autocast:
        for i in range(0, len(dev), 2 * args.batch_size):
            outs.append(
                forward(
                    dev_enc["input_ids"][i : i + 2 * args.batch_size].to(device),
                    dev_enc["attention_mask"][i : i + 2 * args.batch_size].to(device),
                )
                .float()
                .cpu()
            )
    pred = decode(torch.cat(outs).numpy())
    return {"train_s": train_s, "essays_per_s": len(train) * args.epochs / train_s}, pred


def run_trainer(task, train, dev, args):
    """Hugging Face ``Trainer``: the same model, length-grouped sampling, dynamic padding."""
    import tempfile

    import torch
    from transformers import (
        AutoModel,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )

    from skempathy.base import resolve_model

    path = resolve_model("all-MiniLM-L6-v2")
    tokenizer = AutoTokenizer.from_pretrained(path)
    labels, n_out, weight, decode = _targets(task, train, args.class_weight)
    weight = torch.ones(n_out) if weight is None else torch.as_tensor(weight, dtype=torch.float32)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = AutoModel.from_pretrained(path)
            self.head = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(384, n_out))
            self.register_buffer("weight", weight)

        def forward(self, input_ids, attention_mask, labels=None, **_):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
            m = attention_mask.unsqueeze(-1).float()
            pooled = (hidden.last_hidden_state * m).sum(1) / m.sum(1).clamp(min=1e-9)
            logits = self.head(pooled).float()
            if labels is None:
                return {"logits": logits}
            if task == "emotion":
                loss = torch.nn.functional.cross_entropy(logits, labels, weight=self.weight)
            else:
                loss = torch.nn.functional.mse_loss(logits, labels)
            return {"loss": loss, "logits": logits}

    def encode(frame, y=None):
        enc = tokenizer(list(frame["essay"]), truncation=True, max_length=args.max_length)
        rows = [
            {"input_ids": i, "attention_mask": a}
            for i, a in zip(enc["input_ids"], enc["attention_mask"])
        ]
        if y is not None:
            for row, label in zip(rows, y):
                row["labels"] = label
        return rows

    torch.manual_seed(args.seed)
    model = Model()
    with tempfile.TemporaryDirectory() as tmp:
        targs = TrainingArguments(
            output_dir=tmp,
            per_device_train_batch_size=args.batch_size,
            per_device_eval_batch_size=2 * args.batch_size,
            num_train_epochs=args.epochs,
            learning_rate=args.lr,
            weight_decay=0.01,
            warmup_steps=0.1,
            max_grad_norm=1.0,
            train_sampling_strategy="group_by_length",
            bf16=args.precision == "bf16",
            use_cpu=args.device == "cpu",
            seed=args.seed,
            report_to="none",
            save_strategy="no",
            logging_strategy="no",
            disable_tqdm=not args.verbose,
            dataloader_num_workers=0,
        )
        trainer = Trainer(
            model=model,
            args=targs,
            train_dataset=encode(train, labels.tolist()),
            data_collator=DataCollatorWithPadding(tokenizer),
            processing_class=tokenizer,
        )
        metrics = trainer.train().metrics
        out = trainer.predict(encode(dev)).predictions
    pred = decode(out[0] if isinstance(out, tuple) else out)
    return {
        "train_s": metrics["train_runtime"],
        "essays_per_s": len(train) * args.epochs / metrics["train_runtime"],
    }, pred


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["emotion", "empathy-distress"], default="emotion")
    parser.add_argument("--n-train", type=int, default=0, help="0: all 1860 training essays")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    parser.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "fp32", "bf16", "fp16"],
        help="autocast dtype of every run; on CPU only bf16 autocasts",
    )
    parser.add_argument(
        "--class-weight",
        choices=["balanced"],
        default=None,
        help="emotion only: class-weighted cross-entropy in both runs",
    )
    parser.add_argument(
        "--baselines",
        nargs="*",
        choices=["plain", "trainer", "no-fast-paths"],
        default=["plain", "trainer"],
        help="runs to compare with skempathy: a plain PyTorch loop, "
        "Hugging Face Trainer (group_by_length, dynamic padding), skempathy with "
        "fast_paths=False (torch's own dropout and attention kernels)",
    )
    parser.add_argument("--verbose", type=int, default=0)
    parser.add_argument("--out", default="bench_finetune_out")
    args = parser.parse_args(argv)
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)

    import torch

    from skempathy.datasets import load_wassa

    if args.threads:
        torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    train = _subsample(load_wassa("train").frame, args.n_train)
    dev = load_wassa("dev").frame
    test = load_wassa("test").frame
    target = ["emotion"] if args.task == "emotion" else ["empathy", "distress"]
    y_dev = dev[target[0]] if args.task == "emotion" else dev[target]

    rows = {}
    ours, pred_dev, pred_test = run_skempathy(args.task, train, dev, test, args)
    ours.update(_evaluate(args.task, y_dev, pred_dev))
    rows["skempathy (dynamic padding, length-grouped)"] = ours
    tag = args.task.replace("-", "_")
    if args.task == "emotion":
        out_test = pd.DataFrame({"message_id": test["message_id"], "emotion": pred_test})
    else:
        out_test = pd.DataFrame(
            {
                "message_id": test["message_id"],
                "empathy": pred_test[:, 0],
                "distress": pred_test[:, 1],
            }
        )
    out_test.to_csv(os.path.join(args.out, f"test_predictions_{tag}.tsv"), sep="\t", index=False)
    if "no-fast-paths" in args.baselines:
        slow, slow_dev, _ = run_skempathy(args.task, train, dev, test, args, fast_paths=False)
        slow.update(_evaluate(args.task, y_dev, slow_dev))
        rows["skempathy, fast_paths=False"] = slow
    if "plain" in args.baselines:
        plain, plain_dev = run_plain(args.task, train, dev, args)
        plain.update(_evaluate(args.task, y_dev, plain_dev))
        rows[f"plain PyTorch (pad to max_length={args.max_length})"] = plain
    if "trainer" in args.baselines:
        hf, hf_dev = run_trainer(args.task, train, dev, args)
        hf.update(_evaluate(args.task, y_dev, hf_dev))
        rows["Hugging Face Trainer (group_by_length, dynamic padding)"] = hf

    keys = (
        ["macro_f1", "accuracy"]
        if args.task == "emotion"
        else ["empathy_pearson", "distress_pearson", "average_pearson"]
    )
    print(
        f"task={args.task} n_train={len(train)} epochs={args.epochs} "
        f"max_length={args.max_length} batch_size={args.batch_size} lr={args.lr} "
        f"class_weight={args.class_weight} "
        f"threads={torch.get_num_threads()}"
    )
    print(f"| run | essays/s (train) | train s | {' | '.join('dev ' + k for k in keys)} |")
    print("|---|---|---|" + "---|" * len(keys))
    for name, row in rows.items():
        print(
            f"| {name} | {row['essays_per_s']:.2f} | {row['train_s']:.0f} | "
            + " | ".join(f"{row[k]:.3f}" for k in keys)
            + " |"
        )
    ours = rows["skempathy (dynamic padding, length-grouped)"]["essays_per_s"]
    for name, row in list(rows.items())[1:]:
        print(f"skempathy / {name.split(' (')[0]}: {ours / row['essays_per_s']:.2f}x")
    with open(os.path.join(args.out, f"results_{tag}.json"), "w") as fh:
        json.dump(
            {"args": vars(args), "n_train": len(train), "rows": rows}, fh, indent=1, default=float
        )


if __name__ == "__main__":
    main()
