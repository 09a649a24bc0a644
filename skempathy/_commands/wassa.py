"""Train the WASSA 2021 Track 1 + 2 pipelines on train, score dev, write test predictions."""

import json
import time
from pathlib import Path

from ..utils._progress import progress_bar
from ._common import (
    check_writable,
    print_table,
    save_model,
    staged_output,
    track_scores,
    write_atomic,
)

TARGETS = ["emotion", "empathy", "distress"]
TRACK1 = ["empathy", "distress"]
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


def add_arguments(parser):
    parser.add_argument(
        "--out", default="wassa_out", metavar="DIR", help="output folder (default: wassa_out)"
    )
    from ..recipes import RECIPES

    parser.add_argument(
        "--recipe",
        default="default",
        choices=sorted(RECIPES),
        help="recipe from skempathy.recipes: "
        + "; ".join(f"'{name}': {recipe.summary}" for name, recipe in RECIPES.items())
        + " (default: default)",
    )
    parser.add_argument(
        "--model",
        default=None,
        help="encoder used by every member of the recipe, frozen and fine-tuned "
        "(default: the recipe's own: all-MiniLM-L6-v2, and "
        "all-mpnet-base-v2 for the mpnet members of 'mpnet' and 'best'); "
        "'static-minilm' or 'static-mpnet': static embeddings distilled from that "
        "model (frozen recipes only; needs skempathy[static])",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        dest="params",
        type=_param_item,
        help="set a parameter of the recipe's estimators (set_params; "
        "repeatable), e.g. --set finetuned__max_epochs=4 or "
        "--set track2__head__C=0.03 (values are Python literals, else "
        "strings)",
    )
    parser.add_argument(
        "--cache",
        default=None,
        metavar="DIR",
        help="on-disk embedding cache folder (default: memory only)",
    )
    parser.add_argument(
        "--memory",
        default=None,
        metavar="DIR",
        help="cache each fitted member of the recipe in DIR (MultiTaskVoting's memory): "
        "rerun with the same DIR after an interruption and only the members that had not "
        "finished are trained (default: no cache)",
    )
    parser.add_argument("--device", default="auto", help="torch device (default: auto)")
    parser.add_argument(
        "--final",
        action="store_true",
        help="after scoring dev, refit the recipe (and the student of "
        "--distill) on train + dev, as the shared-task systems did for "
        "their submissions; the test predictions and the saved models come "
        "from that refit, the dev scores from the train-only fit",
    )
    parser.add_argument(
        "--format",
        default="skops",
        choices=("skops", "joblib"),
        help="file format of the saved models: skops (loads without running "
        "code; default) or joblib (a pickle: loading it needs "
        "--allow-pickle)",
    )
    parser.add_argument(
        "--distill",
        action="store_true",
        help="also distil the fitted recipe into one fine-tuned MiniLM that "
        "predicts all three targets from the essay alone (see 'skempathy "
        "distill'); writes student_emotion_empathy_distress.skops and "
        "both models' dev scores, sizes and latencies",
    )
    parser.add_argument(
        "--text-only",
        default="finetuned",
        metavar="STUDENT",
        help="the text-only model written beside the full one (text_only_emotion_"
        "empathy_distress.skops: it reads the essay alone, so 'skempathy predict' "
        "scores plain texts with it), distilled from the fitted recipe as "
        "'skempathy distill' does: 'finetuned', the recipe's encoder fine-tuned "
        "(--model; all-MiniLM-L6-v2 by default; about 8 min on 2 CPU cores), the "
        "most accurate on new writers; 'static', static embeddings of that encoder "
        "with linear heads, seconds to train and thousands of texts per second, "
        "needs skempathy[static]; a student encoder as 'skempathy distill --model' "
        "takes it, e.g. 'minilm' or 'static-mpnet'; or 'none' (default: finetuned)",
    )


def _param_item(item):
    """argparse type of ``--set``: ``"a__b=3"`` -> ``("a__b", 3)`` (a Python literal, else a
    string)."""
    import argparse
    import ast

    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected PARAM=VALUE, got {item!r}")
    try:
        return key.strip(), ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key.strip(), value


def _apply_params(estimators, params):
    """Set each parameter on every estimator that has it; unknown names are an error."""
    from ..cli import CLIError

    for key, value in params.items():
        owners = [est for est in estimators if key in est.get_params()]
        if not owners:
            from difflib import get_close_matches

            known = sorted({k for est in estimators for k in est.get_params()})
            hint = get_close_matches(key, known, n=3)
            raise CLIError(
                f"--set {key}: no such parameter in this recipe"
                + (f" (did you mean {', '.join(hint)}?)" if hint else "")
            )
        for est in owners:
            est.set_params(**{key: value})


def _configure(vote, *, model, device, verbose):
    """Device and progress bars of the fine-tuned members; ``--model`` for every encoder."""
    from ..neural._base import _BaseTransformerEstimator
    from ..text._base import _BaseEmbedder

    from ..cli import CLIError
    from ..text._static import static_source

    updates = {}
    for key, value in vote.get_params().items():
        if isinstance(value, _BaseTransformerEstimator) and static_source(model) is not None:
            raise CLIError(
                f"--model {model}: a static model has no network to fine-tune, and this "
                f"recipe fine-tunes {key!r}; use it with the frozen recipes (default, mpnet)"
            )
        if isinstance(value, _BaseTransformerEstimator):
            updates.update({f"{key}__device": device, f"{key}__verbose": verbose})
        if model is not None and isinstance(value, (_BaseTransformerEstimator, _BaseEmbedder)):
            updates[f"{key}__model"] = model
    vote.set_params(**updates)


def _fit_with_memory(vote, memory, X, y):
    """``vote.fit(X, y[TARGETS])`` with its members cached in ``memory``; the fitted vote
    forgets the folder, so a saved model names no local path."""
    vote.set_params(memory=memory).fit(X, y[TARGETS])
    return vote.set_params(memory=None)


def _check_corpora(vote):
    """Read the corpora that members read in ``fit`` (GoEmotions) once, before any work, so a
    missing file fails at once instead of after the first members are trained."""
    from ..utils._warm import check_fit_sources

    check_fit_sources([vote])


TEXT_ONLY_MODEL = "text_only_emotion_empathy_distress"  # + ".skops" or ".joblib"
_STATIC_EXTRA = "pip install 'skempathy[static]'"


def text_only_encoder(choice, model):
    """The student encoder of ``--text-only``: ``"finetuned"`` is the recipe's encoder
    ``model`` (``all-MiniLM-L6-v2`` when None; a static ``model`` stays static: it has no
    network to fine-tune), ``"static"`` its static twin (``static-minilm`` when None),
    ``"none"`` gives None, any other value is a student encoder as ``skempathy distill
    --model`` takes it."""
    from ..text._static import static_source

    if choice == "none":
        return None
    if choice == "finetuned":
        return model or "all-MiniLM-L6-v2"
    if choice != "static":
        return choice
    if model is None:
        return "static-minilm"
    return model if static_source(model) is not None else f"static-{model}"


def _text_only_plan(args):
    """``(encoder, why_not)`` of the text-only model, decided before any work: a static
    student without model2vec installed is skipped with one warning, not a failed run."""
    import sys

    from ..text._static import _require_model2vec, static_source

    encoder = text_only_encoder(args.text_only, args.model)
    if encoder is None:
        return None, "not asked for (--text-only none)"
    if static_source(encoder) is not None:
        try:
            _require_model2vec()
        except ImportError:
            why = f"the static student needs model2vec, an optional dependency: {_STATIC_EXTRA}"
            print(
                f"skempathy wassa: warning: {why}; this run writes no text-only model "
                "(--text-only finetuned trains a fine-tuned one instead, --text-only none "
                "skips it)",
                file=sys.stderr,
            )
            return None, why
    return encoder, None


def _same_encoder(a, b):
    from .._models import embedded_name

    return a is not None and b is not None and (embedded_name(a) or a) == (embedded_name(b) or b)


def _describe(estimator):
    last = estimator[-1] if hasattr(estimator, "steps") else estimator
    return type(last).__name__


def _fmt(value):
    return "" if value is None else f"{value:.3f}"


def run(args):
    from ..recipes import get_recipe

    recipe = get_recipe(args.recipe)
    params = dict(args.params)
    out = Path(args.out)
    check_writable(out, folder=True)  # before any work, not after a long fit
    started = time.perf_counter()
    embedder = recipe.make_embedder(
        args.model, device=args.device, cache=args.cache, show_progress=not args.quiet
    )
    # build (and --set) the recipe first: a bad parameter or a missing corpus fails before any work
    vote = recipe.build(embedder=embedder)
    _configure(vote, model=args.model, device=args.device, verbose=int(not args.quiet))
    _apply_params([vote], params)
    _check_corpora(vote)
    text_only = _text_only_plan(args)
    # one run per output folder, locked from here (a second run is refused before it fits);
    # everything is written into a staging folder inside it and committed at the end
    with staged_output(out) as staging:
        report = _fit_and_write(args, embedder, vote, params, staging, started, text_only)
    _print_report(args, out, **report)
    return 0


def _fit_and_write(args, embedder, vote, params, staging, started, text_only=(None, None)):
    """Fit the recipe, distil its text-only model (and the --distill student), score dev, write
    every output to ``staging``."""
    from ..datasets import load_wassa

    show = not args.quiet
    train, dev, test = (load_wassa(s) for s in ("train", "dev", "test"))
    model = embedder.model
    text_only_model, text_only_skipped = text_only
    stages = progress_bar(
        total=3 + bool(args.final) + (text_only_model is not None),
        desc="skempathy wassa",
        unit="stage",
        enabled=show,
        position=0,
    )

    # 1. encode the 2655 essays once: every frozen member and split hits the cache.
    stages.set_postfix_str("encoding essays")
    essays = list(train.data["essay"]) + list(dev.data["essay"]) + list(test.data["essay"])
    embedder.fit(essays[:1]).transform(essays)
    stages.update()

    # 2. one vote over emotion, empathy and distress.
    stages.set_postfix_str("fitting the recipe (emotion, empathy, distress)")
    _fit_with_memory(vote, args.memory, train.data, train.frame)
    stages.update()

    # 3. dev scores, test predictions.
    stages.set_postfix_str("scoring dev, predicting test")
    scores = track_scores(vote, dev.data, dev.frame, TARGETS)
    test_pred = vote.predict(test.data)
    stages.update()

    # 4. --final: the same recipe refitted on every labelled essay predicts test.
    both = None
    if args.final:
        import pandas as pd
        from sklearn.base import clone
        from sklearn.utils import Bunch

        stages.set_postfix_str("refitting on train + dev")
        both = Bunch(
            data=pd.concat([train.data, dev.data], ignore_index=True),
            frame=pd.concat([train.frame, dev.frame], ignore_index=True),
        )
        scored, vote = vote, _fit_with_memory(clone(vote), args.memory, both.data, both.frame)
        test_pred = vote.predict(test.data)
        stages.update()
    emp_dis = test_pred[TRACK1].to_numpy(float)
    emotions = test_pred["emotion"].to_numpy()

    # 5. the students: each distilled as 'skempathy distill' does, from the train-only fit for
    # the dev scores (dev scores always come from models that never saw the dev labels), and
    # with --final again from the refitted recipe for the saved model
    from .distill import distil_and_score, distil_wassa, unlabeled_wassa

    teacher = scored if args.final else vote
    pool = unlabeled_wassa(dev, test)

    def distil(encoder, *, with_teacher):
        kw = dict(model=encoder, device=args.device, verbose=int(show))
        student, _, rows = distil_and_score(
            teacher, list(TARGETS), train, dev, pool, with_teacher=with_teacher, **kw
        )
        if args.final:  # the shipped student learns from the refitted recipe
            student, _ = distil_wassa(vote, list(TARGETS), both, test.data, **kw)
        return student, rows

    student = comparison = None
    finetuned = text_only_encoder("finetuned", args.model)  # the encoder --distill fine-tunes
    if args.distill:
        student, comparison = distil(finetuned, with_teacher=True)
    text_only_student = text_only_scores = None
    if text_only_model is not None:
        stages.set_postfix_str(f"distilling the text-only model ({text_only_model})")
        if student is not None and _same_encoder(text_only_model, finetuned):
            text_only_student, text_only_scores = student, comparison["student"]  # trained once
        else:
            text_only_student, rows = distil(text_only_model, with_teacher=False)
            text_only_scores = rows["student"]
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

    write_atomic(staging / "predictions_EMP.tsv", write_emp)
    write_atomic(staging / "predictions_EMO.tsv", write_emo)
    saved = dict(
        features=["text", "demographic", "personality", "iri"], columns=list(train.data.columns)
    )
    fitted_on = "train+dev" if args.final else "train"
    suffix = f".{args.format}"
    save_model(
        vote,
        staging / f"joint_emotion_empathy_distress{suffix}",
        task=list(TARGETS),
        head=_describe(vote),
        scores=scores,
        fitted_on=fitted_on,
        **saved,
    )
    if student is not None:
        save_model(
            student,
            staging / f"student_emotion_empathy_distress{suffix}",
            task=list(TARGETS),
            head="distilled MultiTaskTransformer",
            features=["text"],
            columns=["essay"],
            scores=comparison["student"],
            fitted_on=fitted_on,
        )
    text_only_file = None
    if text_only_student is not None:
        text_only_file = f"{TEXT_ONLY_MODEL}{suffix}"
        save_model(
            text_only_student,
            staging / text_only_file,
            task=list(TARGETS),
            head=f"distilled {text_only_model}",
            features=["text"],
            columns=["essay"],
            scores=_metrics(text_only_scores),
            fitted_on=fitted_on,
        )
    summary = {
        "recipe": args.recipe,
        "encoder": model,
        "params": params,
        "dev": scores,
        "fitted_on": fitted_on,
        "dev_scores_from": "the same recipe fitted on train alone",
        "seconds": round(time.perf_counter() - started, 1),
    }
    if text_only_student is not None:
        summary["text_only"] = {
            "file": text_only_file,
            "student": text_only_model,
            "dev": _metrics(text_only_scores),
            "size_mb": text_only_scores["size_mb"],
            "ms_per_essay": text_only_scores["ms_per_essay"],
        }
    else:
        summary["text_only"] = {"file": None, "skipped": text_only_skipped}
    if comparison is not None:
        summary["distilled"] = comparison
    write_atomic(
        staging / "dev_scores.json",
        lambda tmp: Path(tmp).write_text(json.dumps(summary, indent=2) + "\n"),
    )

    return dict(
        scores=scores,
        comparison=comparison,
        train=train,
        dev=dev,
        both=both,
        student=student,
        model=model,
        emp_dis=emp_dis,
        emotions=emotions,
        summary=summary,
    )


def _metrics(row):
    """The dev metrics of a row of ``compare_models_on_dev`` (without its size and latency)."""
    return {k: v for k, v in row.items() if k not in ("size_mb", "ms_per_essay")}


def _score_row(name, scores):
    """A row of the dev-score table: ``name`` and the official metrics of ``scores``."""
    keys = ("empathy_pearson", "distress_pearson", "average_pearson", "macro_f1", "accuracy")
    return (name, *(_fmt(scores[key]) for key in keys))


def _print_report(
    args, out, *, scores, comparison, train, dev, both, student, model, emp_dis, emotions, summary
):
    print(
        f"\nWASSA 2021 dev scores (recipe '{args.recipe}', encoder {model}, trained on "
        f"{len(train.data)} train essays, scored on {len(dev.data)} dev essays)\n"
    )
    rows = [_score_row("skempathy (this run), dev", scores)]
    text_only = summary["text_only"]
    if text_only["file"] is not None:
        rows.append(_score_row("skempathy text-only (this run), dev", text_only["dev"]))
    if comparison is not None:
        rows.append(
            _score_row("skempathy distilled student (this run), dev", comparison["student"])
        )
    rows += [(name, _fmt(e), _fmt(d), _fmt(a), _fmt(f), "") for name, e, d, a, f in PUBLISHED]
    print_table(
        rows, ["system", "empathy r", "distress r", "avg r", "emotion macro-F1", "emotion acc"]
    )
    print(
        "\nPublished rows: dev scores from the system papers, and the official test results "
        "(test gold labels are not public, so this run scores dev only)."
    )
    if args.final:
        plural = "s" if student is not None or text_only["file"] is not None else ""
        print(
            f"\n--final: the dev scores are those of the recipe fitted on the {len(train.data)} "
            f"train essays; the test predictions and the saved model{plural} come from the "
            "same recipe refitted on "
            f"train + dev ({len(both.data)} essays)."
        )
    if comparison is not None:
        print(
            "\nThe student learnt from the recipe's soft targets on the train essays and on "
            "the dev and test essays' texts (never their labels)."
        )
        print_table(
            [
                (name, f"{c['size_mb']:.1f}", f"{c['ms_per_essay']:.0f}")
                for name, c in comparison.items()
            ],
            ["model", "size MB", "ms per essay (CPU, one at a time)"],
        )
    if text_only["file"] is not None:
        print(
            f"\nThe text-only model ({text_only['student']}, distilled from the recipe) reads "
            f"the essay alone ({text_only['ms_per_essay']:g} ms per essay); score plain texts "
            f"with: skempathy predict {out / text_only['file']} "
            "--input TEXTS.csv"
        )
    else:
        print(f"\nNo text-only model: {text_only['skipped']}.")
    models = f"joint_emotion_empathy_distress.{args.format}"
    models = (
        f"the fitted models ({models}, {text_only['file']})"
        if text_only["file"] is not None
        else f"the fitted model ({models})"
    )
    print(
        f"\nWrote {out / 'predictions_EMP.tsv'} ({len(emp_dis)} lines: empathy<TAB>distress), "
        f"{out / 'predictions_EMO.tsv'} ({len(emotions)} lines), {models} and "
        f"dev_scores.json in {summary['seconds']:.0f} s."
    )
