"""Fine-tuned emotion classifier + GoEmotions augmentation (WASSA@IITK's lever) on WASSA 2021.

Fits :func:`skempathy.recipes.finetuned_emotion_goemotions` (MiniLM fine-tuned
on the essays plus GoEmotions comments, balanced fill-up to the largest
emotion) on train and scores dev, and with ``--cv K`` runs writer-grouped
K-fold CV on train (pooled out-of-fold macro-F1). ``--blend F`` also scores the
vote of this classifier with the ``best`` recipe's three emotion members, whose
dev and out-of-fold probabilities are read from a file written by
``wassa_finetune_blend.py --save`` (e.g. benchmarks/results/wassa_finetune_blend_cv5.npz;
its folds are 5-fold, so the blend's CV pools out-of-fold predictions of two
fold schemes: each essay's prediction is still out of fold).

Run (one fit ~6-7 min on an idle 2-core CPU per fold, more for the full split)::

    python benchmarks/wassa_goemotions_finetune.py --cv 3 --data-home DIR \\
        --blend benchmarks/results/wassa_finetune_blend_cv5.npz
"""

import argparse
import sys
import time

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GroupKFold

from skempathy.datasets import load_wassa
from skempathy.metrics import wassa_evaluate
from skempathy.recipes import finetuned_emotion_goemotions


def macro_f1(y, classes, proba):
    return wassa_evaluate(y, classes[proba.argmax(1)])["macro_f1"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--cv", type=int, default=0, help="grouped folds on train (0: dev only)")
    parser.add_argument("--data-home", default=None, help="where GoEmotions is")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--blend", default=None, help=".npz of wassa_finetune_blend.py --save")
    args = parser.parse_args(argv)

    train, dev = load_wassa("train"), load_wassa("dev")
    y = train.frame["emotion"]
    est = finetuned_emotion_goemotions(device=args.device, data_home=args.data_home)
    tic = time.perf_counter()
    fitted = clone(est).fit(train.data, y)
    print(f"full-train fit {time.perf_counter() - tic:.0f} s", file=sys.stderr)
    classes, dev_proba = fitted.classes_, fitted.predict_proba(dev.data)
    rows = [("fine-tuned MiniLM + GoEmotions", macro_f1(dev.frame["emotion"], classes, dev_proba))]
    oof = None
    if args.cv:
        oof = np.zeros((len(y), len(classes)))
        for k, (tr, te) in enumerate(GroupKFold(args.cv).split(train.data, groups=train.groups)):
            tic = time.perf_counter()
            fold = clone(est).fit(train.data.iloc[tr], y.iloc[tr])
            assert list(fold.classes_) == list(classes)
            oof[te] = fold.predict_proba(train.data.iloc[te])
            print(f"fold {k + 1}/{args.cv}: {time.perf_counter() - tic:.0f} s, macro-F1 "
                  f"{macro_f1(y.iloc[te], classes, oof[te]):.3f}", file=sys.stderr, flush=True)
        rows[0] += (macro_f1(y, classes, oof),)
    if args.blend:
        saved = np.load(args.blend, allow_pickle=True)
        assert list(saved["classes"]) == list(classes)
        members = list(saved["members"])
        three_dev = sum(saved[f"dev/{m}/proba"] for m in members) / len(members)
        systems = {"recipe 'best' (its 3 emotion members)": (three_dev, 0.0),
                   "best's 3 members + this (1/4 each)": (three_dev, 0.25),
                   "best's 3 members 0.5 + this 0.5": (three_dev, 0.5)}
        three_oof = (sum(saved[f"oof/{m}/proba"] for m in members) / len(members)
                     if oof is not None else None)
        for name, (base, w) in systems.items():
            row = (name, macro_f1(dev.frame["emotion"], classes, (1 - w) * base + w * dev_proba))
            if oof is not None:
                row += (macro_f1(y, classes, (1 - w) * three_oof + w * oof),)
            rows.append(row)
    cv_header = f" CV{args.cv} macro-F1 (pooled) |" if oof is not None else ""
    header = "| system | dev macro-F1 |" + cv_header
    print(header)
    print("|---|---|" + ("---|" if oof is not None else ""))
    for row in rows:
        print(f"| {row[0]} | " + " | ".join(f"{v:.3f}" for v in row[1:]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
