"""GoEmotions annotator benchmark: macro-F1 on the test split vs. the GoEmotions paper.

The paper (Demszky et al. 2020, Table 4 / 5 / 6) reports macro-F1 of a fine-tuned
BERT-base: 0.46 on the 28 labels, 0.64 on Ekman groups, 0.69 on sentiment groups.
Here: ``EmotionAnnotator`` with its default model (frozen embedded MiniLM +
per-label logistic regression, thresholds tuned per label on dev), trained on a
random subset of the train split (``--n-train``; 0 = all 43,410) because
encoding the whole split on a shared 2-core CPU takes long. Ekman and sentiment
are measured twice: mapping the 28-label predictions, and training an annotator
directly on the mapped labels (as the paper did).

    python benchmarks/bench_dialogue.py --shared-data ../shared/data --n-train 6000
"""

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, precision_score, recall_score

from skempathy.datasets import fetch_goemotions
from skempathy.dialogue import EmotionAnnotator, map_emotions

PAPER = {"goemotions": 0.46, "ekman": 0.64, "sentiment": 0.69}


def _home(shared):
    home = Path(tempfile.gettempdir()) / "skempathy_goemotions_home"
    (home / "goemotions").mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        target = home / "goemotions" / f"{split}.tsv"
        if not target.exists():
            shutil.copy(Path(shared) / "goemotions" / f"{split}.tsv", target)
    return str(home)


def _indicator(sets, names):
    return np.array([[n in s for n in names] for s in sets], dtype=int)


def _scores(true_sets, pred_sets, names):
    Y, P = _indicator(true_sets, names), _indicator(pred_sets, names)
    kw = dict(average="macro", zero_division=0)
    return {
        "macro_f1": f1_score(Y, P, **kw),
        "macro_precision": precision_score(Y, P, **kw),
        "macro_recall": recall_score(Y, P, **kw),
        "micro_f1": f1_score(Y, P, average="micro", zero_division=0),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    p.add_argument("--shared-data", default=str(shared))
    p.add_argument("--n-train", type=int, default=6000)
    p.add_argument("--cache-dir", default=os.path.expanduser("~/.cache/skempathy/dialogue"))
    args = p.parse_args(argv)
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)
    home = _home(args.shared_data)
    train, dev, test = (fetch_goemotions(s, data_home=home) for s in ("train", "dev", "test"))
    n = len(train.data) if args.n_train <= 0 else min(args.n_train, len(train.data))
    idx = np.random.RandomState(0).permutation(len(train.data))[:n]
    X = [train.data[i] for i in idx]
    labels = [train.frame["labels"][i] for i in idx]
    dev_labels = list(dev.frame["labels"])
    test_labels = list(test.frame["labels"])
    rows = []
    t0 = time.perf_counter()
    fine = EmotionAnnotator(cache_dir=args.cache_dir, random_state=0).fit(
        X, labels, X_dev=dev.data, y_dev=dev_labels
    )
    fit_s = time.perf_counter() - t0
    pred28 = fine.predict_labels(test.data, fallback="none")
    for taxonomy in ("goemotions", "ekman", "sentiment"):
        names = list(fine.classes_) if taxonomy == "goemotions" else None
        true = test_labels if taxonomy == "goemotions" else map_emotions(test_labels, taxonomy)
        if names is None:
            names = sorted({label for s in true for label in s})
        majority = (
            pd.Series([label for s in map_emotions(labels, taxonomy) for label in s])
            .value_counts()
            .index[0]
        )
        base = _scores(true, [(majority,)] * len(true), names)
        mapped = pred28 if taxonomy == "goemotions" else map_emotions(pred28, taxonomy)
        rows.append(
            {
                "taxonomy": taxonomy,
                "model": "28-label annotator"
                + ("" if taxonomy == "goemotions" else f", mapped to {taxonomy}"),
                **_scores(true, mapped, names),
                "paper_bert_macro_f1": PAPER[taxonomy],
                "majority_macro_f1": base["macro_f1"],
            }
        )
        if taxonomy != "goemotions":
            t = time.perf_counter()
            own = EmotionAnnotator(taxonomy=taxonomy, cache_dir=args.cache_dir, random_state=0).fit(
                X, labels, X_dev=dev.data, y_dev=dev_labels
            )
            pred = own.predict_labels(test.data, fallback="none")
            rows.append(
                {
                    "taxonomy": taxonomy,
                    "model": f"annotator trained on {taxonomy}",
                    **_scores(true, pred, names),
                    "paper_bert_macro_f1": PAPER[taxonomy],
                    "majority_macro_f1": base["macro_f1"],
                }
            )
            print(f"{taxonomy} fit+predict {time.perf_counter() - t:.0f}s", flush=True)
    table = pd.DataFrame(rows).round(3)
    print(
        f"\nGoEmotions test ({len(test.data)} comments); annotator trained on {n} train "
        f"comments (random subset, seed 0); thresholds tuned on dev ({len(dev.data)}); "
        f"28-label fit {fit_s:.0f}s (embeddings cached in {args.cache_dir})"
    )
    print(table.to_markdown(index=False))
    return table


if __name__ == "__main__":
    main()
