"""ONNX export: latency, throughput and agreement of a fine-tuned MiniLM classifier.

Fine-tunes ``TransformerClassifier`` (embedded MiniLM) on the WASSA 2022
training essays' emotion labels, exports it with ``skempathy.export.to_onnx``
(fp32 and int8), and compares on the dev essays, in one process: torch with
``predict_precision`` fp32 / bf16 / int8, and ``OnnxPredictor`` on both
exports. Prints batch throughput (essays/s), single-essay p50 latency, dev
macro-F1, label agreement with torch fp32 and the size of the weights. With
``--frozen`` it also exports the frozen ``SentenceEmbedder`` and compares it
with ``SentenceTransformer.encode``. With ``--student`` the model is a ``MultiTaskTransformer``
fine-tuned on emotion, empathy and distress (the architecture of the distilled student of
``skempathy distill``); the table then scores its emotion head and times all three heads.

    python benchmarks/bench_onnx.py --epochs 2 --frozen
    python benchmarks/bench_onnx.py --epochs 2 --student
"""

import argparse
import os
import pickle
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from skempathy.datasets import load_wassa
from skempathy.export import OnnxPredictor, to_onnx
from skempathy.metrics import wassa_evaluate
from skempathy.neural import MultiTaskTransformer, TransformerClassifier, cpu_has_fast_bf16
from skempathy.text import SentenceEmbedder


def throughput(fn, texts, repeats=2):
    fn(texts[:8])  # warm-up: lazy conversion, kernel selection
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(texts)
        best = min(best, time.perf_counter() - start)
    return out, len(texts) / best


def p50_ms(fn, texts):
    times = []
    for text in texts:
        start = time.perf_counter()
        fn([text])
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--latency-essays", type=int, default=50)
    parser.add_argument("--frozen", action="store_true", help="also the frozen SentenceEmbedder")
    parser.add_argument(
        "--student",
        action="store_true",
        help="a multi-task MiniLM (emotion, empathy, distress) instead",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)  # truncation notes of long essays

    train, dev = load_wassa("train"), load_wassa("dev")
    texts = list(dev.data["essay"])
    gold = dev.frame["emotion"]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"cpu_has_fast_bf16() = {cpu_has_fast_bf16()}; {len(texts)} dev essays\n"
    )
    start = time.perf_counter()
    if args.student:
        clf = MultiTaskTransformer(max_epochs=args.epochs, random_state=0, device="cpu")
        clf.fit(train.data["essay"], train.frame[["emotion", "empathy", "distress"]])
        classes = clf.classes_["emotion"]
    else:
        clf = TransformerClassifier(max_epochs=args.epochs, random_state=0, device="cpu")
        clf.fit(train.data["essay"], train.frame["emotion"])
        classes = clf.classes_
    print(f"fine-tuning: {time.perf_counter() - start:.0f} s\n")

    def emotion_proba(model):  # the emotion head's probabilities, whatever the model
        def proba(texts):
            out = model.predict_proba(texts)
            return np.asarray(out["emotion"] if isinstance(out, dict) else out)

        return proba

    folder = Path(tempfile.mkdtemp())
    rows = []
    for precision in ("fp32", "bf16", "int8"):
        clf.set_params(predict_precision=precision)
        proba, speed = throughput(emotion_proba(clf), texts)
        size = len(pickle.dumps(clf)) if precision == "fp32" else None
        rows.append(
            (
                f"torch, predict_precision={precision!r}",
                proba,
                speed,
                p50_ms(clf.predict, texts[: args.latency_essays]),
                size,
            )
        )
    clf.set_params(predict_precision=None)
    for quantize in (None, "int8"):
        start = time.perf_counter()
        path = to_onnx(clf, folder / str(quantize), quantize=quantize)
        seconds = time.perf_counter() - start
        model = OnnxPredictor(path)
        proba, speed = throughput(emotion_proba(model), texts)
        rows.append(
            (
                f"OnnxPredictor, to_onnx(quantize={quantize!r}) in {seconds:.0f} s",
                proba,
                speed,
                p50_ms(model.predict, texts[: args.latency_essays]),
                os.path.getsize(Path(path) / "model.onnx"),
            )
        )
    reference = rows[0][1]
    base_speed = rows[0][2]
    print(
        "| model | essays/s | vs torch fp32 | p50 ms / essay | dev macro-F1 | "
        "same label as torch fp32 | max abs diff of probabilities | weights MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, proba, speed, p50, size in rows:
        labels = classes[proba.argmax(1)]
        f1 = wassa_evaluate(gold, labels)["macro_f1"]
        same = np.mean(proba.argmax(1) == reference.argmax(1))
        print(
            f"| {name} | {speed:.1f} | {speed / base_speed:.2f}x | {p50:.1f} | {f1:.3f} | "
            f"{100 * same:.1f} % | {np.abs(proba - reference).max():.1e} | "
            f"{'' if size is None else f'{size / 2**20:.0f}'} |"
        )

    if args.frozen:
        embedder = SentenceEmbedder(cache=False, device="cpu", show_progress=False).fit(texts)
        ref, speed0 = throughput(embedder.transform, texts)
        print(
            "\n| frozen MiniLM | essays/s | vs torch fp32 | p50 ms / essay | "
            "mean cosine to torch fp32 |"
        )
        print("|---|---|---|---|---|")
        print(
            f"| SentenceEmbedder (torch fp32) | {speed0:.1f} | 1.00x | "
            f"{p50_ms(embedder.transform, texts[: args.latency_essays]):.1f} | 1.00000 |"
        )
        for quantize in (None, "int8"):
            model = OnnxPredictor(
                to_onnx(embedder, folder / f"frozen-{quantize}", quantize=quantize)
            )
            out, speed = throughput(model.transform, texts)
            cos = np.sum(out * ref, 1) / np.linalg.norm(out, axis=1) / np.linalg.norm(ref, axis=1)
            print(
                f"| OnnxPredictor, quantize={quantize!r} | {speed:.1f} | "
                f"{speed / speed0:.2f}x | "
                f"{p50_ms(model.transform, texts[: args.latency_essays]):.1f} | "
                f"{cos.mean():.5f} |"
            )


if __name__ == "__main__":
    main()
