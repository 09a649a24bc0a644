"""Train one WASSA pipeline (task x head x features) on the bundled train split."""

from ._common import (
    FEATURE_GROUPS,
    add_features_argument,
    check_model_path,
    check_writable,
    feature_groups,
    parse_task,
    print_table,
    save_model,
)


def add_arguments(parser):
    from ..compose._wassa import HEADS

    parser.add_argument(
        "--task", required=True, help="empathy, distress, emotion or empathy+distress"
    )
    parser.add_argument("--head", default="ridge", choices=HEADS, help="head estimator")
    add_features_argument(parser, FEATURE_GROUPS)
    parser.add_argument(
        "--out",
        required=True,
        metavar="MODEL",
        help="where to save: MODEL.skops (loads without running code), or MODEL.joblib, a pickle",
    )
    parser.add_argument(
        "--model",
        default="all-MiniLM-L6-v2",
        help="sentence encoder (default: all-MiniLM-L6-v2); 'static-minilm': static "
        "embeddings distilled from it (needs skempathy[static])",
    )
    parser.add_argument("--cache", default=None, metavar="DIR", help="on-disk embedding cache")
    parser.add_argument("--device", default="auto", help="torch device (default: auto)")


def _used_columns(pipe):
    """Input columns the fitted pipeline's ColumnTransformer reads."""
    columns = []
    for name, transformer, cols in pipe.named_steps["preprocessor"].transformers_:
        if name == "remainder" or transformer == "drop":
            continue
        if isinstance(cols, str):
            cols = [cols]
        columns += [c for c in cols if isinstance(c, str) and c not in columns]
    return columns


def run(args):
    from ..compose import make_wassa_pipeline
    from ..datasets import load_wassa
    from ..metrics import wassa_evaluate
    from ..text._static import frozen_embedder

    task = parse_task(args.task)
    args.features = feature_groups(args.features)
    check_writable(args.out)
    check_model_path(args.out)
    embedder = frozen_embedder(
        args.model,
        device=args.device,
        cache=args.cache,
        show_progress=False if args.quiet else "auto",
    )
    pipe = make_wassa_pipeline(task, head=args.head, features=args.features, embedder=embedder)
    X, y = load_wassa("train", target=task, return_X_y=True)
    pipe.fit(X, y)
    Xd, yd = load_wassa("dev", target=task, return_X_y=True)
    scores = wassa_evaluate(yd, pipe.predict(Xd))
    save_model(
        pipe,
        args.out,
        task=task,
        head=args.head,
        features=args.features,
        columns=_used_columns(pipe),
        scores=scores,
    )
    print(f"Trained {args.head} on {len(X)} train essays for task {args.task}; dev scores:")
    print_table([(k, f"{v:.4f}") for k, v in scores.items()], ["metric", "dev"])
    print(f"Saved {args.out}")
    return 0
