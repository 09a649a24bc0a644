"""A fine-tuned base-size encoder as recipe best's GoEmotions emotion member (WASSA 2021).

WASSA@IITK, the Track 2 winner, fine-tuned ELECTRA-base on the essays plus
GoEmotions comments (0.608 dev macro-F1 alone). Recipe ``best`` does the same
with two seeds of MiniLM (:func:`skempathy.recipes.finetuned_emotion_goemotions`,
~7 min per fit on a 2-core CPU) and with this member
as a fifth emotion system (``best_joint(goemotions_base=...)``). This script fits
that recipe function from ``--model`` (default all-mpnet-base-v2, an optional
install) at the usual rate for base-size encoders (3e-5, fixed a priori as for
the multi-task member, not tuned), scores it alone on dev, and scores recipe
``best``'s emotion vote with it in place of the two MiniLM GoEmotions seeds,
beside them, and as a fifth system.
The other members' predictions are read from ``benchmarks/results`` (the
multi-task member is the shipped fine-tuned mpnet of ``wassa_finetune_mpnet.py``).

``--cv 5`` adds the writer-grouped folds of the saved runs (one fit per fold);
``--folds 0 1`` fits only those folds and scores CV on their essays;
``--resume F`` reuses the dev fit and the folds already in ``F`` (CV in chunks).
``--save F`` keeps the predictions (after the dev fit and after each fold),
``--load F`` re-prints the table. Run::

    F=benchmarks/results/wassa_goemotions_mpnet.npz
    python benchmarks/wassa_goemotions_mpnet.py --data-home DIR --save $F
    python benchmarks/wassa_goemotions_mpnet.py --data-home DIR --resume $F --cv 5 --folds 0 \
        --save $F
    python benchmarks/wassa_goemotions_mpnet.py --load $F \
        --control benchmarks/results/wassa_goemotions_control_tiny.npz
"""
import sys
import time

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import PredefinedSplit

from skempathy.datasets import load_wassa
from skempathy.metrics import wassa_evaluate
from skempathy.recipes import GOEMOTIONS_BASE_WEIGHT, GOEMOTIONS_WEIGHT, TRACK2_TASK
from wassa_layer_pooling import (MINILM, MPNET, MT, RESULTS, member_parser, saved_best_members,
                                 vote)

NEW = "fine-tuned GoEmotions base"
MT_MPNET = "fine-tuned MT base"  # the name wassa_finetune_mpnet.py saved it under


def fit_predict(estimator, X_train, y_train, X_test):
    """Emotion probabilities of a fresh fit, and the fitted classes."""
    fitted = clone(estimator).fit(X_train, y_train)
    return fitted.predict_proba(X_test), fitted.classes_


def report(data, best, goemotions, frames, control=None):
    """Markdown rows: the new member alone and in recipe best's emotion vote.

    ``control``: the saved run of a near-chance member (a tiny random model), scored as a fifth
    system on the same essays, to tell the member's own gain from the reweighting's."""
    splits = ["dev"] + (["oof"] if f"oof/{NEW}" in data else [])
    classes = data["classes"]
    rows = {"dev": slice(None)}
    if "oof" in splits:  # the essays of the folds that were fitted
        rows["oof"] = np.isin(data["folds"], data["cv_folds"])
    mt = dict(np.load(RESULTS + "wassa_finetune_mpnet.npz", allow_pickle=True))

    def systems(split):
        """{system: emotion probabilities}."""
        members = {MT: (mt[f"{split}/{MT_MPNET}/proba"], mt[f"{split}/{MT_MPNET}/scores"]),
                   MINILM: best[split][MINILM], MPNET: best[split][MPNET]}
        new, old = data[f"{split}/{NEW}"], goemotions[split]
        share = GOEMOTIONS_WEIGHT
        four = vote(members, old, share)[0]

        def fifth(proba):  # best_joint's fifth emotion system: the four others make room
            return (1.0 - GOEMOTIONS_BASE_WEIGHT) * four + GOEMOTIONS_BASE_WEIGHT * proba

        return {
            "fine-tuned base encoder + GoEmotions alone": new,
            "(the two MiniLM GoEmotions seeds alone)": old,
            "recipe `best` without it (four systems: `goemotions_base=False`)": four,
            "recipe `best`, the base encoder in place of the MiniLM seeds": vote(
                members, new, share)[0],
            "recipe `best`, the base encoder and the MiniLM seeds sharing their quarter": vote(
                members, (new + old) / 2, share)[0],
            "recipe `best`: the base encoder as a fifth system (1/5 each)": fifth(new),
            "recipe `best`, the base encoder in place, share 0.5": vote(members, new, 0.5)[0],
            **({"recipe `best`, the near-chance control member as a fifth system": fifth(
                control[f"{split}/{NEW}"])} if control is not None else {}),
        }

    header = ["system"]
    for split in splits:
        name = "dev" if split == "dev" else (
            "CV5" if rows["oof"].all() else "CV5 folds " + ",".join(map(str, data["cv_folds"])))
        header += [f"{name} macro-F1", f"{name} accuracy"]
    print("| " + " | ".join(header) + " |\n" + "|---" * len(header) + "|")
    table = {split: systems(split) for split in splits}
    for system in table["dev"]:
        cells = []
        for split in splits:
            keep = rows[split]
            r = wassa_evaluate(frames[split][TRACK2_TASK][keep],
                               classes[table[split][system][keep].argmax(1)])
            cells += [f"{r['macro_f1']:.3f}", f"{r['accuracy']:.3f}"]
        print(f"| {system} | " + " | ".join(cells) + " |")
    print(f"\nfit on the full train split {float(data['seconds']):.0f} s; "
          f"folds {np.round(data.get('fold_seconds', [])).astype(int).tolist()} s")


def main(argv=None):
    from skempathy.recipes import finetuned_emotion_goemotions

    parser = member_parser(__doc__.strip().splitlines()[0])
    parser.add_argument("--precision", default="auto",
                        help="bf16: autocast on CPU too (2-3x faster with Intel AMX, "
                             "~15x slower on CPUs without bf16 units)")
    parser.add_argument("--data-home", default=None, help="where GoEmotions is")
    parser.add_argument("--control", default=None,
                        help="with --load: a --save file of a near-chance member, scored as a "
                             "fifth system on the same essays")
    args = parser.parse_args(argv)
    train, dev = load_wassa("train"), load_wassa("dev")
    best, goemotions, folds, classes = saved_best_members()
    frames = {"dev": dev.frame, "oof": train.frame}
    if args.load:
        control = dict(np.load(args.control, allow_pickle=True)) if args.control else None
        report(dict(np.load(args.load, allow_pickle=True)), best, goemotions, frames, control)
        return 0

    estimator = finetuned_emotion_goemotions(args.model, max_epochs=args.epochs,
                                             learning_rate=args.lr, random_state=args.seed,
                                             device=args.device, precision=args.precision,
                                             verbose=1,
                                             data_home=args.data_home)
    y = train.frame[TRACK2_TASK]
    if args.resume:  # the dev fit (and any folds) of an earlier run with the same settings
        data = dict(np.load(args.resume, allow_pickle=True))
    else:
        tic = time.perf_counter()
        proba, fitted_classes = fit_predict(estimator, train.data, y, dev.data)
        data = {"seconds": time.perf_counter() - tic,
                "classes": np.asarray(fitted_classes, dtype=object), f"dev/{NEW}": proba}
        if args.save:  # keep the dev fit even if a fold is interrupted
            np.savez(args.save, **data)
    assert list(data["classes"]) == list(classes)
    if args.cv:
        done = list(data.get("cv_folds", []))
        todo = sorted(set(args.folds if args.folds is not None else range(5)) - set(done))
        oof = data.get(f"oof/{NEW}", np.full((len(folds), len(classes)), np.nan))
        seconds = list(data.get("fold_seconds", []))
        for fold, (fit_rows, held) in enumerate(PredefinedSplit(folds).split()):
            if fold not in todo:
                continue
            tic = time.perf_counter()
            oof[held], _ = fit_predict(estimator, train.data.iloc[fit_rows], y.iloc[fit_rows],
                                       train.data.iloc[held])
            seconds.append(time.perf_counter() - tic)
            done.append(fold)
            data.update({"folds": folds, "cv_folds": sorted(done), f"oof/{NEW}": oof,
                         "fold_seconds": np.asarray(seconds)})
            if args.save:  # a fold is ~14 min: keep each one as it lands
                np.savez(args.save, **data)
    if args.save:
        np.savez(args.save, **data)
    report(data, best, goemotions, frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
