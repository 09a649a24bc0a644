"""A fine-tuned base-size encoder as recipe best's multi-task member (WASSA 2021).

The published Track 1 winner (PVG) fine-tuned RoBERTa-base with the writer
columns as side inputs. Recipe ``best`` fine-tunes all-mpnet-base-v2 that way
(one seed, ~24 min per fit on a 2-core CPU in fp32), chosen by this script's
writer-grouped CV over two seeds of a MiniLM fine-tuned the same way. This script fine-tunes
:func:`skempathy.recipes.finetuned_multitask` from ``--model`` (default
all-mpnet-base-v2, an optional install) at a learning rate for base-size
encoders (3e-5, fixed a priori, not tuned), scores it alone on dev, and scores
recipe ``best``'s vote with it in place of the MiniLM multi-task seeds (what
``best`` now ships), beside them, and (empathy / distress) as a fourth system;
the other members' predictions are read from ``benchmarks/results``.

``--cv 5`` adds the writer-grouped folds of the saved runs (five more fits:
about 2 h on a 2-core CPU, minutes on a GPU with ``--device cuda``);
``--folds 0 1`` fits only those folds and scores CV on their essays;
``--resume F`` reuses the dev fit and the folds already in ``F`` (CV in
chunks).
``--save F`` keeps the predictions, ``--load F`` re-prints the table. Run::

    F=benchmarks/results/wassa_finetune_mpnet.npz
    python benchmarks/wassa_finetune_mpnet.py --save $F
    python benchmarks/wassa_finetune_mpnet.py --resume $F --cv 5 --folds 0 --save $F
"""
import sys
import time

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import PredefinedSplit

from skempathy.datasets import load_wassa
from skempathy.metrics import wassa_evaluate
from skempathy.recipes import GOEMOTIONS_WEIGHT, TRACK1_TASK, TRACK2_TASK, finetuned_multitask
from wassa_finetune_blend import TARGETS, load_runs
from wassa_layer_pooling import (MINILM, MPNET, MT, MT_SEED_FILES, RESULTS, member_parser,
                                 saved_best_members, vote)

NEW = "fine-tuned MT base"


def fit_predict(estimator, X_train, y_train, X_test):
    """(emotion probabilities, empathy / distress scores) of a fresh fit."""
    fitted = clone(estimator).fit(X_train, y_train[TARGETS])
    return (fitted.predict_proba(X_test)[TRACK2_TASK],
            fitted.predict(X_test)[TRACK1_TASK].to_numpy(float), fitted)


def report(data, best, goemotions, frames):
    """Markdown rows: the new member alone and in recipe best's vote."""
    splits = ["dev"] + (["oof"] if f"oof/{NEW}/scores" in data else [])
    classes = data["classes"]
    rows = {"dev": slice(None)}
    first = load_runs([RESULTS + MT_SEED_FILES[0]])  # the MiniLM multi-task member, seed 0 alone
    seed0 = {split: (first[f"{split}/{MT}/proba"], first[f"{split}/{MT}/scores"])
             for split in ("dev", "oof")}
    if "oof" in splits:  # the essays of the folds that were fitted
        rows["oof"] = np.isin(data["folds"], data["cv_folds"])

    def member(source, split, name):
        return source[f"{split}/{name}/proba"], source[f"{split}/{name}/scores"]

    def systems(split):
        """{system: (emotion probabilities or None, empathy / distress scores)}."""
        mt, new = best[split][MT], member(data, split, NEW)
        both = tuple((a + b) / 2 for a, b in zip(mt, new))
        one = tuple((a + b) / 2 for a, b in zip(seed0[split], new))
        frozen = {MINILM: best[split][MINILM], MPNET: best[split][MPNET]}
        recipe = {}
        for name, tuned in (("with the MiniLM multi-task seeds", mt),
                            ("the base encoder in place of the MiniLM seeds (shipped)", new),
                            ("the base encoder and the MiniLM seeds sharing their third", both),
                            ("the base encoder and MiniLM seed 0 sharing their third", one)):
            recipe[f"recipe `best`, {name}"] = vote({MT: tuned, **frozen}, goemotions[split],
                                                    GOEMOTIONS_WEIGHT)
        # its emotion head can collapse (dev 0.269 alone): the three other systems vote instead
        recipe["recipe `best`, the base encoder in place, its emotion head not voting"] = vote(
            {MT: new, **frozen}, goemotions[split], GOEMOTIONS_WEIGHT,
            emotion_voters=(MINILM, MPNET))
        four = sum(m[1] for m in (mt, new, *frozen.values())) / 4
        return {"fine-tuned base encoder alone": new, **recipe,
                "empathy / distress: the base encoder as a fourth system (1/4 each)": (None, four)}

    header = ["system"]
    for split in splits:
        name = "dev" if split == "dev" else (
            "CV5" if rows["oof"].all() else "CV5 folds " + ",".join(map(str, data["cv_folds"])))
        header += [f"{name} emp r", f"{name} dis r", f"{name} avg r", f"{name} macro-F1"]
    print("| " + " | ".join(header) + " |\n" + "|---" * len(header) + "|")
    table = {split: systems(split) for split in splits}
    for system in table["dev"]:
        cells = []
        for split in splits:
            proba, scores = table[split][system]
            keep, frame = rows[split], frames[split][rows[split]]
            r = wassa_evaluate(frame[TRACK1_TASK], scores[keep])
            keys = ("empathy_pearson", "distress_pearson", "average_pearson")
            cells += [f"{r[k]:.3f}" for k in keys]
            cells.append("" if proba is None else "{:.3f}".format(wassa_evaluate(
                frame[TRACK2_TASK], classes[proba[keep].argmax(1)])["macro_f1"]))
        print(f"| {system} | " + " | ".join(cells) + " |")
    print(f"\nfit on the full train split {float(data['seconds']):.0f} s")


def main(argv=None):
    parser = member_parser(__doc__.strip().splitlines()[0])
    args = parser.parse_args(argv)
    train, dev = load_wassa("train"), load_wassa("dev")
    best, goemotions, folds, classes = saved_best_members()
    frames = {"dev": dev.frame, "oof": train.frame}
    if args.load:
        report(dict(np.load(args.load, allow_pickle=True)), best, goemotions, frames)
        return 0

    estimator = finetuned_multitask(args.model, max_epochs=args.epochs,
                                    learning_rate=args.lr, random_state=args.seed,
                                    device=args.device, verbose=1)
    if args.resume:  # the dev fit (and any folds) of an earlier run with the same settings
        data = dict(np.load(args.resume, allow_pickle=True))
    else:
        tic = time.perf_counter()
        proba, scores, fitted = fit_predict(estimator, train.data, train.frame, dev.data)
        data = {"seconds": time.perf_counter() - tic,
                "classes": np.asarray(fitted.classes_[TRACK2_TASK], dtype=object),
                f"dev/{NEW}/proba": proba, f"dev/{NEW}/scores": scores}
    assert list(data["classes"]) == list(classes)
    if args.cv:
        done = list(data.get("cv_folds", []))
        todo = sorted(set(args.folds if args.folds is not None else range(5)) - set(done))
        n_classes = len(data["classes"])
        oof_proba = data.get(f"oof/{NEW}/proba", np.full((len(folds), n_classes), np.nan))
        oof_scores = data.get(f"oof/{NEW}/scores", np.full((len(folds), 2), np.nan))
        for fold, (fit_rows, held) in enumerate(PredefinedSplit(folds).split()):
            if fold not in todo:
                continue
            p, s, _ = fit_predict(estimator, train.data.iloc[fit_rows],
                                  train.frame.iloc[fit_rows], train.data.iloc[held])
            oof_proba[held], oof_scores[held] = p, s
        data.update({"folds": folds, "cv_folds": sorted(done + todo),
                     f"oof/{NEW}/proba": oof_proba, f"oof/{NEW}/scores": oof_scores})
    if args.save:
        np.savez(args.save, **data)
    report(data, best, goemotions, frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
