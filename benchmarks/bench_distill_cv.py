"""Writer-grouped cross-validation of distillation: a recipe refitted on each fold, its student
and the same student trained on gold labels alone.

Usage::

    python benchmarks/bench_distill_cv.py --work DIR [--recipe best] [--cv 5]
                                         [--model all-MiniLM-L6-v2] [--alpha 0.5]
                                         [--temperature 1] [--transductive]
                                         [--extra-pool N] [--span-pool N] [--side-inputs]
                                         [--folds K [K ...]] [--cache DIR]

The 1860 WASSA 2021 training essays are split by writer (``GroupKFold``). On each fold the
recipe is fitted on the other folds and a student is distilled from it as
``skempathy distill`` does (same student and unlabeled pool: the WASSA dev and test essays,
never their labels); the gold-only twin is the same student with ``alpha=1`` and no unlabeled
essays. The held-out essays are read by none of the three, so the scores are inductive;
``--transductive`` adds them, without labels, to the student's pool, as the dev essays are in
the dev scores of ``skempathy distill``. The out-of-fold predictions are pooled and scored like
the dev split: the share of the recipe's score each student keeps, and the writer-grouped
paired bootstrap p-value (1000 resamples) that the distilled student beats its gold-only twin
(and, for a lever, that it beats the default student on the same folds).

Recipe ``best`` reads GoEmotions in ``fit``: point ``SKEMPATHY_DATA`` at the folder that holds
``goemotions/`` (the recipe's ``fit`` reads it before training any member, so a missing file
fails at once).

``--extra-pool N`` enlarges the transfer set with N situations of EmpatheticDialogues (first-person
accounts of an emotional event, read from ``../shared/data/empatheticdialogues``): the teacher
labels them, their writer columns drawn as whole rows from the fold's training writers (the teacher
needs them; the student reads the text alone). ``--span-pool N`` adds N in-domain texts instead:
runs of consecutive sentences (about half of an essay) cut from the fold's training essays, each
with its own writer's columns, labelled by the teacher (the augmentation of TinyBERT's and
"Well-Read Students"' transfer sets; the held-out fold is never cut). ``--side-inputs`` measures
the second student for WASSA-shaped rows: the same encoder also reading the writers' numeric
columns (demographics, personality, IRI) as side inputs, as the fine-tuned member of recipe
``best`` does.

Each fold's predictions are written to ``--work`` as soon as they exist, and so is each fold's
fitted recipe (about 1 GB for ``best``). A rerun with the same folder continues where the last
one stopped, and a run with another ``--alpha``, ``--temperature`` or ``--transductive``
distils from the saved recipes without refitting them; ``--folds`` runs and scores some of the
folds only (a setting compared on the folds whose recipes are saved). Recipe ``best`` takes
about 35 minutes a fold on a 2-core CPU with bf16 units (Intel AMX; its mpnet fine-tunings run in
bf16), more than an hour on an AVX2-only one; its student about 9 (the recipe labelling the
essays included) and the gold-only twin about 5.
"""

import argparse
import os
import pickle
import platform
import shutil
import sys
import time
import warnings

import numpy as np
import pandas as pd

TARGETS = ["emotion", "empathy", "distress"]
# the columns of the table: wassa_evaluate's keys and their headers
METRICS = {
    "empathy_pearson": "empathy r",
    "distress_pearson": "distress r",
    "average_pearson": "avg r",
    "macro_f1": "emotion macro-F1",
}


def _save(path, obj):
    """Write ``obj`` next to ``path`` first, so a stopped run never leaves half a file."""
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as fh:
        pickle.dump(obj, fh)
    os.replace(tmp, path)


def student(args):
    """The student of ``skempathy distill``: one multi-task encoder reading the essay alone
    (``--side-inputs``: and the writers' numeric columns, as recipe ``best``'s fine-tuned
    member does); for a ``static-*`` model, linear heads on its static embeddings (the
    text-only model ``skempathy wassa`` writes by default)."""
    from skempathy.neural import MultiTaskTransformer
    from skempathy.recipes import finetuned_multitask, text_only_vote

    if args.model.startswith("static-"):
        from skempathy.text import StaticEmbedder

        if args.side_inputs:
            raise SystemExit("--side-inputs needs a fine-tuned student, not a static one")
        return text_only_vote(StaticEmbedder(args.model), TARGETS)

    return MultiTaskTransformer(
        args.model,
        text_column="essay",
        extra_features=finetuned_multitask().extra_features if args.side_inputs else None,
        max_epochs=3,
        max_length=256,
        device=args.device,
        random_state=args.seed,
        learning_rate=1e-4,
        precision="auto",
        verbose=0,
    )


def _peak_gib():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def _frame(pred, index):
    pred = pd.DataFrame(pred, columns=TARGETS) if not isinstance(pred, pd.DataFrame) else pred
    return pred[TARGETS].set_axis(index)


def _log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fold_teacher(args, k, train, fit_rows, test_rows):
    """The recipe fitted on the other folds, saved in ``--work`` with its predictions of fold k:
    a later run (another ``--alpha``, ``--temperature`` or ``--transductive``) distils from it
    without refitting."""
    import joblib

    from skempathy.recipes import get_recipe

    path = os.path.join(args.work, f"{args.recipe}-seed{args.seed}-cv{args.cv}-fold{k + 1}-teacher")
    if os.path.exists(f"{path}.joblib"):
        return joblib.load(f"{path}.joblib")
    chosen = get_recipe(args.recipe)
    embedder = chosen.make_embedder(cache=args.cache, device=args.device, show_progress=False)
    teacher = chosen.build(embedder=embedder)
    teacher.set_params(
        **{key: args.device for key in teacher.get_params() if key.endswith("__device")}
    )
    # each fitted member is cached: an interrupted fold resumes at the member it was fitting
    teacher.set_params(memory=f"{path}-members")
    held_out = train.data.iloc[test_rows]
    start = time.perf_counter()
    teacher.fit(train.data.iloc[fit_rows], train.frame[TARGETS].iloc[fit_rows])
    minutes = (time.perf_counter() - start) / 60
    _log(f"fold {k + 1}: {args.recipe} fitted in {minutes:.1f} min")
    if not os.path.exists(f"{path}.pkl"):
        _save(
            f"{path}.pkl",
            dict(
                teacher=_frame(teacher.predict(held_out), held_out.index), teacher_minutes=minutes
            ),
        )
    joblib.dump(teacher, f"{path}.joblib.tmp")
    os.replace(f"{path}.joblib.tmp", f"{path}.joblib")
    shutil.rmtree(f"{path}-members", ignore_errors=True)  # the whole teacher is saved
    return teacher


def extra_pool(args, train, fit_rows):
    """``--extra-pool`` EmpatheticDialogues situations, with writer columns of training writers."""
    path = os.path.join(
        args.shared,
        "data",
        "empatheticdialogues",
        "empatheticdialogues_empatheticintents.csv.gz",
    )
    frame = pd.read_csv(path, usecols=["type", "text"])
    texts = frame.loc[frame["type"] == "situation", "text"].dropna().drop_duplicates()
    texts = texts[texts.str.split().str.len() >= 5]  # an account, not a fragment
    rng = np.random.RandomState(args.seed)
    texts = texts.iloc[rng.choice(len(texts), size=min(args.extra_pool, len(texts)), replace=False)]
    writers = train.data.iloc[fit_rows].drop(columns="essay")
    columns = writers.iloc[rng.randint(len(writers), size=len(texts))].reset_index(drop=True)
    return pd.concat([pd.DataFrame({"essay": texts.to_numpy()}), columns], axis=1)[
        list(train.data.columns)
    ]


def span_pool(args, train, fit_rows):
    """``--span-pool`` runs of consecutive sentences of the fold's training essays, each with its
    essay's writer columns."""
    import re

    rng = np.random.RandomState(args.seed + 1)
    essays = train.data.iloc[fit_rows].reset_index(drop=True)
    rows, texts = [], []
    while len(texts) < args.span_pool:
        i = rng.randint(len(essays))
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", essays.at[i, "essay"].strip()) if s]
        if len(sentences) < 3:
            continue
        size = max(2, int(round(len(sentences) * rng.uniform(0.35, 0.65))))
        start = rng.randint(len(sentences) - size + 1)
        rows.append(i)
        texts.append(" ".join(sentences[start : start + size]))
    spans = essays.iloc[rows].reset_index(drop=True)
    spans["essay"] = texts
    return spans


def distilled_fold(args, teacher, k, train, fit_rows, test_rows, pool):
    """The student distilled from fold k's teacher, predicting fold k."""
    from sklearn.frozen import FrozenEstimator

    from skempathy.distill import Distiller

    held_out = train.data.iloc[test_rows]
    if args.extra_pool:
        pool = pd.concat([pool, extra_pool(args, train, fit_rows)], ignore_index=True)
    if args.span_pool:
        pool = pd.concat([pool, span_pool(args, train, fit_rows)], ignore_index=True)
    if args.transductive:  # as on dev: the student also learns the teacher's labels of fold k
        pool = pd.concat([pool, held_out], ignore_index=True)
    start = time.perf_counter()
    distiller = Distiller(
        FrozenEstimator(teacher),
        student(args),
        X_unlabeled=pool,
        alpha=args.alpha,
        temperature=args.temperature,
        random_state=args.seed,
    )
    distiller.fit(train.data.iloc[fit_rows], train.frame[TARGETS].iloc[fit_rows])
    minutes = (time.perf_counter() - start) / 60
    _log(f"fold {k + 1}: student distilled in {minutes:.1f} min")
    return dict(
        student=_frame(distiller.student_.predict(held_out), held_out.index),
        student_minutes=minutes,
        agreement=distiller.teacher_agreement_,
    )


def gold_fold(args, k, train, fit_rows, test_rows):
    """The same student trained on the other folds' gold labels alone, predicting fold k."""
    held_out = train.data.iloc[test_rows]
    gold = student(args)
    start = time.perf_counter()
    gold.fit(train.data.iloc[fit_rows], train.frame[TARGETS].iloc[fit_rows])
    minutes = (time.perf_counter() - start) / 60
    _log(f"fold {k + 1}: gold-only student fitted in {minutes:.1f} min")
    return dict(gold=_frame(gold.predict(held_out), held_out.index), gold_minutes=minutes)


def _against_default_student(args, stages, chosen, truth, groups, student_pred):
    """A lever's student against the default student (alpha 0.5, temperature 1, the WASSA pool
    alone; of the ``--against`` encoder if given) on the same folds: the writer-grouped paired
    bootstrap p-value that it is better."""
    from skempathy.metrics import bootstrap_test

    default = stages["distilled"].replace(
        f"alpha{args.alpha:g}-t{args.temperature:g}", "alpha0.5-t1"
    )
    for lever in ("-transductive", f"-ed{args.extra_pool}", f"-span{args.span_pool}", "-side"):
        default = default.replace(lever, "")
    if args.against:
        model, against = (name.replace("/", "_") for name in (args.model, args.against))
        default = default.replace(f"{args.recipe}-{model}-", f"{args.recipe}-{against}-", 1)
    if default == stages["distilled"]:
        return  # this run is the default student
    paths = [os.path.join(args.work, default.format(k + 1)) for k in chosen]
    if not all(os.path.exists(path) for path in paths):
        print("(the default student has not run on these folds: no p-value against it)")
        return
    base = []
    for path in paths:
        with open(path, "rb") as fh:
            base.append(pickle.load(fh)["student"])
    base = pd.concat(base).loc[truth.index]
    tests = {
        key: bootstrap_test(
            truth,
            student_pred,
            base,
            key,
            groups=groups,
            n_resamples=args.n_resamples,
            random_state=0,
        )
        for key in ("macro_f1", "average_pearson")
    }
    print(
        f"Against the default {args.against or args.model} student on the same folds "
        "(writer-grouped paired bootstrap, "
        f"{args.n_resamples} resamples): "
        + "; ".join(
            f"{key} {test.delta:+.3f}, p = {test.p_value:.3f}" for key, test in tests.items()
        )
    )


def main(argv=None):
    from sklearn.model_selection import GroupKFold

    from skempathy.datasets import load_wassa
    from skempathy.metrics import bootstrap_test, wassa_evaluate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, help="folder of the per-fold predictions")
    parser.add_argument("--recipe", default="best", help="the teacher recipe (default: best)")
    parser.add_argument(
        "--model",
        default="all-MiniLM-L6-v2",
        help="the student's encoder; 'static-minilm': linear heads on static MiniLM "
        "embeddings, the text-only model of 'skempathy wassa' (default: all-MiniLM-L6-v2)",
    )
    parser.add_argument("--cv", type=int, default=5, help="writer-grouped folds (default: 5)")
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.5,
        help="weight of the gold labels against the teacher's (default: 0.5)",
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="temperature of the teacher's class probabilities (default: 1)",
    )
    parser.add_argument(
        "--against",
        default=None,
        metavar="MODEL",
        help="compare the student with the default student of this encoder on the same "
        "folds (its run saved in --work), e.g. --against static-minilm",
    )
    parser.add_argument(
        "--transductive",
        action="store_true",
        help="add each held-out fold's essays (never their labels) to the "
        "student's unlabeled pool, as the dev scores of "
        "'skempathy distill' do with the dev essays",
    )
    parser.add_argument(
        "--extra-pool",
        type=int,
        default=0,
        metavar="N",
        help="add N EmpatheticDialogues situations to the student's unlabeled pool (default: 0)",
    )
    parser.add_argument(
        "--span-pool",
        type=int,
        default=0,
        metavar="N",
        help="add N runs of consecutive sentences of the fold's training essays to the "
        "student's unlabeled pool (default: 0)",
    )
    parser.add_argument(
        "--side-inputs",
        action="store_true",
        help="the student also reads the writers' numeric columns (a student for "
        "WASSA-shaped rows, not a text-only one)",
    )
    parser.add_argument(
        "--shared",
        default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"),
        help="the folder holding data/empatheticdialogues (default: ../shared)",
    )
    parser.add_argument(
        "--folds",
        type=int,
        nargs="+",
        metavar="K",
        help="run and score these folds only, numbered from 1 (default: all)",
    )
    parser.add_argument("--cache", default=None, help="on-disk embedding cache folder")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples")
    args = parser.parse_args(argv)
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)
    chosen = sorted(set(args.folds or range(1, args.cv + 1)))
    if not set(chosen) <= set(range(1, args.cv + 1)):
        parser.error(f"--folds must be numbers from 1 to {args.cv}; got {args.folds}")
    chosen = [k - 1 for k in chosen]
    os.makedirs(args.work, exist_ok=True)
    warnings.filterwarnings("ignore", category=UserWarning)

    train = load_wassa("train")
    # the pool of ``skempathy distill``: the dev and test essays with their writer columns
    pool = pd.concat([load_wassa("dev").data, load_wassa("test").data], ignore_index=True)
    folds = list(GroupKFold(args.cv).split(train.data, groups=train.groups))
    model = args.model.replace("/", "_")
    stages = {  # file name of each stage's predictions of a fold
        "teacher": f"{args.recipe}-seed{args.seed}-cv{args.cv}-fold{{}}-teacher.pkl",
        "distilled": f"{args.recipe}-{model}-seed{args.seed}-cv{args.cv}-alpha{args.alpha:g}-"
        f"t{args.temperature:g}{'-transductive' * args.transductive}"
        f"{f'-ed{args.extra_pool}' if args.extra_pool else ''}"
        f"{f'-span{args.span_pool}' if args.span_pool else ''}{'-side' * args.side_inputs}"
        "-fold{}-distilled.pkl",
        "gold": f"{model}{'-side' * args.side_inputs}-seed{args.seed}-cv{args.cv}"
        "-fold{}-gold.pkl",
    }
    paths = {
        stage: [os.path.join(args.work, name.format(k + 1)) for k in range(args.cv)]
        for stage, name in stages.items()
    }
    # every distilled fold before the gold-only ones: the students' shares are the main number
    for k in chosen:
        fit_rows, test_rows = folds[k]
        if not (os.path.exists(paths["teacher"][k]) and os.path.exists(paths["distilled"][k])):
            _log(f"fold {k + 1}/{args.cv}: {args.recipe} and its student")
            teacher = fold_teacher(args, k, train, fit_rows, test_rows)
            if not os.path.exists(paths["distilled"][k]):
                _save(
                    paths["distilled"][k],
                    distilled_fold(args, teacher, k, train, fit_rows, test_rows, pool),
                )
            del teacher
    for k in chosen:
        fit_rows, test_rows = folds[k]
        if not os.path.exists(paths["gold"][k]):
            _log(f"fold {k + 1}/{args.cv}: gold-only student")
            _save(paths["gold"][k], gold_fold(args, k, train, fit_rows, test_rows))
    results = {}
    for k in chosen:
        for stage in stages:
            with open(paths[stage][k], "rb") as fh:
                results.setdefault(k, {}).update(pickle.load(fh))

    rows = np.sort(np.concatenate([folds[k][1] for k in chosen]))
    truth, groups = train.frame[TARGETS].iloc[rows], train.groups.to_numpy()[rows]
    pooled = {
        m: pd.concat([results[k][m] for k in results]).loc[truth.index]
        for m in ("teacher", "student", "gold")
    }
    score = {m: wassa_evaluate(truth, pred) for m, pred in pooled.items()}
    scope = "" if len(chosen) == args.cv else f", folds {', '.join(str(k + 1) for k in chosen)}"
    print(
        f"WASSA 2021 train, {len(truth)} essays, writer-grouped CV{args.cv}{scope} (pooled "
        f"out-of-fold); python {platform.python_version()}; peak memory of this process "
        f"{_peak_gib():.1f} GiB"
    )
    minutes = {
        m: np.mean([results[k][f"{m}_minutes"] for k in results])
        for m in ("teacher", "student", "gold")
    }
    labels = {
        "teacher": f"recipe `{args.recipe}`",
        "student": f"{args.model} distilled (alpha {args.alpha:g}, "
        f"temperature {args.temperature:g}"
        f"{', transductive' * args.transductive}"
        f"{f', +{args.extra_pool} EmpatheticDialogues situations' if args.extra_pool else ''}"
        f"{f', +{args.span_pool} spans of training essays' if args.span_pool else ''}"
        f"{', writer columns as side inputs' * args.side_inputs})",
        "gold": f"{args.model} gold labels only{', writer columns' * args.side_inputs}",
    }
    print(
        "| model | " + " | ".join(METRICS.values()) + " | share of the recipe (F1 / avg r) | "
        "fit per fold, min | p vs gold-only (F1 / avg r) |"
    )
    print("|---" * (len(METRICS) + 4) + "|")
    headline = ("macro_f1", "average_pearson")
    for m in ("teacher", "student", "gold"):
        share = " / ".join(f"{score[m][key] / score['teacher'][key]:.1%}" for key in headline)
        # writer-grouped paired bootstrap: does the model beat its gold-only twin?
        tests = (
            []
            if m == "gold"
            else [
                bootstrap_test(
                    truth,
                    pooled[m],
                    pooled["gold"],
                    key,
                    groups=groups,
                    n_resamples=args.n_resamples,
                    random_state=0,
                )
                for key in headline
            ]
        )
        p = " / ".join(f"{test.p_value:.3f}" for test in tests)
        print(
            f"| {labels[m]} | "
            + " | ".join(f"{score[m][key]:.3f}" for key in METRICS)
            + f" | {share} | {minutes[m]:.1f} | {p} |"
        )
    _against_default_student(args, stages, chosen, truth, groups, pooled["student"])
    agreement = pd.DataFrame([results[k]["agreement"] for k in results])
    print(
        "Student's agreement with its fold's teacher on held-out unlabeled essays (mean over "
        "folds): " + ", ".join(f"{c} {v:.3f}" for c, v in agreement.mean().items())
    )


if __name__ == "__main__":
    main()
