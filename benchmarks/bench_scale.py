"""Scoring at corpus scale: essays/s, peak memory and agreement with fp32, per model.

Two parts, each printed as a table with the machine it ran on:

(a) **Encoders**: essays/s of the frozen encoders on the same essays in one process:
    the static embedder distilled from MiniLM (:class:`~skempathy.text.StaticEmbedder`)
    against the MiniLM :class:`~skempathy.text.SentenceEmbedder` in fp32 and int8, with
    the mean cosine of each to its fp32 source where they share a space.

(b) **Files**: ``skempathy predict`` streams a CSV of ``--rows`` texts (the bundled WASSA and
    NewsEmp essays, repeated, each row made distinct by its number) through each saved model
    given, in a fresh process: rows/s, peak resident memory, and the share of emotion labels
    and the r of empathy/distress against the first model (the fp32 reference) on the rows
    both scored. A model is given as ``PATH`` or ``PATH:OPTION=VALUE,...`` with the options
    of ``skempathy predict`` (``precision``, ``backend``; ``rows``: fewer rows for a slow
    model). The throughput of the same model, served the same way, on 2,000 of the rows it
    streamed (evenly spaced) in one ``predict`` call is printed beside it: the share of the
    model's own speed that the streaming command keeps.

Usage::

    skempathy wassa --out wdef                                    # the default recipe
    skempathy distill wdef/joint_emotion_empathy_distress.skops --model static-minilm \\
        --out static_student.skops
    skempathy distill wdef/joint_emotion_empathy_distress.skops --out student.skops
    python benchmarks/bench_scale.py --rows 1000000 static_student.skops \\
        student.skops:rows=20000 student.skops:rows=20000,backend=onnx,precision=int8-static
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

try:
    import skempathy  # noqa: F401
except ImportError:  # running from a checkout without `pip install .`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def corpus_texts():
    from skempathy.datasets import load_newsemp, load_wassa

    texts = [load_wassa(s).data["essay"] for s in ("train", "dev", "test")]
    texts.append(pd.Series(load_newsemp().data))
    return pd.concat(texts, ignore_index=True).astype(str)


def write_corpus(path, rows, chunk=100_000):
    """``rows`` texts, the corpus repeated, with an ``id`` column; written in chunks."""
    texts = corpus_texts()
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        while written < rows:
            n = min(chunk, rows - written)
            index = np.arange(written, written + n)
            # each row made distinct, so that no model's embedding cache serves a repeat
            text = texts.to_numpy()[index % len(texts)] + " #" + index.astype(str)
            frame = pd.DataFrame({"id": index, "text": text})
            frame.to_csv(handle, index=False, header=written == 0)
            written += n
    return len(texts)


def _table(rows, headers):
    try:
        from tabulate import tabulate

        print(tabulate(rows, headers=headers, tablefmt="github"))
    except ImportError:
        print(" | ".join(headers))
        for row in rows:
            print(" | ".join(map(str, row)))


def encoders(n):
    from skempathy.text import SentenceEmbedder, StaticEmbedder, clear_embedding_cache

    texts = corpus_texts()
    index = np.arange(n)
    texts = (texts.to_numpy()[index % len(texts)] + " #" + index.astype(str)).tolist()
    static = StaticEmbedder("minilm", cache=False, show_progress=False).fit(texts[:1])
    results = {}

    def timed(name, embedder, sample):
        embedder.transform(sample[:16])  # warm-up
        clear_embedding_cache()
        start = time.perf_counter()
        out = embedder.transform(sample)
        results[name] = (len(sample) / (time.perf_counter() - start), out)

    small = texts[: min(n, 1000)]
    for precision in ("fp32", "int8"):
        minilm = SentenceEmbedder(
            "minilm", device="cpu", cache=False, show_progress=False, precision=precision
        ).fit(small[:1])
        timed(f"SentenceEmbedder MiniLM {precision}", minilm, small)
    timed("StaticEmbedder static-minilm", static, texts)
    fp32 = results["SentenceEmbedder MiniLM fp32"]
    rows = []
    for name, (rate, out) in results.items():
        cosine = ""
        if name.startswith("SentenceEmbedder"):  # the static vectors live in another space
            a, b = out[: len(small)], fp32[1]
            norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
            cosine = f"{np.mean(np.sum(a * b, 1) / norms):.4f}"
        rows.append([name, len(out), f"{rate:,.0f}", f"{rate / fp32[0]:.1f}x", cosine])
    print("\n(a) Frozen encoders, in one process\n")
    _table(rows, ["encoder", "texts", "texts/s", "vs MiniLM fp32", "cosine to fp32"])


_CHILD = r"""
import json, sys, time
import pandas as pd
from skempathy._commands._common import model_digest
from skempathy._commands.predict import serve_with_onnx, set_precision
from skempathy.io import load
model = load(sys.argv[1])
model = model["estimator"] if isinstance(model, dict) else model
options = json.loads(sys.argv[3])
# served as skempathy predict serves it
if options.get("backend") == "onnx":
    serve_with_onnx(model, model_digest(sys.argv[1]), options.get("precision"), notify=str)
elif options.get("precision"):
    set_precision(model, options["precision"])
# 2,000 of the rows streamed, evenly spaced: the same mix of texts
step = max(1, int(sys.argv[4]) // 2000)
rows = pd.read_csv(sys.argv[2], usecols=["text"], skiprows=lambda i: i and (i - 1) % step)
texts = rows["text"].iloc[:2000].rename("essay").to_frame()
model.predict(texts.iloc[:8])
start = time.perf_counter()
model.predict(texts)
print(json.dumps({"rate": len(texts) / (time.perf_counter() - start)}))
"""


def batch_rate(model, source, rows, options):
    """Texts/s of one ``predict`` call on 2,000 texts spread over ``source``, in a fresh
    process, the model served as ``skempathy predict`` serves it."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, model, source, json.dumps(options), str(rows)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        print(f"one-call rate of {model} {options}: {out.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])["rate"]


def stream(model, corpus, rows, options, folder):
    """``skempathy predict`` on the first ``rows`` rows: (rows/s, peak MiB, output path,
    the CSV it read)."""
    source = corpus
    if rows is not None:
        source = os.path.join(folder, f"first-{rows}.csv")
        if not os.path.exists(source):
            pd.read_csv(corpus, nrows=rows).to_csv(source, index=False)
    tag = "-".join(f"{k}{v}" for k, v in sorted(options.items()))
    output = os.path.join(folder, f"{os.path.basename(model)}-{tag or 'default'}.csv")
    command = [
        sys.executable, "-m", "skempathy", "predict", model, "--input", source,
        "--text-column", "text", "--output", output, "--quiet",
    ]  # fmt: skip
    for key in ("precision", "backend"):
        if key in options:
            command += [f"--{key}", options[key]]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    n = rows or sum(1 for _ in open(corpus, encoding="utf-8")) - 1
    # ru_maxrss of the children is the largest child so far: only a new maximum is this run's
    return n / seconds, (peak / 1024 if peak > before else None), output, source


def _agreement(reference, output):
    ref = pd.read_csv(reference)
    got = pd.read_csv(output)
    n = min(len(ref), len(got))
    ref, got = ref.iloc[:n], got.iloc[:n]
    parts = []
    if "emotion" in ref:
        parts.append(f"labels {np.mean(ref['emotion'] == got['emotion']):.1%}")
    for column in ("empathy", "distress"):
        if column in ref:
            parts.append(f"{column} r {np.corrcoef(ref[column], got[column])[0, 1]:.4f}")
    return ", ".join(parts)


def _label(path, options):
    settings = ", ".join(f"{key}={value}" for key, value in options.items())
    return os.path.basename(path) + (f" ({settings})" if settings else "")


def _parse(spec):
    path, _, rest = spec.partition(":")
    options = dict(item.split("=", 1) for item in rest.split(",") if item)
    rows = options.pop("rows", None)
    return path, (int(rows) if rows else None), options


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="PATH or PATH:precision=int8,rows=20000")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the CSV")
    parser.add_argument("--encoder-texts", type=int, default=50_000, help="texts for (a)")
    parser.add_argument("--folder", default=None, help="where the CSVs go (default: a temp dir)")
    args = parser.parse_args(argv)
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)
    encoders(args.encoder_texts)
    if not args.models:
        return
    folder = args.folder or tempfile.mkdtemp(prefix="bench_scale_")
    corpus = os.path.join(folder, f"corpus-{args.rows}.csv")
    distinct = write_corpus(corpus, args.rows) if not os.path.exists(corpus) else None
    rows, reference = [], None
    for spec in args.models:
        path, n, options = _parse(spec)
        rate, peak, output, source = stream(path, corpus, n, options, folder)
        batch = batch_rate(path, source, n or args.rows, options)
        agreement = "reference" if reference is None else _agreement(reference, output)
        reference = reference or output
        rows.append(
            [
                _label(path, options),
                f"{n or args.rows:,}",
                f"{rate:,.0f}",
                "" if batch is None else f"{batch:,.0f}",
                "" if batch is None else f"{rate / batch:.0%}",
                "" if peak is None else f"{peak:,.0f}",
                agreement,
            ]
        )  # fmt: skip
    print(
        f"\n(b) skempathy predict on a CSV of {args.rows:,} texts"
        + (f" ({distinct:,} distinct essays repeated)" if distinct else "")
        + "\n"
    )
    _table(
        rows,
        ["model", "rows", "rows/s streamed", "texts/s in one call", "kept", "peak MiB", "vs first"],
    )


if __name__ == "__main__":
    main()
