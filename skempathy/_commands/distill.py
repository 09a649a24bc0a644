"""Distil a saved model into one fine-tuned encoder (a fast student) and compare the two."""

import time

from ._common import (check_writable, load_model, print_table, required_columns, save_model,
                      task_targets)


def add_arguments(parser):
    parser.add_argument("teacher", metavar="TEACHER",
                        help="model saved by 'skempathy train' or 'skempathy wassa' "
                             "(.joblib or .skops)")
    parser.add_argument("--out", required=True, metavar="STUDENT",
                        help="where to save the student: STUDENT.joblib or STUDENT.skops")
    parser.add_argument("--model", default="all-MiniLM-L6-v2",
                        help="encoder of the student (default: all-MiniLM-L6-v2)")
    parser.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs (default: 3)")
    parser.add_argument("--max-length", type=int, default=256,
                        help="tokens per essay (default: 256)")
    parser.add_argument("--alpha", type=float, default=0.5,
                        help="weight of the gold labels against the teacher's (default: 0.5)")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="temperature of the teacher's class probabilities (default: 1)")
    parser.add_argument("--unlabeled", choices=["wassa", "none"], default="wassa",
                        help="texts the teacher labels besides the training essays: 'wassa', "
                             "the WASSA 2021 dev and test essays with their writer columns "
                             "(never their labels), or 'none' (default: wassa)")
    parser.add_argument("--device", default="auto", help="torch device (default: auto)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")


def _student(targets, kinds, args):
    """A text-only student reading the ``essay`` column of the WASSA frame."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    from ..neural import MultiTaskTransformer, TransformerClassifier, TransformerRegressor

    kw = dict(max_epochs=args.epochs, max_length=args.max_length, device=args.device,
              random_state=args.seed, learning_rate=1e-4)
    if len(set(kinds)) > 1:  # emotion with empathy/distress: one encoder, one head per target
        return MultiTaskTransformer(args.model, text_column="essay", **kw)
    model = (TransformerClassifier if kinds[0] == "classification" else TransformerRegressor)
    select = ColumnTransformer([("essay", "passthrough", ["essay"])])
    return Pipeline([("select", select), ("model", model(args.model, **kw))])


def _latency_ms(estimator, X, n=20):
    import numpy as np

    times = []
    for i in range(min(n, len(X))):
        start = time.perf_counter()
        estimator.predict(X.iloc[[i]])
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def _dev_scores(estimator, X, y, targets):
    import pandas as pd

    from ..metrics import wassa_evaluate

    pred = estimator.predict(X)
    if not isinstance(pred, pd.DataFrame):
        pred = pd.DataFrame(pred.reshape(len(X), -1) if hasattr(pred, "reshape") else pred,
                            columns=targets)
    scores = {}
    for group in (["emotion"], [t for t in targets if t != "emotion"]):
        group = [t for t in group if t in targets]
        if group:
            truth = y[group[0]] if len(group) == 1 else y[group]
            guess = pred[group[0]] if len(group) == 1 else pred[group]
            scores.update(wassa_evaluate(truth, guess))
    return scores


def run(args):
    import pickle

    import pandas as pd

    from ..cli import CLIError
    from ..datasets import load_wassa
    from ..distill import Distiller
    from ..neural import cpu_has_fast_bf16  # noqa: F401 (torch is needed from here on)

    check_writable(args.out)
    if not 0 <= args.alpha <= 1:
        raise CLIError(f"--alpha must be between 0 and 1, got {args.alpha}")
    if args.temperature <= 0:
        raise CLIError(f"--temperature must be positive, got {args.temperature}")
    bundle = load_model(args.teacher)
    targets = task_targets(bundle["task"]) if bundle.get("task") else None
    if not targets:
        raise CLIError(f"{args.teacher} does not say which WASSA targets it predicts; "
                       "distil a model saved by 'skempathy train' or 'skempathy wassa'")
    teacher = bundle["estimator"]
    kinds = ["classification" if t == "emotion" else "regression" for t in targets]
    train, dev = load_wassa("train"), load_wassa("dev")
    X, Xd = train.data, dev.data
    y = train.frame[targets[0]] if len(targets) == 1 else train.frame[targets]
    missing = [c for c in required_columns(bundle) if c not in X.columns]
    if missing:
        raise CLIError(f"the teacher reads column(s) {', '.join(missing)}, which the WASSA "
                       "data does not have")
    unlabeled = None
    if args.unlabeled == "wassa":
        unlabeled = pd.concat([Xd, load_wassa("test").data], ignore_index=True)

    from sklearn.frozen import FrozenEstimator

    distiller = Distiller(FrozenEstimator(teacher), _student(targets, kinds, args),
                          X_unlabeled=unlabeled, alpha=args.alpha,
                          temperature=args.temperature, random_state=args.seed)
    start = time.perf_counter()
    distiller.fit(X, y)
    minutes = (time.perf_counter() - start) / 60
    student = distiller.student_

    rows, scores = [], {}
    for name, est in (("teacher", teacher), ("student", student)):
        scores[name] = _dev_scores(est, Xd, dev.frame, targets)
        rows.append((name, *(f"{scores[name][k]:.4f}" for k in scores[name]),
                     f"{len(pickle.dumps(est)) / 2**20:.1f}", f"{_latency_ms(est, Xd):.0f}"))
    metric_names = list(scores["teacher"])
    save_model(student, args.out, task=bundle["task"], head=f"distilled {args.model}",
               features=["text"], columns=["essay"], scores=scores["student"])
    agreement = ", ".join(f"{k} {v:.3f}"
                          for k, v in (distiller.teacher_agreement_ or {}).items())
    print(f"Distilled {args.teacher} into {args.model} in {minutes:.1f} min on "
          f"{distiller.n_distilled_} essays (agreement with the teacher on held-out essays: "
          f"{agreement or 'not measured'}).")
    if unlabeled is not None:
        print("The student read the dev essays' texts (never their labels) while it learnt.")
    print("Dev scores:")
    print_table(rows, ["model", *metric_names, "MB", "ms/essay"])
    print(f"Saved {args.out}")
    return 0
