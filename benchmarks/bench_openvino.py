"""Calibrated int8 of the fine-tuned student: onnxruntime static int8 against OpenVINO + NNCF.

Fine-tunes the student of ``bench_onnx.py --student`` (a MiniLM
``MultiTaskTransformer`` with emotion, empathy and distress heads; ``--reuse
FILE`` reads or writes the same pickle as that script), exports it with
``skempathy.export.to_onnx`` in fp32 and in onnxruntime static int8
(``quantize="int8-static"``, calibrated on the training essays), and runs, on the
270 WASSA 2022 dev essays:

- torch fp32 (the estimator's own ``predict``);
- ``OnnxPredictor`` on the fp32 and the static int8 exports (onnxruntime);
- OpenVINO on the fp32 ONNX file (``openvino.Core().read_model``, compiled for
  the CPU with f32 inference precision);
- OpenVINO on the static int8 export (its QDQ graph runs in int8 on OpenVINO too);
- OpenVINO on the fp32 model quantized to int8 by NNCF post-training quantization
  (``nncf.quantize``, ``ModelType.TRANSFORMER``, calibrated on 300 training
  essays); with ``--accuracy-control`` also ``nncf.quantize_with_accuracy_control``,
  validated on other training essays.

The OpenVINO models are served through ``OnnxPredictor`` itself, with its
onnxruntime session swapped for the compiled OpenVINO model, so the tokenizer,
the length-grouped batches of 32, the padding and the label and score mapping
are the same for every row. Timings interleave the models (each repetition
times every model once; the best repetition counts), so that a machine shared
with other jobs slows all rows alike. Prints the CPU, its int8 and bf16
instruction sets, and a Markdown table: essays/s at batch 32, single-essay p50
latency of ``predict`` (all three heads), emotion labels equal to torch fp32,
Pearson r of empathy and distress to torch fp32, file size.

Needs ``pip install "skempathy[onnx,openvino]"``.

    python benchmarks/bench_openvino.py --epochs 2
    python benchmarks/bench_openvino.py --epochs 1 --reuse student.pkl --accuracy-control
"""

import argparse
import os
import pickle
import tempfile
import time
import types
import warnings
from pathlib import Path

import numpy as np
import torch

from skempathy.datasets import load_wassa
from skempathy.export import OnnxPredictor, to_onnx
from skempathy.neural import MultiTaskTransformer

# to_onnx's static int8 calibrates on an evenly spaced subset of the texts it is given
CALIBRATION_ESSAYS = 300
VALIDATION_ESSAYS = 200  # --accuracy-control: other training essays
TARGETS = "same label >= 99 %, r >= 0.995, p50 <= 70 % and essays/s >= 1.5x of fp32"


def student(train, epochs, reuse):
    """The student of ``bench_onnx.py --student``, read from ``reuse`` when that pickle exists."""
    if reuse and os.path.exists(reuse):
        with open(reuse, "rb") as fh:
            return pickle.load(fh)
    tic = time.perf_counter()
    clf = MultiTaskTransformer(max_epochs=epochs, random_state=0, device="cpu")
    clf.fit(train.data["essay"], train.frame[["emotion", "empathy", "distress"]])
    print(f"fine-tuning: {time.perf_counter() - tic:.0f} s\n")
    if reuse:
        with open(reuse, "wb") as fh:
            pickle.dump(clf, fh)
    return clf


class OpenVinoSession:
    """An onnxruntime ``InferenceSession`` stand-in over a compiled OpenVINO model:
    ``run(output_names, feed)`` returns the outputs as a list of arrays."""

    def __init__(self, core, model):
        import openvino.properties.hint as hints

        config = {hints.inference_precision: "f32"}  # fp32 where not int8, on any CPU
        self.compiled = core.compile_model(model, "CPU", config)
        self.request = self.compiled.create_infer_request()

    def run(self, names, feed):
        result = self.request.infer(feed)
        return [np.array(result[self.compiled.output(name)]) for name in names]


def openvino_predictor(onnx_folder, core, model):
    """``OnnxPredictor`` on ``onnx_folder`` (tokenizer, batching, label mapping)
    running the OpenVINO ``model`` instead of the folder's graph."""
    predictor = OnnxPredictor(onnx_folder)
    predictor._runner.session = OpenVinoSession(core, model)
    return predictor


def feeds_of(onnx_folder, texts):
    """One graph input per essay, tokenised with the export's tokenizer as its predictor does
    (special tokens, truncation to the exported ``max_length``)."""
    import json

    from tokenizers import Tokenizer

    with open(os.path.join(onnx_folder, "skempathy_onnx.json")) as fh:
        manifest = json.load(fh)
    files = manifest.get("files", {"tokenizer": "tokenizer.json"})
    tokenizer = Tokenizer.from_file(os.path.join(onnx_folder, files["tokenizer"]))
    tokenizer.no_padding()  # one essay per feed, as the predictor feeds one essay
    tokenizer.enable_truncation(manifest["max_length"])
    feeds = []
    for encoding in tokenizer.encode_batch(list(texts)):
        ids = np.asarray([encoding.ids], dtype=np.int64)
        feeds.append({"input_ids": ids, "attention_mask": np.ones_like(ids)})
    return feeds


def spread(texts, k, skip=()):
    """``k`` evenly spaced texts not in ``skip`` (indices)."""
    keep = [i for i in range(len(texts)) if i not in set(skip)]
    index = np.unique(np.linspace(0, len(keep) - 1, min(k, len(keep))).round().astype(int))
    return [keep[i] for i in index]


def nncf_int8(fp32_model, calibration, validation=None, reference=None, max_drop=0.005):
    """NNCF post-training int8 of ``fp32_model``; with ``validation`` feeds, the
    accuracy-controlled variant (metric: the worst of emotion agreement and the
    empathy and distress r to ``reference``, the fp32 outputs of those feeds)."""
    import nncf

    options = {"model_type": nncf.ModelType.TRANSFORMER, "subset_size": len(calibration)}
    if validation is None:
        return nncf.quantize(fp32_model, nncf.Dataset(calibration), **options)

    def metric(compiled, items):
        got = [compiled(item) for item in items]
        out = {name: np.concatenate([g[compiled.output(name)] for g in got]) for name in reference}
        same = np.mean(out["logits.emotion"].argmax(1) == reference["logits.emotion"].argmax(1))
        r = [
            np.corrcoef(out[n].ravel(), reference[n].ravel())[0, 1]
            for n in reference
            if n in ("logits.empathy", "logits.distress")
        ]
        return float(min([same, *r]))

    return nncf.quantize_with_accuracy_control(
        fp32_model,
        nncf.Dataset(calibration),
        nncf.Dataset(validation),
        validation_fn=metric,
        max_drop=max_drop,
        drop_type=nncf.DropType.ABSOLUTE,
        **options,
    )


def timed(rows, texts, repeats, latency_essays):
    """Interleaved timings: ``(essays/s, p50 ms)`` per row, best of ``repeats``
    passes over ``texts`` and median of single-essay ``predict`` calls."""
    for row in rows:
        row["proba"](texts[:8])  # warm-up: lazy compilation, kernel selection
    best = [np.inf] * len(rows)
    for _ in range(repeats):
        for i, row in enumerate(rows):
            start = time.perf_counter()
            row["proba"](texts)
            best[i] = min(best[i], time.perf_counter() - start)
    single = [[] for _ in rows]
    for text in texts[:latency_essays]:
        for i, row in enumerate(rows):
            start = time.perf_counter()
            row["predict"]([text])
            single[i].append(time.perf_counter() - start)
    return [(len(texts) / b, 1000 * float(np.median(s))) for b, s in zip(best, single)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--train-essays", type=int, help="fine-tune on this many training essays (default: all)"
    )
    parser.add_argument("--latency-essays", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the dev essays")
    parser.add_argument("--reuse", help="pickle of the fine-tuned model: written, or read back")
    parser.add_argument(
        "--accuracy-control",
        action="store_true",
        help="also nncf.quantize_with_accuracy_control (slow)",
    )
    args = parser.parse_args()
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)
    warnings.simplefilter("ignore", UserWarning)  # truncation notes of long essays

    import nncf
    import onnxruntime
    import openvino as ov

    train, dev = load_wassa("train"), load_wassa("dev")
    texts = list(dev.data["essay"])
    calibration = list(train.data["essay"])
    print(
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), onnxruntime "
        f"{onnxruntime.__version__}, openvino {ov.__version__}, nncf {nncf.__version__}; "
        f"{len(texts)} dev essays\n"
    )
    if args.train_essays:
        keep = spread(calibration, args.train_essays)
        train = types.SimpleNamespace(data=train.data.iloc[keep], frame=train.frame.iloc[keep])
    clf = student(train, args.epochs, args.reuse)

    folder = Path(tempfile.mkdtemp())
    rows = [
        {
            "name": "torch fp32",
            "model": clf.set_params(predict_precision="fp32"),
            "size": len(pickle.dumps(clf)),
        }
    ]
    for name, quantize, options in [
        ("onnxruntime fp32 (`to_onnx(quantize=None)`)", None, {}),
        (
            'onnxruntime static int8 (`quantize="int8-static"`)',
            "int8-static",
            {"calibration_texts": calibration},
        ),
    ]:
        start = time.perf_counter()
        path = to_onnx(clf, folder / str(quantize), quantize=quantize, **options)
        model = OnnxPredictor(path)
        static = model.manifest_.get("static_int8")
        if static:
            name += f", {len(static['fp32_by_fallback'])} layers fell back to fp32"
        rows.append(
            {
                "name": name,
                "model": model,
                "size": os.path.getsize(Path(path) / "model.onnx"),
                "build": time.perf_counter() - start,
            }
        )
    onnx_folder = folder / "None"
    core = ov.Core()
    start = time.perf_counter()
    fp32_model = core.read_model(onnx_folder / "model.onnx")
    rows.append(
        {
            "name": "OpenVINO fp32 (`read_model` of the fp32 ONNX file)",
            "model": openvino_predictor(onnx_folder, core, fp32_model),
            "size": os.path.getsize(onnx_folder / "model.onnx"),
            "build": time.perf_counter() - start,
        }
    )
    probe = rows[-1]["model"]
    static_file = folder / "int8-static" / "model.onnx"  # QDQ: OpenVINO runs it in int8
    start = time.perf_counter()
    rows.append(
        {
            "name": "OpenVINO on the onnxruntime static int8 file",
            "model": openvino_predictor(onnx_folder, core, core.read_model(static_file)),
            "size": os.path.getsize(static_file),
            "build": time.perf_counter() - start,
        }
    )
    index = spread(calibration, CALIBRATION_ESSAYS)
    calibration_feeds = feeds_of(onnx_folder, [calibration[i] for i in index])
    variants = [("NNCF int8 (`nncf.quantize`, TRANSFORMER)", {})]
    if args.accuracy_control:
        others = [calibration[i] for i in spread(calibration, VALIDATION_ESSAYS, skip=index)]
        validation = feeds_of(onnx_folder, others)
        fp32 = probe._runner.session
        reference = {
            n: np.concatenate([fp32.run([n], feed)[0] for feed in validation])
            for n in ("logits.emotion", "logits.empathy", "logits.distress")
        }
        variants.append(
            (
                "NNCF int8, `quantize_with_accuracy_control` (max drop 0.005)",
                {"validation": validation, "reference": reference},
            )
        )
    for name, extra in variants:
        start = time.perf_counter()
        int8_model = nncf_int8(
            core.read_model(onnx_folder / "model.onnx"), calibration_feeds, **extra
        )
        xml = folder / f"openvino-{len(rows)}" / "model.xml"
        ov.save_model(int8_model, xml, compress_to_fp16=False)
        rows.append(
            {
                "name": f"OpenVINO {name}",
                "model": openvino_predictor(onnx_folder, core, core.read_model(xml)),
                "size": os.path.getsize(xml) + os.path.getsize(xml.with_suffix(".bin")),
                "build": time.perf_counter() - start,
            }
        )

    for row in rows:
        model = row["model"]
        row["proba"] = lambda t, m=model: np.asarray(m.predict_proba(t)["emotion"])
        row["predict"] = model.predict
        row["labels"] = row["proba"](texts).argmax(1)
        row["scores"] = model.predict(texts)[["empathy", "distress"]].to_numpy(dtype=float)
    speeds = timed(rows, texts, args.repeats, args.latency_essays)
    ref, ort = rows[0], speeds[1]
    print(f"Acceptance targets for int8, against fp32: {TARGETS}\n")
    print(
        "| model | essays/s (batch 32) | vs torch fp32 | vs onnxruntime fp32 | p50 ms / essay | "
        "p50 vs torch fp32 | p50 vs onnxruntime fp32 | same emotion as torch fp32 | "
        "r empathy, distress to torch fp32 | MB | export / quantize s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row, (speed, p50) in zip(rows, speeds):
        same = np.mean(row["labels"] == ref["labels"])
        r = ", ".join(
            f"{np.corrcoef(row['scores'][:, j], ref['scores'][:, j])[0, 1]:.4f}" for j in (0, 1)
        )
        size = "" if row["size"] is None else f"{row['size'] / 2**20:.0f}"
        build = f"{row['build']:.0f}" if "build" in row else ""
        print(
            f"| {row['name']} | {speed:.1f} | {speed / speeds[0][0]:.2f}x | "
            f"{speed / ort[0]:.2f}x | "
            f"{p50:.1f} | {100 * p50 / speeds[0][1]:.0f} % | {100 * p50 / ort[1]:.0f} % | "
            f"{100 * same:.1f} % | {r} | {size} | {build} |"
        )


if __name__ == "__main__":
    main()
