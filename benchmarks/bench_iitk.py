"""WASSA@IITK at WASSA 2021 (Mundra et al.): GoEmotions augmentation and multi-task learning.

Tables (pick with ``--table``):

``emotion`` (Table 1)
    The same fine-tuned classifier (:class:`TransformerClassifier`) trained on
    the 1,860 WASSA 2021 training essays, and on those essays plus GoEmotions
    comments mapped to the WASSA emotions (:func:`goemotions_to_wassa`) until
    the training set has the paper's 2,800 examples, drawn to fill the minority
    classes first (:class:`AugmentedEstimator`, ``strategy="balanced"``).
    Matched control: identical model, settings and seeds; only the training
    data differs.
``frozen``
    The augmentation with a frozen encoder instead: MiniLM sentence embeddings
    + logistic regression, with no, balanced (every class filled to the
    largest) and random GoEmotions additions, scored on dev and by 5-fold
    writer-grouped cross-validation on train (extra data in training folds
    only).
``track1``
    Empathy and distress: one fine-tuned regressor per target
    (:class:`TransformerRegressor`) against one multi-task model with both
    heads (:class:`MultiTaskTransformer`).

Every row runs ``--seeds`` seeds; scores are on dev. The p-value of a row
against the first is the paired bootstrap (1,000 resamples of 30 % of the
writers) over the pooled predictions of all seeds. Prints Markdown tables;
``docs/results.md`` records them.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore", message=".*truncated.*")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def table(rows, header):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def common(args):
    return dict(
        max_length=args.max_length,
        max_epochs=args.max_epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        precision=args.precision,
        device="cpu",
    )


def pooled_p(gold, pred, base, metric, writers, seeds):
    from skempathy.metrics import bootstrap_test

    result = bootstrap_test(
        np.concatenate([gold] * seeds, axis=0),
        pred,
        base,
        metric,
        groups=np.tile(writers, seeds),
        random_state=0,
    )
    return f"{result.p_value:.3f}"


def bench_emotion(args):
    from sklearn.metrics import accuracy_score, f1_score

    from skempathy.augment import AugmentedEstimator, goemotions_to_wassa
    from skempathy.datasets import load_wassa
    from skempathy.neural import TransformerClassifier

    X, y = load_wassa("train", target="emotion", return_X_y=True)
    Xd, yd = load_wassa("dev", target="emotion", return_X_y=True)
    X, y, texts_dev, yd = X["essay"].tolist(), y.to_numpy(), Xd["essay"].tolist(), yd.to_numpy()
    writers = load_wassa("dev").groups.to_numpy()
    Xg, yg = goemotions_to_wassa("train", data_home=args.data_home, download_if_missing=False)
    n_extra = args.train_size - len(X)
    rows, pooled = [], {}
    for name in ("WASSA essays only", f"+ GoEmotions, balanced to {args.train_size}"):
        f1s, accs, preds, tic = [], [], [], time.perf_counter()
        for seed in range(args.seeds):
            est = TransformerClassifier(random_state=seed, **common(args))
            if name.startswith("+"):
                est = AugmentedEstimator(
                    est, Xg, yg, strategy="balanced", n_samples=n_extra, random_state=seed
                )
            p = est.fit(X, y).predict(texts_dev)
            preds.append(p)
            f1s.append(f1_score(yd, p, average="macro"))
            accs.append(accuracy_score(yd, p))
        pooled[name] = np.concatenate(preds)
        first = next(iter(pooled))
        p_value = (
            ""
            if name == first
            else pooled_p(yd, pooled[name], pooled[first], "macro_f1", writers, args.seeds)
        )
        rows.append(
            [
                name,
                len(X) + (n_extra if name.startswith("+") else 0),
                f"{np.mean(f1s):.4f} ± {np.std(f1s, ddof=1):.4f}",
                f"{np.mean(accs):.4f}",
                p_value,
                f"{time.perf_counter() - tic:.0f}",
            ]
        )
        print(rows[-1], flush=True)
    print(
        table(
            rows,
            [
                "training data",
                "examples",
                f"dev macro-F1 ({args.seeds} seeds)",
                "dev accuracy",
                "p vs essays only",
                "time (s)",
            ],
        )
    )


def bench_frozen(args):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import GroupKFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    from skempathy.augment import AugmentedEstimator, goemotions_to_wassa
    from skempathy.datasets import load_wassa
    from skempathy.text import SentenceEmbedder

    train, dev = load_wassa("train"), load_wassa("dev")
    X, y = train.data["essay"].tolist(), train.frame["emotion"].to_numpy()
    Xd, yd = dev.data["essay"].tolist(), dev.frame["emotion"].to_numpy()
    Xg, yg = goemotions_to_wassa("train", data_home=args.data_home, download_if_missing=False)
    # A pool of at most --pool-per-class comments per label keeps encoding cheap
    # (fear and disgust, the classes "balanced" needs most, are kept whole).
    rng = np.random.RandomState(0)
    keep = np.concatenate(
        [rng.permutation(np.flatnonzero(yg == c))[: args.pool_per_class] for c in np.unique(yg)]
    )
    keep.sort()
    Xg, yg = [Xg[i] for i in keep], yg[keep]
    print(f"GoEmotions pool: {len(Xg)} comments", flush=True)

    def base():
        return make_pipeline(
            SentenceEmbedder(cache=args.cache, show_progress=False),
            LogisticRegression(max_iter=2000, C=args.C),
        )

    settings = [("no augmentation", None)]
    settings.append(
        (
            "+ GoEmotions, balanced (fill every class to 647)",
            dict(strategy="balanced", n_samples=None),
        )
    )
    for n in args.random_sizes:
        settings.append((f"+ GoEmotions, random {n}", dict(strategy="random", n_samples=n)))
    rows = []
    for name, kw in settings:
        tic = time.perf_counter()
        est = base() if kw is None else AugmentedEstimator(base(), Xg, yg, random_state=0, **kw)
        est.fit(X, y)
        pred = est.predict(Xd)
        dev_f1 = f1_score(yd, pred, average="macro")
        acc = float(np.mean(pred == yd))
        cv = cross_val_score(est, X, y, groups=train.groups, cv=GroupKFold(5), scoring="f1_macro")
        n_extra = 0 if kw is None else est.n_extra_
        rows.append(
            [
                name,
                n_extra,
                f"{dev_f1:.4f}",
                f"{acc:.4f}",
                f"{cv.mean():.4f} ± {cv.std():.4f}",
                f"{time.perf_counter() - tic:.0f}",
            ]
        )
        print(rows[-1], flush=True)
    print(
        table(
            rows,
            [
                "setting",
                "extra examples",
                "dev macro-F1",
                "dev accuracy",
                "train 5-fold GroupKFold macro-F1",
                "time (s)",
            ],
        )
    )


def bench_track1(args):
    from skempathy.datasets import load_wassa
    from skempathy.metrics import pearson_score
    from skempathy.neural import MultiTaskTransformer, TransformerRegressor

    targets = ["empathy", "distress"]
    X, Y = load_wassa("train", target=targets, return_X_y=True)
    Xd, Yd = load_wassa("dev", target=targets, return_X_y=True)
    texts, texts_dev = X["essay"].tolist(), Xd["essay"].tolist()
    writers = load_wassa("dev").groups.to_numpy()
    gold = Yd[targets].to_numpy()
    rows, pooled = [], {}
    for name in ("single-task (one model per target)", "multi-task (one model, two heads)"):
        scores, preds, tic = [], [], time.perf_counter()
        for seed in range(args.seeds):
            if name.startswith("single"):
                p = np.column_stack(
                    [
                        TransformerRegressor(random_state=seed, **common(args))
                        .fit(texts, Y[t])
                        .predict(texts_dev)
                        for t in targets
                    ]
                )
            else:
                p = (
                    MultiTaskTransformer(random_state=seed, **common(args))
                    .fit(texts, Y[targets])
                    .predict(texts_dev)
                )
                p = np.asarray(p, dtype=float)
            preds.append(p)
            scores.append(pearson_score(gold, p, multioutput="raw_values"))
        scores = np.asarray(scores)
        pooled[name] = np.concatenate(preds, axis=0)
        first = next(iter(pooled))
        p_value = (
            ""
            if name == first
            else pooled_p(gold, pooled[name], pooled[first], "average_pearson", writers, args.seeds)
        )
        avg = scores.mean(axis=1)
        rows.append(
            [
                name,
                f"{scores[:, 0].mean():.4f}",
                f"{scores[:, 1].mean():.4f}",
                f"{avg.mean():.4f} ± {avg.std(ddof=1):.4f}",
                p_value,
                f"{time.perf_counter() - tic:.0f}",
            ]
        )
        print(rows[-1], flush=True)
    print(
        table(
            rows,
            [
                "model",
                "dev empathy r",
                "dev distress r",
                f"dev average r ({args.seeds} seeds)",
                "p vs single-task",
                "time (s)",
            ],
        )
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", choices=["emotion", "frozen", "track1"], required=True)
    parser.add_argument(
        "--data-home",
        default=str(SHARED),
        help="folder holding goemotions/ (default: ../shared/data)",
    )
    parser.add_argument(
        "--train-size", type=int, default=2800, help="emotion: size of the augmented training set"
    )
    parser.add_argument(
        "--cache", default=None, help="frozen: SentenceEmbedder on-disk cache folder"
    )
    parser.add_argument(
        "--pool-per-class", type=int, default=800, help="frozen: GoEmotions comments kept per label"
    )
    parser.add_argument(
        "--random-sizes",
        type=int,
        nargs="*",
        default=[1000, 4000],
        help="frozen: sizes of the random additions",
    )
    parser.add_argument("--C", type=float, default=1.0, help="frozen: C of the logistic regression")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--max-epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument(
        "--precision",
        default="auto",
        help="training precision; auto is fp32 on CPU, bf16 is faster on CPUs with fast bf16",
    )
    args = parser.parse_args(argv)
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)
    {"emotion": bench_emotion, "frozen": bench_frozen, "track1": bench_track1}[args.table](args)


if __name__ == "__main__":
    main()
