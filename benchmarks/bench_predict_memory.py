"""Peak memory and load time of a saved model at predict, each in a fresh process.

For every model file given (``.joblib``/``.pkl`` via joblib, ``.skops`` via
:func:`skempathy.io.load`; a fitted estimator or a model file of the
``skempathy`` command), a new Python process loads it, predicts one dev
essay, then all 270 WASSA 2021 dev essays in one call, and reports its peak
resident memory (``ru_maxrss``) after each stage. A fresh process per model
keeps one model's memory out of the next one's number.

Usage::

    skempathy wassa --recipe finetuned --out wft
    skempathy distill wft/joint_emotion_empathy_distress.skops --out student.skops
    python benchmarks/bench_predict_memory.py wft/joint_emotion_empathy_distress.skops \\
        student.skops
"""

import argparse
import json
import os
import platform
import subprocess
import sys

_CHILD = r"""
import json, resource, sys, time

def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

path = sys.argv[1]
base = peak_mib()
import joblib
from skempathy.datasets import load_wassa
X = load_wassa("dev").data
imported = peak_mib()
tic = time.perf_counter()
if path.endswith(".skops"):
    from skempathy.io import load
    model = load(path)
else:
    model = joblib.load(path)
load_s = time.perf_counter() - tic
if isinstance(model, dict):  # a bundle written by the skempathy command
    model = model["estimator"]
loaded = peak_mib()
model.predict(X.iloc[:1])
one = peak_mib()
tic = time.perf_counter()
model.predict(X)
batch_s = time.perf_counter() - tic
print(json.dumps({"python": base, "imports": imported, "loaded": loaded, "one": one,
                  "batch": peak_mib(), "load_s": load_s, "batch_s": batch_s, "n": len(X)}))
"""


def measure(path):
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, path], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"{path}: the child process failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="saved model files (.joblib, .pkl, .skops)")
    args = parser.parse_args(argv)
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)
    for path in args.models:
        if not os.path.isfile(path):
            parser.error(f"no such file: {path}")
    print(f"python {platform.python_version()}")
    print(
        "| model | file MB | load s | peak MiB after imports | after load | after 1 essay "
        "| after 270 essays | 270 essays s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for path in args.models:
        row = measure(path)
        print(
            f"| {path} | {os.path.getsize(path) / 1e6:.1f} | {row['load_s']:.2f} "
            f"| {row['imports']:.0f} | {row['loaded']:.0f} | {row['one']:.0f} "
            f"| {row['batch']:.0f} | {row['batch_s']:.1f} |"
        )


if __name__ == "__main__":
    main()
