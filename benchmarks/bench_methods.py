"""Reproduce the *shape* of the published methods' tables on CPU with the embedded MiniLM.

Tables (pick with ``--table``):

``iitk``
    WASSA@IITK (Mundra et al. 2021), WASSA 2021 Track 2: emotion macro-F1
    with and without GoEmotions comments mapped to the WASSA labels
    (:func:`skempathy.augment.goemotions_to_wassa`, :class:`AugmentedEstimator`).
    Head: frozen MiniLM sentence embeddings + logistic regression (IITK
    fine-tuned ELECTRA/RoBERTa; infeasible here). Scored on the WASSA dev set
    and with 5-fold GroupKFold on train (writers never split), where the extra
    data is added to training folds only.
``milanlp``
    MilaNLP (Fornaciari et al. 2021): :class:`TokenAttentionClassifier` on
    frozen MiniLM token states, single-task (STL), with side inputs (MI1:
    demographics, MI2: + personality, MI3: + IRI) and with the empathy and
    distress regression heads (MTL2), WASSA dev emotion macro-F1.
``kd``
    Hosseini & Caragea 2021: binary empathy on NewsEmp (``empathy_bin``),
    single-task fine-tuning vs multi-task vs multi-task knowledge
    distillation with teacher annealing (:class:`DistilledMultiTaskClassifier`).
    Auxiliary tasks: GoEmotions Ekman emotion and GoEmotions sentiment;
    teachers: frozen MiniLM + logistic regression. Small subsets (see the
    options), writers split with GroupShuffleSplit.
``phoenix``
    Team Phoenix: label generation (:class:`Seq2SeqLabelClassifier`, a
    BERT2BERT warm-started from MiniLM) vs a classification head
    (``TransformerClassifier``) on a WASSA emotion subset.

Every run prints a Markdown table; ``docs/results.md`` records them
with the command lines. Run one table at a time under ``nice`` on 2 cores.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore", message=".*truncated.*")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def macro_f1(y, p):
    from sklearn.metrics import f1_score

    return f1_score(y, p, average="macro")


def table(rows, header):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        out.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(out)


# --------------------------------------------------------------------------- IITK
def bench_iitk(args):
    from sklearn.linear_model import LogisticRegression
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
    keep = np.concatenate([
        rng.permutation(np.flatnonzero(yg == c))[: args.pool_per_class] for c in np.unique(yg)
    ])
    keep.sort()
    Xg, yg = [Xg[i] for i in keep], yg[keep]
    print(f"GoEmotions pool: {len(Xg)} comments", flush=True)

    def base():
        return make_pipeline(SentenceEmbedder(cache=args.cache, show_progress=False),
                             LogisticRegression(max_iter=2000, C=args.C))

    settings = [("no augmentation", None)]
    settings.append(("+ GoEmotions, balanced (fill every class to 647)",
                     dict(strategy="balanced", n_samples=None)))
    for n in args.random_sizes:
        settings.append((f"+ GoEmotions, random {n}", dict(strategy="random", n_samples=n)))
    rows = []
    for name, kw in settings:
        tic = time.perf_counter()
        est = base() if kw is None else AugmentedEstimator(base(), Xg, yg, random_state=0, **kw)
        est.fit(X, y)
        dev_f1 = macro_f1(yd, est.predict(Xd))
        acc = float(np.mean(est.predict(Xd) == yd))
        cv = cross_val_score(est, X, y, groups=train.groups, cv=GroupKFold(5),
                             scoring="f1_macro")
        n_extra = 0 if kw is None else est.n_extra_
        rows.append([name, n_extra, f"{dev_f1:.4f}", f"{acc:.4f}",
                     f"{cv.mean():.4f} ± {cv.std():.4f}", f"{time.perf_counter() - tic:.0f}"])
        print(rows[-1], flush=True)
    print(table(rows, ["setting", "extra examples", "dev macro-F1", "dev accuracy",
                       "train 5-fold GroupKFold macro-F1", "time (s)"]))


# ------------------------------------------------------------------------ MilaNLP
def bench_milanlp(args):
    from skempathy.datasets import WASSA_COLUMN_GROUPS, load_wassa
    from skempathy.neural import TokenAttentionClassifier

    targets = ["emotion", "empathy", "distress"]
    X, Y = load_wassa("train", target=targets, return_X_y=True)
    Xd, Yd = load_wassa("dev", target=targets, return_X_y=True)
    demo = WASSA_COLUMN_GROUPS["demographic"]
    pers = WASSA_COLUMN_GROUPS["personality"]
    iri = WASSA_COLUMN_GROUPS["iri"]
    settings = [
        ("STL", [], ["emotion"]),
        ("MI1 (demographics)", demo, ["emotion"]),
        ("MI2 (+ personality)", demo + pers, ["emotion"]),
        ("MI3 (+ IRI)", demo + pers + iri, ["emotion"]),
        ("MTL2 (+ empathy, distress heads)", [], targets),
        ("MI3-MTL2", demo + pers + iri, targets),
    ]
    if args.rows:
        settings = [s for s in settings if s[0].split()[0] in args.rows]
    rows = []
    for name, extra, ycols in settings:
        scores, epochs, tic = [], [], time.perf_counter()
        for seed in range(args.seeds):
            clf = TokenAttentionClassifier(
                text_column="essay", extra_features=extra or None, max_length=args.max_length,
                max_epochs=args.max_epochs, learning_rate=args.lr, random_state=seed,
                n_iter_no_change=args.patience, device="cpu")
            cols = ["essay"] + extra
            y = Y[ycols] if len(ycols) > 1 else Y["emotion"]
            clf.fit(X[cols], y)
            scores.append(macro_f1(Yd["emotion"], clf.predict(Xd[cols])))
            epochs.append(clf.best_epoch_)
        rows.append([name, f"{np.mean(scores):.4f} ± {np.std(scores):.4f}",
                     ", ".join(map(str, epochs)), f"{time.perf_counter() - tic:.0f}"])
        print(rows[-1], flush=True)
    print(table(rows, [f"setting ({args.seeds} seeds)", "dev macro-F1", "best epochs",
                       "time (s)"]))


# ---------------------------------------------------------------------------- KD
def _kd_data(args):
    from sklearn.model_selection import GroupShuffleSplit

    from skempathy.datasets import fetch_goemotions, load_newsemp

    frame = load_newsemp().frame
    splitter = GroupShuffleSplit(1, test_size=0.2, random_state=0)
    tr, te = next(splitter.split(frame, groups=frame["response_id"]))
    rng = np.random.RandomState(0)
    tr = rng.permutation(tr)[: args.n_train]
    te = rng.permutation(te)[: args.n_test]
    aux = {}
    for name, mapping in (("emotion", "ekman"), ("sentiment", "sentiment")):
        b = fetch_goemotions("train", data_home=args.data_home, download_if_missing=False,
                             mapping=mapping)
        target = np.asarray(b.target)
        single = np.flatnonzero(target.sum(1) == 1)
        pick = rng.permutation(single)[: args.n_aux]
        aux[name] = ([b.data[i] for i in pick],
                     np.asarray(b.target_names)[target[pick].argmax(1)])
    return (frame["essay"].iloc[tr].tolist(), frame["empathy_bin"].to_numpy()[tr],
            frame["essay"].iloc[te].tolist(), frame["empathy_bin"].to_numpy()[te], aux)


def bench_kd(args):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline

    from skempathy.neural import DistilledMultiTaskClassifier, TransformerClassifier
    from skempathy.text import SentenceEmbedder

    X, y, Xt, yt, aux = _kd_data(args)
    common = dict(max_length=args.max_length, max_epochs=args.max_epochs, batch_size=16,
                  learning_rate=args.lr, device="cpu")
    rows = []
    for name in args.rows:
        tic = time.perf_counter()
        if name == "single-task":
            est = TransformerClassifier(random_state=0, **common)
        elif name == "multi-task":
            est = DistilledMultiTaskClassifier(teachers={}, aux_data=aux, random_state=0,
                                               **common)
        else:
            teacher = make_pipeline(SentenceEmbedder(cache=args.cache, show_progress=False),
                                    LogisticRegression(max_iter=2000))
            est = DistilledMultiTaskClassifier(
                teachers={"emotion": teacher, "sentiment": teacher}, aux_data=aux,
                teacher_annealing=(name == "KD + annealing"), random_state=0, **common)
        est.fit(X, y)
        p = est.predict(Xt)
        rows.append([name, f"{f1_score(yt, p):.4f}", f"{f1_score(yt, p, average='macro'):.4f}",
                     f"{accuracy_score(yt, p):.4f}", f"{time.perf_counter() - tic:.0f}"])
        print(rows[-1], flush=True)
    print(f"n_train={len(X)} n_test={len(Xt)} n_aux={args.n_aux} per task")
    print(table(rows, ["model", "F1 (empathic=1)", "macro-F1", "accuracy", "time (s)"]))


# ----------------------------------------------------------------------- Phoenix
def bench_phoenix(args):
    from skempathy.datasets import load_wassa
    from skempathy.neural import Seq2SeqLabelClassifier, TransformerClassifier

    X, y = load_wassa("train", target="emotion", return_X_y=True)
    Xd, yd = load_wassa("dev", target="emotion", return_X_y=True)
    X, y = X["essay"].tolist()[: args.n_train], y.to_numpy()[: args.n_train]
    Xd, yd = Xd["essay"].tolist(), yd.to_numpy()
    common = dict(max_length=args.max_length, max_epochs=args.max_epochs, random_state=0,
                  device="cpu")
    rows = []
    for name in args.rows:
        tic = time.perf_counter()
        if name == "classification head":
            est = TransformerClassifier(**common)
        else:
            est = Seq2SeqLabelClassifier(prefix="emotion: ", learning_rate=1e-4, **common)
        est.fit(X, y)
        p = est.predict(Xd)
        rows.append([name, f"{macro_f1(yd, p):.4f}", f"{np.mean(p == yd):.4f}",
                     f"{time.perf_counter() - tic:.0f}"])
        print(rows[-1], flush=True)
    print(table(rows, ["model", "dev macro-F1", "dev accuracy", "time (s)"]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", choices=["iitk", "milanlp", "kd", "phoenix"], required=True)
    parser.add_argument("--data-home", default=str(SHARED),
                        help="data_home holding goemotions/ (default: ../shared/data)")
    parser.add_argument("--cache", default=None,
                        help="SentenceEmbedder on-disk cache folder (default: memory only)")
    parser.add_argument("--pool-per-class", type=int, default=800)
    parser.add_argument("--random-sizes", type=int, nargs="*", default=[1000, 4000])
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--n-train", type=int, default=600)
    parser.add_argument("--n-test", type=int, default=300)
    parser.add_argument("--n-aux", type=int, default=600)
    parser.add_argument("--rows", nargs="*", default=None,
                        help="kd/phoenix: model rows; milanlp: setting names (STL MI1 MI2 MI3 "
                             "MTL2 MI3-MTL2)")
    parser.add_argument("--patience", type=int, default=3,
                        help="milanlp: epochs without a lower validation loss before stopping")
    args = parser.parse_args(argv)
    if args.table == "milanlp":
        args.lr = args.lr or 1e-3
        bench_milanlp(args)
    elif args.table == "iitk":
        bench_iitk(args)
    elif args.table == "kd":
        args.lr = args.lr or 5e-5
        args.rows = args.rows or ["single-task", "multi-task", "KD + annealing"]
        bench_kd(args)
    else:
        args.lr = args.lr or 5e-5
        args.rows = args.rows or ["classification head", "label generation"]
        bench_phoenix(args)


if __name__ == "__main__":
    main()
