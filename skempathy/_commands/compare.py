"""Cross-validate models on WASSA with writer-grouped folds and write a comparison report.

``skempathy compare`` writes the table (Markdown and CSV), the plots, the per-fold details, the
slice report and a self-contained HTML report to ``--out``.

Protocol used by :mod:`skempathy.cli`: :func:`add_arguments` fills an
``argparse`` sub-parser and :func:`run` executes it, returning the exit code. The output
folder is locked, staged and committed as ``skempathy wassa``'s is.
"""

import argparse
import os
import re
import sys

__all__ = ["add_arguments", "run", "build_models", "TASKS", "BUILTIN_MODELS"]

TASKS = {
    "empathy": ["empathy"],
    "distress": ["distress"],
    "empathy,distress": ["empathy", "distress"],
    "empathy+distress": ["empathy", "distress"],
    "track1": ["empathy", "distress"],
    "emotion": ["emotion"],
    "track2": ["emotion"],
}
#: Cheap models defined here; every other name is a ``make_wassa_pipeline`` head.
BUILTIN_MODELS = {
    "mean": "predicts the training mean (regression) or most frequent label",
    "tfidf-ridge": "TF-IDF (1-2 grams) of the essay + Ridge / RidgeClassifier",
}


def add_arguments(parser):
    """Add the ``compare`` options to an argparse parser."""
    parser.description = (
        "Cross-validate several models on WASSA 2021 with writer-grouped folds and write a "
        "comparison (Markdown, CSV, plots, HTML report)."
    )
    parser.add_argument(
        "--task",
        required=True,
        choices=sorted(TASKS),
        metavar="TASK",
        help="empathy, distress, both ('empathy+distress', "
        "'empathy,distress' or 'track1'), or emotion ('track2').",
    )
    parser.add_argument(
        "--models",
        required=True,
        nargs="+",
        metavar="MODEL",
        help="model names, separated by spaces or commas: 'mean', "
        "'tfidf-ridge', or a head of "
        "skempathy.compose.make_wassa_pipeline (svr, adaboost, xgboost, mlp,"
        " ridge, logreg) on --features.",
    )
    parser.add_argument("--cv", type=int, default=5, help="number of grouped folds (default 5)")
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument(
        "--baseline", default=None, help="model the others are tested against (default: the first)"
    )
    from ._common import add_features_argument

    add_features_argument(parser, ("text", "demographic"))
    parser.add_argument(
        "--model",
        "--encoder",
        dest="encoder",
        default="all-MiniLM-L6-v2",
        help="sentence encoder of the text features (default: embedded MiniLM; "
        "'static-minilm': static embeddings distilled from it)",
    )
    parser.add_argument(
        "--cache",
        default=None,
        help="folder for an on-disk embedding cache reused by later runs (default: memory only)",
    )
    parser.add_argument(
        "--split",
        default="train",
        choices=["train", "train+dev"],
        help="data to cross-validate on (default: train, 1860 essays)",
    )
    parser.add_argument(
        "--n-resamples", type=int, default=1000, help="paired-bootstrap resamples (0: no tests)"
    )
    parser.add_argument(
        "--seed",
        "--random-state",
        dest="random_state",
        type=int,
        default=0,
        help="random seed of the folds, the models and the bootstrap (default: 0)",
    )
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="parallel fits (default sequential, which shares the embedding cache)",
    )
    parser.add_argument(
        "--plot-format",
        default="png",
        choices=["png", "svg", "pdf"],
        help="file format of the plots (default: png)",
    )
    parser.add_argument(
        "--no-plots",
        action="store_true",
        help="write the tables and the report without plots (the plots need "
        "matplotlib: pip install 'skempathy[plots]')",
    )
    parser.add_argument(
        "--no-slices", action="store_true", help="skip the slice report by demographic group"
    )
    return parser


def _slug(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def build_models(
    names,
    targets,
    *,
    features=("text", "demographic"),
    encoder="all-MiniLM-L6-v2",
    cache=None,
    random_state=0,
):
    """Named unfitted estimators for the CLI (one shared embedder).

    Parameters
    ----------
    names : list of str
    targets : list of str
        ``["emotion"]``, or one or both of ``"empathy"``, ``"distress"``.
    features : sequence of str
    encoder : str
    cache : str or None
        Embedding cache folder of the shared ``SentenceEmbedder``.
    random_state : int

    Returns
    -------
    dict of str -> estimator
    """
    from sklearn.compose import make_column_transformer
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge, RidgeClassifier
    from sklearn.pipeline import make_pipeline

    classification = targets == ["emotion"]
    task = targets[0] if len(targets) == 1 else list(targets)
    models, embedder = {}, None
    for name in names:
        if name == "mean":
            models[name] = (
                DummyClassifier(strategy="most_frequent") if classification else DummyRegressor()
            )
        elif name == "tfidf-ridge":
            head = (
                RidgeClassifier(alpha=1.0, class_weight="balanced")
                if classification
                else Ridge(alpha=3.0)
            )
            models[name] = make_pipeline(
                make_column_transformer(
                    (TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), "essay")
                ),
                head,
            )
        else:
            from skempathy.compose import make_wassa_pipeline

            if embedder is None and "text" in features:
                from skempathy.text._static import frozen_embedder

                embedder = frozen_embedder(encoder, cache=cache)
            models[name] = make_wassa_pipeline(
                task,
                head=name,
                features=tuple(features),
                embedder=embedder,
                random_state=random_state,
            )
    return models


def _load(split, targets):
    import pandas as pd

    from skempathy.datasets import load_wassa

    parts = ["train", "dev"] if split == "train+dev" else ["train"]
    bunches = [load_wassa(p) for p in parts]
    X = pd.concat([b.data for b in bunches], ignore_index=True)
    y = pd.concat([b.target[targets] for b in bunches], ignore_index=True)
    groups = pd.concat([b.groups for b in bunches], ignore_index=True)
    if len(targets) == 1:
        y = y[targets[0]]
    return X, y, groups.to_numpy()


def _fail(message):
    print(f"skempathy compare: error: {message}", file=sys.stderr)
    return 2


def run(args):
    """Run ``skempathy compare``; returns 0, or 1 when a model failed on some fold."""
    from skempathy.model_selection import compare_models

    import importlib.util

    plots = not args.no_plots
    if plots and importlib.util.find_spec("matplotlib") is None:  # before the cross-validation
        return _fail(
            "the plots need matplotlib: pip install 'skempathy[plots]', or pass --no-plots"
        )
    targets = TASKS[args.task]
    names = [n.strip() for item in args.models for n in item.split(",") if n.strip()]
    if not names:
        return _fail("--models names no model")
    if len(set(names)) != len(names):
        return _fail(f"--models lists a model twice: {names}")
    from ._common import feature_groups

    features = feature_groups(args.features)
    if args.cv < 2:
        return _fail(f"--cv must be at least 2 folds, got {args.cv}")
    baseline = args.baseline or names[0]
    if baseline not in names:
        return _fail(f"--baseline {baseline!r} is not one of --models {names}")
    from ._common import check_writable, staged_output

    check_writable(args.out, folder=True)  # before any fit, not after
    try:
        models = build_models(
            names,
            targets,
            features=features,
            encoder=args.encoder,
            cache=args.cache,
            random_state=args.random_state,
        )
    except (ValueError, TypeError) as exc:
        return _fail(str(exc))
    X, y, groups = _load(args.split, targets)
    # one run per output folder, staged inside it and committed at the end (as skempathy wassa)
    with staged_output(args.out) as staging:
        result = compare_models(
            models,
            X,
            y,
            cv=args.cv,
            groups=groups,
            baseline=baseline,
            n_resamples=args.n_resamples,
            random_state=args.random_state,
            n_jobs=args.n_jobs,
            show_progress=not args.quiet,
        )
        finished, written = _write_report(args, result, names, X, plots, str(staging))
    print(result.to_markdown(), end="")
    print(f"\nwrote to {os.path.normpath(args.out)}: {', '.join(written)}")
    return 0 if len(finished) == len(names) else 1


def _write_report(args, result, names, X, plots, out):
    """Write the tables, plots, slices and HTML report into ``out``; returns the models
    that finished on every fold and the names written."""
    from skempathy.report import save_figure

    result.to_markdown(os.path.join(out, "comparison.md"))
    result.to_csv(os.path.join(out, "comparison.csv"), index=False)
    result.fold_scores.to_csv(os.path.join(out, "fold_scores.csv"), index=False)
    result.fold_info.to_csv(os.path.join(out, "fold_info.csv"), index=False)
    ext = args.plot_format
    kind = "confusion" if result.task == "classification" else "predictions"
    finished = [
        m
        for m in names
        if not result.fold_info[
            (result.fold_info.model == m) & (result.fold_info.error != "")
        ].shape[0]
    ]
    if plots:
        save_figure(result.plot("scores"), os.path.join(out, f"scores.{ext}"))
        for model in finished:
            save_figure(
                result.plot(kind, model=model), os.path.join(out, f"{kind}_{_slug(model)}.{ext}")
            )
    demographics = None if args.no_slices else X
    if demographics is not None and finished:
        result.slice_report(demographics, models=finished).to_csv(
            os.path.join(out, "slices.csv"), index=False
        )
    title = f"skempathy compare: {args.task} ({args.split}, {args.cv}-fold grouped CV)"
    result.to_html(
        os.path.join(out, "report.html"), title=title, demographics=demographics, plots=plots
    )
    written = ["comparison.md", "comparison.csv", "fold_scores.csv", "fold_info.csv"]
    written += [f"scores.{ext}", f"{kind}_*.{ext}"] if plots else []
    written += [] if args.no_slices else ["slices.csv"]
    return finished, written + ["report.html"]


def main(argv=None):  # pragma: no cover - convenience for python -m
    from ..cli import add_common_arguments

    parser = add_common_arguments(add_arguments(argparse.ArgumentParser(prog="skempathy compare")))
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
