"""The batch-scoring process: reads one request on stdin, scores a file chunk by chunk, reports JSON lines.

It runs the model's task code, so it is a process of its own, never the
engine's: a task that prints, raises or dies cannot take the command with it.
Each node is loaded once (nodes of a Docker environment in a container of its
image, removed at the end, and nodes whose task has requirements in a worker of
their venv or image); chunks are read, scored and appended to the output.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time

from core.runtime import protocol
from core.runtime.errors import BadInput

_CONTROL = None


def send(message: dict) -> None:
    _CONTROL.write(json.dumps(message, default=str) + "\n")
    _CONTROL.flush()


def chunks(path: str, size: int, encoding: str | None = None):
    """(frame, done, total) per chunk of a CSV or Parquet file; done/total in bytes (CSV) or rows (Parquet).

    CSV text is read under the same encoding policy as every other reader (`core.runtime.textfile.csv_encoding`).
    """
    import pandas as pd

    from core.runtime.textfile import check_header, csv_encoding, open_raw, undecodable

    lower = path.lower()
    if lower.endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        total, done = parquet.metadata.num_rows, 0
        for batch in parquet.iter_batches(batch_size=size):
            frame = batch.to_pandas()
            done += len(frame)
            yield frame, done, total
        return
    total = os.path.getsize(path)
    chosen = csv_encoding(path, encoding)
    check_header(path, chosen)
    with open(path, "rb") as raw, open_raw(path, raw) as fh:  # progress by the (compressed) file's position
        try:
            reader = pd.read_csv(fh, chunksize=size, encoding=chosen, low_memory=False)
            for frame in reader:
                yield frame, min(raw.tell(), total), total
        except pd.errors.EmptyDataError:
            raise BadInput(f"input file {path} is empty; give a CSV with a header row and data.") from None
        except pd.errors.ParserError as exc:
            raise BadInput(f"input file {path} is not valid CSV: {str(exc).strip()}.") from None
        except UnicodeDecodeError as exc:
            raise undecodable(path, chosen, exc) from None


class ReadAhead:
    """The items of an iterator, produced by a thread started now and kept one ahead of the consumer: the first
    chunk is read while the model loads, the next while this one is scored and written (pandas' parser tokenizes
    without the GIL, which matters on a machine with a core to spare). The thread's exceptions are raised to the
    consumer in order; `close` stops it."""

    _END = object()

    def __init__(self, items):
        import queue
        import threading

        self._box: queue.Queue = queue.Queue(1)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._produce, args=(items,), daemon=True, name="read-ahead")
        self.thread.start()

    def _produce(self, items) -> None:
        import queue

        try:
            for item in items:
                while True:
                    if self._stop.is_set():
                        return
                    try:
                        self._box.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
            self._box.put((self._END, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            self._box.put((self._END, exc))

    def __iter__(self):
        return self

    def __next__(self):
        item, exc = self._box.get()
        if exc is not None:
            raise exc
        if item is self._END:
            self._box.put((item, None))  # a later next() ends too
            raise StopIteration
        return item

    def close(self) -> None:
        self._stop.set()


class Writer:
    """Appends scored chunks to a CSV or Parquet file written under a temporary name, renamed when complete."""

    def __init__(self, path: str):
        self.path = path
        self.tmp = f"{path}.tmp-{os.getpid()}"
        self.parquet = path.lower().endswith((".parquet", ".pq"))
        self._writer = None
        self._schema = None
        self._fh = None

    def write(self, frame) -> None:
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
            if self._writer is None:
                self._schema = table.schema
                self._writer = pq.ParquetWriter(self.tmp, self._schema)
            self._writer.write_table(table)
            return
        from core.deploy.csvio import write_csv

        first = self._fh is None
        if first:
            self._fh = open(self.tmp, "w", newline="", encoding="utf-8")
        write_csv(frame, self._fh, header=first)

    def finish(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._fh is not None:
            self._fh.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        for closer in (self._writer, self._fh):
            try:
                if closer is not None:
                    closer.close()
            except Exception:  # noqa: BLE001 - cleanup after a failure must not hide it
                pass
        try:
            os.unlink(self.tmp)
        except OSError:
            pass


def _builtin_only(plan: dict) -> bool:
    """Whether every node of `plan` is one of taskbench's own built-in tasks (found where this checkout keeps them)."""
    from core.runtime.serving import BUILTIN_TASKS

    return all(os.path.realpath(n["task_dir"]).startswith(BUILTIN_TASKS + os.sep) for n in plan["nodes"])


@contextlib.contextmanager
def _collector_off(off: bool):
    """With `off`, the garbage collector paused while taskbench's own tasks load (scikit-learn's imports: ~0.1 s of
    collections that find nothing), and what they loaded frozen, out of later collections' way. Task code of any
    other kind loads with the collector on, whatever garbage it makes."""
    import gc

    if not off:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def score_file(req: dict) -> dict:
    """Score `req["input"]` into `req["output"]`; returns a summary (rows, seconds)."""
    from core.runtime.serving import PlanScorer, output_frame, unreadable_sentence

    started = time.perf_counter()
    include = req.get("include") or []
    frames = ReadAhead(chunks(req["input"], int(req.get("chunk_size") or 50_000), req.get("encoding")))
    workers = None
    try:
        if req.get("images"):
            from core.deploy.workers import worker_factory

            workers = worker_factory(req["images"], req["plan"], req["model_dir"])  # task output joins the log stream
        with _collector_off(_builtin_only(req["plan"])):
            scorer = PlanScorer(req["plan"], req["model_dir"], req.get("scratch_dir"), workers=workers)
    except BaseException:
        frames.close()
        raise
    writer = Writer(req["output"])
    rows = 0
    unreadable: dict[str, list] = {}  # column -> [count, first example], over all chunks
    try:
        for frame, done, total in frames:
            absent = [c for c in include if c not in frame.columns]
            if absent:
                raise BadInput(f"--include-input names column(s) {', '.join(map(repr, absent))} that the input lacks.")
            out = output_frame(scorer, scorer.score(frame))
            for column, count, example in scorer.unreadable:
                seen = unreadable.setdefault(column, [0, example])
                seen[0] += count
            if include:
                kept = frame[include].reset_index(drop=True)
                out = kept.join(out, rsuffix=" (prediction)")
            writer.write(out)
            rows += len(frame)
            send(protocol.progress(rows, done, total))
        if rows == 0:
            raise BadInput(f"input file {req['input']} has a header but no rows to score.")
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    finally:
        frames.close()
        scorer.close()
    warnings = [unreadable_sentence(c, n, example) for c, (n, example) in unreadable.items()]
    return {"rows": rows, "seconds": time.perf_counter() - started, "warnings": warnings}


def _interrupted(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> None:
    global _CONTROL
    _CONTROL = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # what tasks print joins the log stream, never the control channel
    sys.stdout = sys.stderr
    signal.signal(signal.SIGTERM, _interrupted)  # the command was interrupted: unwind, so containers are removed
    from core.runtime.sessions import become_subreaper

    become_subreaper()  # task code that forks and setsid()s still comes back under us, and ends with us
    import gc

    gc.disable()  # our imports (pandas, pyarrow) leave no garbage worth a collection: ~0.1 s of CPU spent finding none
    try:  # import what scoring needs while the command still opens the workspace (it may start us early)
        import pyarrow.parquet  # noqa: F401

        import core.runtime.serving  # noqa: F401
    except ImportError:
        pass
    gc.freeze()  # what they loaded lives as long as we do: later collections need not look at it again
    gc.enable()  # task code loads and scores with the collector on, as anywhere
    line = sys.stdin.readline()
    if not line.strip():
        os._exit(0)  # started ahead by a command that ended before it needed us
    req = json.loads(line)
    if req.get("scratch_dir"):
        os.chdir(req["scratch_dir"])  # what a task writes to a relative path lands in the scratch folder
    try:
        if req.get("home"):  # started ahead of the command's open: a shared workspace's umask (and Docker's group)
            from pathlib import Path

            from core import workspace

            workspace.enter(Path(req["home"]))
        send(protocol.finished(**score_file(req)))
    except KeyboardInterrupt:
        sys.stderr.flush()
        _end(130)
    except BadInput as exc:  # input the user can fix: one sentence, no traceback
        send(protocol.error(protocol.USAGE, exc.message))
    except Exception as exc:  # noqa: BLE001 - every failure reaches the command as one sentence
        import traceback

        from core.runtime.errors import StepFailure

        traceback.print_exc()
        if isinstance(exc, StepFailure):
            send(protocol.error(exc.kind, exc.message, exc.details))
        else:
            send(protocol.error(protocol.CRASH, f"scoring failed: {type(exc).__name__}: {exc}"))
    sys.stderr.flush()
    _end(0)


def _end(code: int) -> None:
    """Exit after killing whatever task code left running below us (a subreaper sees even setsid'd grandchildren)."""
    from core.runtime.sessions import kill_descendants, reap_children

    kill_descendants(os.getpid())
    reap_children()
    os._exit(code)


if __name__ == "__main__":
    main()
