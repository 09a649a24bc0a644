"""Fine-tuned multi-task MiniLM vs frozen-encoder pipelines on WASSA 2021, and their blends.

The levers "fine-tuning vs frozen embeddings + heads", "multi-task
emotion + empathy + distress" and blending, measured in one run. Members:

* **fine-tuned MT MiniLM**: one ``MultiTaskTransformer`` fine-tuned from the
  embedded MiniLM with an emotion head and empathy / distress regression heads,
  the 11 numeric writer columns as side inputs (the PVG / MilaNLP multi-input
  design): :func:`skempathy.recipes.finetuned_multitask`;
* **frozen MiniLM**: ``best_track1`` (text x0.2 + writer columns -> RBF SVR) and
  ``default_track2`` (scaled text + columns -> balanced logistic regression) on
  the frozen MiniLM;
* **frozen mpnet**: the ``best`` recipe (``best_track1`` + ``best_track2`` on
  frozen all-mpnet-base-v2, an optional install; skipped when missing).

The first two are fitted through the shipped recipe ``finetuned``
(``skempathy.recipes.finetuned_joint``, a ``MultiTaskVoting``); its prediction
is checked against the blend computed here from the members. The row "MT +
frozen MiniLM + frozen mpnet (1/3 each)" is the recipe ``best``
(``skempathy.recipes.best_joint``). Blends average
emotion probabilities and empathy / distress scores with weights fixed in
advance (equal). A last row picks the member weights by writer-grouped CV on
train (grid over the simplex, per track) and applies them to dev once.

Dev = the official 270 dev essays. ``--cv K`` adds writer-grouped K-fold CV
on train (K more fine-tunings: ~7 min each on a 2-core CPU). ``--save F``
keeps every member's dev and out-of-fold predictions (.npz); ``--load F``
prints the tables again from such a file without fitting anything; several
files (runs with other ``--seed``) average their fine-tuned members (a seed
ensemble).

Run::

    python benchmarks/wassa_finetune_blend.py --cv 5 --cache /tmp/skemb --save blend.npz
"""

import argparse
import itertools
import sys
import time

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import GroupKFold

from skempathy._models import mpnet_available
from skempathy.datasets import load_wassa
from skempathy.metrics import wassa_evaluate
from skempathy.recipes import (BEST_ENCODER, TRACK1_TASK, TRACK2_TASK, best_track1, best_track2,
                               finetuned_joint, finetuned_multitask)
from skempathy.text import SentenceEmbedder

TARGETS = [TRACK2_TASK] + TRACK1_TASK
MT, MINILM, MPNET = "fine-tuned MT MiniLM", "frozen MiniLM", "frozen mpnet"


def fit_members(recipe, mpnet, X_train, Y_train, X_test):
    """Fit every member on the training part; {member: (emotion proba, empathy/distress)}."""
    out, seconds = {}, {}
    tic = time.perf_counter()
    vote = clone(recipe).fit(X_train, Y_train[TARGETS])
    seconds["recipe"] = time.perf_counter() - tic
    members, classes = vote.named_estimators_, vote.classes_[TRACK2_TASK]
    tuned = members["finetuned"]
    out[MT] = (tuned.predict_proba(X_test)[TRACK2_TASK],
               tuned.predict(X_test)[TRACK1_TASK].to_numpy(float))
    out[MINILM] = (members["track2"].predict_proba(X_test),
                   np.asarray(members["track1"].predict(X_test)))
    assert list(members["track2"].classes_) == list(classes) == list(tuned.classes_[TRACK2_TASK])
    # the recipe's own prediction is the equal-weight blend of its two parts
    shipped = vote.predict(X_test)
    blend = (out[MT][1] + out[MINILM][1]) / 2
    np.testing.assert_allclose(shipped[TRACK1_TASK].to_numpy(float), blend, rtol=1e-6)
    if mpnet is not None:
        tic = time.perf_counter()
        track1 = clone(best_track1(mpnet)).fit(X_train, Y_train[TRACK1_TASK])
        track2 = clone(best_track2(mpnet)).fit(X_train, Y_train[TRACK2_TASK])
        seconds[MPNET] = time.perf_counter() - tic
        assert list(track2.classes_) == list(classes)
        out[MPNET] = (track2.predict_proba(X_test), np.asarray(track1.predict(X_test)))
    return out, classes, seconds


def blends(members):
    """Equal-weight blends fixed in advance: name -> {member: weight}."""
    systems = {name: {name: 1.0} for name in members}
    systems["recipe 'finetuned' = MT + frozen MiniLM (0.5 / 0.5)"] = {MT: 0.5, MINILM: 0.5}
    if MPNET in members:
        systems["frozen MiniLM + frozen mpnet (0.5 / 0.5)"] = {MINILM: 0.5, MPNET: 0.5}
        systems["MT + frozen mpnet (0.5 / 0.5)"] = {MT: 0.5, MPNET: 0.5}
        systems["recipe 'best' = MT + frozen MiniLM + frozen mpnet (1/3 each)"] = {
            MT: 1 / 3, MINILM: 1 / 3, MPNET: 1 / 3}
    return systems


def combine(preds, weights):
    proba = sum(w * preds[m][0] for m, w in weights.items())
    scores = sum(w * preds[m][1] for m, w in weights.items())
    return proba, scores


def score(y_frame, classes, proba, scores):
    row = wassa_evaluate(y_frame[TRACK1_TASK], scores)
    row.update(wassa_evaluate(y_frame[TRACK2_TASK], classes[proba.argmax(1)]))
    return row


def simplex(names, step=0.1):
    ticks = np.round(np.arange(0, 1 + 1e-9, step), 10)
    for w in itertools.product(ticks, repeat=len(names)):
        if abs(sum(w) - 1) < 1e-9:
            yield dict(zip(names, w))


def cv_weights(oof, y_frame, classes):
    """Per track, the member weights with the best pooled out-of-fold score."""
    names = list(oof)
    best1 = max(simplex(names), key=lambda w: score(y_frame, classes,
                                                    *combine(oof, w))["average_pearson"])
    best2 = max(simplex(names), key=lambda w: score(y_frame, classes,
                                                    *combine(oof, w))["macro_f1"])
    return best1, best2


def report(data, train_frame, dev_frame):
    classes = data["classes"]
    dev = {m: (data[f"dev/{m}/proba"], data[f"dev/{m}/scores"]) for m in data["members"]}
    oof = ({m: (data[f"oof/{m}/proba"], data[f"oof/{m}/scores"]) for m in data["members"]}
           if data.get("cv") else None)
    headers = ["system", "dev emp r", "dev dis r", "dev avg r", "dev macro-F1", "dev acc"]
    if oof:
        headers += [f"CV{data['cv']} avg r (pooled)", f"CV{data['cv']} macro-F1 (pooled)"]
    rows = []
    systems = blends(dev)
    for name, weights in systems.items():
        row = score(dev_frame, classes, *combine(dev, weights))
        cells = [name] + [f"{row[k]:.3f}" for k in ("empathy_pearson", "distress_pearson",
                                                    "average_pearson", "macro_f1", "accuracy")]
        if oof:
            cv = score(train_frame, classes, *combine(oof, weights))
            cells += [f"{cv['average_pearson']:.3f}", f"{cv['macro_f1']:.3f}"]
        rows.append(cells)
    if oof:
        w1, w2 = cv_weights(oof, train_frame, classes)
        track1 = score(dev_frame, classes, *combine(dev, w1))
        track2 = score(dev_frame, classes, *combine(dev, w2))
        cv1 = score(train_frame, classes, *combine(oof, w1))
        cv2 = score(train_frame, classes, *combine(oof, w2))
        rows.append(["weights chosen by grouped CV (CV columns are optimistic)"]
                    + [f"{track1[k]:.3f}" for k in ("empathy_pearson", "distress_pearson",
                                                    "average_pearson")]
                    + [f"{track2[k]:.3f}" for k in ("macro_f1", "accuracy")]
                    + [f"{cv1['average_pearson']:.3f}", f"{cv2['macro_f1']:.3f}"])
        print("CV-chosen weights: track 1 " + ", ".join(f"{m} {w:.1f}" for m, w in w1.items())
              + "; track 2 " + ", ".join(f"{m} {w:.1f}" for m, w in w2.items()) + "\n")
    print(pd.DataFrame(rows, columns=headers).to_markdown(index=False))
    print("\nfit seconds on the full train split: "
          + ", ".join(f"{k} {v:.0f}" for k, v in data["seconds"].items()))


def load_runs(paths):
    """Read ``--save`` files; with several, the fine-tuned member is their mean (seed ensemble)."""
    runs = [np.load(path, allow_pickle=True) for path in paths]
    data = {k: runs[0][k] for k in runs[0].files}
    data["members"], data["seconds"] = list(data["members"]), data["seconds"].item()
    data["cv"] = int(data["cv"])
    for run in runs[1:]:
        assert list(run["classes"]) == list(data["classes"]) and int(run["cv"]) == data["cv"]
        if data["cv"]:
            np.testing.assert_array_equal(run["folds"], data["folds"])
    for key in [k for k in data if k.startswith(("dev/", "oof/")) and f"/{MT}/" in k]:
        data[key] = np.mean([run[key] for run in runs], axis=0)
    return data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cache", default=None, help="on-disk embedding cache (frozen parts)")
    parser.add_argument("--cv", type=int, default=0, help="grouped folds on train (0: dev only)")
    parser.add_argument("--no-mpnet", action="store_true", help="leave the mpnet member out")
    parser.add_argument("--save", default=None, help="write all predictions to this .npz")
    parser.add_argument("--load", nargs="+", default=None,
                        help="report from saved .npz files; fit nothing (several: runs with "
                             "other --seed, whose fine-tuned member is averaged with the first's)")
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)

    train, dev = load_wassa("train"), load_wassa("dev")
    if args.load:
        data = load_runs(args.load)
        if len(args.load) > 1:
            print(f"'{MT}' below: the mean of the {len(args.load)} runs' fine-tuned members "
                  "(a seed ensemble); the other members are the first run's\n")
        report(data, train.frame, dev.frame)
        return 0

    minilm = SentenceEmbedder("all-MiniLM-L6-v2", cache=args.cache, device=args.device)
    tuned = finetuned_multitask(max_epochs=args.epochs, learning_rate=args.lr,
                                batch_size=args.batch_size, random_state=args.seed,
                                device=args.device, verbose=args.verbose)
    recipe = finetuned_joint(minilm, finetuned=tuned)
    mpnet = None
    if not args.no_mpnet and mpnet_available():
        mpnet = SentenceEmbedder(BEST_ENCODER, cache=args.cache, device=args.device)

    preds, classes, seconds = fit_members(recipe, mpnet, train.data, train.frame, dev.data)
    data = {"members": list(preds), "classes": classes, "seconds": seconds, "cv": args.cv}
    for m, (proba, scores) in preds.items():
        data[f"dev/{m}/proba"], data[f"dev/{m}/scores"] = proba, scores
    if args.cv:
        n = len(train.data)
        oof = {m: (np.zeros((n, len(classes))), np.zeros((n, 2))) for m in preds}
        folds = np.zeros(n, dtype=int)
        for k, (tr, te) in enumerate(GroupKFold(args.cv).split(train.data, groups=train.groups)):
            print(f"fold {k + 1}/{args.cv}", file=sys.stderr, flush=True)
            fold, fold_classes, _ = fit_members(recipe, mpnet, train.data.iloc[tr],
                                                train.frame.iloc[tr], train.data.iloc[te])
            assert list(fold_classes) == list(classes)
            for m, (proba, scores) in fold.items():
                oof[m][0][te], oof[m][1][te] = proba, scores
            folds[te] = k
        for m, (proba, scores) in oof.items():
            data[f"oof/{m}/proba"], data[f"oof/{m}/scores"] = proba, scores
        data["folds"] = folds
    if args.save:
        np.savez(args.save, **{k: (np.asarray(v, dtype=object) if k in ("members", "seconds")
                                   else v) for k, v in data.items()})
    print(f"\nWASSA 2021: frozen pipelines vs fine-tuned multi-task MiniLM ({args.epochs} "
          f"epochs, lr {args.lr}, seed {args.seed}) and their blends\n")
    report(data, train.frame, dev.frame)
    return 0


if __name__ == "__main__":
    sys.exit(main())
