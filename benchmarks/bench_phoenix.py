"""Team Phoenix at WASSA 2021 (Butala et al.): heads on fine-tuned embeddings, label generation.

Tables (pick with ``--table``):

``heads`` (Table 2)
    Track 1 (empathy and distress), scored on dev. Features: one encoder
    fine-tuned on empathy and one on distress (:class:`FineTunedEmbedder` with
    ``y_column``, concatenated in a ``FeatureUnion``: the paper's per-target
    encoders), scaled, beside one-hot gender, education and race, scaled age
    and income (demographics) and the Big Five (personality). Heads in the
    paper's order: MLP, SVR, XGBoost, AdaBoost, each predicting both targets.
    The encoders are fine-tuned once on the training essays; every head sees
    the same features (in-sample embeddings for the training rows, as in the
    paper).
``labels`` (Table 4)
    Emotion as label generation (:class:`Seq2SeqLabelClassifier`, a BERT2BERT
    warm-started from the encoder) against a classification head
    (:class:`TransformerClassifier`) on the WASSA 2021 Track 2 essays.

The p-value of a row against the first is the paired bootstrap (1,000
resamples of 30 % of the dev writers). Prints Markdown tables;
``docs/results.md`` records them.
"""

import argparse
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore", message=".*truncated.*")


def table(rows, header):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def p_vs_first(gold, p, preds, metric, writers):
    """Paired bootstrap p-value of ``p`` against the first row's predictions ('' for it)."""
    from skempathy.metrics import bootstrap_test

    first = next(iter(preds.values()))
    if p is first:
        return ""
    return f"{bootstrap_test(gold, p, first, metric, groups=writers, random_state=0).p_value:.3f}"


def heads(seed):
    from sklearn.ensemble import AdaBoostRegressor
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.svm import SVR
    from xgboost import XGBRegressor

    return {
        "MLP": MLPRegressor(
            hidden_layer_sizes=(256,),
            alpha=1e-2,
            early_stopping=True,
            max_iter=500,
            random_state=seed,
        ),
        "SVR": MultiOutputRegressor(SVR(C=1.0)),
        "XGBoost": XGBRegressor(
            n_estimators=300,
            max_depth=4,
            learning_rate=0.05,
            subsample=0.8,
            colsample_bytree=0.5,
            random_state=seed,
            n_jobs=2,
        ),
        "AdaBoost": MultiOutputRegressor(AdaBoostRegressor(n_estimators=100, random_state=seed)),
    }


def bench_heads(args):
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from skempathy.datasets import WASSA_COLUMN_GROUPS, load_wassa
    from skempathy.metrics import pearson_score
    from skempathy.neural import FineTunedEmbedder

    targets = ["empathy", "distress"]
    X, Y = load_wassa("train", target=targets, return_X_y=True)
    Xd, Yd = load_wassa("dev", target=targets, return_X_y=True)
    writers = load_wassa("dev").groups.to_numpy()
    tic = time.perf_counter()
    union = make_union(
        *[
            FineTunedEmbedder(
                y_column=t,
                max_length=args.max_length,
                max_epochs=args.max_epochs,
                batch_size=args.batch_size,
                learning_rate=args.lr,
                precision=args.precision,
                random_state=args.seed,
                device="cpu",
            )
            for t in targets
        ]
    )
    emb_train = union.fit_transform(X["essay"], Y[targets])
    emb_dev = union.transform(Xd["essay"])
    fine_tune_s = time.perf_counter() - tic
    print(f"fine-tuned {len(targets)} encoders in {fine_tune_s:.0f} s", flush=True)
    categorical = ["gender", "education", "race"]
    numeric = ["age", "income"] + list(WASSA_COLUMN_GROUPS["personality"])
    side = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
            ("numeric", StandardScaler(), numeric),
        ],
        sparse_threshold=0,
    )
    side_train = side.fit_transform(X)
    side_dev = side.transform(Xd)
    scale = StandardScaler().fit(emb_train)
    F_train = np.hstack([scale.transform(emb_train), side_train])
    F_dev = np.hstack([scale.transform(emb_dev), side_dev])
    gold = Yd[targets].to_numpy()
    rows, preds = [], {}
    for name, head in heads(args.seed).items():
        tic = time.perf_counter()
        target_scale = StandardScaler().fit(Y[targets])
        model = make_pipeline(head).fit(F_train, target_scale.transform(Y[targets]))
        p = target_scale.inverse_transform(model.predict(F_dev))
        preds[name] = p
        r = pearson_score(gold, p, multioutput="raw_values")
        p_value = p_vs_first(gold, p, preds, "average_pearson", writers)
        rows.append(
            [
                name,
                f"{r[0]:.4f}",
                f"{r[1]:.4f}",
                f"{r.mean():.4f}",
                p_value,
                f"{time.perf_counter() - tic:.1f}",
            ]
        )
        print(rows[-1], flush=True)
    print(
        f"features: {F_train.shape[1]} ({emb_train.shape[1]} embedding, "
        f"{side_train.shape[1]} demographic and personality); encoders fine-tuned in "
        f"{fine_tune_s:.0f} s"
    )
    print(
        table(
            rows,
            ["head", "dev empathy r", "dev distress r", "dev average r", "p vs MLP", "head fit s"],
        )
    )


def bench_labels(args):
    from sklearn.metrics import accuracy_score, f1_score

    from skempathy.datasets import load_wassa
    from skempathy.neural import Seq2SeqLabelClassifier, TransformerClassifier

    X, y = load_wassa("train", target="emotion", return_X_y=True)
    Xd, yd = load_wassa("dev", target="emotion", return_X_y=True)
    writers = load_wassa("dev").groups.to_numpy()
    X, y, Xd, yd = X["essay"].tolist(), y.to_numpy(), Xd["essay"].tolist(), yd.to_numpy()
    common = dict(
        max_length=args.max_length,
        max_epochs=args.max_epochs,
        batch_size=args.batch_size,
        precision=args.precision,
        random_state=args.seed,
        device="cpu",
    )
    rows, preds = [], {}
    for name in ("classification head", "label generation"):
        tic = time.perf_counter()
        if name == "classification head":
            est = TransformerClassifier(learning_rate=args.lr, **common)
        else:
            est = Seq2SeqLabelClassifier(
                prefix="emotion: ", learning_rate=args.seq2seq_lr, **common
            )
        p = est.fit(X, y).predict(Xd)
        preds[name] = p
        p_value = p_vs_first(yd, p, preds, "macro_f1", writers)
        rows.append(
            [
                name,
                f"{f1_score(yd, p, average='macro'):.4f}",
                f"{accuracy_score(yd, p):.4f}",
                p_value,
                f"{time.perf_counter() - tic:.0f}",
            ]
        )
        print(rows[-1], flush=True)
    print(
        table(
            rows, ["model", "dev macro-F1", "dev accuracy", "p vs classification head", "time (s)"]
        )
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", choices=["heads", "labels"], required=True)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--max-epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seq2seq-lr", type=float, default=1e-4)
    parser.add_argument(
        "--precision",
        default="auto",
        help="training precision; auto is fp32 on CPU, bf16 is faster on CPUs with fast bf16",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)
    {"heads": bench_heads, "labels": bench_labels}[args.table](args)


if __name__ == "__main__":
    main()
