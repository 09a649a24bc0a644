"""Inference precision of the frozen embedders: throughput, agreement, recipe scores.

Encodes WASSA 2021 essays with raw ``SentenceTransformer.encode`` (fp32 and bf16
weights) and with ``SentenceEmbedder(precision=...)`` for fp32, bf16, int8 and
auto, in one process, caches off, and prints essays per second, the speed-up
over raw fp32 and the mean cosine to raw fp32. With ``--recipe-scores`` it also
fits ``ridge_svr_track1`` and ``logreg_track2`` (MiniLM + writer columns; Track 1 and
Track 2 on the train essays) with each precision and prints the dev scores.

    python benchmarks/bench_inference_precision.py --n 1000 --recipe-scores
"""

import argparse
import time

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from skempathy.base import resolve_model
from skempathy.datasets import load_wassa
from skempathy.metrics import wassa_evaluate
from skempathy.neural import cpu_has_fast_bf16
from skempathy.recipes import ridge_svr_track1, logreg_track2
from skempathy.text import SentenceEmbedder


def mean_cosine(a, b):
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(np.mean(np.sum(a * b, axis=1) / norms))


def timed(encode, texts, repeats):
    encode(texts[:16])  # warm-up: lazy loading, kernel selection
    best, out = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = encode(texts)
        best = min(best, time.perf_counter() - start)
    return out, best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="essays to encode")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--recipe-scores",
        action="store_true",
        help="also fit ridge_svr_track1 + logreg_track2 with each precision",
    )
    args = parser.parse_args()
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)

    wassa = [load_wassa(split).data["essay"] for split in ("train", "dev", "test")]
    texts = [t for split in wassa for t in split][: args.n]
    print(
        f"{len(texts)} essays, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"cpu_has_fast_bf16() = {cpu_has_fast_bf16()}\n"
    )
    path = resolve_model("all-MiniLM-L6-v2")
    rows = []
    raw = SentenceTransformer(path, device="cpu")
    ref, seconds = timed(lambda x: raw.encode(x, batch_size=args.batch_size), texts, args.repeats)
    rows.append(("SentenceTransformer.encode, fp32", seconds, ref))
    raw_bf16 = SentenceTransformer(path, device="cpu").to(torch.bfloat16)
    out, seconds = timed(
        lambda x: raw_bf16.encode(x, batch_size=args.batch_size), texts, args.repeats
    )
    rows.append(("SentenceTransformer.encode, bf16 weights", seconds, out.astype(np.float32)))
    for precision in ("fp32", "bf16", "int8", "auto"):
        emb = SentenceEmbedder(
            precision=precision,
            cache=False,
            device="cpu",
            batch_size=args.batch_size,
            show_progress=False,
        ).fit(texts[:1])
        out, seconds = timed(emb.transform, texts, args.repeats)
        rows.append(
            (f"SentenceEmbedder(precision={precision!r}) -> {emb.precision_}", seconds, out)
        )
    base = rows[0][1]
    print("| encoder | essays/s | speed-up vs raw fp32 | mean cosine to raw fp32 |")
    print("|---|---|---|---|")
    for name, seconds, out in rows:
        print(
            f"| {name} | {len(texts) / seconds:.1f} | {base / seconds:.2f}x | "
            f"{mean_cosine(out, ref):.5f} |"
        )

    if args.recipe_scores:
        train, dev = load_wassa("train"), load_wassa("dev")
        print(
            "\n| ridge_svr_track1 + logreg_track2, embedder precision | dev empathy r | "
            "dev distress r | "
            "dev macro-F1 |"
        )
        print("|---|---|---|---|")
        for precision in ("fp32", "bf16", "int8"):
            embedder = SentenceEmbedder(precision=precision, show_progress=False)
            track1, track2 = ridge_svr_track1(embedder), logreg_track2(embedder)
            track1.fit(train.data, train.frame[["empathy", "distress"]])
            track2.fit(train.data, train.frame["emotion"])
            t1 = wassa_evaluate(dev.frame[["empathy", "distress"]], track1.predict(dev.data))
            t2 = wassa_evaluate(dev.frame["emotion"], track2.predict(dev.data))
            print(
                f"| {precision} | {t1['empathy_pearson']:.3f} | {t1['distress_pearson']:.3f} | "
                f"{t2['macro_f1']:.3f} |"
            )


if __name__ == "__main__":
    main()
