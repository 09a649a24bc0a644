"""Train the WASSA 2021 Track 1 + 2 pipelines on train, score dev, write test predictions."""

import json
import sys
import time
from pathlib import Path

from ._common import print_table, save_model, write_atomic

# Published WASSA 2021 results as reported in the system papers: dev scores
# (comparable with ours) and the official test leaderboard (test gold labels
# are not public, so we can only score dev).
PUBLISHED = [
    # (system, empathy r, distress r, average r, emotion macro-F1)
    ("PVG (Kulkarni et al. 2021), multi-input multi-task RoBERTa, dev", 0.57, 0.56, None, None),
    ("WASSA@IITK (Mundra et al. 2021), ELECTRA + GoEmotions, dev", None, None, None, 0.608),
    ("Team Phoenix, T5 label generation, dev", None, None, None, 0.572),
    ("PVG, Track 1 winner, test", 0.517, 0.574, 0.545, None),
    ("WASSA@IITK, Track 2 winner, test", None, None, 0.533, 0.5528),
]
# Floors of the default pipelines on dev (simple references with the same encoder).
TARGETS = {"empathy_pearson": 0.40, "distress_pearson": 0.50, "macro_f1": 0.39}


def add_arguments(parser):
    parser.add_argument("--out", default="wassa_out", metavar="DIR",
                        help="output folder (default: wassa_out)")
    from ..recipes import RECIPES

    parser.add_argument("--recipe", default="default", choices=sorted(RECIPES),
                        help="pipeline recipe from skempathy.recipes: 'default' (fast, embedded "
                             "MiniLM) or 'best' (frozen all-mpnet-base-v2, an optional install; "
                             "see skempathy.recipes) (default: default)")
    parser.add_argument("--model", default=None,
                        help="sentence-transformers encoder (default: the recipe's encoder, "
                             "all-MiniLM-L6-v2 for 'default', all-mpnet-base-v2 for 'best')")
    parser.add_argument("--cache", default=None, metavar="DIR",
                        help="on-disk embedding cache folder (default: memory only)")
    parser.add_argument("--device", default="auto", help="torch device (default: auto)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _describe(estimator):
    last = estimator[-1] if hasattr(estimator, "steps") else estimator
    return type(last).__name__


def _fmt(value):
    return "" if value is None else f"{value:.3f}"


def run(args):
    from tqdm.auto import tqdm

    from ..datasets import load_wassa
    from ..metrics import wassa_evaluate
    from ..recipes import TRACK1_TASK, TRACK2_TASK, get_recipe
    from ..text import SentenceEmbedder

    recipe = get_recipe(args.recipe)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    show = not args.quiet
    started = time.perf_counter()

    train, dev, test = (load_wassa(s) for s in ("train", "dev", "test"))
    model = args.model or recipe.get("encoder", "all-MiniLM-L6-v2")
    embedder = SentenceEmbedder(model, device=args.device, cache=args.cache,
                                show_progress=show)
    stages = tqdm(total=4, desc="skempathy wassa", unit="stage", disable=not show,
                  file=sys.stderr, position=0)

    # 1. encode the 2655 essays once: both tracks and all splits hit the cache.
    stages.set_postfix_str("encoding essays")
    essays = list(train.data["essay"]) + list(dev.data["essay"]) + list(test.data["essay"])
    embedder.fit(essays[:1]).transform(essays)
    stages.update()

    # 2. Track 1: empathy + distress, one multi-output pipeline.
    stages.set_postfix_str("fitting Track 1 (empathy, distress)")
    track1 = recipe["track1"](embedder=embedder)
    track1.fit(train.data, train.frame[TRACK1_TASK])
    stages.update()

    # 3. Track 2: emotion.
    stages.set_postfix_str("fitting Track 2 (emotion)")
    track2 = recipe["track2"](embedder=embedder)
    track2.fit(train.data, train.frame[TRACK2_TASK])
    stages.update()

    # 4. dev scores, test predictions, models.
    stages.set_postfix_str("scoring dev, predicting test")
    scores = {}
    scores.update(wassa_evaluate(dev.frame[TRACK1_TASK], track1.predict(dev.data)))
    scores.update(wassa_evaluate(dev.frame[TRACK2_TASK], track2.predict(dev.data)))
    emp_dis = track1.predict(test.data)
    emotions = track2.predict(test.data)
    stages.update()
    stages.close()

    def write_emp(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            for empathy, distress in emp_dis:
                fh.write(f"{empathy:.6f}\t{distress:.6f}\n")

    def write_emo(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            for label in emotions:
                fh.write(f"{label}\n")

    write_atomic(out / "predictions_EMP.tsv", write_emp)
    write_atomic(out / "predictions_EMO.tsv", write_emo)
    save_model(track1, out / "track1_empathy_distress.joblib", task=TRACK1_TASK,
               head=_describe(track1), features=["text", "demographic", "personality", "iri"],
               columns=list(train.data.columns),
               scores={k: scores[k] for k in ("empathy_pearson", "distress_pearson",
                                              "average_pearson")})
    save_model(track2, out / "track2_emotion.joblib", task=TRACK2_TASK,
               head=_describe(track2), features=["text", "demographic", "personality", "iri"],
               columns=list(train.data.columns),
               scores={k: v for k, v in scores.items() if "pearson" not in k})
    summary = {"recipe": args.recipe, "encoder": model, "dev": scores,
               "seconds": round(time.perf_counter() - started, 1)}
    write_atomic(out / "dev_scores.json",
                 lambda tmp: Path(tmp).write_text(json.dumps(summary, indent=2) + "\n"))

    print(f"\nWASSA 2021 dev scores (recipe '{args.recipe}', encoder {model}, trained on "
          f"{len(train.data)} train essays, scored on {len(dev.data)} dev essays)\n")
    rows = [("skempathy (this run), dev", _fmt(scores["empathy_pearson"]),
             _fmt(scores["distress_pearson"]), _fmt(scores["average_pearson"]),
             _fmt(scores["macro_f1"]), _fmt(scores["accuracy"]))]
    rows.append(("target floor for this pipeline, dev", _fmt(TARGETS["empathy_pearson"]),
                 _fmt(TARGETS["distress_pearson"]), "", _fmt(TARGETS["macro_f1"]), ""))
    rows += [(name, _fmt(e), _fmt(d), _fmt(a), _fmt(f), "") for name, e, d, a, f in PUBLISHED]
    print_table(rows, ["system", "empathy r", "distress r", "avg r", "emotion macro-F1",
                       "emotion acc"])
    print("\nPublished rows: dev scores from the system papers, and the official test results "
          "(test gold labels are not public, so this run scores dev only).")
    print(f"\nWrote {out / 'predictions_EMP.tsv'} ({len(emp_dis)} lines: empathy<TAB>distress), "
          f"{out / 'predictions_EMO.tsv'} ({len(emotions)} lines), the two fitted models "
          f"(*.joblib) and dev_scores.json in {summary['seconds']:.0f} s.")
    return 0
