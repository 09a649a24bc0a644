"""How much of a model's score on new writers the writer columns carry: writer-grouped CV of
recipe ``default``'s design with the columns, on the essay alone, and on the columns alone.

Usage::

    python benchmarks/bench_writer_columns.py [--model all-MiniLM-L6-v2] [--cv 5] [--cache DIR]

The 1860 WASSA 2021 training essays are split by writer (``GroupKFold``), and each model is
fitted on the other folds, as in ``bench_distill_cv.py``. Three models share one frozen encoder:

- recipe ``default`` (:func:`~skempathy.recipes.svr_track1` on the scaled embedding and the 14
  writer columns; :func:`~skempathy.recipes.text_logreg_track2` on the essay alone);
- its text-only twin (:func:`~skempathy.recipes.text_only_vote`, the text-only model that
  ``skempathy wassa`` writes on a frozen encoder);
- the writer columns alone (the same SVR with the text block weighted 0, and a logistic
  regression on the columns).

The pooled out-of-fold scores give the share of the recipe's score that the essay alone keeps:
an estimate of what any text-only model, a distilled student included, can keep of a teacher
that reads the columns. The p-values are writer-grouped paired bootstraps (1000 resamples) that
the recipe beats the model of the row.
"""

import argparse
import warnings

import pandas as pd

TARGETS = ["emotion", "empathy", "distress"]
METRICS = {
    "empathy_pearson": "empathy r",
    "distress_pearson": "distress r",
    "average_pearson": "avg r",
    "macro_f1": "emotion macro-F1",
}


def models(embedder):
    """``{label: unfitted model}`` of the three designs on one encoder."""
    from skempathy.compose import make_wassa_pipeline
    from skempathy.ensemble import MultiTaskVoting
    from skempathy.recipes import get_recipe, svr_track1, text_only_vote

    columns_only = MultiTaskVoting(
        [
            ("track1", svr_track1(embedder, text_weight=0.0), ["empathy", "distress"]),
            (
                "track2",
                make_wassa_pipeline(
                    "emotion",
                    head="logreg",
                    embedder=embedder,
                    features=("demographic", "personality", "iri"),
                ),
                "emotion",
            ),
        ]
    )
    return {
        "recipe `default` (essay + writer columns)": get_recipe("default").build(embedder=embedder),
        "text-only twin (essay alone)": text_only_vote(embedder),
        "writer columns alone": columns_only,
    }


def main(argv=None):
    from sklearn.model_selection import GroupKFold

    from skempathy.datasets import load_wassa
    from skempathy.metrics import bootstrap_test, wassa_evaluate
    from skempathy.text import SentenceEmbedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help="the frozen encoder")
    parser.add_argument("--cv", type=int, default=5, help="writer-grouped folds (default: 5)")
    parser.add_argument("--cache", default=None, help="on-disk embedding cache folder")
    parser.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples")
    args = parser.parse_args(argv)
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)
    warnings.filterwarnings("ignore", category=UserWarning)

    train = load_wassa("train")
    truth, groups = train.frame[TARGETS], train.groups.to_numpy()
    folds = list(GroupKFold(args.cv).split(train.data, groups=groups))
    embedder = SentenceEmbedder(args.model, cache=args.cache or True, show_progress=False)
    embedder.fit(train.data["essay"][:1]).transform(train.data["essay"])  # encode once
    pooled = {}
    for label, model in models(embedder).items():
        parts = []
        for fit_rows, test_rows in folds:
            model.fit(train.data.iloc[fit_rows], truth.iloc[fit_rows])
            pred = pd.DataFrame(model.predict(train.data.iloc[test_rows]), columns=TARGETS)
            parts.append(pred[TARGETS].set_axis(truth.index[test_rows]))
        pooled[label] = pd.concat(parts).loc[truth.index]

    print(
        f"WASSA 2021 train, {len(truth)} essays, writer-grouped CV{args.cv} (pooled "
        f"out-of-fold), frozen {args.model}"
    )
    print(
        "| model | " + " | ".join(METRICS.values()) + " | share of the recipe (F1 / avg r) | "
        "p that the recipe is better (F1 / avg r) |"
    )
    print("|---" * (len(METRICS) + 3) + "|")
    reference = next(iter(pooled))
    scores = {label: wassa_evaluate(truth, pred) for label, pred in pooled.items()}
    headline = ("macro_f1", "average_pearson")
    for label, pred in pooled.items():
        share = " / ".join(f"{scores[label][k] / scores[reference][k]:.1%}" for k in headline)
        p = ""
        if label != reference:
            tests = [
                bootstrap_test(
                    truth,
                    pooled[reference],
                    pred,
                    key,
                    groups=groups,
                    n_resamples=args.n_resamples,
                    random_state=0,
                )
                for key in headline
            ]
            p = " / ".join(f"{t.p_value:.3f}" for t in tests)
        print(
            f"| {label} | "
            + " | ".join(f"{scores[label][k]:.3f}" for k in METRICS)
            + f" | {share} | {p} |"
        )


if __name__ == "__main__":
    main()
