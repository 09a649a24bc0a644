"""Fine-tuned emotion classifier + GoEmotions augmentation (WASSA@IITK's lever) on WASSA 2021.

Fits :func:`skempathy.recipes.finetuned_emotion_goemotions` (MiniLM fine-tuned
on the essays plus GoEmotions comments, balanced fill-up to the largest
emotion) on train and scores dev, and with ``--cv K`` runs writer-grouped
K-fold CV on train (pooled out-of-fold macro-F1). ``--blend F`` also scores
votes of this classifier with the three other emotion members of the ``best``
recipe, whose dev and out-of-fold probabilities are read from a file written by
``wassa_finetune_blend.py --save`` (benchmarks/results/wassa_finetune_blend_cv5.npz,
5 writer-grouped folds: run this with ``--cv 5`` so both use the same folds).
The weight of this classifier in the vote is scored on a grid; the row
"CV-chosen" takes the grid weight with the best pooled CV macro-F1.

``--save F`` keeps this classifier's dev and out-of-fold probabilities
(.npz); ``--load F [F ...]`` re-reports from them without fitting, and with
several files (runs with different ``--random-state``) scores the seed
ensemble: the mean of their probabilities.

Run (one fit ~7-9 min on an idle 2-core CPU)::

    python benchmarks/wassa_goemotions_finetune.py --cv 5 --data-home DIR \\
        --blend benchmarks/results/wassa_finetune_blend_cv5.npz \\
        --save benchmarks/results/wassa_goemotions_cv5.npz
"""

import argparse
import sys
import time

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GroupKFold

from skempathy.datasets import load_wassa
from skempathy.metrics import wassa_evaluate

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


def macro_f1(y, classes, proba):
    return wassa_evaluate(y, np.asarray(classes)[proba.argmax(1)])["macro_f1"]


def fit_and_predict(args, train, dev):
    """This classifier's dev probabilities and (with --cv) out-of-fold ones."""
    from skempathy.recipes import finetuned_emotion_goemotions

    y = train.frame["emotion"]
    est = finetuned_emotion_goemotions(device=args.device, data_home=args.data_home,
                                       random_state=args.random_state)
    tic = time.perf_counter()
    fitted = clone(est).fit(train.data, y)
    seconds = [time.perf_counter() - tic]
    print(f"full-train fit {seconds[0]:.0f} s", file=sys.stderr, flush=True)
    out = {"classes": fitted.classes_, "dev": fitted.predict_proba(dev.data)}
    if args.cv:
        oof = np.zeros((len(y), len(fitted.classes_)))
        for k, (tr, te) in enumerate(GroupKFold(args.cv).split(train.data, groups=train.groups)):
            tic = time.perf_counter()
            fold = clone(est).fit(train.data.iloc[tr], y.iloc[tr])
            assert list(fold.classes_) == list(fitted.classes_)
            oof[te] = fold.predict_proba(train.data.iloc[te])
            seconds.append(time.perf_counter() - tic)
            print(f"fold {k + 1}/{args.cv}: {seconds[-1]:.0f} s, macro-F1 "
                  f"{macro_f1(y.iloc[te], fitted.classes_, oof[te]):.3f}",
                  file=sys.stderr, flush=True)
        out.update(oof=oof, cv=args.cv)
    out["seconds"] = np.asarray(seconds)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--cv", type=int, default=0, help="grouped folds on train (0: dev only)")
    parser.add_argument("--data-home", default=None, help="where GoEmotions is")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--blend", nargs="+", default=None,
                        help=".npz of wassa_finetune_blend.py --save (several: --seed runs, "
                             "their fine-tuned members averaged)")
    parser.add_argument("--save", default=None, help="write this classifier's predictions here")
    parser.add_argument("--random-state", type=int, default=0, help="seed of the fine-tuning")
    parser.add_argument("--load", nargs="+", default=None,
                        help="report from --save files (several: their mean); fit nothing")
    args = parser.parse_args(argv)

    train, dev = load_wassa("train"), load_wassa("dev")
    y, y_dev = train.frame["emotion"], dev.frame["emotion"]
    if args.load:
        runs = [dict(np.load(f, allow_pickle=True)) for f in args.load]
        if len(runs) > 1:
            alone = [[macro_f1(y_dev, run["classes"], run["dev"])]
                     + ([macro_f1(y, run["classes"], run["oof"])] if "oof" in run else [])
                     for run in runs]
            print(f"seed ensemble of {len(runs)} runs; each alone, dev / CV macro-F1: "
                  + ", ".join(" / ".join(f"{v:.3f}" for v in scores) for scores in alone))
        ours = dict(runs[0])
        for key in ("dev", "oof"):
            if key in ours:
                ours[key] = np.mean([run[key] for run in runs], axis=0)
        ours["seconds"] = np.concatenate([run["seconds"] for run in runs])
    else:
        ours = fit_and_predict(args, train, dev)
        if args.save:
            np.savez(args.save, **ours)
    classes, oof = ours["classes"], ours.get("oof")
    print(f"fit seconds (full train, then folds): {np.round(ours['seconds']).astype(int).tolist()}")

    rows = [("fine-tuned MiniLM + GoEmotions (alone)", macro_f1(y_dev, classes, ours["dev"]))
            + ((macro_f1(y, classes, oof),) if oof is not None else ())]
    if args.blend:
        from wassa_finetune_blend import load_runs

        saved = load_runs(args.blend)  # several: the fine-tuned MT member's seeds averaged
        assert list(saved["classes"]) == list(classes)
        members = list(saved["members"])
        three_dev = sum(saved[f"dev/{m}/proba"] for m in members) / len(members)
        three_oof = sum(saved[f"oof/{m}/proba"] for m in members) / len(members)
        cv_scores = {}
        for w in WEIGHTS:
            row = (f"weight {w:g} on this, {1 - w:g} on best's 3-member vote",
                   macro_f1(y_dev, classes, (1 - w) * three_dev + w * ours["dev"]))
            if oof is not None:
                cv_scores[w] = macro_f1(y, classes, (1 - w) * three_oof + w * oof)
                row += (cv_scores[w],)
            rows.append(row)
        if cv_scores:
            w = max(cv_scores, key=cv_scores.get)
            rows.append((f"CV-chosen weight ({w:g})",
                         macro_f1(y_dev, classes, (1 - w) * three_dev + w * ours["dev"]),
                         cv_scores[w]))
    cv_header = f" CV{int(ours['cv'])} macro-F1 (pooled) |" if oof is not None else ""
    print("| system | dev macro-F1 |" + cv_header)
    print("|---|---|" + ("---|" if oof is not None else ""))
    for row in rows:
        print(f"| {row[0]} | " + " | ".join(f"{v:.3f}" for v in row[1:]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
