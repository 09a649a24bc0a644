"""Scale-out: model comparison and annotation on a 2-worker Dask cluster, and
two-process fine-tuning, each against one process.

``compare``: ``compare_models`` of 6 MiniLM pipelines (frozen encoder + head) x 5
writer-grouped folds on the WASSA 2022 training essays (empathy), once with
``n_jobs=1`` and once on a local Dask cluster of 2 worker processes; prints the
wall-clock times, whether the score tables are identical and how many texts the
caller and the workers encoded.

``annotate``: an ``EmotionAnnotator`` (MiniLM + logistic regression, fitted on
5,000 GoEmotions training comments) labels N GoEmotions training comments read
from a CSV file, in one process (``map_table``) and on the Dask cluster
(``read_csv(blocksize=...).map_partitions(BatchPredictor)``), at two corpus
sizes; prints comments/s and the peak resident memory of each process.

``finetune``: ``TransformerRegressor`` (MiniLM, empathy) fitted on the training
essays by one process (batch 16, gradient accumulation 2) and by two processes
under ``torchrun`` (batch 16 each; 2 epochs, 128 tokens), for each seed; prints
the dev Pearson r and the wall-clock time.

    python benchmarks/bench_scale_out.py compare annotate finetune --data ../shared/data
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def table(rows, floatfmt=".3f"):
    frame = pd.DataFrame(rows)
    print(frame.to_markdown(index=False, floatfmt=floatfmt))
    print()


def peak_rss_mb():
    """This process's peak resident memory (VmHWM: ``ru_maxrss`` would carry the parent's peak
    across fork and exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- compare
def bench_compare(args):
    import distributed
    from joblib import parallel_config
    from sklearn.ensemble import AdaBoostRegressor, RandomForestRegressor
    from sklearn.linear_model import Ridge
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVR
    from xgboost import XGBRegressor

    from skempathy.datasets import load_wassa
    from skempathy.model_selection import compare_models
    from skempathy.text import SentenceEmbedder, clear_embedding_cache, embedding_cache_info

    train = load_wassa("train")
    X, y, groups = train.data["essay"], train.target["empathy"], train.groups
    heads = {
        "ridge": Ridge(10.0),
        "svr": SVR(),
        "knn": KNeighborsRegressor(15),
        "mlp": MLPRegressor(
            hidden_layer_sizes=(256,), max_iter=300, early_stopping=True, random_state=0
        ),
        "adaboost": AdaBoostRegressor(n_estimators=100, random_state=0),
        "forest": RandomForestRegressor(200, n_jobs=1, random_state=0),
        "xgboost": XGBRegressor(n_estimators=300, max_depth=4, n_jobs=1, random_state=0),
    }
    names = list(heads)[: args.models]
    models = {f"minilm+{n}": make_pipeline(SentenceEmbedder(), heads[n]) for n in names}
    run = dict(
        groups=groups,
        cv=5,
        n_resamples=200,
        random_state=0,
        show_progress=False,
        measure_memory=False,
    )

    def timed(**kw):
        clear_embedding_cache()
        start = time.perf_counter()
        result = compare_models(models, X, y, **run, **kw)
        return result, time.perf_counter() - start, embedding_cache_info()["misses"]

    alone, t_alone, encoded_alone = timed(n_jobs=1)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.run(clear_embedding_cache)
        with parallel_config(backend="dask"):
            spread, t_dask, encoded_caller = timed(n_jobs=2)
        worker_misses = sum(info["misses"] for info in client.run(embedding_cache_info).values())
    a, b = alone.fold_scores, spread.fold_scores
    same = a[["model", "fold", "metric"]].equals(b[["model", "fold", "metric"]])
    diff = (
        float(np.nanmax(np.abs(a["score"].to_numpy() - b["score"].to_numpy()))) if same else np.inf
    )
    errors = sorted(set(alone.fold_info["error"]) | set(spread.fold_info["error"]) - {""})
    table(
        [
            {
                "run": "1 process (n_jobs=1)",
                "wall s": t_alone,
                "speed-up": 1.0,
                "texts encoded": encoded_alone,
                "max |score difference|": 0.0,
            },
            {
                "run": "Dask, 2 worker processes",
                "wall s": t_dask,
                "speed-up": t_alone / t_dask,
                "texts encoded": encoded_caller + worker_misses,
                "max |score difference|": diff,
            },
        ],
        floatfmt=".3g",
    )
    if errors:
        print("failed folds:", errors[:3], "\n")
    summary = alone.summary()[["pearson_mean", "pearson_pooled"]]
    if same:  # which models moved between the runs (BLAS thread counts differ in workers)
        moved = (
            a.assign(diff=np.abs(a["score"].to_numpy() - b["score"].to_numpy()))
            .groupby("model")["diff"]
            .max()
        )
        summary["max |fold difference|"] = moved.reindex(summary.index)
    print(summary.to_markdown(floatfmt=".3g"))
    print()


# --------------------------------------------------------------------------- annotate
_WORKER = """
import json, sys, time
from skempathy.batch import BatchPredictor, map_table
model, source, out = sys.argv[1:4]
start = time.perf_counter()
predictor = BatchPredictor(model, method="predict_labels", text_column="text", allow_pickle=True)
n = map_table(predictor, source, out, chunk_size=2000, show_progress=False)
peak = [int(line.split()[1]) / 1024 for line in open("/proc/self/status")
        if line.startswith("VmHWM:")][0]
print(json.dumps({"n": n, "seconds": time.perf_counter() - start, "peak_mb": peak}))
"""


def bench_annotate(args):
    import distributed
    import dask.dataframe as dd
    import joblib

    from skempathy.batch import BatchPredictor
    from skempathy.datasets import fetch_goemotions
    from skempathy.dialogue import EmotionAnnotator

    frame = fetch_goemotions("train", data_home=args.data, download_if_missing=False).frame
    folder = Path(tempfile.mkdtemp(prefix="bench_scale_out_"))
    fit = frame.iloc[:5000]
    annotator = EmotionAnnotator(taxonomy="ekman").fit(fit["text"], fit["labels"].tolist())
    model = folder / "annotator.joblib"
    joblib.dump(annotator, model)
    rows = []
    for size in args.sizes:
        corpus = frame[["id", "text"]].iloc[:size]
        source = folder / f"comments_{size}.csv"
        corpus.to_csv(source, index=False)
        # one process, streaming in chunks of 2,000 comments (a fresh interpreter: its peak
        # memory is this job's)
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _WORKER,
                str(model),
                str(source),
                str(folder / f"labels_{size}.csv"),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        one = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(
            {
                "comments": size,
                "run": "1 process, map_table",
                "comments/s": one["n"] / one["seconds"],
                "peak MB per process": one["peak_mb"],
            }
        )
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            predictor = BatchPredictor(
                model, method="predict_labels", text_column="text", allow_pickle=True
            )
            start = time.perf_counter()
            parts = dd.read_csv(source, blocksize="256KB")
            meta = predictor(corpus.head(2)).iloc[:0]
            parts.map_partitions(predictor, meta=meta).to_csv(
                str(folder / f"labels_{size}_dask-*.csv"), index=False
            )
            seconds = time.perf_counter() - start
            peaks = client.run(peak_rss_mb)
        rows.append(
            {
                "comments": size,
                "run": "Dask, 2 worker processes",
                "comments/s": size / seconds,
                "peak MB per process": max(peaks.values()),
            }
        )
    table(rows, floatfmt=".1f")


# --------------------------------------------------------------------------- finetune
_FIT = """
import json, os, sys, time
import torch
from skempathy.datasets import load_wassa
from skempathy.metrics import pearson_score
from skempathy.neural import TransformerRegressor, is_main_process
seed, accumulate, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
train, dev = load_wassa("train"), load_wassa("dev")
start = time.perf_counter()
model = TransformerRegressor("minilm", batch_size=16, gradient_accumulation_steps=accumulate,
                             max_length=128,
                             max_epochs=2, learning_rate=5e-5, random_state=seed)
model.fit(train.data["essay"], train.target["empathy"])
seconds = time.perf_counter() - start
if is_main_process():
    r = pearson_score(dev.target["empathy"], model.predict(dev.data["essay"]))
    print(json.dumps({"r": float(r), "seconds": seconds}))
"""


def bench_finetune(args):
    script = Path(tempfile.mkdtemp(prefix="bench_scale_out_")) / "fit.py"
    script.write_text(_FIT)
    rows = []
    for seed in args.seeds:
        for name, command in (
            (
                "1 process, batch 16 x 2 accumulated",
                [sys.executable, str(script), str(seed), "2", "2"],
            ),
            (
                "torchrun, 2 processes x batch 16",
                [
                    sys.executable,
                    "-m",
                    "torch.distributed.run",
                    "--nproc_per_node",
                    "2",
                    "--master_addr",
                    "127.0.0.1",
                    "--master_port",
                    "29561",
                    str(script),
                    str(seed),
                    "1",
                    "1",
                ],
            ),
        ):
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
            if done.returncode:
                raise RuntimeError(done.stderr[-3000:])
            out = json.loads(
                [line for line in done.stdout.splitlines() if line.startswith("{")][-1]
            )
            rows.append(
                {"seed": seed, "run": name, "dev r (empathy)": out["r"], "fit s": out["seconds"]}
            )
    table(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="+", choices=["compare", "annotate", "finetune"])
    parser.add_argument("--data", default=None, help="folder holding goemotions/")
    parser.add_argument("--models", type=int, default=6)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 43_410])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)
    warnings.simplefilter("ignore")
    print()
    for part in args.parts:
        print(f"## {part}\n")
        globals()[f"bench_{part}"](args)


if __name__ == "__main__":
    main()
