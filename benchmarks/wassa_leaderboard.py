"""WASSA 2021 leaderboard: our recipes beside the published systems.

Fits a recipe of :mod:`skempathy.recipes` (default: ``mpnet``) on the WASSA 2021
training split, scores it on dev (official metrics) and with grouped 5-fold
cross-validation on train (groups: writers, ``response_id``), and prints the
scores beside the published systems' dev and test numbers, with the training
time and the peak memory (RSS) of the fit. ``--ablation`` adds a table of the
levers (encoder, head tuning, all-layer pooling, GoEmotions augmentation,
lexicon), each measured the same way.

Run::

    python benchmarks/wassa_leaderboard.py --cache /tmp/skempathy_emb --ablation

With ``--cache`` the essay embeddings are written to (and later read from) that
folder, so the CV folds, the ablation rows and later runs encode each text once
per encoder; the first run pays the encoding (see docs/results.md for the
cold-cache time of ``skempathy wassa --recipe mpnet``).

``--recipe best`` and ``--recipe finetuned`` (joint recipes: a fine-tuned
multi-task model blended with frozen pipelines) fine-tune once per fold:
``--cv 5`` takes ~40 min on a 2-core CPU for ``finetuned``; for ``best``,
whose multi-task member fine-tunes mpnet (~19 min per fold in fp32, ~9 in bf16)
and whose emotion members are fine-tuned with GoEmotions comments from
``--data-home`` (MiniLM ~12 min and mpnet ~13 min in bf16 per fold), roughly
3-4 h (estimated from the per-fold times, not run);
``benchmarks/wassa_finetune_blend.py`` measures the same CV for every member
and blend in one run. The default ``--recipe`` is ``mpnet`` (frozen, minutes).
"""

import argparse
import resource
import sys
import time

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold

from skempathy.datasets import load_wassa
from skempathy.metrics import wassa_evaluate
from skempathy.recipes import (TRACK1_TASK, TRACK2_TASK, best_track1, best_track2,
                               frozen_encoder, get_recipe, recipe_embedder)
from skempathy.text import SentenceEmbedder

# Published WASSA 2021 systems (numbers as reported in the system papers and the
# shared-task overview; None: not reported). Dev = the official dev split.
PUBLISHED = [
    # system, split, empathy r, distress r, average r, emotion macro-F1
    ("PVG multi-input multi-task RoBERTa (Track 1 1st)", "dev", 0.57, 0.56, None, None),
    ("PVG multi-input multi-task RoBERTa (Track 1 1st)", "test", 0.517, 0.574, 0.545, None),
    ("WASSA@IITK ELECTRA-base + GoEmotions", "dev", None, None, None, 0.608),
    ("WASSA@IITK ensembles", "dev", None, None, None, "0.64-0.65"),
    ("WASSA@IITK ensemble (Track 2 1st)", "test", None, None, 0.533, 0.553),
    ("Team Phoenix T5", "dev", None, None, None, 0.572),
]


def _peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def grouped_cv(estimator, X, y, groups, n_splits=5, score=wassa_evaluate):
    """Mean and std over grouped folds of ``score(y_fold, predictions)`` (a dict of scores)."""
    folds = []
    for train, test in GroupKFold(n_splits).split(X, y, groups):
        est = clone(estimator).fit(X.iloc[train], y.iloc[train])
        folds.append(score(y.iloc[test], est.predict(X.iloc[test])))
    return {k: (float(np.mean([f[k] for f in folds])), float(np.std([f[k] for f in folds])))
            for k in folds[0]}


def evaluate(track1, track2, data, *, cv=5):
    """Fit both tracks on train (timed), score dev, and cross-validate on train."""
    train, dev = data
    row = {}
    if track1 is not None:
        start = time.perf_counter()
        fitted = clone(track1).fit(train.data, train.frame[TRACK1_TASK])
        row["t1_seconds"] = time.perf_counter() - start
        row.update(wassa_evaluate(dev.frame[TRACK1_TASK], fitted.predict(dev.data)))
        if cv:
            for k, v in grouped_cv(track1, train.data, train.frame[TRACK1_TASK],
                                   train.groups, cv).items():
                row["cv_" + k] = v
    if track2 is not None:
        start = time.perf_counter()
        fitted = clone(track2).fit(train.data, train.frame[TRACK2_TASK])
        row["t2_seconds"] = time.perf_counter() - start
        row.update(wassa_evaluate(dev.frame[TRACK2_TASK], fitted.predict(dev.data)))
        if cv:
            for k, v in grouped_cv(track2, train.data, train.frame[TRACK2_TASK],
                                   train.groups, cv).items():
                row["cv_" + k] = v
    return row


def evaluate_joint(joint, data, *, cv=5):
    """:func:`evaluate` for a joint recipe: one estimator fitted on both tracks' targets."""
    train, dev = data
    targets = [TRACK2_TASK] + TRACK1_TASK

    def scores(y, pred):
        row = wassa_evaluate(y[TRACK1_TASK], pred[TRACK1_TASK].to_numpy(float))
        row.update(wassa_evaluate(y[TRACK2_TASK], pred[TRACK2_TASK].to_numpy()))
        return row

    start = time.perf_counter()
    fitted = clone(joint).fit(train.data, train.frame[targets])
    row = {"t1_seconds": time.perf_counter() - start, "t2_seconds": 0.0}
    row.update(scores(dev.frame, fitted.predict(dev.data)))
    if cv:
        for k, v in grouped_cv(joint, train.data, train.frame[targets], train.groups, cv,
                               score=scores).items():
            row["cv_" + k] = v
    return row


def _f(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        return f"{value[0]:.3f}±{value[1]:.3f}"
    return f"{value:.3f}"


def print_table(rows, headers):
    cells = [list(map(str, headers))] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for k, r in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
        if k == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def ablation_rows(args):
    """(lever, track1, track2): each row changes one thing over the row above."""
    minilm = SentenceEmbedder("all-MiniLM-L6-v2", cache=args.cache, device=args.device)
    mpnet = SentenceEmbedder("all-mpnet-base-v2", cache=args.cache, device=args.device)
    mpnet_all = frozen_encoder("all-mpnet-base-v2", cache=args.cache, device=args.device)
    default = get_recipe("default")
    ridge = {"head": Ridge(alpha=300.0), "preprocessor__transformer_weights": {"text": 0.3}}
    return [
        ("default recipe (MiniLM, columns; Ridge+SVR / logreg C=0.01)",
         default["track1"](embedder=minilm), default["track2"](embedder=minilm)),
        ("MiniLM, tuned heads: text x0.3 + columns -> Ridge(300); logreg C=0.001 text only",
         best_track1(minilm).set_params(**ridge), best_track2(minilm, augment=False)),
        ("MiniLM, SVR head: text x0.2 + columns -> SVR(C=1)",
         best_track1(minilm), None),
        ("mpnet instead of MiniLM, Ridge head",
         best_track1(mpnet).set_params(**ridge), best_track2(mpnet, augment=False)),
        ("mpnet, SVR head (last layer)",
         best_track1(mpnet), None),
        ("mpnet, all layers averaged (frozen_encoder: recipe 'mpnet')",
         best_track1(mpnet_all), best_track2(mpnet_all)),
        ("mpnet + GoEmotions augmentation (Track 2; off in recipe 'mpnet')",
         None, best_track2(mpnet, augment=True, data_home=args.data_home)),
        ("mpnet SVR + Sedoc lexicon features (Track 1; CV leaks, see notes)",
         best_track1(mpnet, lexicon=True), None),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--recipe", default="mpnet")
    parser.add_argument("--cv", type=int, default=5, help="grouped folds (0: no CV)")
    parser.add_argument("--cache", default=None, help="on-disk embedding cache folder")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-home", default=None, help="where GoEmotions/the lexicon are")
    parser.add_argument("--ablation", action="store_true", help="also print the ablation table")
    parser.add_argument("--rows", default=None,
                        help="comma-separated ablation row numbers to run (1-based; default: all)")
    parser.add_argument("--skip-leaderboard", action="store_true",
                        help="only the ablation table")
    args = parser.parse_args(argv)

    data = (load_wassa("train"), load_wassa("dev"))
    if args.ablation:
        print("\nAblation (each row adds one lever to the row above; CV = grouped "
              f"{args.cv}-fold on train, mean±std over folds)\n")
        headers = ["lever", "dev emp r", "dev dis r", "dev avg r", "CV avg r",
                   "dev macro-F1", "CV macro-F1", "fit s"]
        table = []
        wanted = None if args.rows is None else {int(r) for r in args.rows.split(",")}
        for i, (name, track1, track2) in enumerate(ablation_rows(args), 1):
            if wanted is not None and i not in wanted:
                continue
            row = evaluate(track1, track2, data, cv=args.cv)
            table.append((name, _f(row.get("empathy_pearson")), _f(row.get("distress_pearson")),
                          _f(row.get("average_pearson")), _f(row.get("cv_average_pearson")),
                          _f(row.get("macro_f1")), _f(row.get("cv_macro_f1")),
                          f"{row.get('t1_seconds', 0) + row.get('t2_seconds', 0):.0f}"))
            print(" ", " | ".join(table[-1]), file=sys.stderr, flush=True)
        print_table(table, headers)

    if args.skip_leaderboard:
        return 0
    recipe = get_recipe(args.recipe)
    embedder = recipe_embedder(recipe, cache=args.cache, device=args.device)
    encoder = embedder.model
    kwargs = {"data_home": args.data_home} if args.recipe in ("mpnet", "best") else {}
    if "joint" in recipe:  # e.g. 'finetuned': both tracks in one fit
        joint = recipe["joint"](embedder=embedder, **kwargs)
        joint.set_params(**{k: args.device for k in joint.get_params()
                            if k.endswith("__device")})  # the fine-tuned members too
        ours = evaluate_joint(joint, data, cv=args.cv)
        split = "both tracks in one fit"
    else:
        t1 = recipe["track1"](embedder=embedder)
        t2 = recipe["track2"](embedder=embedder, **kwargs)
        ours = evaluate(t1, t2, data, cv=args.cv)
        split = f"Track 1 {ours['t1_seconds']:.0f} s, Track 2 {ours['t2_seconds']:.0f} s"
    seconds = ours["t1_seconds"] + ours["t2_seconds"]
    peak = _peak_rss_mib()

    print(f"\nWASSA 2021 leaderboard: recipe '{args.recipe}' (encoder {encoder}); "
          f"fit on train in {seconds:.0f} s ({split}, "
          f"embedding cache {args.cache or 'memory only'}), "
          f"peak RSS of the process {peak:.0f} MiB"
          f"{' (includes the ablation runs)' if args.ablation else ''}\n")
    headers = ["system", "split", "empathy r", "distress r", "average r", "emotion macro-F1"]
    rows = [(f"skempathy '{args.recipe}'", "dev", _f(ours["empathy_pearson"]),
             _f(ours["distress_pearson"]), _f(ours["average_pearson"]), _f(ours["macro_f1"]))]
    if args.cv:
        rows.append((f"skempathy '{args.recipe}'", f"train CV{args.cv} (grouped)",
                     _f(ours["cv_empathy_pearson"]), _f(ours["cv_distress_pearson"]),
                     _f(ours["cv_average_pearson"]), _f(ours["cv_macro_f1"])))
    rows += [(name, split, _f(e), _f(d), _f(a), _f(f)) for name, split, e, d, a, f in PUBLISHED]
    print_table(rows, headers)

    return 0


if __name__ == "__main__":
    sys.exit(main())
