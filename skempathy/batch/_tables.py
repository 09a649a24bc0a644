"""Tables read and written in chunks: a small pipeline of threads, resumable outputs."""

import hashlib
import json
import os
import queue
import sys
import tempfile
import threading
from pathlib import Path

from ..utils._files import use_default_permissions
from ..utils._interrupts import deferred_interrupts
from ..utils._progress import progress_bar

__all__ = ["map_table", "read_table_chunks"]

_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
RESUME_FORMAT = "skempathy-resume/1"
# The input is identified by its path, size, modification time and the digest of its start.
_HEAD_BYTES = 1 << 20
# How often a thread waiting on a queue looks whether another stage failed or stopped.
_POLL_S = 0.05


def _format(path, role):
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMATS:
        raise ValueError(f"unsupported {role} format {suffix!r} (use .csv, .tsv or .jsonl): {path}")
    return _FORMATS[suffix]


def _check_input(path, chunk_size):
    kind = _format(path, "input")
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if not Path(path).is_file():
        raise FileNotFoundError(f"input file not found: {path}")
    return kind


def _positioned_chunks(path, chunk_size):
    """``(chunk, bytes of the file read so far)`` for each chunk of the table."""
    import pandas as pd

    kind = _check_input(path, chunk_size)
    with open(path, "rb") as handle:
        if kind == "jsonl":
            reader = pd.read_json(handle, lines=True, chunksize=int(chunk_size))
        else:
            reader = pd.read_csv(
                handle, sep="\t" if kind == "tsv" else ",", chunksize=int(chunk_size)
            )
        fd = handle.fileno()
        with reader:
            for chunk in reader:
                yield chunk, os.lseek(fd, 0, os.SEEK_CUR)


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
    for chunk, _ in _positioned_chunks(path, chunk_size):
        yield chunk


def _table_items(path, chunk_size):
    """The reading stage: ``("chunk", chunk, bytes read)`` per non-empty chunk, then
    ``("end", rows, None)``; a parser's error names the row it stopped after."""
    chunks = _positioned_chunks(path, chunk_size)
    rows = 0
    try:
        while True:
            try:
                chunk, position = next(chunks)
            except StopIteration:
                break
            except (ValueError, UnicodeDecodeError) as exc:  # the parser's errors
                raise ValueError(f"could not read {path} after row {rows}: {exc}") from exc
            if len(chunk) == 0:  # a header-only file
                continue
            rows += len(chunk)
            yield "chunk", chunk, position
        yield "end", rows, None
    finally:
        chunks.close()


# --------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------
class _ChunkWriter:
    """Appends DataFrames to one output table; the file appears only on ``commit``."""

    resumable = False

    def __init__(self, path):
        self.path = path
        self.kind = "csv" if path is None else _format(path, "output")
        self.rows = 0  # output rows written
        self.rows_in = 0  # input rows whose outputs are written
        self.chunks = 0
        self.offset = 0  # bytes written
        self.header_done = False
        if path is None:
            self._fh, self._tmp = None, None
        else:
            folder = Path(path).absolute().parent
            folder.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = tempfile.mkstemp(
                dir=folder, prefix=f".{Path(path).name}.", suffix=".tmp"
            )
            self._fh = os.fdopen(fd, "wb")

    def _text(self, frame):
        if self.kind == "jsonl":  # one record per line, each ending in a newline
            if not len(frame):
                return ""
            return frame.to_json(orient="records", lines=True, force_ascii=False)
        return frame.to_csv(
            sep="\t" if self.kind == "tsv" else ",", index=False, header=not self.header_done
        )

    def write(self, frame, n_in):
        """Append the outputs ``frame`` of ``n_in`` input rows."""
        text = self._text(frame)
        if self._fh is None:
            sys.stdout.write(text)
            data = b""
        else:
            data = text.encode("utf-8")
            self._fh.write(data)
        self.header_done = self.header_done or self.kind != "jsonl"
        self.rows += len(frame)
        self.rows_in += n_in
        self.chunks += 1
        self.offset += len(data)

    def commit(self):
        if self._fh is None:
            sys.stdout.flush()
            return
        self._fh.close()
        use_default_permissions(self._tmp)
        os.replace(self._tmp, self.path)
        self._tmp = None

    def keep(self, notify=None):
        """On an interrupt: a plain output keeps nothing."""
        self.discard()

    def discard(self):
        if self._tmp is not None:
            self._fh.close()
            os.remove(self._tmp)
            self._tmp = None


def _lock(fd, path, output):
    """An exclusive lock on the partial output: one run per output file at a time."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OSError(
            f"another run is writing {output} (its partial output {path} is locked); "
            "wait for it to finish or choose another output file"
        ) from None
    except OSError:  # a file system without locks
        pass


def _input_stamp(path):
    path = Path(path)
    stat = path.stat()
    with open(path, "rb") as fh:
        head = hashlib.sha256(fh.read(_HEAD_BYTES)).hexdigest()
    return {
        "path": str(path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "head_sha256": head,
    }


def _mismatch(saved, record):
    """Why the saved state of an interrupted run does not fit this run (None: it does)."""
    if saved.get("format") != RESUME_FORMAT or saved.get("output") != record["output"]:
        return "its record is of another kind"
    old, new = saved.get("input") or {}, record["input"]
    if old.get("path") != new["path"]:
        return f"it read another input ({old.get('path')})"
    if any(old.get(key) != new[key] for key in ("size", "mtime_ns", "head_sha256")):
        return "the input file changed since"
    if saved.get("chunk_size") != record["chunk_size"]:
        return f"its chunk size was {saved.get('chunk_size')}, not {record['chunk_size']}"
    old, new = saved.get("fingerprint"), record["fingerprint"]
    if old != new:
        if isinstance(old, dict) and isinstance(new, dict):
            keys = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
            return f"the {', '.join(keys)} changed since"
        return "the function changed since"
    return None


class _ResumableWriter(_ChunkWriter):
    """A :class:`_ChunkWriter` whose work survives an interrupt.

    The rows go to ``.<name>.partial`` beside the output; after each chunk, a
    record ``.<name>.resume.json`` says which input and settings produced it,
    how many chunks and rows are done and the byte offset where they end. A
    run that finds a record that fits it truncates the partial file to that
    offset and goes on after the last complete chunk.
    """

    resumable = True

    def __init__(self, path, *, input, chunk_size, fingerprint=None, restart=False, notify=None):
        self.path = path
        self.kind = _format(path, "output")
        self.rows = self.rows_in = self.chunks = self.offset = 0
        self.header_done = False
        self._tmp = None
        out = Path(path).absolute()
        out.parent.mkdir(parents=True, exist_ok=True)
        self.partial = out.parent / f".{out.name}.partial"
        self.sidecar = out.parent / f".{out.name}.resume.json"
        self._sidecar_tmp = out.parent / f".{out.name}.resume.json.tmp"
        self.record = {
            "format": RESUME_FORMAT,
            "output": str(out),
            "input": _input_stamp(input),
            "chunk_size": int(chunk_size),
            "fingerprint": json.loads(json.dumps(fingerprint)),
        }
        fd = os.open(self.partial, os.O_RDWR | os.O_CREAT, 0o600)
        _lock(fd, self.partial, path)
        self._fh = os.fdopen(fd, "r+b")
        self._tmp = self.partial
        try:
            state = None if restart else self._saved_state(notify)
            if state is not None:
                self.chunks, self.rows_in = int(state["chunks"]), int(state["rows_in"])
                self.rows, self.offset = int(state["rows"]), int(state["offset"])
                self.header_done = bool(state["header_done"])
            self._fh.truncate(self.offset)
            self._fh.seek(self.offset)
            self._checkpoint()
        except BaseException:
            self._fh.close()
            raise
        if self.chunks and notify is not None:
            notify(
                f"resuming {path}: an interrupted run did the first {self.rows_in} rows "
                f"of the input ({self.chunks} chunk(s))"
            )

    def _saved_state(self, notify):
        if not self.sidecar.is_file():
            return None
        try:
            saved = json.loads(self.sidecar.read_text(encoding="utf-8"))
            reason = _mismatch(saved, self.record)
            size = os.fstat(self._fh.fileno()).st_size
            if reason is None and size < int(saved["offset"]):
                reason = "its partial output is shorter than recorded"
            done = int(saved["chunks"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            reason, done = "its record is unreadable", 1
        if reason is None:
            return saved
        if notify is not None and done:
            notify(f"starting {self.path} over: an interrupted run left rows, but {reason}")
        return None

    def _checkpoint(self):
        self._fh.flush()
        state = dict(
            self.record,
            chunks=self.chunks,
            rows_in=self.rows_in,
            rows=self.rows,
            offset=self.offset,
            header_done=self.header_done,
        )
        self._sidecar_tmp.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
        os.replace(self._sidecar_tmp, self.sidecar)

    def write(self, frame, n_in):
        text = self._text(frame).encode("utf-8")  # outside the block below: may be slow
        with deferred_interrupts():  # the rows and their record, or neither
            self._fh.write(text)
            self.header_done = self.header_done or self.kind != "jsonl"
            self.rows += len(frame)
            self.rows_in += n_in
            self.chunks += 1
            self.offset += len(text)
            self._checkpoint()

    def commit(self):
        with deferred_interrupts():
            self._fh.flush()
            use_default_permissions(self.partial)
            os.replace(self.partial, self.path)  # still locked: the lock follows the file
            self.sidecar.unlink(missing_ok=True)
            self._fh.close()
            self._tmp = None

    def keep(self, notify=None):
        """Keep the complete chunks and their record for a later run."""
        if self._tmp is None:
            return
        if not self.chunks:  # nothing to resume from
            self.discard()
            return
        try:
            self._fh.truncate(self.offset)  # a chunk cut short goes
        finally:
            self._fh.close()
            self._tmp = None
        if notify is not None:
            notify(
                f"kept the outputs of the first {self.rows_in} rows in {self.partial.name}: "
                "the same run started again resumes after them"
            )

    def discard(self):
        if self._tmp is None:
            return
        self._fh.close()
        self._tmp = None
        for path in (self.partial, self.sidecar, self._sidecar_tmp):
            path.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------
# Stages
# --------------------------------------------------------------------------------------
class _Inline:
    """Read, compute and write one after the other, in the calling thread."""

    def __init__(self, items, writer):
        self._items = items
        self._writer = writer

    def get(self):
        return next(self._items)

    def put(self, out, n_in):
        self._writer.write(out, n_in)

    def finish(self):
        pass

    def stop(self, drain):
        self._items.close()
        return True


class _Threaded:
    """Read the next chunk and write the previous outputs in two threads while the
    caller computes: queues of one item, so at most three input chunks (one parsed
    ahead, one queued, one computed) and two of outputs are held at a time.

    The function runs in the calling thread, which receives Ctrl-C and SIGTERM
    and keeps its thread-local settings (``progress_disabled``, ...). An error
    in a thread is raised in the caller at its next wait, within ``_POLL_S``.
    """

    def __init__(self, items, writer):
        self._items = items
        self._writer = writer
        self._stop = threading.Event()  # the reader stops
        self._abort = threading.Event()  # the writer stops without writing what is queued
        self._inbox = queue.Queue(maxsize=1)
        self._outbox = queue.Queue(maxsize=1)
        self._error = []
        self._reader = threading.Thread(target=self._read, name="skempathy-read", daemon=True)
        self._writing = threading.Thread(target=self._write, name="skempathy-write", daemon=True)
        self._reader.start()
        self._writing.start()

    # -- threads
    def _offer(self, item):
        """Queue ``item`` for the caller; False if the caller stopped meanwhile."""
        while not self._stop.is_set():
            try:
                self._inbox.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _read(self):
        try:
            for item in self._items:
                if not self._offer(item):
                    return
        except BaseException as exc:  # given to the caller, raised there
            self._offer(("error", exc, None))
        finally:
            self._items.close()

    def _write(self):
        try:
            while True:
                item = self._outbox.get()
                if item is None or self._abort.is_set():
                    return
                self._writer.write(*item)
        except BaseException as exc:
            self._error.append(exc)

    # -- the caller's side
    def _check(self):
        if self._error:
            raise self._error[0]

    def get(self):
        while True:
            self._check()
            try:
                item = self._inbox.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if item[0] == "error":
                raise item[1]
            return item

    def put(self, out, n_in):
        while True:
            self._check()
            try:
                self._outbox.put((out, n_in), timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def _close_writer(self):
        while self._writing.is_alive():
            try:
                self._outbox.put(None, timeout=_POLL_S)
                break
            except queue.Full:
                continue
        self._writing.join()

    def finish(self):
        """Wait until every output is written."""
        self._close_writer()
        self._check()

    def stop(self, drain):
        """Stop both threads, writing what is queued first if ``drain``; True once the
        writer has stopped (a second interrupt may cut the wait short)."""
        self._stop.set()
        if not drain:
            self._abort.set()
        try:
            self._close_writer()
        except KeyboardInterrupt:
            pass
        return not self._writing.is_alive()


def _resume_writer(output, input, chunk_size, fingerprint, restart, notify):
    if output is None:
        raise ValueError("resume needs an output file: standard output cannot be resumed")
    return _ResumableWriter(
        output,
        input=input,
        chunk_size=chunk_size,
        fingerprint=fingerprint,
        restart=restart,
        notify=notify,
    )


def map_table(
    function,
    input,
    output=None,
    *,
    chunk_size=10_000,
    show_progress=True,
    desc="rows",
    overlap=True,
    resume=False,
    restart=False,
    fingerprint=None,
    notify=None,
):
    """Stream a table through ``function`` chunk by chunk and write the results.

    Reading and parsing the next chunk, ``function`` on the current one and
    writing the previous outputs overlap (two helper threads and queues of
    one chunk): memory stays bounded by about three chunks whatever the size
    of the file. ``function`` itself runs in the calling thread, so Ctrl-C
    stops it at once and an error in any stage is raised as it was.

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
        Rows per chunk.
    show_progress : bool, default=True
        A progress bar of the rows done, with their rate and the time left
        (the number of rows is estimated from the bytes read so far), drawn
        only on a terminal or in Jupyter.
    desc : str, default="rows"
        Label of the progress bar.
    overlap : bool, default=True
        Read, compute and write in a pipeline of threads. False: one after the
        other in the calling thread (the same output).
    resume : bool, default=False
        Make the output resumable (``output`` must be a file). The rows go to
        ``.<name>.partial`` beside ``output``, and a record
        ``.<name>.resume.json`` (the input's path, size, modification time and
        the digest of its first MiB, ``chunk_size``, ``fingerprint``, the
        chunks and rows done and the byte offset where they end) follows
        every chunk written. An interrupt (Ctrl-C, SIGTERM), or a killed
        process, leaves both; a later call with the same input, chunk size and
        fingerprint truncates the partial file to the recorded offset and
        goes on after the last complete chunk, without calling ``function``
        on the chunks done: the output is then byte for byte that of an
        uninterrupted run. A record that does not fit starts over (through
        ``notify``). An error removes both files; success renames the partial
        file onto ``output`` and removes the record.
    restart : bool, default=False
        With ``resume``: ignore the state an interrupted run left and start
        from the first row.
    fingerprint : JSON-serialisable, default=None
        What else the output depends on (the model's digest, options), kept
        in the record: a later call with another fingerprint starts over. A
        dict names what changed.
    notify : callable, default=None
        ``notify(message)`` for one-line notices (resuming, starting over,
        rows kept on an interrupt); None: no notices.

    Returns
    -------
    int
        Number of rows written (with ``resume``, those of earlier runs too).

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
    _check_input(input, chunk_size)
    size = os.path.getsize(input)
    if resume:
        writer = _resume_writer(output, input, chunk_size, fingerprint, restart, notify)
    else:
        writer = _ChunkWriter(output)
    done = writer.chunks  # chunks an interrupted run wrote
    stages = None
    finished = kept = False
    try:
        items = _table_items(input, chunk_size)
        stages = (_Threaded if overlap else _Inline)(items, writer)
        with progress_bar(
            desc=desc, unit="row", enabled=show_progress, initial=writer.rows_in
        ) as bar:
            seen = index = 0  # input rows and chunks read
            while True:
                kind, chunk, position = stages.get()
                if kind == "end":
                    rows_read = chunk
                    break
                seen += len(chunk)
                index += 1
                if index <= done:  # its outputs are in the file already
                    continue
                stages.put(function(chunk), len(chunk))
                if position < size:  # rows in the file, estimated from the bytes read
                    bar.total = max(round(seen * size / max(position, 1)), seen)
                bar.update(len(chunk))
            stages.finish()
            bar.total = bar.n
            bar.refresh()
        if rows_read == 0:
            raise ValueError(f"input file has no rows: {input}")
        if index < done:
            raise ValueError(
                f"{input} has fewer chunks ({index}) than an interrupted run wrote ({done})"
            )
        writer.commit()
        finished = True
    except KeyboardInterrupt:
        if writer.resumable:  # what is computed is written, then kept
            kept = True
            if stages is None or stages.stop(drain=True):
                writer.keep(notify)
            # else a second interrupt cut the wait short: the record says what is complete
        raise
    finally:
        if not finished:
            if stages is not None:
                stages.stop(drain=False)
            if not kept:
                writer.discard()
    return writer.rows
