"""ONNX export: latency, throughput and agreement of a fine-tuned MiniLM classifier.

Fine-tunes ``TransformerClassifier`` (embedded MiniLM) on the WASSA 2022
training essays' emotion labels, exports it with ``skempathy.export.to_onnx``
(fp32, dynamic int8 and static int8 calibrated on the training essays, at the
default fallback tolerance and a stricter one), and compares on the dev essays,
in one process: torch with ``predict_precision`` fp32 / bf16 / int8, and
``OnnxPredictor`` on the exports. Prints batch throughput (essays/s), single-essay
p50 latency (both also against the fp32 ONNX export), dev macro-F1, label
agreement with torch fp32 and the size of the weights. With ``--frozen`` it also
exports the frozen ``SentenceEmbedder`` and compares it with
``SentenceTransformer.encode``. With ``--student`` the model is a
``MultiTaskTransformer`` fine-tuned on emotion, empathy and distress (the
architecture of the distilled student of ``skempathy distill``); the table then
scores its emotion head, times all three heads and gives the Pearson r of the
empathy and distress predictions to torch fp32. ``--reuse FILE`` pickles the
fine-tuned model to FILE, or loads it from there when it exists (for reruns).
``--model FILE`` measures a saved fine-tuned model instead (for example the text-only
student that ``skempathy wassa`` writes), and ``--tolerances`` sets the fallback
tolerances of the static int8 exports.

    python benchmarks/bench_onnx.py --epochs 2 --frozen
    python benchmarks/bench_onnx.py --epochs 2 --student
    python benchmarks/bench_onnx.py --model wassa_out/text_only_emotion_empathy_distress.skops \
        --tolerances 0.1 0.05 0.02
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


def export_settings(options, model):
    """The export's options as a label, with the layers a static int8 export kept in fp32."""
    extra = "".join(f", {k}={v}" for k, v in options.items() if k != "calibration_texts")
    static = model.manifest_.get("static_int8")
    if static:
        extra += f": {len(static['fp32_by_fallback'])} layers fp32"
    return extra


def throughput(fn, texts, repeats=3):
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


def exports(tolerances):
    """``(quantize, options)`` of every ONNX export compared: fp32, dynamic int8, and static
    int8 at each fallback tolerance."""
    static = [("int8-static", {"fallback_tolerance": t}) for t in tolerances]
    return [(None, {}), ("int8", {})] + static


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
    parser.add_argument("--reuse", help="pickle of the fine-tuned model: written, or read back")
    parser.add_argument("--no-finetuned", action="store_true", help="only the frozen table")
    parser.add_argument("--model", help="a saved fine-tuned model to measure instead")
    parser.add_argument(
        "--tolerances",
        type=float,
        nargs="+",
        default=[0.1, 0.05],
        help="fallback tolerances of the static int8 exports (default: 0.1 0.05)",
    )
    args = parser.parse_args()
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)
    warnings.simplefilter("ignore", UserWarning)  # truncation notes of long essays

    train, dev = load_wassa("train"), load_wassa("dev")
    texts = list(dev.data["essay"])
    calibration = list(train.data["essay"])  # static int8 calibrates on training essays
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"cpu_has_fast_bf16() = {cpu_has_fast_bf16()}; {len(texts)} dev essays\n"
    )
    folder = Path(tempfile.mkdtemp())
    if not args.no_finetuned:
        finetuned_table(args, train, dev, texts, calibration, folder)
    if args.frozen:
        frozen_table(args, texts, calibration, folder)


def fine_tune(train, epochs, student, reuse=None, model=None):
    """The fine-tuned model: a saved ``model``, read from the pickle ``reuse`` when it
    exists, else fine-tuned on ``train`` (and pickled to ``reuse`` when given)."""
    start = time.perf_counter()
    if model:
        from skempathy.io import load_model

        clf = load_model(model)
        # the texts as a list: a model that reads a text column of a frame reads it alone
        if getattr(clf, "text_column", None) and not getattr(clf, "extra_features", None):
            clf.text_column = None
        print(f"model read from {model}\n")
        return clf
    if reuse and os.path.exists(reuse):
        with open(reuse, "rb") as f:
            clf = pickle.load(f)
        print(f"fine-tuned model read from {reuse}\n")
        return clf
    if student:
        clf = MultiTaskTransformer(max_epochs=epochs, random_state=0, device="cpu")
        clf.fit(train.data["essay"], train.frame[["emotion", "empathy", "distress"]])
    else:
        clf = TransformerClassifier(max_epochs=epochs, random_state=0, device="cpu")
        clf.fit(train.data["essay"], train.frame["emotion"])
    print(f"fine-tuning: {time.perf_counter() - start:.0f} s\n")
    if reuse:
        with open(reuse, "wb") as f:
            pickle.dump(clf, f)
    return clf


def finetuned_table(args, train, dev, texts, calibration, folder):
    gold = dev.frame["emotion"]
    clf = fine_tune(train, args.epochs, args.student, args.reuse, args.model)
    student = isinstance(clf, MultiTaskTransformer)
    classes = clf.classes_["emotion"] if student else clf.classes_

    def emotion_proba(model):  # the emotion head's probabilities, whatever the model
        def proba(texts):
            out = model.predict_proba(texts)
            return np.asarray(out["emotion"] if isinstance(out, dict) else out)

        return proba

    def scores(model):  # empathy and distress predictions of a student (untimed)
        if not student:
            return None
        return model.predict(texts)[["empathy", "distress"]].to_numpy(dtype=float)

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
                scores(clf),
            )
        )
    clf.set_params(predict_precision=None)
    for quantize, options in exports(args.tolerances):
        if quantize == "int8-static":
            options = {"calibration_texts": calibration, **options}
        start = time.perf_counter()
        path = to_onnx(clf, folder / f"{quantize}-{len(rows)}", quantize=quantize, **options)
        seconds = time.perf_counter() - start
        model = OnnxPredictor(path)
        proba, speed = throughput(emotion_proba(model), texts)
        extra = export_settings(options, model)
        rows.append(
            (
                f"OnnxPredictor, to_onnx(quantize={quantize!r}{extra}) in {seconds:.0f} s",
                proba,
                speed,
                p50_ms(model.predict, texts[: args.latency_essays]),
                os.path.getsize(Path(path) / "model.onnx"),
                scores(model),
            )
        )
    reference, base_speed = rows[0][1], rows[0][2]
    onnx_speed, onnx_p50 = rows[3][2], rows[3][3]
    print(
        "| model | essays/s | vs torch fp32 | vs ONNX fp32 | p50 ms / essay | "
        "p50 vs ONNX fp32 | dev macro-F1 | same label as torch fp32 | "
        + ("r empathy, distress to torch fp32 | " if student else "")
        + "max abs diff of probabilities | weights MB |"
    )
    print("|---|---|---|---|---|---|---|---|" + ("---|" if student else "") + "---|---|")
    for name, proba, speed, p50, size, regression in rows:
        labels = classes[proba.argmax(1)]
        f1 = wassa_evaluate(gold, labels)["macro_f1"]
        same = np.mean(proba.argmax(1) == reference.argmax(1))
        r = ""
        if student:
            r = " | ".join(
                f"{np.corrcoef(regression[:, j], rows[0][5][:, j])[0, 1]:.4f}" for j in (0, 1)
            )
            r = f"{r.replace(' | ', ', ')} | "
        print(
            f"| {name} | {speed:.1f} | {speed / base_speed:.2f}x | {speed / onnx_speed:.2f}x | "
            f"{p50:.1f} | {100 * p50 / onnx_p50:.0f} % | {f1:.3f} | {100 * same:.1f} % | {r}"
            f"{np.abs(proba - reference).max():.1e} | "
            f"{'' if size is None else f'{size / 2**20:.0f}'} |"
        )


def frozen_table(args, texts, calibration, folder):
    embedder = SentenceEmbedder(cache=False, device="cpu", show_progress=False).fit(texts)
    ref, speed0 = throughput(embedder.transform, texts)
    print(
        "\n| frozen MiniLM | essays/s | vs torch fp32 | vs ONNX fp32 | p50 ms / essay | "
        "p50 vs ONNX fp32 | mean cosine to torch fp32 | min cosine |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rows = [
        (
            "SentenceEmbedder (torch fp32)",
            speed0,
            p50_ms(embedder.transform, texts[: args.latency_essays]),
            np.ones(len(texts)),
        )
    ]
    for quantize, options in exports(args.tolerances):
        if quantize == "int8-static":
            options = {"calibration_texts": calibration, **options}
        start = time.perf_counter()
        path = to_onnx(
            embedder, folder / f"frozen-{quantize}-{len(rows)}", quantize=quantize, **options
        )
        seconds = time.perf_counter() - start
        model = OnnxPredictor(path)
        out, speed = throughput(model.transform, texts)
        cos = np.sum(out * ref, 1) / np.linalg.norm(out, axis=1) / np.linalg.norm(ref, axis=1)
        extra = export_settings(options, model)
        rows.append(
            (
                f"OnnxPredictor, quantize={quantize!r}{extra} (export {seconds:.0f} s)",
                speed,
                p50_ms(model.transform, texts[: args.latency_essays]),
                cos,
            )
        )
    onnx_speed, onnx_p50 = rows[1][1], rows[1][2]
    for name, speed, p50, cos in rows:
        print(
            f"| {name} | {speed:.1f} | {speed / speed0:.2f}x | {speed / onnx_speed:.2f}x | "
            f"{p50:.1f} | {100 * p50 / onnx_p50:.0f} % | {cos.mean():.5f} | {cos.min():.4f} |"
        )


if __name__ == "__main__":
    main()
