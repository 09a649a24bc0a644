"""WASSA 2021 recipes and their levers: dev scores and writer-grouped 5-fold CV on train.

Two commands, on the public API only::

    python benchmarks/bench_recipes.py levers [--cache DIR]

The frozen-encoder levers behind recipes ``default`` and ``mpnet``: encoder, head, text weight,
all-layer pooling, GoEmotions augmentation, lexicon. Each track's variants are compared with
``skempathy.model_selection.compare_models`` on the same folds (``GroupKFold(5)`` over the
writers), mean ± sd over folds, and each variant is fitted once on train and scored on dev.
The mpnet rows need the optional all-mpnet-base-v2 install; the lexicon and GoEmotions rows need
those corpora in ``--data-home``.

::

    python benchmarks/bench_recipes.py choose-default [--cache DIR]

The heads the default recipe chooses from (Ridge / SVR votes and text weights for empathy and
distress, the logistic regression's C with and without the writer columns for emotion), on the
embedded MiniLM, compared by writer-grouped CV5 on train alone with the paired writer bootstrap
against the current default.

::

    python benchmarks/bench_recipes.py recipe NAME [--drop MEMBER ...] [--set PARAM=VALUE ...]
                                           [--model MODEL] [--cv 5] [--cache DIR]

One recipe of ``skempathy.recipes`` (``--drop`` leaves members out, ``--set`` changes a
parameter of the vote, ``--model`` its frozen encoder, e.g. ``static-minilm``): fitted on train
and scored on dev, with the fit time and peak memory;
with ``--cv 5`` the same vote is refitted on each writer-grouped fold and scored on the pooled
out-of-fold predictions.
"""

import argparse
import ast
import os
import sys
import time
import warnings


def _table(rows, headers):
    cells = [list(map(str, headers))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for k, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
        if k == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def _peak_mib():
    """This process's own peak resident memory (VmHWM), in MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _lever_models(args):
    """{track: {lever: estimator}}: each lever changes one thing over the one above it."""
    from functools import partial

    from sklearn.linear_model import Ridge
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.pipeline import Pipeline

    from skempathy.augment import AugmentedEstimator, goemotions_pool
    from skempathy.recipes import (
        ridge_svr_track1,
        logreg_track2,
        get_recipe,
        svr_track1,
        text_logreg_track2,
    )
    from skempathy.text import SentenceEmbedder, TransformerEmbedder

    common = {"cache": args.cache, "device": args.device, "show_progress": False}
    minilm = SentenceEmbedder("all-MiniLM-L6-v2", **common)
    ridge = {
        "head": MultiOutputRegressor(Ridge(alpha=300.0)),
        "preprocessor__transformer_weights": {"text": 0.3},
    }
    track1 = {
        "MiniLM + columns, 0.7 Ridge + 0.3 SVR / logreg C=0.01": ridge_svr_track1(minilm),
        "MiniLM, text x0.3 + columns -> Ridge(300); logreg C=0.001 on text": svr_track1(
            minilm
        ).set_params(**ridge),
        "MiniLM, text x0.2 + columns -> SVR(C=1)": svr_track1(minilm),
    }
    track2 = {
        "MiniLM + columns, 0.7 Ridge + 0.3 SVR / logreg C=0.01": logreg_track2(minilm),
        "MiniLM, text x0.3 + columns -> Ridge(300); logreg C=0.001 on text": text_logreg_track2(
            minilm
        ),
    }
    try:
        get_recipe("mpnet").make_embedder()
    except ImportError as exc:
        print(f"{exc}\nThe mpnet rows are skipped.", file=sys.stderr)
        return {"track1": track1, "track2": track2}
    mpnet = SentenceEmbedder("all-mpnet-base-v2", **common)
    mpnet_all = TransformerEmbedder("all-mpnet-base-v2", layers="all", **common)
    track1.update(
        {
            "mpnet instead of MiniLM, Ridge head": svr_track1(mpnet).set_params(**ridge),
            "mpnet, SVR head (last layer)": svr_track1(mpnet),
            "mpnet, all layers averaged (recipe mpnet)": svr_track1(mpnet_all),
        }
    )
    track2.update(
        {
            "mpnet instead of MiniLM, Ridge head": text_logreg_track2(mpnet),
            "mpnet, all layers averaged (recipe mpnet)": text_logreg_track2(mpnet_all),
        }
    )
    if args.goemotions:
        plain = text_logreg_track2(mpnet)
        comments = partial(goemotions_pool, data_home=args.data_home)  # read in each fit
        augmented = Pipeline(
            plain.steps[:1]
            + [
                (
                    "augment",
                    AugmentedEstimator(Pipeline(plain.steps[1:]), comments, None, random_state=0),
                )
            ]
        )
        track2["mpnet + GoEmotions augmentation (Track 2)"] = augmented
    if args.lexicon:
        track1["mpnet SVR + Sedoc lexicon (CV leaks: learned from these essays)"] = svr_track1(
            mpnet, lexicon=True
        )
    return {"track1": track1, "track2": track2}


def levers(args):
    from sklearn.base import clone
    from sklearn.model_selection import GroupKFold

    from skempathy.datasets import load_wassa
    from skempathy.metrics import wassa_evaluate
    from skempathy.model_selection import compare_models

    train, dev = load_wassa("train"), load_wassa("dev")
    models = _lever_models(args)
    targets = {"track1": ["empathy", "distress"], "track2": "emotion"}
    rows = {}
    for track, named in models.items():
        y = train.frame[targets[track]]
        result = compare_models(
            named,
            train.data,
            y,
            cv=GroupKFold(args.cv),
            groups=train.groups,
            n_resamples=0,
            show_progress=True,
            measure_memory=False,
        )
        primary = "average_pearson" if track == "track1" else "macro_f1"
        cv = result[result["metric"] == primary].set_index("model")
        for name, model in named.items():
            fitted = clone(model).fit(train.data, y)
            dev_scores = wassa_evaluate(dev.frame[targets[track]], fitted.predict(dev.data))
            row = rows.setdefault(name, {})
            row.update({k: f"{v:.3f}" for k, v in dev_scores.items()})
            row[f"cv_{primary}"] = f"{cv.loc[name, 'mean']:.3f}±{cv.loc[name, 'std']:.3f}"
    columns = [
        "empathy_pearson",
        "distress_pearson",
        "average_pearson",
        "cv_average_pearson",
        "macro_f1",
        "cv_macro_f1",
    ]
    print(
        f"\nFrozen-encoder levers (CV: GroupKFold({args.cv}) over writers on train, "
        "mean ± sd over folds)\n"
    )
    _table(
        [[name] + [row.get(c, "") for c in columns] for name, row in rows.items()],
        ["lever", "dev emp r", "dev dis r", "dev avg r", "CV avg r", "dev macro-F1", "CV macro-F1"],
    )


def _default_candidates(args):
    """{track: {name: estimator}}: the heads the default recipe chooses from, on MiniLM."""
    from sklearn.base import clone

    from skempathy.recipes import ridge_svr_track1, logreg_track2, svr_track1, text_logreg_track2
    from skempathy.text import SentenceEmbedder

    minilm = SentenceEmbedder(
        "all-MiniLM-L6-v2", cache=args.cache, device=args.device, show_progress=False
    )
    track1 = {"0.7 Ridge(2000) + 0.3 SVR(C=3), text + columns (default)": ridge_svr_track1(minilm)}
    vote = ridge_svr_track1(minilm)
    track1["Ridge(2000) alone"] = clone(vote).set_params(estimator__weights=[1.0, 0.0])
    track1["SVR(C=3) alone"] = clone(vote).set_params(estimator__weights=[0.0, 1.0])
    track1["0.5 Ridge + 0.5 SVR"] = clone(vote).set_params(estimator__weights=[0.5, 0.5])
    for weight in (0.1, 0.2, 0.3):
        track1[f"text x{weight} + columns -> SVR(C=1)"] = svr_track1(minilm, text_weight=weight)
    track2 = {}
    for C in (0.001, 0.003, 0.01, 0.03):
        name = f"logreg C={C}, text + columns" + (" (default)" if C == 0.01 else "")
        track2[name] = logreg_track2(minilm).set_params(head__C=C)
    for C in (0.001, 0.003, 0.01):
        track2[f"logreg C={C}, text alone"] = text_logreg_track2(minilm, C=C)
    return {"track1": track1, "track2": track2}


def choose_default(args):
    """Writer-grouped CV5 on train alone over the default recipe's candidate heads."""
    from sklearn.model_selection import GroupKFold

    from skempathy.datasets import load_wassa
    from skempathy.model_selection import compare_models

    train = load_wassa("train")
    targets = {"track1": ["empathy", "distress"], "track2": "emotion"}
    for track, named in _default_candidates(args).items():
        baseline = next(name for name in named if name.endswith("(default)"))
        result = compare_models(
            named,
            train.data,
            train.frame[targets[track]],
            cv=GroupKFold(args.cv),
            groups=train.groups,
            baseline=baseline,
            n_resamples=1000,
            random_state=0,
            show_progress=True,
            measure_memory=False,
        )
        primary = "average_pearson" if track == "track1" else "macro_f1"
        table = result[result["metric"] == primary]
        print(
            f"\n{track}: {primary}, GroupKFold({args.cv}) over writers on train "
            f"(p: paired writer bootstrap against the default)\n"
        )
        _table(
            [
                [
                    row.model,
                    f"{row.pooled:.3f}",
                    f"{row.mean:.3f}±{row.std:.3f}",
                    "" if row.model == baseline else f"{row.p_value:.3f}",
                ]
                for row in table.itertuples()
            ],
            ["candidate", "pooled", "mean ± sd over folds", "p"],
        )


def recipe(args):
    import pandas as pd
    from sklearn.base import clone
    from sklearn.model_selection import GroupKFold

    from skempathy.datasets import load_wassa
    from skempathy.metrics import wassa_evaluate
    from skempathy.recipes import get_recipe

    targets = ["emotion", "empathy", "distress"]
    names = ("empathy_pearson", "distress_pearson", "average_pearson", "macro_f1")

    train, dev = load_wassa("train"), load_wassa("dev")
    chosen = get_recipe(args.name)
    embedder = chosen.make_embedder(
        args.model, cache=args.cache, device=args.device, show_progress=False
    )
    vote = chosen.build(embedder=embedder, drop=args.drop, data_home=args.data_home)
    vote.set_params(**{k: args.device for k in vote.get_params() if k.endswith("__device")})
    vote.set_params(**dict(args.params))
    start = time.perf_counter()
    fitted = clone(vote).fit(train.data, train.frame[targets])
    seconds = time.perf_counter() - start
    dev_scores = wassa_evaluate(dev.frame[targets], fitted.predict(dev.data)[targets])
    rows = [["dev", *(f"{dev_scores[k]:.3f}" for k in names)]]
    if args.cv:
        folds = GroupKFold(args.cv).split(train.data, groups=train.groups)
        pooled = pd.DataFrame(index=train.frame.index, columns=targets, dtype=object)
        for k, (fit_rows, test_rows) in enumerate(folds):
            member = clone(vote).fit(train.data.iloc[fit_rows], train.frame[targets].iloc[fit_rows])
            pooled.iloc[test_rows] = member.predict(train.data.iloc[test_rows]).to_numpy()
            print(f"fold {k + 1}/{args.cv} done", file=sys.stderr, flush=True)
        cv = wassa_evaluate(train.frame[targets], pooled)
        rows.append(
            [f"train CV{args.cv} (writer-grouped, pooled)", *(f"{cv[k]:.3f}" for k in names)]
        )
    dropped = f", without {', '.join(args.drop)}" if args.drop else ""
    encoder = f", encoder {args.model}" if args.model else ""
    print(
        f"\nRecipe '{args.name}'{dropped}{encoder}: fit on train {seconds:.0f} s, peak memory "
        f"{_peak_mib():.0f} MiB (embedding cache: {args.cache or 'memory only'})\n"
    )
    _table(rows, ["split", "empathy r", "distress r", "avg r", "emotion macro-F1"])


def _param(item):
    key, sep, value = item.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected PARAM=VALUE, got {item!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--cache", default=None, help="on-disk embedding cache folder")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--data-home",
        default=os.environ.get("SKEMPATHY_DATA"),
        help="where GoEmotions and the lexicon are",
    )
    parser.add_argument("--cv", type=int, default=5, help="writer-grouped folds (0: none)")
    commands = parser.add_subparsers(dest="command", required=True)
    lever = commands.add_parser("levers", help="the frozen-encoder levers table")
    lever.add_argument(
        "--goemotions",
        action="store_true",
        help="add the GoEmotions augmentation row (needs GoEmotions)",
    )
    lever.add_argument(
        "--lexicon",
        action="store_true",
        help="add the lexicon row (needs the Sedoc et al. lexicon)",
    )
    commands.add_parser("choose-default", help="grouped CV over the default recipe's heads")
    one = commands.add_parser("recipe", help="one recipe: dev and grouped CV")
    one.add_argument("name")
    one.add_argument("--drop", nargs="*", default=[], metavar="MEMBER")
    one.add_argument(
        "--model", default=None, help="the recipe's frozen encoder (e.g. static-minilm)"
    )
    one.add_argument(
        "--set", action="append", default=[], type=_param, dest="params", metavar="PARAM=VALUE"
    )
    args = parser.parse_args(argv)
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)
    warnings.filterwarnings("ignore", category=UserWarning)
    if args.command in ("levers", "choose-default"):
        if not args.cv:
            parser.error(f"{args.command} needs --cv of at least 2")
        (levers if args.command == "levers" else choose_default)(args)
    else:
        recipe(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
