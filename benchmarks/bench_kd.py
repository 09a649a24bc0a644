"""Hosseini & Caragea (2021), "Distilling Knowledge for Empathy Detection": Tables 4-7.

Tables (pick with ``--table``):

``newsemp`` (Table 4)
    NewsEmp binary empathy (``empathy_bin``), a random stratified 80/10/10
    split of the 1,860 essays (:func:`train_dev_test_split`). Rows: single-task
    fine-tuning, multi-task (auxiliary emotion and sentiment heads on gold
    labels), and multi-task knowledge distillation with teacher annealing where
    every task, the target included, has a teacher (the paper's Eq. 2-3;
    :class:`DistilledMultiTaskClassifier` with ``teachers["target"]``).
``twittemp`` (Tables 5 and 6)
    TwittEmp, a random stratified 80/10/10 split of the 3,000 tweets: binary
    empathy (seeking or providing vs none; Table 5) and the three classes with
    the F1 of seeking and of providing (Table 6). Same three rows.
``domain`` (Table 7)
    Domain adaptation: fine-tune on all NewsEmp essays (source), test on all
    TwittEmp tweets (target, binary empathy). Source-only, then continued
    masked-language-model pre-training (:class:`MaskedLMAdapter`) on one
    unlabelled corpus (EmpatheticDialogues prompts, DailyDialog utterances,
    GoEmotions comments, ISEAR situations) before fine-tuning.

The auxiliary tasks are GoEmotions comments with one Ekman emotion and their
sentiment (``--n-aux`` of each); the teachers are the frozen encoder + logistic
regression, or (``--teachers finetuned``) one fine-tuned encoder per task as in
the paper. Every "A beats B" claim prints the paired bootstrap p-value
(1,000 resamples of 30 % of the test items, items resampled as in the paper).
Prints Markdown tables; ``docs/results.md`` records them with the commands.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore", message=".*truncated.*")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ROWS = ("single-task", "multi-task", "KD (all tasks taught)")


def table(rows, header):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def f1_of(label):
    from sklearn.metrics import f1_score

    def f1(y, p):
        return f1_score(y, p, labels=[label], average="macro", zero_division=0)

    f1.__name__ = f"f1_{label}"
    return f1


def p_value(y, a, b, metric):
    from skempathy.metrics import bootstrap_test

    return bootstrap_test(y, a, b, metric, n_resamples=1000, random_state=0).p_value


def aux_tasks(args):
    """GoEmotions comments with exactly one Ekman emotion and one sentiment label."""
    from skempathy.datasets import fetch_goemotions

    rng = np.random.RandomState(0)
    aux = {}
    for name, mapping in (("emotion", "ekman"), ("sentiment", "sentiment")):
        b = fetch_goemotions(
            "train", data_home=args.data_home, download_if_missing=False, mapping=mapping
        )
        target = np.asarray(b.target)
        single = np.flatnonzero(target.sum(1) == 1)
        pick = rng.permutation(single)[: args.n_aux]
        aux[name] = ([b.data[i] for i in pick], np.asarray(b.target_names)[target[pick].argmax(1)])
    return aux


def make_estimator(name, args, aux, seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from skempathy.neural import DistilledMultiTaskClassifier, TransformerClassifier
    from skempathy.text import SentenceEmbedder

    common = dict(
        max_length=args.max_length,
        max_epochs=args.max_epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        precision=args.precision,
        random_state=seed,
        device="cpu",
    )
    if name == "single-task":
        return TransformerClassifier(**common)
    if name == "multi-task":
        return DistilledMultiTaskClassifier(teachers={}, aux_data=aux, **common)
    if args.teachers == "finetuned":  # the paper's teachers: one fine-tuned encoder per task
        teacher = TransformerClassifier(**common)
    else:
        teacher = make_pipeline(
            SentenceEmbedder(cache=args.cache, show_progress=False),
            LogisticRegression(max_iter=3000, C=args.teacher_C),
        )
    teachers = {task: teacher for task in ["target", *aux]}
    return DistilledMultiTaskClassifier(teachers=teachers, aux_data=aux, **common)


def run_rows(X, y, X_dev, y_dev, X_test, y_test, args, aux, metrics):
    """Fit every row on (X, y); score dev and test with each metric; p-values vs single-task."""
    preds, rows = {}, []
    for name in args.rows:
        tic = time.perf_counter()
        est = make_estimator(name, args, aux, args.seed).fit(X, y)
        p_dev, p_test = est.predict(X_dev), est.predict(X_test)
        preds[name] = p_test
        row = [name]
        for metric in metrics.values():
            row += [f"{100 * metric(y_dev, p_dev):.2f}", f"{100 * metric(y_test, p_test):.2f}"]
        if name != args.rows[0]:
            base = preds[args.rows[0]]
            row.append(
                ", ".join(f"{p_value(y_test, p_test, base, m):.3f}" for m in metrics.values())
            )
        else:
            row.append("")
        row.append(f"{time.perf_counter() - tic:.0f}")
        rows.append(row)
        print(rows[-1], flush=True)
    header = ["model"]
    for label in metrics:
        header += [f"dev {label}", f"test {label}"]
    header += [f"p vs {args.rows[0]} (test)", "time (s)"]
    return table(rows, header)


def bench_newsemp(args):
    from sklearn.metrics import accuracy_score

    from skempathy.datasets import load_newsemp
    from skempathy.model_selection import train_dev_test_split

    frame = load_newsemp().frame
    X, y = frame["essay"].tolist(), frame["empathy_bin"].to_numpy()
    X, X_dev, X_test, y, y_dev, y_test = train_dev_test_split(
        X, y, stratify=y, random_state=args.seed
    )
    print(f"NewsEmp: {len(X)} train, {len(X_dev)} dev, {len(X_test)} test essays", flush=True)
    metrics = {"F1 (empathic)": f1_of(1), "accuracy": accuracy_score}
    print(run_rows(X, y, X_dev, y_dev, X_test, y_test, args, aux_tasks(args), metrics))


def bench_twittemp(args):
    from skempathy.datasets import fetch_twittemp
    from skempathy.model_selection import train_dev_test_split

    texts, labels = fetch_twittemp(
        data_home=args.data_home, download_if_missing=False, return_X_y=True
    )
    labels = labels.to_numpy()
    X, X_dev, X_test, y, y_dev, y_test = train_dev_test_split(
        texts, labels, stratify=labels, random_state=args.seed
    )
    print(f"TwittEmp: {len(X)} train, {len(X_dev)} dev, {len(X_test)} test tweets", flush=True)
    aux = aux_tasks(args)
    if "binary" in args.tasks:

        def binary(v):
            return np.where(v == "none", 0, 1)

        print("\nTable 5: binary empathy (seeking or providing vs none)")
        print(
            run_rows(
                X,
                binary(y),
                X_dev,
                binary(y_dev),
                X_test,
                binary(y_test),
                args,
                aux,
                {"F1 (empathy)": f1_of(1)},
            )
        )
    if "three" in args.tasks:
        print("\nTable 6: none / seeking / providing, F1 of seeking and of providing")
        print(
            run_rows(
                X,
                y,
                X_dev,
                y_dev,
                X_test,
                y_test,
                args,
                aux,
                {"F1 seeking": f1_of("seeking"), "F1 providing": f1_of("providing")},
            )
        )


def bench_domain(args):
    from skempathy.datasets import fetch_twittemp, load_newsemp
    from skempathy.distill import unlabeled_texts
    from skempathy.neural import MaskedLMAdapter, TransformerClassifier

    frame = load_newsemp().frame
    X, y = frame["essay"].tolist(), frame["empathy_bin"].to_numpy()
    tweets, labels = fetch_twittemp(
        data_home=args.data_home, download_if_missing=False, return_X_y=True
    )
    y_t = np.where(labels.to_numpy() == "none", 0, 1)
    f1 = f1_of(1)
    rows, base = [], None
    for source in ["source only", *args.corpora]:
        tic = time.perf_counter()
        model, n_texts = "all-MiniLM-L6-v2", 0
        if source != "source only":
            pool = unlabeled_texts(
                [source],
                data_home=args.data_home,
                max_per_source=args.n_unlabeled,
                random_state=args.seed,
                empathetic_dialogues=Path(args.data_home)
                / "empatheticdialogues"
                / "empatheticdialogues_empatheticintents.csv.gz",
                dailydialog=Path(args.data_home) / "dailydialog",
            )
            n_texts = len(pool)
            adapter = MaskedLMAdapter(
                max_length=args.mlm_max_length,
                batch_size=32,
                max_epochs=args.mlm_epochs,
                precision=args.precision,
                random_state=args.seed,
                device="cpu",
            )
            model = adapter.fit(pool["text"].tolist()).checkpoint_path_
        clf = TransformerClassifier(
            model=model,
            max_length=args.max_length,
            max_epochs=args.max_epochs,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            precision=args.precision,
            random_state=args.seed,
            device="cpu",
        ).fit(X, y)
        p = clf.predict(tweets)
        base = p if base is None else base
        pv = "" if source == "source only" else f"{p_value(y_t, p, base, f1):.3f}"
        rows.append(
            [
                source,
                n_texts,
                f"{100 * f1(y_t, p):.2f}",
                f"{100 * np.mean(p == y_t):.2f}",
                pv,
                f"{time.perf_counter() - tic:.0f}",
            ]
        )
        print(rows[-1], flush=True)
    print(
        table(
            rows,
            [
                "MLM pre-training on",
                "texts",
                "TwittEmp F1 (empathy)",
                "accuracy",
                "p vs source only",
                "time (s)",
            ],
        )
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", choices=["newsemp", "twittemp", "domain"], required=True)
    parser.add_argument(
        "--data-home",
        default=str(SHARED),
        help="folder holding goemotions/, twittemp/, isear/, dailydialog/ and "
        "empatheticdialogues/ (default: ../shared/data)",
    )
    parser.add_argument(
        "--cache", default=None, help="SentenceEmbedder on-disk cache folder of the teachers"
    )
    parser.add_argument("--rows", nargs="*", default=list(ROWS), choices=ROWS)
    parser.add_argument(
        "--tasks",
        nargs="*",
        default=["binary", "three"],
        choices=["binary", "three"],
        help="twittemp: Table 5 and/or Table 6",
    )
    parser.add_argument(
        "--corpora",
        nargs="*",
        choices=["empatheticdialogues", "dailydialog", "goemotions", "isear"],
        default=["empatheticdialogues", "dailydialog", "goemotions", "isear"],
    )
    parser.add_argument(
        "--n-aux", type=int, default=1000, help="GoEmotions comments per auxiliary task"
    )
    parser.add_argument(
        "--n-unlabeled", type=int, default=5000, help="domain: texts per MLM corpus"
    )
    parser.add_argument("--mlm-epochs", type=int, default=1)
    parser.add_argument("--mlm-max-length", type=int, default=64)
    parser.add_argument(
        "--teachers",
        choices=["frozen", "finetuned"],
        default="frozen",
        help="frozen encoder + logistic regression, or the student's own "
        "fine-tuning (one model per task, as in the paper)",
    )
    parser.add_argument(
        "--teacher-C", type=float, default=1.0, help="C of the frozen teachers' logistic regression"
    )
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--max-epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument(
        "--precision",
        default="auto",
        help="training precision; auto is fp32 on CPU, bf16 is faster on CPUs with fast bf16",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from skempathy.utils import cpu_summary

    print(f"Machine: {cpu_summary()}", flush=True)
    {"newsemp": bench_newsemp, "twittemp": bench_twittemp, "domain": bench_domain}[args.table](args)


if __name__ == "__main__":
    main()
