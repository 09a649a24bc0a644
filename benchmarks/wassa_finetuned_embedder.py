"""Team Phoenix's design on WASSA 2021 Track 1: a fine-tuned embedder + the writer columns.

The lever "Phoenix-style fine-tuned embedders stacked with scaled
demographics / personality / IRI". The member is
``best_track1(FineTunedEmbedder(...))``: the embedded MiniLM fine-tuned on
empathy and distress (one regression head for both, 3 epochs, lr 1e-4, the
settings of the multi-task member, not tuned), then its pooled essay
embeddings, scaled and multiplied by ``text_weight``, next to the scaled
numeric and one-hot writer columns, into one RBF ``SVR(C)`` per target.

Each fit (the full train split, then each writer-grouped fold) fine-tunes once
through the shipped pipeline and keeps the fine-tuned encoder's embeddings of
its training part and of its test part, so the head grid (``text_weight`` x
``C``) costs no more fine-tuning. Inside the pipeline the training embeddings
come from an encoder fine-tuned on those very essays, so the head sees
optimistic features; the out-of-fold and dev scores are honest.

``--blend F [F ...]`` (``wassa_finetune_blend.py --save`` runs, same
``GroupKFold`` folds; several files: ``--seed`` runs, whose multi-task members
are averaged as in recipe ``best``) adds this member, with the CV-chosen head,
to the empathy / distress vote of ``best``. ``--save F`` keeps the predictions
of every grid cell (and a checkpoint per fit, so a crash keeps the finished
folds); ``--load F`` re-reports.

Run (one fine-tuning ~5-7 min on an idle 2-core CPU)::

    python benchmarks/wassa_finetuned_embedder.py --cv 5 \\
        --blend benchmarks/results/wassa_finetune_blend_cv5{,_seed1}.npz \\
        --save benchmarks/results/wassa_finetuned_embedder_cv5.npz
"""

import argparse
import itertools
import sys
import time

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import GroupKFold

from skempathy.datasets import load_wassa
from skempathy.metrics import wassa_evaluate
from skempathy.neural import FineTunedEmbedder
from skempathy.recipes import TRACK1_TASK, best_track1

TEXT_WEIGHTS = (0.1, 0.2, 0.3, 0.5, 1.0)
CS = (1.0, 3.0)
DEFAULT = (0.2, 1.0)  # best_track1's own text_weight and C
MEMBER = "fine-tuned embedder + columns (SVR)"


class _Lookup(TransformerMixin, BaseEstimator):
    """Stands in for the fine-tuned encoder in the head grid: essay -> its saved embedding."""

    def __init__(self, table=None):
        self.table = table

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.stack([self.table[text] for text in np.asarray(X).ravel()])


def fit_split(args, X_train, Y_train, X_test):
    """Fine-tune once; return the grid's test predictions {(w, C): (n_test, 2)} and seconds."""
    encoder = FineTunedEmbedder("all-MiniLM-L6-v2", target="regression", max_epochs=args.epochs,
                                learning_rate=args.lr, batch_size=16, max_length=256,
                                device=args.device, random_state=args.seed,
                                verbose=args.verbose)
    tic = time.perf_counter()
    pipe = best_track1(encoder, text_weight=DEFAULT[0], C=DEFAULT[1]).fit(X_train, Y_train)
    seconds = time.perf_counter() - tic
    shipped = np.asarray(pipe.predict(X_test))
    tuned = pipe.named_steps["preprocessor"].named_transformers_["text"].steps[0][1]
    essays = np.concatenate([X_train["essay"].to_numpy(), X_test["essay"].to_numpy()])
    table = dict(zip(essays, tuned.transform(essays)))
    grid = {}
    for w, C in itertools.product(TEXT_WEIGHTS, CS):
        head = best_track1(_Lookup(table), text_weight=w, C=C).fit(X_train, Y_train)
        grid[(w, C)] = np.asarray(head.predict(X_test))
    # the lookup pipeline reproduces the shipped one at the shipped setting (up to the
    # float noise of re-batching the essays when they are embedded again)
    np.testing.assert_allclose(grid[DEFAULT], shipped, atol=1e-2)
    return grid, seconds


def _resumable(args, name, fit):
    """``fit()``, unless ``--save``'s per-split checkpoint has it (a crash keeps finished folds)."""
    if not args.save:
        return fit()
    path = f"{args.save}.{name}.npz"
    try:
        saved = np.load(path)
        print(f"{name}: read from {path}", file=sys.stderr, flush=True)
        return ({(float(k.split("/")[0]), float(k.split("/")[1])): saved[k]
                 for k in saved.files if k != "seconds"}, float(saved["seconds"]))
    except FileNotFoundError:
        grid, seconds = fit()
        np.savez(path, seconds=seconds, **{f"{w}/{C}": p for (w, C), p in grid.items()})
        return grid, seconds


def fit_all(args, train, dev):
    grid, seconds = _resumable(args, "full", lambda: fit_split(
        args, train.data, train.frame[TRACK1_TASK], dev.data))
    print(f"full-train fit {seconds:.0f} s", file=sys.stderr, flush=True)
    data = {f"dev/{w}/{C}": p for (w, C), p in grid.items()}
    data["seconds"] = [seconds]
    if args.cv:
        n = len(train.data)
        oof = {key: np.zeros((n, 2)) for key in grid}
        for k, (tr, te) in enumerate(GroupKFold(args.cv).split(train.data, groups=train.groups)):
            fold, seconds = _resumable(args, f"fold{k}", lambda: fit_split(
                args, train.data.iloc[tr], train.frame[TRACK1_TASK].iloc[tr],
                train.data.iloc[te]))
            for key, p in fold.items():
                oof[key][te] = p
            data["seconds"].append(seconds)
            print(f"fold {k + 1}/{args.cv}: {seconds:.0f} s, default-head avg r "
                  f"{avg_r(train.frame.iloc[te], fold[DEFAULT]):.3f}", file=sys.stderr, flush=True)
        data.update({f"oof/{w}/{C}": p for (w, C), p in oof.items()})
        data["cv"] = args.cv
    data["seconds"] = np.asarray(data["seconds"])
    return data


def avg_r(frame, scores):
    return wassa_evaluate(frame[TRACK1_TASK], scores)["average_pearson"]


def pearsons(frame, scores):
    row = wassa_evaluate(frame[TRACK1_TASK], scores)
    return [row["empathy_pearson"], row["distress_pearson"], row["average_pearson"]]


def table(rows, cv):
    header = "| system | dev emp r | dev dis r | dev avg r |" + (
        f" CV{cv} emp r | CV{cv} dis r | CV{cv} avg r (pooled) |" if cv else "")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name, values in rows:
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in values) + " |")


def report(args, data, train, dev):
    cv = int(data.get("cv", 0))
    print("fit seconds (full train, then folds): "
          + str(np.round(data["seconds"]).astype(int).tolist()) + "\n")

    def scores(split, w, C):
        return data[f"{split}/{w}/{C}"]

    rows = []
    for w, C in itertools.product(TEXT_WEIGHTS, CS):
        values = pearsons(dev.frame, scores("dev", w, C))
        if cv:
            values += pearsons(train.frame, scores("oof", w, C))
        mark = " (best_track1's setting)" if (w, C) == DEFAULT else ""
        rows.append((f"text weight {w:g}, C {C:g}{mark}", values))
    print("Fine-tuned MiniLM embedder + writer columns -> SVR, head grid:\n")
    table(rows, cv)
    if not cv:
        return
    pick = max(itertools.product(TEXT_WEIGHTS, CS),
               key=lambda key: avg_r(train.frame, scores("oof", *key)))
    print(f"\nCV-chosen head: text weight {pick[0]:g}, C {pick[1]:g}")
    if not args.blend:
        return

    from wassa_finetune_blend import load_runs

    saved = load_runs(args.blend)  # several files: the multi-task member's seeds averaged
    assert saved["cv"] == cv
    best = list(saved["members"])
    members = {m: (saved[f"dev/{m}/scores"], saved[f"oof/{m}/scores"]) for m in best}
    members[MEMBER] = (scores("dev", *pick), scores("oof", *pick))
    names = list(members)

    def vote(weights):
        dev_s = sum(w * members[m][0] for m, w in weights.items())
        oof_s = sum(w * members[m][1] for m, w in weights.items())
        return pearsons(dev.frame, dev_s) + pearsons(train.frame, oof_s)

    seeds = f", its multi-task member averaged over {len(args.blend)} seeds" * (
        len(args.blend) > 1)
    systems = {f"recipe best's empathy/distress vote ({len(best)} systems, equal{seeds})":
               {m: 1 / len(best) for m in best},
               f"{MEMBER} alone": {MEMBER: 1.0},
               f"best's vote + {MEMBER} ({len(names)} systems, equal)":
               {m: 1 / len(names) for m in names}}
    ticks = np.round(np.arange(0, 1.01, 0.1), 10)
    grid = [dict(zip(names, w)) for w in itertools.product(ticks, repeat=len(names))
            if abs(sum(w) - 1) < 1e-9]
    chosen = max(grid, key=lambda w: vote(w)[5])
    systems["weights chosen by grouped CV (CV columns are optimistic)"] = chosen
    print("\nCV-chosen vote weights: " + ", ".join(f"{m} {w:.1f}" for m, w in chosen.items())
          + "\n")
    table([(name, vote(w)) for name, w in systems.items()], cv)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cv", type=int, default=0, help="grouped folds on train (0: dev only)")
    parser.add_argument("--blend", nargs="+", default=None,
                        help=".npz of wassa_finetune_blend.py --save (several: --seed runs, "
                             "their fine-tuned members averaged)")
    parser.add_argument("--save", default=None, help="write the grid's predictions here")
    parser.add_argument("--load", default=None, help="report from a --save file; fit nothing")
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)

    train, dev = load_wassa("train"), load_wassa("dev")
    if args.load:
        data = dict(np.load(args.load, allow_pickle=True))
    else:
        data = fit_all(args, train, dev)
        if args.save:
            np.savez(args.save, **data)
    report(args, data, train, dev)
    return 0


if __name__ == "__main__":
    sys.exit(main())
