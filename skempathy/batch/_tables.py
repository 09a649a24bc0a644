"""Tables read and written in chunks."""

import os
import sys
import tempfile
from pathlib import Path

from ..utils._files import use_default_permissions
from ..utils._progress import progress_bar

__all__ = ["map_table", "read_table_chunks"]

_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _format(path, role):
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMATS:
        raise ValueError(f"unsupported {role} format {suffix!r} (use .csv, .tsv or .jsonl): {path}")
    return _FORMATS[suffix]


def read_table_chunks(path, chunk_size=10_000):
    """Iterate over a CSV, TSV or JSON-lines file as DataFrames of ``chunk_size`` rows.

    Parameters
    ----------
    path : str or path-like
        ``.csv``, ``.tsv`` or ``.jsonl`` (``.ndjson``) file.
    chunk_size : int, default=10_000
        Rows per chunk; memory use is bounded by one chunk, not the file.

    Yields
    ------
    DataFrame
        Consecutive rows, with a RangeIndex that continues across chunks (row
        ``i`` of the file has index ``i``).

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> from skempathy.batch import read_table_chunks
    >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> pd.DataFrame({"text": list("abcde")}).to_csv(path, index=False)
    >>> [len(c) for c in read_table_chunks(path, chunk_size=2)]
    [2, 2, 1]
    """
    import pandas as pd

    kind = _format(path, "input")
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if not Path(path).is_file():
        raise FileNotFoundError(f"input file not found: {path}")
    if kind == "jsonl":
        reader = pd.read_json(path, lines=True, chunksize=int(chunk_size))
    else:
        reader = pd.read_csv(path, sep="\t" if kind == "tsv" else ",", chunksize=int(chunk_size))
    with reader:
        yield from reader


class _ChunkWriter:
    """Appends DataFrames to one output table; the file appears only on ``commit``."""

    def __init__(self, path):
        self.path = path
        self.kind = "csv" if path is None else _format(path, "output")
        self.rows = 0
        if path is None:
            self._fh, self._tmp = sys.stdout, None
        else:
            folder = Path(path).absolute().parent
            folder.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = tempfile.mkstemp(
                dir=folder, prefix=f".{Path(path).name}.", suffix=".tmp"
            )
            self._fh = os.fdopen(fd, "w", encoding="utf-8", newline="")

    def write(self, frame):
        if self.kind == "jsonl":
            if len(frame):  # one record per line, each ending in a newline
                self._fh.write(frame.to_json(orient="records", lines=True, force_ascii=False))
        else:
            frame.to_csv(
                self._fh,
                sep="\t" if self.kind == "tsv" else ",",
                index=False,
                header=self.rows == 0,
            )
        self.rows += len(frame)

    def commit(self):
        if self._tmp is None:
            self._fh.flush()
            return
        self._fh.close()
        use_default_permissions(self._tmp)
        os.replace(self._tmp, self.path)
        self._tmp = None

    def discard(self):
        if self._tmp is not None:
            self._fh.close()
            os.remove(self._tmp)
            self._tmp = None


def map_table(function, input, output=None, *, chunk_size=10_000, show_progress=True, desc="rows"):
    """Stream a table through ``function`` chunk by chunk and write the results.

    Parameters
    ----------
    function : callable
        ``function(chunk) -> DataFrame`` (one output row per input row, or any
        number): a :class:`BatchPredictor`, ``functools.partial(annotate_dialogues,
        annotator=...)``, ...
    input : str or path-like
        ``.csv``, ``.tsv`` or ``.jsonl`` file.
    output : str, path-like or None, default=None
        ``.csv``, ``.tsv`` or ``.jsonl`` file, written to a temporary file and
        renamed into place at the end: an error or an interrupt leaves any
        earlier file untouched and nothing half-written. None: CSV on stdout.
    chunk_size : int, default=10_000
        Rows per chunk; memory is bounded by one chunk and its results.
    show_progress : bool, default=True
        A progress bar of the rows done (on a terminal or in Jupyter).
    desc : str, default="rows"
        Label of the progress bar.

    Returns
    -------
    int
        Number of rows written.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from skempathy.batch import map_table
    >>> folder = tempfile.mkdtemp()
    >>> pd.DataFrame({"text": ["a", "bb", "ccc"]}).to_csv(f"{folder}/in.csv", index=False)
    >>> lengths = lambda chunk: chunk.assign(length=chunk["text"].str.len())
    >>> map_table(lengths, f"{folder}/in.csv", f"{folder}/out.csv", chunk_size=2,
    ...           show_progress=False)
    3
    >>> pd.read_csv(f"{folder}/out.csv")["length"].tolist()
    [1, 2, 3]
    """
    if output is not None:
        _format(output, "output")
    chunks = read_table_chunks(input, chunk_size)
    writer = _ChunkWriter(output)
    rows_read = 0
    try:
        with progress_bar(desc=desc, unit="row", enabled=show_progress) as bar:
            while True:
                try:
                    chunk = next(chunks)
                except StopIteration:
                    break
                except (ValueError, UnicodeDecodeError) as exc:  # the parser's errors
                    raise ValueError(
                        f"could not read {input} after row {rows_read}: {exc}"
                    ) from exc
                if len(chunk) == 0:  # a header-only file
                    continue
                writer.write(function(chunk))
                rows_read += len(chunk)
                bar.update(len(chunk))
        if rows_read == 0:
            raise ValueError(f"input file has no rows: {input}")
        writer.commit()
    finally:
        writer.discard()
    return writer.rows
