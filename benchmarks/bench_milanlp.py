"""MilaNLP at WASSA 2021 (Fornaciari et al.): single-task, multi-input and multi-task emotion.

:class:`TokenAttentionClassifier` (frozen encoder token states -> one
single-head Transformer layer -> dense output) on the WASSA 2021 Track 2 essays,
scored on dev. The settings follow the paper:

- ``STL``: the essay alone;
- ``MI1``: + gender, one-hot;
- ``MI2``: + income;
- ``MI3``: + the four IRI scales;
- ``MTL1``: empathy as an auxiliary regression head;
- ``MTL2``: empathy and distress heads.

Every setting runs ``--seeds`` seeds. The p-value of each setting against STL
is the paired bootstrap of the paper (1,000 resamples of 30 %) over the pooled
predictions of all seeds, drawing whole writers (each dev writer wrote several
essays). Prints a Markdown table; ``docs/results.md`` records it.
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore", message=".*truncated.*")

SETTINGS = {
    "STL": ([], []),
    "MI1": (["gender"], []),
    "MI2": (["gender", "income"], []),
    "MI3": (["gender", "income", "iri"], []),
    "MTL1": ([], ["empathy"]),
    "MTL2": ([], ["empathy", "distress"]),
}


def side_inputs(X, groups):
    """The side-input columns of a setting: one-hot gender, income, the IRI scales."""
    from skempathy.datasets import WASSA_CODEBOOKS, WASSA_COLUMN_GROUPS

    cols = {}
    for group in groups:
        if group == "gender":
            for code, name in WASSA_CODEBOOKS["gender"].items():
                cols[f"gender_{name}"] = (X["gender"] == code).astype(float)
        elif group == "iri":
            cols.update({c: X[c] for c in WASSA_COLUMN_GROUPS["iri"]})
        else:
            cols[group] = X[group]
    return pd.DataFrame(cols, index=X.index)


def main(argv=None):
    from sklearn.metrics import accuracy_score, f1_score

    from skempathy.datasets import load_wassa
    from skempathy.metrics import bootstrap_test
    from skempathy.neural import TokenAttentionClassifier

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument(
        "--max-length",
        type=int,
        default=256,
        help="tokens per essay (the longest training essay has 201)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=3)
    args = parser.parse_args(argv)
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)

    targets = ["emotion", "empathy", "distress"]
    X, Y = load_wassa("train", target=targets, return_X_y=True)
    Xd, Yd = load_wassa("dev", target=targets, return_X_y=True)
    writers = load_wassa("dev").groups.to_numpy()
    rows, pooled = [], {}
    for name in args.rows:
        extra_groups, aux = SETTINGS[name]
        train = pd.concat([X[["essay"]], side_inputs(X, extra_groups)], axis=1)
        dev = pd.concat([Xd[["essay"]], side_inputs(Xd, extra_groups)], axis=1)
        extra = [c for c in train.columns if c != "essay"]
        y = Y[["emotion", *aux]] if aux else Y["emotion"]
        f1s, accs, epochs, preds = [], [], [], []
        tic = time.perf_counter()
        for seed in range(args.seeds):
            clf = TokenAttentionClassifier(
                model=args.model,
                text_column="essay",
                extra_features=extra or None,
                max_length=args.max_length,
                batch_size=args.batch_size,
                learning_rate=args.lr,
                dropout=args.dropout,
                max_epochs=args.max_epochs,
                n_iter_no_change=args.patience,
                random_state=seed,
                device="cpu",
            )
            p = clf.fit(train, y).predict(dev)
            preds.append(p)
            f1s.append(f1_score(Yd["emotion"], p, average="macro"))
            accs.append(accuracy_score(Yd["emotion"], p))
            epochs.append(clf.best_epoch_)
        pooled[name] = np.concatenate(preds)
        p_value = ""
        if name != args.rows[0]:
            gold = np.tile(Yd["emotion"].to_numpy(), args.seeds)
            result = bootstrap_test(
                gold,
                pooled[name],
                pooled[args.rows[0]],
                "macro_f1",
                groups=np.tile(writers, args.seeds),
                random_state=0,
            )
            p_value = f"{result.p_value:.3f}"
        rows.append(
            [
                name,
                len(extra),
                f"{np.mean(f1s):.4f} ± {np.std(f1s, ddof=1):.4f}",
                f"{np.mean(accs):.4f}",
                ", ".join(map(str, epochs)),
                p_value,
                f"{time.perf_counter() - tic:.0f}",
            ]
        )
        print(rows[-1], flush=True)
    header = [
        "setting",
        "side inputs",
        f"dev macro-F1 ({args.seeds} seeds)",
        "dev accuracy",
        "best epochs",
        f"p vs {args.rows[0]}",
        "time (s)",
    ]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    print("\n".join(out))


if __name__ == "__main__":
    main()
