"""Benchmarks of skempathy.text, printed as a table.

(a) ``SentenceEmbedder.transform`` throughput vs calling
    ``SentenceTransformer.encode`` directly on the same WASSA essays
    (target: ratio >= 0.95);
(b) a 6-candidate x 5-fold GridSearchCV over heads with the embedding cache vs
    without (target: >= 10x faster, about one encoding pass in total);
(c) single-essay predict latency and peak memory of a pickled pipeline, in a
    fresh process.

Usage::

    python benchmarks/bench_text.py                     # all 2655 essays for (a), 600 for (b)
    python benchmarks/bench_text.py --n-essays 500 --grid-essays 300   # quicker
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pandas as pd

try:
    import skempathy  # noqa: F401
except ImportError:  # running from a checkout without `pip install .`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def essays(n):
    from skempathy.datasets import load_wassa

    texts = pd.concat([load_wassa(s).data["essay"] for s in ("train", "dev", "test")])
    return texts.tolist()[:n]


def bench_throughput(texts, repeats):
    from sentence_transformers import SentenceTransformer

    from skempathy.base import resolve_model
    from skempathy.text import SentenceEmbedder, clear_embedding_cache

    direct = SentenceTransformer(resolve_model("minilm"), device="cpu")
    ours = SentenceEmbedder("minilm", device="cpu", cache=None, show_progress=False).fit(texts[:1])
    ours.transform(texts[:32])
    direct.encode(texts[:32])  # warm up both
    t_direct, t_ours = [], []
    for _ in range(repeats):  # interleaved, so load changes hit both alike
        start = time.perf_counter()
        ref = direct.encode(texts, batch_size=32)
        t_direct.append(time.perf_counter() - start)
        clear_embedding_cache()  # measure a cold pass (cache misses: hashing + encode + store)
        start = time.perf_counter()
        got = ours.transform(texts)
        t_ours.append(time.perf_counter() - start)
    assert np.allclose(got, ref, atol=1e-5)
    start = time.perf_counter()
    ours.transform(texts)
    t_hit = time.perf_counter() - start
    n = len(texts)
    return {
        "direct_texts_per_s": n / min(t_direct),
        "ours_texts_per_s": n / min(t_ours),
        "ratio": min(t_direct) / min(t_ours),
        "cached_pass_s": t_hit,
        "direct_s": t_direct,
        "ours_s": t_ours,
    }


def bench_grid(n):
    from sklearn.ensemble import AdaBoostRegressor
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV, GroupKFold
    from sklearn.svm import SVR
    from sklearn.tree import DecisionTreeRegressor
    from xgboost import XGBRegressor

    from skempathy.compose import make_wassa_pipeline
    from skempathy.datasets import load_wassa
    from skempathy.metrics import get_scorer
    from skempathy.text import SentenceEmbedder, clear_embedding_cache, embedding_cache_info

    train = load_wassa("train")
    X, y, groups = train.data[:n], train.frame["empathy"][:n], train.groups[:n]
    heads = [
        Ridge(alpha=100.0),
        Ridge(alpha=2000.0),
        SVR(C=1.0),
        SVR(C=3.0),
        AdaBoostRegressor(DecisionTreeRegressor(max_depth=3), n_estimators=30, random_state=0),
        XGBRegressor(n_estimators=100, max_depth=3, n_jobs=1, random_state=0),
    ]
    result = {}
    for label, cache in (("with cache", None), ("without cache", False)):
        clear_embedding_cache()
        emb = SentenceEmbedder("minilm", device="cpu", cache=cache, show_progress=False)
        pipe = make_wassa_pipeline("empathy", head="ridge", embedder=emb)
        search = GridSearchCV(
            pipe,
            {"head": heads},
            cv=GroupKFold(n_splits=5),
            scoring=get_scorer("pearson"),
            n_jobs=1,
        )
        start = time.perf_counter()
        search.fit(X, y, groups=groups)
        result[label] = {
            "seconds": time.perf_counter() - start,
            "texts_encoded": embedding_cache_info()["misses"] if cache is None else None,
            "best": str(search.best_params_["head"]),
            "best_score": float(search.best_score_),
        }
    result["speedup"] = result["without cache"]["seconds"] / result["with cache"]["seconds"]
    result["n_essays"] = n
    return result


def bench_latency(n_fit):
    from skempathy.datasets import load_wassa
    from skempathy.recipes import logreg_track2
    from skempathy.text import SentenceEmbedder

    train = load_wassa("train")
    pipe = logreg_track2(SentenceEmbedder("minilm", device="cpu", show_progress=False))
    pipe.fit(train.data[:n_fit], train.frame["emotion"][:n_fit])
    folder = tempfile.mkdtemp(prefix="skempathy_bench_")
    path = os.path.join(folder, "track2.joblib")
    import joblib

    joblib.dump(pipe, path)
    size = os.path.getsize(path)
    script = textwrap.dedent(f"""
        import json, time
        import numpy as np
        t0 = time.perf_counter()
        import joblib
        from skempathy.datasets import load_wassa
        X = load_wassa("dev").data
        pipe = joblib.load({path!r})
        t1 = time.perf_counter()
        pipe.predict(X.iloc[[0]])
        t2 = time.perf_counter()
        warm = []
        for i in range(1, 21):
            s = time.perf_counter(); pipe.predict(X.iloc[[i]]); warm.append(time.perf_counter() - s)
        # VmHWM: this process's peak RSS (ru_maxrss would include the forking parent's)
        with open("/proc/self/status") as fh:
            peak = next(int(l.split()[1]) for l in fh if l.startswith("VmHWM")) / 1024
        print(json.dumps({{"load_s": t1 - t0, "first_predict_s": t2 - t1,
                           "warm_median_ms": 1000 * float(np.median(warm)),
                           "peak_rss_mib": peak}}))
    """)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [
                os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                os.environ.get("PYTHONPATH", ""),
            ]
        ),
    }
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["pickle_kib"] = size / 1024
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-essays", type=int, default=2655, help="essays for (a)")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes for (a)")
    parser.add_argument("--grid-essays", type=int, default=600, help="train essays for (b)")
    parser.add_argument("--fit-essays", type=int, default=1860, help="train essays for (c)")
    parser.add_argument("--only", choices=("a", "b", "c"), nargs="+", default=("a", "b", "c"))
    args = parser.parse_args(argv)
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)
    import torch

    print(f"torch threads: {torch.get_num_threads()}, CPUs: {os.cpu_count()}", flush=True)
    rows = []
    if "a" in args.only:
        texts = essays(args.n_essays)
        a = bench_throughput(texts, args.repeats)
        rows += [
            (
                "(a) encode, SentenceTransformer.encode",
                f"{a['direct_texts_per_s']:.1f} essays/s",
                f"{len(texts)} essays, best of {args.repeats}",
            ),
            (
                "(a) encode, SentenceEmbedder.transform (cold cache)",
                f"{a['ours_texts_per_s']:.1f} essays/s",
                f"ratio {a['ratio']:.3f} (target >= 0.95)",
            ),
            (
                "(a) SentenceEmbedder.transform, all cached",
                f"{a['cached_pass_s']:.3f} s",
                f"{len(texts)} essays",
            ),
        ]
        print(json.dumps({"a": a}), flush=True)
    if "b" in args.only:
        b = bench_grid(args.grid_essays)
        rows += [
            (
                "(b) GridSearchCV 6 heads x 5 grouped folds, no cache",
                f"{b['without cache']['seconds']:.1f} s",
                f"{b['n_essays']} train essays",
            ),
            (
                "(b) same, with the embedding cache",
                f"{b['with cache']['seconds']:.1f} s",
                f"speedup {b['speedup']:.1f}x (target >= 10x); "
                f"{b['with cache']['texts_encoded']} texts encoded in total",
            ),
        ]
        print(json.dumps({"b": b}), flush=True)
    if "c" in args.only:
        c = bench_latency(args.fit_essays)
        rows += [
            (
                "(c) pickled Track 2 pipeline: load (fresh process)",
                f"{c['load_s']:.2f} s",
                f"pickle {c['pickle_kib']:.0f} KiB (no weights: model reloaded lazily)",
            ),
            ("(c) first single-essay predict (loads MiniLM)", f"{c['first_predict_s']:.2f} s", ""),
            ("(c) single-essay predict, warm (median of 20)", f"{c['warm_median_ms']:.1f} ms", ""),
            (
                "(c) peak memory of that process",
                f"{c['peak_rss_mib']:.0f} MiB",
                "VmHWM of the fresh process",
            ),
        ]
        print(json.dumps({"c": c}), flush=True)
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'measurement'.ljust(width)}  {'value':>16}  notes")
    for name, value, note in rows:
        print(f"{name.ljust(width)}  {value:>16}  {note}")


if __name__ == "__main__":
    main()
