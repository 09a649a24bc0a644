"""Distil a saved model into one fine-tuned encoder (a fast student) and compare the two."""

import time

from .._models import PRECISIONS
from ._common import (
    add_model_arguments,
    check_model_path,
    check_not_an_input,
    check_writable,
    load_model,
    print_table,
    required_columns,
    save_model,
    task_targets,
    track_scores,
)


def add_arguments(parser):
    parser.add_argument(
        "teacher",
        metavar="TEACHER",
        help="model saved by 'skempathy train' or 'skempathy wassa' "
        "(.skops; a pickle such as .joblib needs --allow-pickle)",
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="STUDENT",
        help="where to save the student: STUDENT.skops, or STUDENT.joblib (a pickle)",
    )
    parser.add_argument(
        "--model",
        default="all-MiniLM-L6-v2",
        help="encoder of the student (default: all-MiniLM-L6-v2); 'static-minilm': "
        "static embeddings distilled from MiniLM with linear heads, a student for "
        "corpora of millions of texts (needs skempathy[static])",
    )
    parser.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs (default: 3)")
    parser.add_argument(
        "--max-length", type=int, default=256, help="tokens per essay (default: 256)"
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.5,
        help="weight of the gold labels against the teacher's (default: 0.5)",
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="temperature of the teacher's class probabilities (default: 1)",
    )
    parser.add_argument(
        "--unlabeled",
        choices=["wassa", "none"],
        default="wassa",
        help="texts the teacher labels besides the training essays: 'wassa', "
        "the WASSA 2021 dev and test essays with their writer columns "
        "(never their labels), or 'none' (default: wassa)",
    )
    parser.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16", "fp16"],
        default="auto",
        help="autocast of the student's fine-tuning; 'bf16' is faster on CPUs "
        "with bf16 matrix units (default: auto, bf16 or fp16 on CUDA and "
        "fp32 elsewhere)",
    )
    parser.add_argument(
        "--predict-precision",
        choices=PRECISIONS,
        default=None,
        help="weights the saved student predicts with: 'bf16' (about 3x the "
        "batch throughput of fp32 on a CPU with AMX), 'int8' (CPU), "
        "'fp32', or 'auto' (bf16 on CPUs with bf16 units and on CUDA, "
        "else fp32); the dev scores and latency are measured that way "
        "(default: as trained)",
    )
    parser.add_argument("--device", default="auto", help="torch device (default: auto)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    add_model_arguments(parser, what="TEACHER")


def _student(
    kinds, *, model, epochs, targets=None, max_length, device, seed, precision="auto", verbose=0
):
    """A text-only student reading the ``essay`` column of the WASSA frame."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    from ..neural import MultiTaskTransformer, TransformerClassifier, TransformerRegressor
    from ..text._static import static_source

    if static_source(model) is not None:  # no network to fine-tune: frozen vectors + heads
        from ..recipes import text_only_vote
        from ..text import StaticEmbedder

        vote = text_only_vote(StaticEmbedder(model), targets)
        return vote if len(targets) > 1 else vote.estimators[0][1]
    kw = dict(
        max_epochs=epochs,
        max_length=max_length,
        device=device,
        random_state=seed,
        learning_rate=1e-4,
        precision=precision,
        verbose=verbose,
    )
    if len(set(kinds)) > 1:  # emotion with empathy/distress: one encoder, one head per target
        return MultiTaskTransformer(model, text_column="essay", **kw)
    cls = TransformerClassifier if kinds[0] == "classification" else TransformerRegressor
    select = ColumnTransformer([("essay", "passthrough", ["essay"])])
    return Pipeline([("select", select), ("model", cls(model, **kw))])


def _latency_ms(estimator, X, n=20):
    """Median ms of a one-essay ``predict``, every encoder running as on a new text."""
    import numpy as np

    from ..text import fresh_embedding_cache

    times = []
    for i in range(min(n, len(X))):
        with fresh_embedding_cache():  # the essays were scored just before
            start = time.perf_counter()
            estimator.predict(X.iloc[[i]])
            times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def compare_models_on_dev(models, dev, targets):
    """``{name: dev scores + size_mb + ms_per_essay}`` of fitted models on the WASSA dev split."""
    import pickle

    out = {}
    for name, est in models.items():
        out[name] = dict(
            track_scores(est, dev.data, dev.frame, targets),
            size_mb=round(len(pickle.dumps(est)) / 2**20, 1),
            ms_per_essay=round(_latency_ms(est, dev.data), 1),
        )
    return out


def unlabeled_wassa(dev, test):
    """The dev and test frames of WASSA as one pool of inputs (their labels are not read)."""
    import pandas as pd

    return pd.concat([dev.data, test.data], ignore_index=True)


def distil_wassa(
    teacher,
    targets,
    train,
    pool=None,
    *,
    model="all-MiniLM-L6-v2",
    epochs=3,
    max_length=256,
    alpha=0.5,
    temperature=1.0,
    device="auto",
    seed=0,
    precision="auto",
    verbose=0,
):
    """Distil a fitted WASSA model into a text-only student; returns ``(student, distiller)``.

    The teacher labels the ``train`` split's frame and the ``pool`` of unlabeled
    inputs (e.g. :func:`unlabeled_wassa`).
    """
    from sklearn.frozen import FrozenEstimator

    from ..distill import Distiller

    y = train.frame[targets[0]] if len(targets) == 1 else train.frame[targets]
    kinds = ["classification" if t == "emotion" else "regression" for t in targets]
    student = _student(
        kinds,
        targets=targets,
        model=model,
        epochs=epochs,
        max_length=max_length,
        device=device,
        seed=seed,
        precision=precision,
        verbose=verbose,
    )
    distiller = Distiller(
        FrozenEstimator(teacher),
        student,
        X_unlabeled=pool,
        alpha=alpha,
        temperature=temperature,
        random_state=seed,
    )
    distiller.fit(train.data, y)
    return distiller.student_, distiller


def distil_and_score(
    teacher, targets, train, dev, pool=None, *, with_teacher=True, predict_precision=None, **params
):
    """Distil a fitted WASSA model into a text-only student and score it on the dev split.

    The one code path of ``skempathy distill`` and of the students of ``skempathy wassa``
    (its text-only model, ``--distill``): :func:`distil_wassa` with ``params`` (``model``,
    ``epochs``, ``device``, ...), then ``predict_precision`` on a fine-tuned student, then
    :func:`compare_models_on_dev`. Returns ``(student, distiller, scores)``, ``scores`` holding
    ``"student"`` (and ``"teacher"`` with ``with_teacher``): the official dev metrics,
    ``size_mb`` and ``ms_per_essay``.
    """
    student, distiller = distil_wassa(teacher, targets, train, pool, **params)
    if predict_precision is not None:  # the fine-tuned estimator, alone or in a pipeline
        student.set_params(
            **{
                key: predict_precision
                for key in student.get_params()
                if key.endswith("predict_precision")
            }
        )
    models = {"teacher": teacher, "student": student} if with_teacher else {"student": student}
    return student, distiller, compare_models_on_dev(models, dev, targets)


def run(args):
    from ..cli import CLIError
    from ..datasets import load_wassa

    check_writable(args.out)
    check_model_path(args.out)
    check_not_an_input(args.out, args.teacher)
    if not 0 <= args.alpha <= 1:
        raise CLIError(f"--alpha must be between 0 and 1, got {args.alpha}")
    if args.temperature <= 0:
        raise CLIError(f"--temperature must be positive, got {args.temperature}")
    bundle = load_model(args.teacher, allow_pickle=args.allow_pickle, trusted=args.trusted)
    targets = task_targets(bundle["task"]) if bundle.get("task") else None
    if not targets:
        raise CLIError(
            f"{args.teacher} does not say which WASSA targets it predicts; "
            "distil a model saved by 'skempathy train' or 'skempathy wassa'"
        )
    teacher = bundle["estimator"]
    train, dev = load_wassa("train"), load_wassa("dev")
    missing = [c for c in required_columns(bundle) if c not in train.data.columns]
    if missing:
        raise CLIError(
            f"the teacher reads column(s) {', '.join(missing)}, which the WASSA data does not have"
        )
    pool = unlabeled_wassa(dev, load_wassa("test")) if args.unlabeled == "wassa" else None
    start = time.perf_counter()
    student, distiller, scores = distil_and_score(
        teacher,
        targets,
        train,
        dev,
        pool,
        predict_precision=args.predict_precision,
        model=args.model,
        epochs=args.epochs,
        max_length=args.max_length,
        alpha=args.alpha,
        temperature=args.temperature,
        device=args.device,
        seed=args.seed,
        precision=args.precision,
        verbose=int(not args.quiet),
    )
    minutes = (time.perf_counter() - start) / 60
    rows = [
        (
            name,
            *(f"{v:g}" if k in ("size_mb", "ms_per_essay") else f"{v:.4f}" for k, v in row.items()),
        )
        for name, row in scores.items()
    ]
    metric_names = list(scores["teacher"])
    save_model(
        student,
        args.out,
        task=bundle["task"],
        head=f"distilled {args.model}",
        features=["text"],
        columns=["essay"],
        scores=scores["student"],
    )
    agreement = ", ".join(f"{k} {v:.3f}" for k, v in (distiller.teacher_agreement_ or {}).items())
    print(
        f"Distilled {args.teacher} into {args.model} in {minutes:.1f} min on "
        f"{distiller.n_distilled_} essays (agreement with the teacher on held-out essays: "
        f"{agreement or 'not measured'})."
    )
    if args.unlabeled == "wassa":
        print("The student read the dev essays' texts (never their labels) while it learnt.")
    print("Dev scores:")
    print_table(rows, ["model", *metric_names])
    print(f"Saved {args.out}")
    return 0
