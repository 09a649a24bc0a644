"""Dev scores, size and speed of saved WASSA models, each tested against a baseline model.

For every model file given (``.joblib``/``.pkl`` via joblib, ``.skops`` via
:func:`skempathy.io.load`; a fitted estimator or a model file of the
``skempathy`` command) that predicts ``emotion``, ``empathy`` and
``distress`` from the WASSA 2021 columns, the script predicts the 270 dev
essays and prints the official dev scores, the share of the first model's
score each model keeps, the file size, the median time of a one-essay
``predict`` and the batch throughput. ``--baseline`` names one of the files;
every other model is tested against it with the writer-grouped paired
bootstrap (:func:`skempathy.metrics.bootstrap_test`, 1000 resamples): the
p-value that it beats the baseline on emotion macro-F1 and on average r.

Usage (recipe ``best``, its distilled student and the same student trained on
gold labels alone)::

    skempathy wassa --recipe best --out wbest
    skempathy distill wbest/joint_emotion_empathy_distress.skops --out student.skops
    skempathy distill wbest/joint_emotion_empathy_distress.skops --out gold.skops \\
        --alpha 1 --unlabeled none
    python benchmarks/bench_distill.py wbest/joint_emotion_empathy_distress.skops \\
        student.skops gold.skops --baseline gold.skops
"""

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd

TARGETS = ["emotion", "empathy", "distress"]
# wassa_evaluate's keys, as the table names them
METRICS = {
    "empathy_pearson": "empathy r",
    "distress_pearson": "distress r",
    "average_pearson": "avg r",
    "macro_f1": "emotion macro-F1",
}


def load(path):
    if path.endswith(".skops"):
        from skempathy.io import load as load_skops

        model = load_skops(path)
    else:
        import joblib

        model = joblib.load(path)
    return model["estimator"] if isinstance(model, dict) else model  # a command's model file


def predictions(model, X):
    pred = model.predict(X)
    if not isinstance(pred, pd.DataFrame):
        pred = pd.DataFrame(np.asarray(pred, dtype=object).reshape(len(X), -1), columns=TARGETS)
    missing = [t for t in TARGETS if t not in pred.columns]
    if missing:
        raise SystemExit(f"the model does not predict {', '.join(missing)}")
    return pred[TARGETS].reset_index(drop=True)


def speed(model, X, n_single=20):
    """Median ms of a one-essay predict, and essays/s of one batch call (best of 2), each call
    with a fresh embedding cache: the dev essays were encoded for the scores, new texts are not."""
    from skempathy.text import fresh_embedding_cache

    single, batch = [], []
    for i in range(min(n_single, len(X))):
        with fresh_embedding_cache():
            tic = time.perf_counter()
            model.predict(X.iloc[[i]])
            single.append(time.perf_counter() - tic)
    for _ in range(2):
        with fresh_embedding_cache():
            tic = time.perf_counter()
            model.predict(X)
            batch.append(time.perf_counter() - tic)
    return 1000 * float(np.median(single)), len(X) / min(batch)


def scores(truth, pred):
    from skempathy.metrics import wassa_evaluate

    values = wassa_evaluate(truth, pred)
    return {label: values[key] for key, label in METRICS.items()}


def p_values(truth, pred, base, groups, n_resamples):
    """Writer-grouped paired bootstrap p-values that ``pred`` beats ``base`` (F1 / avg r)."""
    from skempathy.metrics import bootstrap_test

    tests = (
        bootstrap_test(
            truth, pred, base, metric, groups=groups, n_resamples=n_resamples, random_state=0
        )
        for metric in ("macro_f1", "average_pearson")
    )
    return " / ".join(f"{test.p_value:.3f}" for test in tests)


def main(argv=None):
    from skempathy.datasets import load_wassa

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "models",
        nargs="+",
        help="saved model files (.joblib, .pkl, .skops); the first is the reference of the shares",
    )
    parser.add_argument(
        "--baseline", help="one of the model files: the others are tested against it"
    )
    parser.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--no-speed", action="store_true", help="skip the timings")
    args = parser.parse_args(argv)
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)
    for path in args.models:
        if not os.path.isfile(path):
            parser.error(f"no such file: {path}")
    if args.baseline and args.baseline not in args.models:
        parser.error("--baseline must be one of the model files")

    dev = load_wassa("dev")
    truth = dev.frame[TARGETS].reset_index(drop=True)
    rows = {}
    for path in args.models:
        model = load(path)
        pred = predictions(model, dev.data)
        timing = (np.nan, np.nan) if args.no_speed else speed(model, dev.data)
        rows[path] = (pred, scores(truth, pred), os.path.getsize(path) / 2**20, timing)

    print(f"WASSA 2021 dev, {len(truth)} essays; python {platform.python_version()}")
    metrics = list(next(iter(rows.values()))[1])
    reference = rows[args.models[0]][1]
    header = metrics + ["share of first (F1 / avg r)", "file MiB", "p50 ms / essay", "essays/s"]
    if args.baseline:
        header.append(f"p vs {args.baseline} (F1 / avg r)")
    print("| model | " + " | ".join(header) + " |")
    print("|---" * (len(header) + 1) + "|")
    for path, (pred, score, size, (p50, throughput)) in rows.items():
        share = (
            f"{score['emotion macro-F1'] / reference['emotion macro-F1']:.1%} / "
            f"{score['avg r'] / reference['avg r']:.1%}"
        )
        timed = [f"{p50:.1f}", f"{throughput:.1f}"] if not args.no_speed else ["", ""]
        cells = [f"{score[m]:.3f}" for m in metrics] + [share, f"{size:.1f}"] + timed
        if args.baseline:
            cells.append(
                ""
                if path == args.baseline
                else p_values(truth, pred, rows[args.baseline][0], dev.groups, args.n_resamples)
            )
        print(f"| {path} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
