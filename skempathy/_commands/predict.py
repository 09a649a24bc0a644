"""Predict with a saved model on a CSV, TSV or JSON-lines file."""

import sys

from ..cli import CLIError
from ._common import (check_writable, load_model, predictions_frame, read_table,
                      required_columns, write_table)


def add_arguments(parser):
    parser.add_argument("model", metavar="MODEL",
                        help="model saved by 'skempathy train' (.joblib or .skops)")
    parser.add_argument("--input", required=True, metavar="FILE",
                        help="input table (.csv, .tsv or .jsonl)")
    parser.add_argument("--text-column", default=None,
                        help="column holding the texts, if not the model's (essay)")
    parser.add_argument("--output", default=None, metavar="FILE",
                        help="output table (.csv, .tsv, .jsonl); default: CSV on stdout")


def run(args):
    if args.output is not None:
        check_writable(args.output)
    bundle = load_model(args.model)
    frame = read_table(args.input)
    text_column = bundle.get("text_column") or "essay"
    if args.text_column is not None and args.text_column != text_column:
        if args.text_column not in frame.columns:
            raise CLIError(f"{args.input} has no column {args.text_column!r} "
                           f"(columns: {', '.join(map(str, frame.columns))})")
        frame = frame.rename(columns={args.text_column: text_column})
    needed = required_columns(bundle)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise CLIError(f"{args.input} lacks column(s) {', '.join(missing)} needed by the model "
                       f"(it uses: {', '.join(needed)})")
    texts = frame[text_column]
    bad = texts.isna() | (texts.astype(str).str.strip() == "")
    if bad.any():
        raise CLIError(f"{args.input}: {int(bad.sum())} row(s) have an empty or missing "
                       f"{text_column!r} (first at row {int(bad.to_numpy().argmax()) + 1})")
    out = predictions_frame(bundle, frame[needed])
    for key in ("message_id", "id"):
        if key in frame.columns and key not in out.columns:
            out.insert(0, key, frame[key].to_numpy())
            break
    if args.output is None:
        out.to_csv(sys.stdout, index=False)
    else:
        write_table(out, args.output)
        if not args.quiet:
            print(f"Wrote {len(out)} predictions to {args.output}", file=sys.stderr)
    return 0
