"""Predict with a saved model on a CSV, TSV or JSON-lines file."""

import sys

from ..cli import CLIError
from ._common import (
    add_model_arguments,
    check_not_an_input,
    check_readable,
    check_writable,
    load_model,
    positive_int,
    predictions_frame,
    required_columns,
)


def add_arguments(parser):
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="model saved by 'skempathy train' or 'wassa' (.skops; a pickle "
        "such as .joblib needs --allow-pickle)",
    )
    parser.add_argument(
        "--input", required=True, metavar="FILE", help="input table (.csv, .tsv or .jsonl)"
    )
    parser.add_argument(
        "--text-column", default=None, help="column holding the texts, if not the model's (essay)"
    )
    parser.add_argument(
        "--output",
        default=None,
        metavar="FILE",
        help="output table (.csv, .tsv, .jsonl); default: CSV on stdout",
    )
    parser.add_argument(
        "--chunk-size",
        type=positive_int,
        default=10_000,
        metavar="N",
        help="rows read, predicted and written at a time: memory stays "
        "bounded whatever the file's size (default: 10000)",
    )
    add_model_arguments(parser)


_TEXT_NAMES = ("text", "essay", "message", "content", "sentence", "body", "utterance")


def _missing_columns_message(args, columns, missing, needed, text_column):
    """Name the missing columns and say what would help: --text-column, or a text-only model."""
    shown = ", ".join(map(str, missing[:4])) + (
        f" and {len(missing) - 4} more" if len(missing) > 4 else ""
    )
    message = f"{args.input} lacks column(s) {shown} needed by the model"
    others = [c for c in missing if c != text_column]
    if text_column in missing and args.text_column is None:
        guess = next((c for c in columns if str(c).lower() in _TEXT_NAMES), None)
        if guess is not None:
            message += f"; if {guess!r} holds the texts, pass --text-column {guess}"
    if others:
        message += (
            f". This model also reads {len(others)} writer column(s) besides the text; "
            "to score plain texts, use a model of the text alone (skempathy train "
            "--features text, or the student of skempathy distill / wassa --distill)"
        )
    elif text_column not in missing:
        message += f" (it uses: {', '.join(map(str, needed))})"
    return message


def run(args):
    from ..batch import map_table

    if args.output is not None:
        check_writable(args.output)
        check_not_an_input(args.output, args.input, args.model)
    check_readable(args.input)
    bundle = load_model(args.model, allow_pickle=args.allow_pickle, trusted=args.trusted)
    text_column = bundle.get("text_column") or "essay"
    needed = required_columns(bundle)

    def predict(chunk):
        if args.text_column is not None and args.text_column != text_column:
            if args.text_column not in chunk.columns:
                raise CLIError(
                    f"{args.input} has no column {args.text_column!r} "
                    f"(columns: {', '.join(map(str, chunk.columns))})"
                )
            chunk = chunk.rename(columns={args.text_column: text_column})
        missing = [c for c in needed if c not in chunk.columns]
        if missing:
            raise CLIError(
                _missing_columns_message(args, chunk.columns, missing, needed, text_column)
            )
        texts = chunk[text_column]
        bad = texts.isna() | (texts.astype(str).str.strip() == "")
        if bad.any():
            first = int(chunk.index[bad.to_numpy().argmax()]) + 1
            raise CLIError(
                f"{args.input}: {int(bad.sum())} row(s) of a chunk have an empty or "
                f"missing {text_column!r} (first at row {first})"
            )
        out = predictions_frame(bundle, chunk[needed])
        for key in ("message_id", "id"):
            if key in chunk.columns and key not in out.columns:
                out.insert(0, key, chunk[key].to_numpy())
                break
        return out

    try:
        rows = map_table(
            predict,
            args.input,
            args.output,
            chunk_size=args.chunk_size,
            show_progress=not args.quiet,
            desc="predict",
        )
    except (ValueError, OSError) as exc:  # the table's parser, the output's writer
        raise CLIError(str(exc)) from exc
    if args.output is not None and not args.quiet:
        print(f"Wrote {rows} predictions to {args.output}", file=sys.stderr)
    return 0
