"""Score a saved model on a WASSA split with the official metrics."""

from ..cli import CLIError
from ._common import add_model_arguments, load_model, model_predict, print_table, track_scores


def add_arguments(parser):
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="model saved by 'skempathy train' or 'wassa' (.skops; a pickle "
        "such as .joblib needs --allow-pickle)",
    )
    parser.add_argument(
        "--split",
        default="dev",
        choices=("train", "dev"),
        help="WASSA split with gold labels (default: dev)",
    )
    add_model_arguments(parser)


def run(args):
    from ..datasets import load_wassa
    from ..metrics import wassa_evaluate

    bundle = load_model(args.model, allow_pickle=args.allow_pickle, trusted=args.trusted)
    targets = bundle.get("targets")
    if not targets:
        raise CLIError(
            f"{args.model} does not record its targets; save it with "
            "'skempathy train' to evaluate it"
        )
    task = targets[0] if len(targets) == 1 else targets
    X, y = load_wassa(args.split, target=task, return_X_y=True)
    if len(targets) > 1 and "emotion" in targets:  # a joint model: each track's metrics
        scores = track_scores(bundle["estimator"], X, y, list(targets))
    else:
        scores = wassa_evaluate(y, model_predict(bundle["estimator"], X))
    print(f"{args.model} on WASSA 2021 {args.split} ({len(X)} essays):")
    print_table([(k, f"{v:.4f}") for k, v in scores.items()], ["metric", args.split])
    fitted_on = bundle.get("fitted_on") or ""
    if args.split in fitted_on.split("+"):
        print(
            f"\nThis model was fitted on {fitted_on}: its {args.split} scores are not held-out "
            f"scores (the held-out dev scores are in the bundle's dev_scores)."
        )
    return 0
