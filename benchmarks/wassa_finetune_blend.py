"""Fine-tuned multi-task MiniLM vs frozen-encoder recipes on WASSA 2021, and their blend.

Issue 7 levers "fine-tuning vs frozen embeddings + heads" and "multi-task
emotion + empathy + distress", measured in one run:

* **frozen**: the embedded MiniLM, frozen; Track 1 = ``best_track1`` (text x0.2
  + writer columns -> RBF SVR), Track 2 = ``default_track2`` (scaled text +
  columns -> balanced logistic regression, C=0.01);
* **fine-tuned**: one ``MultiTaskTransformer`` on MiniLM with an emotion head
  and empathy / distress regression heads, the 11 numeric writer columns as
  side inputs (the PVG / MilaNLP multi-input design), ``--epochs`` epochs;
* **blend**: the plain average of the two (emotion probabilities; empathy and
  distress scores), weight 0.5 fixed in advance (not tuned on dev).

Dev = the official 270 dev essays. ``--cv K`` adds writer-grouped K-fold CV on
train for all three (K more fine-tunings: ~8 min each on a 2-core CPU).

Run::

    python benchmarks/wassa_finetune_blend.py --epochs 3 --lr 1e-4 --device cpu
"""

import argparse
import sys
import time

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import GroupKFold

from skempathy.datasets import WASSA_COLUMN_GROUPS, load_wassa
from skempathy.metrics import wassa_evaluate
from skempathy.neural import MultiTaskTransformer
from skempathy.recipes import TRACK1_TASK, best_track1, default_track2
from skempathy.text import SentenceEmbedder

# the numeric writer columns: age, income, Big Five, IRI (gender/education/race are codes)
NUMERIC = ["age", "income"] + WASSA_COLUMN_GROUPS["personality"] + WASSA_COLUMN_GROUPS["iri"]
TASKS = {"emotion": "classification", "empathy": "regression", "distress": "regression"}


def fit_predict(models, X_train, Y_train, X_test):
    """Fit the frozen tracks and the multi-task model; predictions of each system on X_test."""
    track1, track2, multitask = (clone(m) for m in models)
    tic = time.perf_counter()
    track1.fit(X_train, Y_train[TRACK1_TASK])
    track2.fit(X_train, Y_train["emotion"])
    frozen_s = time.perf_counter() - tic
    tic = time.perf_counter()
    multitask.fit(X_train[["essay"] + NUMERIC], Y_train[list(TASKS)])
    finetune_s = time.perf_counter() - tic

    classes = track2.classes_
    p_frozen = track2.predict_proba(X_test)
    p_tuned = multitask.predict_proba(X_test[["essay"] + NUMERIC])["emotion"]
    assert list(multitask.classes_["emotion"]) == list(classes)
    s_frozen = np.asarray(track1.predict(X_test))
    s_tuned = multitask.predict(X_test[["essay"] + NUMERIC])[TRACK1_TASK].to_numpy(float)
    out = {
        "frozen": (classes[p_frozen.argmax(1)], s_frozen),
        "fine-tuned": (classes[p_tuned.argmax(1)], s_tuned),
        "blend 0.5/0.5": (classes[(p_frozen + p_tuned).argmax(1)], (s_frozen + s_tuned) / 2),
    }
    return out, {"frozen": frozen_s, "fine-tuned": finetune_s,
                 "blend 0.5/0.5": frozen_s + finetune_s}


def scores(y_frame, emotion, emp_dis):
    row = wassa_evaluate(y_frame[TRACK1_TASK], emp_dis)
    row.update(wassa_evaluate(y_frame["emotion"], emotion))
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cache", default=None, help="on-disk embedding cache (frozen part)")
    parser.add_argument("--cv", type=int, default=0, help="grouped folds on train (0: dev only)")
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args(argv)

    train, dev = load_wassa("train"), load_wassa("dev")
    embedder = SentenceEmbedder("all-MiniLM-L6-v2", cache=args.cache, device=args.device)
    models = (
        best_track1(embedder),
        default_track2(embedder),
        MultiTaskTransformer("all-MiniLM-L6-v2", tasks=TASKS, extra_features=NUMERIC,
                             text_column="essay", max_epochs=args.epochs,
                             learning_rate=args.lr, batch_size=args.batch_size,
                             max_length=256, device=args.device, random_state=args.seed,
                             verbose=args.verbose),
    )
    preds, seconds = fit_predict(models, train.data, train.frame, dev.data)
    table = {name: scores(dev.frame, *p) for name, p in preds.items()}

    cv = {}
    if args.cv:
        pooled = {name: (np.empty(len(train.data), dtype=object),
                         np.zeros((len(train.data), 2))) for name in preds}
        for k, (tr, te) in enumerate(GroupKFold(args.cv).split(train.data, groups=train.groups)):
            print(f"fold {k + 1}/{args.cv}", file=sys.stderr, flush=True)
            fold, _ = fit_predict(models, train.data.iloc[tr], train.frame.iloc[tr],
                                  train.data.iloc[te])
            for name, (emotion, emp_dis) in fold.items():
                pooled[name][0][te], pooled[name][1][te] = emotion, emp_dis
        cv = {name: scores(train.frame, *p) for name, p in pooled.items()}

    print(f"\nWASSA 2021: frozen vs fine-tuned multi-task MiniLM ({args.epochs} epochs, "
          f"lr {args.lr}, seed {args.seed}) vs their blend\n")
    headers = ["system", "dev emp r", "dev dis r", "dev avg r", "dev macro-F1", "dev acc"]
    if cv:
        headers += [f"CV{args.cv} avg r (pooled)", f"CV{args.cv} macro-F1 (pooled)"]
    headers += ["fit s (train)"]
    rows = []
    for name, row in table.items():
        cells = [name] + [f"{row[k]:.3f}" for k in ("empathy_pearson", "distress_pearson",
                                                    "average_pearson", "macro_f1", "accuracy")]
        if cv:
            cells += [f"{cv[name]['average_pearson']:.3f}", f"{cv[name]['macro_f1']:.3f}"]
        rows.append(cells + [f"{seconds[name]:.0f}"])
    print(pd.DataFrame(rows, columns=headers).to_markdown(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
