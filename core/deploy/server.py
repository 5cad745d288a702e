"""The prediction server (SPEC §9): DRUM's HTTP routes over a deployment's model, on Starlette and Uvicorn.

The server process loads every node of the model once at start and runs the
python-local nodes' scoring code itself (nodes of a Docker environment score
in a container it starts): it is a separate process from the engine and the
CLI, so a task's fault ends a server, never the workspace.
Scoring runs on the event loop, one request at a time, so task code never runs
in two threads at once; small CSV bodies are parsed without pandas' CSV reader,
and bodies past SPOOL_BYTES wait in a temporary file and are parsed and scored
in chunks, so memory stays a small multiple of a chunk, not of the body. A small
POST /predict/ that came whole in one read is answered by the connection's
protocol without the ASGI layers (`Counted.fast`).
A client's mistake is a 4xx with one sentence; a client that leaves mid-body is
counted apart (`aborted`); connections have header, body and keep-alive
timeouts and a cap (`protocol.GuardedProtocol`).

Routes (as DRUM's server): POST /predict/ (also /predictions/ and /invocations;
CSV body, multipart file field `X`, or JSON `{"columns": [...], "data": [[...]]}`
or a list of records) answers `{"predictions": [...]}`, numbers for regression
and anomaly, one {label: probability} object per row for classification. POST
/transform/ answers `{"transformations": "<CSV>", "out.format": "csv"}`. GET
/ping, /health/, /info/ (DRUM's camelCase keys beside taskbench's),
/capabilities/ and /stats/.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .. import settings
from ..errors import UsageError
from ..runtime import contract
from ..runtime.errors import StepFailure

MAX_BODY = 50 * 1024 * 1024
FAST_CSV_BYTES = 64 * 1024
ACCESS_SECONDS = 1.0  # how long a shared workspace's answer to "may the server's user still use it" is reused


class BadRequest(Exception):
    """A request the client must fix: a status and one sentence (`close`: end the connection after the answer)."""

    def __init__(self, status: int, message: str, close: bool = False):
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close


@dataclass
class ServeConfig:
    home: str
    deployment: str
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    token: str | None = None
    token_hash: str | None = None  # what worker processes get instead of the token (their environment carries it)
    header_timeout: float = 10.0  # seconds for a connection to send its request headers
    body_timeout: float = 30.0  # seconds a request body may stop arriving
    keep_alive: float = 5.0  # seconds an idle keep-alive connection stays open
    max_connections: int = 256  # open connections per server process; more get a 503
    run: str | None = None  # set by the parent of several worker processes, so that all share one run
    counts_dir: str | None = None  # where those processes keep their shared request counters
    code_dir: str | None = None  # serve a fitted folder instead of a deployment (`drum server --code-dir`)
    target_type: str | None = None  # with code_dir: the target type, and the class labels for classification
    class_labels: list | None = None


class Served:
    """Everything one server process holds: the model's nodes, the training facts, the monitor."""

    def __init__(self, config: ServeConfig):
        import numpy as np
        import pandas as pd

        from .. import workspace
        from ..store import open_store
        from ..store.deployment_rows import token_digest
        from ..training.engine import get_model
        from .deployments import get_deployment
        from .monitor import Monitor
        from .source import deployed_source
        from .workers import drop_private_environment, open_scorer

        # Read before drop_private_environment clears taskbench's variables from this process.
        self.monitor_seconds = settings.MONITOR_SECONDS.get()
        if config.code_dir:
            self._from_folder(config)
            return
        self.store = open_store(config.home)
        self.deployment = get_deployment(self.store, config.deployment)
        self.user = workspace.current_user()  # before drop_private_environment: the server acts as this user
        self._access_until, self._refusal = 0.0, None
        self.source = deployed_source(self.store, self.deployment)
        self.token_hash = (config.token_hash or (token_digest(config.token) if config.token else None)
                           or self.deployment.token_hash)
        self.scratch = workspace.scratch_dir(self.store.root, "serve")
        # Docker nodes in containers, stopped by close(); local task code loads here, without taskbench's variables
        self.scorer = open_scorer(self.store, self.source, str(self.scratch), before_load=drop_private_environment)
        _, project = get_model(self.store, self.deployment.model_id)
        frame = pd.read_parquet(project.data_path)
        parts = np.load(project.partition_path)
        training = frame.iloc[np.flatnonzero(np.isin(parts, self.source.plan["fit_folds"]))]
        features = self.scorer.features
        self.features = tuple(features)
        self.numeric = {c for c in features if c in training.columns and pd.api.types.is_numeric_dtype(training[c])
                        and not pd.api.types.is_bool_dtype(training[c])}
        self.infer_types = False
        self.monitor = Monitor(training, features)
        self.counts_dir = config.counts_dir
        if config.counts_dir:
            from .monitor import SharedCounts

            self.monitor.shared = SharedCounts(config.counts_dir)
        labels = self.source.info.get("class_labels")
        # Labels as the predictions name them (JSON object keys are strings), so clients can match the two.
        self.info = {**self.source.info, "deployment": self.deployment.name,
                     "class_labels": [str(c) for c in labels] if labels is not None else None}
        final = next(n for n in self.source.plan["nodes"] if n["name"] == self.source.plan["final"])
        self.info.update(drum_info(self.info, final.get("task_dir") or self.source.model_dir))
        self.run = config.run or f"{os.getpid()}-{int(time.time())}"
        self.started_at = _now()
        self._stop = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, daemon=True)
        self._flusher.start()

    def _from_folder(self, config: ServeConfig) -> None:
        """Serve a fitted folder, as `drum server --code-dir` does: the one-node plan of `taskbench score`, columns
        as each request sends them, no drift baseline, and monitoring kept in memory only (nothing in the workspace)."""
        from types import SimpleNamespace

        from .. import workspace
        from ..store.deployment_rows import token_digest
        from ..tasks.score import ScoreOptions
        from .monitor import Monitor
        from .source import folder_scorer, folder_source
        from .workers import drop_private_environment

        labels = list(config.class_labels or [])
        opts = ScoreOptions(code_dir=Path(config.code_dir), input=Path(), target_type=config.target_type,
                            class_labels=labels or None)
        self.store = None
        self.deployment = SimpleNamespace(name=None, id=None)
        self.scratch = workspace.scratch_dir(workspace.home(Path(config.home)), "serve")
        try:
            self.source = folder_source(opts, self.scratch / "model")
            drop_private_environment()
            self.scorer = folder_scorer(self.source, str(self.scratch))
        except BaseException:
            import shutil

            shutil.rmtree(self.scratch, ignore_errors=True)
            raise
        self.token_hash = config.token_hash or (token_digest(config.token) if config.token else None)
        self.read_input = self.scorer.input_reader()  # DRUM's read_input_data: decided once, here
        if self.read_input is not None:
            self.frames = self.hook_frames  # a task without it keeps the CSV/JSON readers, at no cost per request
        self.features = ()
        self.numeric = set()
        self.infer_types = True  # no training schema: columns are typed by what each request holds, as read_csv does
        self.monitor = Monitor()
        self.counts_dir = None
        labels = self.source.info.get("class_labels")
        self.info = {**self.source.info, "class_labels": [str(c) for c in labels] if labels is not None else None}
        self.info.update(drum_info(self.info, self.info["code_dir"]))
        self.run = f"{os.getpid()}-{int(time.time())}"
        self.started_at = _now()
        self._stop = threading.Event()

    def hook_frames(self, body: "Body", kind: str, charset: str | None):
        """`frames` for a fitted folder whose task defines read_input_data: the body's bytes (a multipart request's
        file X), whatever their type, go to the hook whole, as DRUM hands them over; its rows are scored as one frame."""
        yield self.read_input(body.data if body.file is None else body.file.read()), 0

    def refusal(self) -> str | None:
        """Why the user who started this server may no longer use its deployment (the share taken back, or the
        deployment deleted), re-read at most once per ACCESS_SECONDS; always None in a private workspace, where
        nothing can take it away and requests pay nothing for the check."""
        if self.store is None or self.store.sharing is None:
            return None
        now = time.monotonic()
        if now >= self._access_until:
            self._refusal = self._access_refusal()
            self._access_until = now + ACCESS_SECONDS
        return self._refusal

    def _access_refusal(self) -> str | None:
        from ..sharing import access

        name = self.deployment.name
        try:
            found = self.store.deployment(name)
            if found is None or found.id != self.deployment.id:
                return f"the deployment {name!r} was deleted, so this server no longer scores with it; stop it."
            if access(self.store, self.user, "deployment", name) != "none":
                return None
            owner = self.store.owner("deployment", name)
        except Exception:  # noqa: BLE001 - a busy workspace keeps the last answer rather than failing requests
            return self._refusal
        return (f"{self.user}, who started this server, may no longer use the deployment {name!r}: {owner} took back "
                f"the share; ask {owner} to run: taskbench share deployment {name} {self.user} --role read.")

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.monitor_seconds):
            self.flush()

    def flush(self) -> None:
        if self.store is None:  # a fitted folder's server keeps its monitor in memory only
            return
        try:
            self.store.save_monitor(self.deployment.id, self.run, os.getpid(), self.started_at, self.monitor.snapshot())
        except Exception:  # noqa: BLE001 - monitoring must never stop the server; the next flush retries
            pass

    def close(self) -> None:
        """Stop monitoring (after a last write), the scorer and its containers; a second call does nothing."""
        import shutil

        if self._stop.is_set():
            return
        self._stop.set()
        self.flush()
        self.scorer.close()
        shutil.rmtree(self.scratch, ignore_errors=True)
        if self.store is not None:
            self.store.close()

    def stats(self) -> dict:
        """What /stats/ answers: this process's monitor, or with several worker processes their exact sums.

        Drift of sibling processes comes from their last stored snapshot (every TASKBENCH_MONITOR_SECONDS).
        """
        own = self.monitor.snapshot()
        if not self.counts_dir:
            return own
        from .monitor import SharedCounts, merge_snapshots

        try:
            others = [row for row in self.store.latest_monitor(self.deployment.id)
                      if row.get("run") == self.run and row.get("worker") != os.getpid()]
        except Exception:  # noqa: BLE001 - a busy workspace must not fail /stats/
            others = []
        drift = merge_snapshots([own] + others).get("drift") if others else own.get("drift")
        return {"uptime_seconds": own["uptime_seconds"], **SharedCounts.total(self.counts_dir), "drift": drift}

    # ---------------------------------------------------------------- reading rows

    def frames(self, body: "Body", kind: str, charset: str | None):
        """The rows of a body as (frame, rows before it) pairs: one frame, or chunks of a CSV body kept in a file."""
        if kind == "application/json":
            yield self.parse_json(body.data if body.file is None else body.file.read()), 0
            return
        encoding = body_encoding(body.head(4), charset)
        if body.nul >= 0 and not encoding.startswith(("utf-16", "utf-32")):
            raise nul_in_text(body)
        if body.file is None:
            yield self.parse_csv(body.data, encoding), 0
            return
        done = 0
        for frame in csv_chunks(body.file, encoding):
            yield frame, done
            done += len(frame)
        if not done:
            raise BadRequest(400, "the CSV body has a header but no rows to score.")

    def parse_csv(self, body: bytes, encoding: str = "utf-8-sig"):
        """A CSV body held in memory as one frame (a small one without pandas' reader)."""
        import pandas as pd

        if not body.strip():
            raise BadRequest(400, "the request body is empty; send CSV rows with a header row.")
        if len(body) <= FAST_CSV_BYTES:
            text = decoded(body, encoding)
            if not text.strip():
                raise BadRequest(400, "the request body is empty; send CSV rows with a header row.")
            frame = self._small_csv(text)
            if frame is not None:
                return frame
            source, encoding = io.StringIO(text), None
        else:
            check_header(decoded(body[:HEAD_BYTES], encoding, partial=True))
            source, text = io.BytesIO(body), None
        frame = read_csv(lambda: pd.read_csv(source, encoding=encoding, low_memory=False), encoding, text)
        if frame.empty:
            raise BadRequest(400, "the CSV body has a header but no rows to score.")
        return frame

    def _small_csv(self, text: str):
        """A small CSV as a frame without pandas' reader (None to fall back to it): a millisecond less per request.

        With a training schema, the frame holds just the model's features in training order, numeric ones as float64;
        a fitted folder's columns are typed as pandas' reader would (int64, float64) and anything else goes to it."""
        try:
            rows = csv_rows(text)
        except csv.Error:  # e.g. lines ended by a lone carriage return: pandas' reader reads them
            return None
        while rows and not rows[-1]:
            rows.pop()
        if not rows:
            return None
        header, data = rows[0], rows[1:]
        if len(set(header)) != len(header):
            check_header(header)
        if not data:
            raise BadRequest(400, "the CSV body has a header but no rows to score.")
        if any(not name for name in header):
            return None
        width = len(header)
        for i, row in enumerate(data, start=2):
            if len(row) != width:
                if self.infer_types:
                    return None  # pandas' reader says what it makes of it, as for any body a fitted folder gets
                opened = unclosed_quote(text) if '"' in text else None
                if opened is not None:
                    raise BadRequest(400, unclosed_sentence(opened))
                raise BadRequest(400, f"the CSV body is malformed: line {i} has {len(row)} fields but the header has {width}.")
        if self.infer_types:
            return typed_frame(header, data)
        import numpy as np

        position = {name: j for j, name in enumerate(header)}
        names = self.features if all(name in position for name in self.features) else header
        nan = float("nan")
        if all(name in self.numeric for name in names):  # every column a number: one float64 block, as the reader's
            try:
                block = np.array([nan if row[position[name]] in MISSING_WORDS else float(row[position[name]])
                                  for name in names for row in data], dtype="float64").reshape(len(names), len(data))
            except ValueError:
                return None  # let pandas decide what the columns hold
            return blocks_frame(names, [(block, range(len(names)))], len(data))
        arrays = []
        for name in names:
            j = position[name]
            values = [row[j] for row in data]
            if name in self.numeric:
                try:
                    arrays.append(np.array([nan if v in MISSING_WORDS else float(v) for v in values], dtype="float64"))
                except ValueError:
                    return None  # let pandas decide what this column holds
            else:
                arrays.append(text_array([None if v in MISSING_WORDS else v for v in values]))
        return frame_of(names, arrays, len(data))

    def parse_json(self, body: bytes):
        import pandas as pd

        shapes = 'send JSON as {"columns": [...], "data": [[...], ...]} or as a list of records'
        try:
            doc = json.loads(body, object_pairs_hook=unique_keys)
        except RecursionError:
            raise BadRequest(400, f"the JSON body is nested too deeply to be a table; {shapes}.") from None
        except ValueError as exc:
            raise BadRequest(400, f"the JSON body is malformed: {exc}.") from None
        try:
            if isinstance(doc, dict) and "data" in doc:
                columns = doc.get("columns")
                if isinstance(columns, list):
                    check_header([str(c) for c in columns], "the JSON \"columns\" list")
                frame = pd.DataFrame(doc["data"], columns=columns)
            elif isinstance(doc, list) and all(isinstance(r, dict) for r in doc):
                frame = pd.DataFrame.from_records(doc)
            else:
                raise BadRequest(400, f"{shapes}.")
        except (ValueError, TypeError, RecursionError, OverflowError) as exc:
            raise BadRequest(400, f"the JSON rows do not form a table: {first_line(exc)}.") from None
        if frame.empty:
            raise BadRequest(400, "the JSON body has no rows to score.")
        for name in frame.columns[frame.dtypes == object]:
            nested = next((v for v in frame[name] if isinstance(v, (list, dict))), None)
            if nested is not None:
                raise BadRequest(400, f"column {str(name)!r} holds a JSON {'list' if isinstance(nested, list) else 'object'}; "
                                      "each cell must be a number, a string or null.")
        return frame

    # ---------------------------------------------------------------- scoring

    def score(self, frame, before: int = 0):
        """The scorer's output for `frame`; when the model fails on numbers too large for a float (inf, 1e309,
        10**400), that is the client's to fix: a 422 naming the column and row, not a 500."""
        try:
            return self.scorer.score(frame)
        except Exception as exc:
            from ..runtime import protocol

            if not isinstance(exc, (StepFailure, OverflowError)) or getattr(exc, "kind", None) == protocol.USAGE:
                raise
            found = self.infinite(frame, before)
            if found:
                raise BadRequest(422, f"the model cannot score infinite numbers: {found}; send finite numbers, "
                                      "or an empty cell for a missing value.") from None
            if isinstance(exc, OverflowError):
                raise BadRequest(422, f"a number in the rows is too large to score ({exc}).") from None
            raise

    def infinite(self, frame, before: int = 0) -> str | None:
        """Where the numeric columns of `frame` hold numbers too large for a 64-bit float (inf, 1e309, 10**400)."""
        import numpy as np

        for name in dict.fromkeys([*self.scorer.numeric, *sorted(self.numeric)]):
            if name not in frame.columns or frame[name].dtype.kind in "biu":
                continue
            column = frame[name]
            if column.dtype.kind == "f":
                values = column.to_numpy()
            else:
                values = np.array([as_float(v) for v in column], dtype="float64")
            bad = np.flatnonzero(np.isinf(values))
            if bad.size:
                shown = str(column.iloc[bad[0]])
                shown = repr(shown) if len(shown) <= 24 else f"'{shown[:12]}…' ({len(shown)} characters)"
                return f"column {str(name)!r} holds {bad.size:,} value(s) too large for a 64-bit float (like {shown} in row {before + bad[0] + 1:,})"
        return None


SPOOL_BYTES = 1024 * 1024  # bodies past this wait in a temporary file, then are parsed and scored in chunks
CHUNK_BYTES = 4 * 1024 * 1024  # of CSV text parsed and scored at a time
HEAD_BYTES = 256 * 1024


class Body:
    """A request body: bytes in memory, or past SPOOL_BYTES a temporary file in the server's scratch folder.

    `nul` is the offset of its first NUL byte (-1 for none), found as the bytes arrive: text has none unless it is
    UTF-16 or UTF-32."""

    def __init__(self, scratch: str):
        self.scratch = scratch
        self.size = 0
        self.nul = -1
        self.file = None
        self._chunks: list[bytes] = []
        self._closers: list = []

    def add(self, chunk: bytes) -> None:
        if self.nul < 0:
            at = chunk.find(b"\0")
            if at >= 0:
                self.nul = self.size + at
        self.size += len(chunk)
        if self.file is not None:
            self.file.write(chunk)
            return
        self._chunks.append(chunk)
        if self.size > SPOOL_BYTES:
            import tempfile

            self.file = tempfile.TemporaryFile(dir=self.scratch, prefix="body-")  # unlinked at once: never left behind
            self._closers.append(self.file)
            for piece in self._chunks:
                self.file.write(piece)
            self._chunks = []

    def finish(self) -> "Body":
        if self.file is not None:
            self.file.seek(0)
        return self

    @property
    def data(self) -> bytes:
        if len(self._chunks) > 1:
            self._chunks = [b"".join(self._chunks)]
        return self._chunks[0] if self._chunks else b""

    def head(self, n: int) -> bytes:
        if self.file is None:
            return self.data[:n]
        at = self.file.tell()
        self.file.seek(0)
        try:
            return self.file.read(n)
        finally:
            self.file.seek(at)

    def blank(self) -> bool:
        if self.file is None:
            return not self.data.strip()
        return not self.head(HEAD_BYTES).strip() and self.size <= HEAD_BYTES

    def pieces(self, size: int = 64 * 1024):
        """The body again, in pieces (to replay it to the multipart parser)."""
        if self.file is None:
            data = self.data
            for at in range(0, len(data), size):
                yield data[at:at + size]
            return
        self.file.seek(0)
        while piece := self.file.read(size):
            yield piece

    @classmethod
    def of_file(cls, scratch: str, fh, size: int) -> "Body":
        """A body over an open file (a multipart part): read in memory when small, else read in chunks from it."""
        body = cls(scratch)
        fh.seek(0)
        if size <= SPOOL_BYTES:
            body._chunks = [fh.read()]
            body.size, body.nul = len(body._chunks[0]), body._chunks[0].find(b"\0")
            return body
        done = 0
        while body.nul < 0 and (piece := fh.read(1024 * 1024)):
            at = piece.find(b"\0")
            body.nul = done + at if at >= 0 else -1
            done += len(piece)
        fh.seek(0)
        body.file, body.size = fh, size
        return body

    def keep(self, closer) -> None:
        self._closers.append(closer)

    def close(self) -> None:
        for closer in self._closers:
            try:
                closer.close()
            except Exception:  # noqa: BLE001 - closing a temporary file must not hide the answer
                pass
        self._closers, self._chunks = [], []


def body_encoding(head: bytes, charset: str | None) -> str:
    """The encoding to read a CSV body in: the Content-Type's charset, else UTF-16 by its byte order mark, else UTF-8."""
    import codecs

    if charset:
        try:
            name = codecs.lookup(charset).name
        except LookupError:
            raise BadRequest(400, f"the Content-Type names charset {charset[:40]!r}, which is not a known encoding; "
                                  "send UTF-8 (text/csv; charset=utf-8).") from None
        return "utf-8-sig" if name == "utf-8" else name
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"


def decoded(data: bytes, encoding: str, partial: bool = False) -> str:
    if partial:
        return data.decode(encoding, errors="replace")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise not_text(exc, encoding) from None


def not_text(exc: UnicodeDecodeError, encoding: str) -> BadRequest:
    shown = "UTF-8" if encoding.startswith("utf-8") else encoding
    return BadRequest(400, f"the CSV body is not {shown} text (it holds byte 0x{exc.object[exc.start:exc.start + 1].hex()}); "
                           "send UTF-8, or name its encoding in the header 'Content-Type: text/csv; charset=latin-1'.")


def nul_in_text(body: Body) -> BadRequest:
    """The answer to CSV rows holding a NUL byte, which CSV text in UTF-8 never holds: binary data, UTF-16/32 text without a
    byte order mark (whose header pandas would read as names with NULs in them, none the model's), or a stray NUL."""
    from ..runtime.textfile import BINARY_DATA, nul_reading, stray_nul

    reading = nul_reading(body.head(HEAD_BYTES))
    where = f"it holds a NUL byte at offset {body.nul}"
    if reading == BINARY_DATA:
        return BadRequest(400, f"the CSV body is binary data, not text ({where}); send the rows as CSV text in UTF-8.")
    if reading is not None:
        return BadRequest(400, f"the CSV body is not UTF-8 text ({where}; probably {reading.upper()} without a byte "
                               f"order mark); send UTF-8, or name its encoding in the header 'Content-Type: text/csv; "
                               f"charset={reading}'.")
    return BadRequest(400, stray_nul("the CSV body", body.nul, "send the rows as CSV text in UTF-8"))


try:  # the words pandas' reader reads as a missing value ("", "NA", "None", "null", …), as batch predict reads them
    from pandas._libs.parsers import STR_NA_VALUES as MISSING_WORDS
except ImportError:  # a pandas without it
    MISSING_WORDS = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                               "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})
def csv_rows(text: str) -> list:
    """The rows `csv.reader` reads from `text` (raising csv.Error as it does): when nothing can be quoted (no '"', no
    NUL, a carriage return only before a line feed) the lines split at commas, which reads the same ~3x faster."""
    if '"' in text or "\0" in text or text.count("\r") != text.count("\r\n"):
        return list(csv.reader(io.StringIO(text)))
    lines = text.split("\n")
    if not lines[-1]:  # the text ends with a line end
        lines.pop()
    return [(line[:-1] if line[-1:] == "\r" else line).split(",") if line not in ("", "\r") else [] for line in lines]


# A cell pandas' reader reads as a plain number: group 1 an int64 (an optional '-' and 1 to 18 ASCII digits), else a
# float (digits with a '.' or an exponent of at most 3 digits), or nothing at all (a missing value).
_PLAIN_CELL = re.compile(r"(-?[0-9]{1,18})|-?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]{1,3})?|-?[0-9]+[eE][-+]?[0-9]{1,3}|")


def typed_frame(header: list, data: list):
    """Rows of plain numbers as the frame pandas' reader makes of them (int64 columns, float64 ones with an empty
    cell as NaN); None when any cell holds something else, which pandas' reader then reads."""
    import numpy as np

    match, kinds = _PLAIN_CELL.fullmatch, None
    for row in data:  # per cell 2: an integer, 1: empty, 0: a float; a column is its least
        found = [match(v) for v in row]
        if None in found:
            return None
        cells = [2 if m.lastindex else 0 if v else 1 for m, v in zip(found, row)]
        kinds = cells if kinds is None else list(map(min, kinds, cells))
    rows, nan, blocks = len(data), float("nan"), []
    ints = [j for j, kind in enumerate(kinds) if kind == 2]
    floats = [j for j, kind in enumerate(kinds) if kind < 2]
    if ints:
        blocks.append((np.array([int(row[j]) for j in ints for row in data], dtype="int64").reshape(len(ints), rows),
                       ints))
    if floats:
        # integers beside empty cells are read as integers, then made floats ("-0" as 0.0); with a float, as floats
        values = np.array([(float(row[j]) if kinds[j] == 0 else float(int(row[j]))) if row[j] else nan
                           for j in floats for row in data], dtype="float64")
        blocks.append((values.reshape(len(floats), rows), floats))
    return blocks_frame(header, blocks, rows)


def blocks_frame(names, blocks: list, rows: int):
    """A frame of columns given as pandas' blocks hold them: (values of shape (columns, rows), their positions) per
    dtype, the layout pandas' reader gives too; ~4x faster than a frame of column arrays for one row of 33 columns."""
    from ..runtime.serving import frame_from_blocks

    frame = frame_from_blocks(blocks, rows, column_labels(names))
    if frame is not None:
        return frame
    arrays = [None] * len(names)  # a pandas without pandas.api.internals (before 2.3)
    for values, positions in blocks:
        for k, j in enumerate(positions):
            arrays[j] = values[k]
    return frame_of(names, arrays, rows)


def text_array(values: list):
    """A text column as pandas makes one of a list (its text dtype; object when every value is missing)."""
    import numpy as np
    import pandas as pd

    if all(v is None for v in values):
        return np.array(values, dtype=object)
    return pd.array(values, dtype="str")


_INDEXES: dict = {}


def column_labels(names):
    """The column Index of `names` as pandas' reader types it (in pandas 3 its text dtype), built once per header and
    shared by the frames of that header: an Index cannot change, but for its name, so one whose name a task set is
    built anew."""
    import pandas as pd

    key = tuple(names)
    columns = _INDEXES.get(key)
    if columns is None or columns.name is not None:
        if len(_INDEXES) >= 256:
            _INDEXES.clear()
        columns = _INDEXES[key] = pd.Index(list(key))
    return columns


def frame_of(names, arrays: list, rows: int):
    """A frame of ready column arrays in one step, its column Index built once per header: pandas' constructor
    re-checks every column and builds a text Index anew, ~0.5 ms for 33 columns of one row."""
    import pandas as pd

    columns = column_labels(names)
    try:  # the reader's own constructor; arrays are already one-dimensional and of one length
        return pd.DataFrame._from_arrays(arrays, columns=columns, index=pd.RangeIndex(rows), verify_integrity=False)
    except (AttributeError, TypeError):  # a pandas without it
        return pd.DataFrame(dict(zip(columns, arrays)), columns=columns)


def check_header(header, what: str = "the CSV header") -> None:
    """Refuse column names given twice (pandas would silently rename the second `name.1`)."""
    if isinstance(header, str):
        header = next(csv.reader(io.StringIO(header)), [])
    seen, twice = set(), []
    for name in header:
        if name in seen and name not in twice:
            twice.append(name)
        seen.add(name)
    if twice:
        shown = ", ".join(repr(n) for n in twice[:5])
        raise BadRequest(400, f"{what} names {shown} more than once; give each column one name.")


def read_csv(read, encoding, text: str | None = None):
    """pandas' CSV reading, its complaints about the body as BadRequest (`text`: the body's, when the caller has it)."""
    import pandas as pd

    try:
        return read()
    except pd.errors.EmptyDataError:
        raise BadRequest(400, "the CSV body has no header row; send CSV rows with a header row.") from None
    except UnicodeDecodeError as exc:
        raise not_text(exc, encoding or "utf-8") from None
    except (pd.errors.ParserError, ValueError, OverflowError) as exc:
        eof = _EOF_IN_QUOTES.search(str(exc))
        if eof is not None:  # pandas counts rows from 0 (the header); a value spanning lines makes that line a guess
            opened = unclosed_quote(text) if text is not None else None
            raise BadRequest(400, unclosed_sentence(opened or int(eof[1]) + 1)) from None
        raise BadRequest(400, f"the CSV body is malformed: {first_line(exc)}.") from None


_EOF_IN_QUOTES = re.compile(r"EOF inside string starting at row (\d+)")
_FIELD_END = re.compile(r"[,\r\n]")


def unclosed_quote(text: str) -> int | None:
    """The line (from 1) of the '"' that opens a value `text` never closes, as csv and pandas' reader read quotes (one
    opens a value only as its first character, and "" inside it is a quote); None when every quoted value closes."""
    at, end = 0, len(text)
    while at < end:  # `at`: the start of a value
        if text[at] == '"':
            opened, at = at, at + 1
            while True:
                close = text.find('"', at)
                if close < 0:
                    return text.count("\n", 0, opened) + 1
                if text.startswith('"', close + 1):
                    at = close + 2
                    continue
                at = close + 1
                break
        found = _FIELD_END.search(text, at)
        if found is None:
            return None
        at = found.end()
    return None


def unclosed_sentence(line: int) -> str:
    return (f"the CSV body is malformed: the quote opened at line {line} is never closed; end the quoted value with "
            'a \'"\' (a quote inside it is written twice).')


def csv_chunks(fh, encoding: str):
    """A CSV body in a file as frames of about CHUNK_BYTES of text each, so that memory stays a fraction of it."""
    import pandas as pd

    head = fh.read(HEAD_BYTES)
    fh.seek(0)
    text = decoded(head, encoding, partial=True)
    check_header(text)
    rows = max(1000, int(CHUNK_BYTES * max(text.count("\n"), 1) / max(len(head), 1)))
    reader = read_csv(lambda: pd.read_csv(fh, chunksize=rows, encoding=encoding, low_memory=False), encoding)
    with reader:
        while True:
            frame = read_csv(lambda: next(reader, None), encoding)
            if frame is None:
                return
            if len(frame):
                yield frame


def unique_keys(pairs):
    """json's object hook: a record naming a column twice is refused (json would keep the last silently)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise BadRequest(400, f"a JSON record names {twice!r} more than once; give each column one name.")
    return out


def as_float(value) -> float:
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")
    except (TypeError, ValueError):
        return float("nan")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__).rstrip(".")


def drum_info(info: dict, code_dir) -> dict:
    """DRUM's /info/ keys for a model whose predicting task's code is in `code_dir` (a deployment's final node, or
    the fitted folder), as its prediction server names them; /info/ answers them beside taskbench's own keys.

    drumVersion is "0.0.0+taskbench.VERSION": a version (PEP 440 and SemVer) older than any DRUM release, so a client
    that checks it for a DRUM feature assumes none, and one that shows it says taskbench's version."""
    from importlib.metadata import PackageNotFoundError, version

    from ..tasks.metadata import find_metadata_file

    try:
        ours = version("taskbench")
    except PackageNotFoundError:
        ours = "unknown"
    target, labels = info.get("target_type"), info.get("class_labels")
    keys: dict = {"codeDir": str(code_dir), "targetType": target}
    if target == contract.BINARY and labels and len(labels) == 2:
        keys["positiveClassLabel"], keys["negativeClassLabel"] = labels[1], labels[0]  # taskbench: negative first
    elif target == contract.MULTICLASS and labels:
        keys["classLabels"] = list(labels)
    from ..runtime.taskcode import task_language

    folder = Path(code_dir)
    r_task = folder.is_dir() and task_language(folder) == "r"
    metadata = None
    path = find_metadata_file(folder) if folder.is_dir() else None
    if path is not None:
        import yaml

        try:
            metadata = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            metadata = None
    keys.update({"language": "r" if r_task else "python", "drumVersion": f"0.0.0+taskbench.{re.sub(r'[^0-9A-Za-z.]', '.', ours)}",
                 "drumServer": "uvicorn", "modelMetadata": metadata})
    return keys


def _now() -> str:
    from ..store.database import now

    return now()


async def read_body(request, scratch: str, timeout: float) -> Body:
    """The request body (past SPOOL_BYTES in a temporary file), refused with 413 past MAX_BODY (by its
    Content-Length, before reading any of it) and with 408 when it stops arriving for `timeout` seconds."""
    import asyncio

    from starlette.requests import ClientDisconnect

    length = request.headers.get("content-length")
    if length is not None:
        try:
            if int(length) > MAX_BODY:
                raise BadRequest(413, f"the request body is over the limit of {MAX_BODY // (1024 * 1024)} MB; send fewer rows per request.")
        except ValueError:
            raise BadRequest(400, "the Content-Length header is not a number.") from None
    body = Body(scratch)
    # A plain timer that cancels this task (asyncio.timeout costs ~10 µs more per request, on the hot path).
    task, loop, expired = asyncio.current_task(), asyncio.get_running_loop(), []

    def expire() -> None:
        expired.append(True)
        task.cancel()

    clock = loop.call_later(timeout, expire)
    receive = request.receive
    try:
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            if body.size + len(chunk) > MAX_BODY:
                raise BadRequest(413, f"the request body is over the limit of {MAX_BODY // (1024 * 1024)} MB; send fewer rows per request.")
            body.add(chunk)
            if not message.get("more_body", False):
                break
            clock.cancel()
            clock = loop.call_later(timeout, expire)
    except asyncio.CancelledError:
        body.close()
        if not expired:
            raise
        task.uncancel()
        request.scope["taskbench.timed_out"] = True
        raise BadRequest(408, f"the request body stopped arriving for {timeout:g} s; send the whole body without pauses.",
                         close=True) from None
    except BaseException:
        request.scope["taskbench.received"] = body.size
        body.close()
        raise
    finally:
        clock.cancel()
    return body.finish()


def plain_rows(served: Served, body: Body, content_type: str):
    """(frame, rows before it) pairs of a read body that needs no form parser (CSV, JSON, or a small plainly formed
    multipart body with file field X), else None (the form parser reads the body: see `read_rows`)."""
    if body.blank():
        raise BadRequest(400, "the request body is empty; send CSV rows with a header, a multipart file field X, or JSON.")
    kind, params, charset = content_kind(content_type)
    if kind != "multipart/form-data":
        return served.frames(body, kind, charset)
    small = small_multipart(body.data, params) if body.file is None and body.size <= FAST_CSV_BYTES else None
    if small is None:
        return None
    content, part_type = small  # the usual DRUM client's request, read without the form parser and its files
    part_charset = part_type.partition("charset=")[2].strip().strip('"') or charset
    rows = Body(served.scratch)
    rows.add(content)
    if rows.blank():
        raise BadRequest(400, "the file in field X is empty; send CSV rows with a header row.")
    return served.frames(rows, "text/csv", part_charset)


def content_kind(content_type: str) -> tuple[str, str, str | None]:
    """A Content-Type's media type (lower case), its parameters, and the charset it names (or None)."""
    kind, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"') or None
    return kind.strip().lower(), params, charset


async def read_rows(served: Served, request, body: Body):
    """(frame, rows before it) pairs of a request whose body was read: CSV, a multipart file field X, or JSON."""
    content_type = request.headers.get("content-type", "")
    rows = plain_rows(served, body, content_type)
    if rows is not None:
        return rows
    from starlette.requests import Request

    charset = content_kind(content_type)[2]
    pieces = body.pieces()

    async def replay():
        piece = next(pieces, b"")
        return {"type": "http.request", "body": piece, "more_body": bool(piece)}

    try:
        form = await Request(request.scope, replay).form(max_part_size=MAX_BODY)
    except Exception as exc:  # noqa: BLE001 - python-multipart raises several kinds
        raise BadRequest(400, f"the multipart body is malformed: {first_line(exc)}.") from None
    body.keep(_Closing(form))
    part = form.get("X")
    if part is None:
        raise BadRequest(422, "the multipart body has no file field X; send the rows as field X, as DRUM clients do.")
    if hasattr(part, "file"):
        part_charset = (part.content_type or "").partition("charset=")[2].strip().strip('"') or charset
        rows = Body.of_file(served.scratch, part.file, part.size or 0)
    else:
        part_charset, rows = charset, Body(served.scratch)
        rows.add(str(part).encode())
    if rows.blank():
        raise BadRequest(400, "the file in field X is empty; send CSV rows with a header row.")
    return served.frames(rows, "text/csv", part_charset)


_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*("[^"\\]*"|[^;"\s]*)\s*')


def small_multipart(data: bytes, params: str):
    """(content, content type) of the file field X of a small, plainly formed multipart body, or None to leave the
    body to the form parser (which says what is wrong with a malformed one)."""
    found = None
    boundary = next((value.strip().strip('"') for key, _, value in (p.partition("=") for p in params.split(";"))
                     if key.strip().lower() == "boundary"), "")
    if not boundary:
        return None
    parts = (b"\r\n" + data).split(b"\r\n--" + boundary.encode("latin-1"))
    if len(parts) < 3 or len(parts) > 1000 or parts[-1] not in (b"--", b"--\r\n"):
        return None
    for part in parts[1:-1]:
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep or not head.startswith(b"\r\n"):
            return None
        headers = {}
        for line in head[2:].split(b"\r\n"):
            key, colon, value = line.decode("latin-1").partition(":")
            if not colon or key.strip().lower() in headers:
                return None
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        if not disposition.lower().startswith("form-data") or "content-transfer-encoding" in headers:
            return None
        fields = {k.lower(): v.strip('"') for k, v in _PARAM.findall(disposition[len("form-data"):])}
        if fields.get("name") == "X":
            if found is not None or "filename" not in fields or "filename*" in fields:
                return None  # X twice, or X as a plain form field: the form parser's rules apply
            found = (content, headers.get("content-type", ""))
    return found


class _Closing:
    """Closes a multipart form's files (its own close() is a coroutine)."""

    def __init__(self, form):
        self.form = form

    def close(self) -> None:
        for _, value in self.form.multi_items():
            if hasattr(value, "file"):
                value.file.close()


PREDICT_TRANSFORM = "this model is a transform; POST the rows to /transform/."
# DRUM's GET /capabilities/ (a Python model's): the payload formats its prediction routes read, and no chat route.
CAPABILITIES = {"supported_payload_formats": {"csv": None}, "supported_methods": {"chat": False}}


def refusal_answer(served: Served, authorization: str) -> tuple[dict, int] | None:
    """(answer, status) for a request this server may not score: a missing or wrong bearer token, or a deployment
    its user may no longer use; None to go on."""
    if served.token_hash is not None:
        from ..store.deployment_rows import token_digest

        given = authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""
        if not given:
            return {"message": "this deployment needs a bearer token: send 'Authorization: Bearer TOKEN'."}, 401
        if token_digest(given) != served.token_hash:
            return {"message": "the bearer token is wrong; send the token given to `taskbench deploy` or `serve`."}, 401
    refused = served.refusal()
    return None if refused is None else ({"message": refused}, 403)


def failure_answer(exc: Exception) -> tuple[dict, int, bool]:
    """(answer, status, close the connection) for a client's mistake (BadRequest) or the model's failure."""
    from ..runtime.errors import BadInput

    if isinstance(exc, BadRequest):
        return {"message": exc.message}, exc.status, exc.close
    if isinstance(exc, BadInput):
        return {"message": exc.message}, 422, False
    return {"message": f"the model failed on these rows: {exc.message}"}, 500, False


def score_rows(served: Served, rows, answer) -> list[str]:
    """Score (frame, rows before it) pairs in turn; `answer(output)` collects each one's output. Returns the warnings
    about text read as missing, one sentence per column."""
    from ..runtime.serving import unreadable_sentence

    unreadable: dict = {}
    for frame, before in rows:
        answer(served.score(frame, before))
        served.monitor.observe(frame)
        for column, count, example in served.scorer.unreadable:
            unreadable.setdefault(column, [0, example])[0] += count
    return [unreadable_sentence(c, n, example) for c, (n, example) in unreadable.items()]


def predict_answer(served: Served, rows) -> dict:
    """The /predict/ answer for the rows of a request."""
    from ..runtime.serving import json_predictions

    predictions: list = []
    warnings = score_rows(served, rows, lambda out: predictions.extend(json_predictions(served.scorer, out)))
    answer = {"predictions": predictions}
    if warnings:  # DRUM clients read "predictions"; the rest is for people
        answer["warnings"] = warnings
    return answer


def fast_predict(served: Served, authorization: str, content_type: str, data: bytes) -> tuple[int, dict, bool] | None:
    """(status, answer, close) for a small POST /predict/ whose whole body came with its headers (see
    `protocol.GuardedProtocol`), the same answer the application gives; None when its body needs the form parser."""
    refused = refusal_answer(served, authorization)
    if refused is not None:
        return refused[1], refused[0], False
    body = Body(str(served.scratch))
    body.add(data)
    try:
        if served.scorer.is_transform:
            raise BadRequest(422, PREDICT_TRANSFORM)
        rows = plain_rows(served, body, content_type)
        if rows is None:
            return None
        return 200, predict_answer(served, rows), False
    except (BadRequest, StepFailure) as exc:
        answer, status, close = failure_answer(exc)
        return status, answer, close
    finally:
        body.close()


def create_app(config: ServeConfig, served: Served | None = None):
    """The Starlette application of one server process; the model is loaded at start-up unless `served` holds it."""
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.requests import ClientDisconnect
    from starlette.responses import Response
    from starlette.routing import Route

    state: dict = {}
    body_timeout = config.body_timeout

    def reply(data, status: int = 200, close: bool = False) -> Response:
        return Response(json.dumps(data, default=str), status_code=status, media_type="application/json",
                        headers={"connection": "close"} if close else None)

    def guarded(handler):
        async def endpoint(request):
            served: Served = state["served"]
            refused = refusal_answer(served, request.headers.get("authorization", ""))
            if refused is not None:
                return reply(*refused)
            try:
                return await handler(served, request)
            except (BadRequest, StepFailure) as exc:
                return reply(*failure_answer(exc))
            except ClientDisconnect:  # nobody to answer: Counted counts it apart and logs one line
                request.scope["taskbench.aborted"] = True
                return Response(status_code=499)

        return endpoint

    async def scored(served: Served, request, answer):
        """Read the body, then score its rows chunk by chunk (see `score_rows`)."""
        body = await read_body(request, str(served.scratch), body_timeout)
        try:
            return score_rows(served, await read_rows(served, request, body), answer)
        finally:
            body.close()

    async def predict(served: Served, request):
        if served.scorer.is_transform:
            raise BadRequest(422, PREDICT_TRANSFORM)
        body = await read_body(request, str(served.scratch), body_timeout)
        try:
            return reply(predict_answer(served, await read_rows(served, request, body)))
        finally:
            body.close()

    async def transform(served: Served, request):
        if not served.scorer.is_transform:
            raise BadRequest(422, "this model is not a transform; POST the rows to /predict/.")
        parts: list = []
        await scored(served, request, lambda out: parts.append(out.to_csv(index=False, header=not parts)))
        return reply({"transformations": "".join(parts), "out.format": "csv"})

    async def info(served: Served, request):
        return reply(served.info)

    async def capabilities(served: Served, request):
        return reply(CAPABILITIES)

    async def stats(served: Served, request):
        return reply(served.stats())

    async def ping(request):
        return reply({"message": "OK"})

    async def health(request):
        served = state["served"]
        if served.store is None:
            return reply({"message": "OK", "code_dir": served.info["code_dir"]})
        return reply({"message": "OK", "deployment": served.deployment.name})

    @asynccontextmanager
    async def lifespan(app):
        state["served"] = served or Served(config)
        yield
        state["served"].close()

    routes = [
        Route("/predict/", guarded(predict), methods=["POST"]),
        Route("/predict", guarded(predict), methods=["POST"]),
        Route("/predictions/", guarded(predict), methods=["POST"]),  # DRUM's other names for /predict/
        Route("/predictions", guarded(predict), methods=["POST"]),
        Route("/invocations", guarded(predict), methods=["POST"]),  # DRUM's has no slash (SageMaker's name)
        Route("/transform/", guarded(transform), methods=["POST"]),
        Route("/transform", guarded(transform), methods=["POST"]),
        Route("/info/", guarded(info), methods=["GET"]),
        Route("/info", guarded(info), methods=["GET"]),
        Route("/capabilities/", guarded(capabilities), methods=["GET"]),
        Route("/capabilities", guarded(capabilities), methods=["GET"]),
        Route("/stats/", guarded(stats), methods=["GET"]),
        Route("/stats", guarded(stats), methods=["GET"]),
        Route("/ping", ping, methods=["GET"]),
        Route("/ping/", ping, methods=["GET"]),
        Route("/", ping, methods=["GET"]),
        Route("/health/", health, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ]
    async def unrouted(request, exc):
        # One JSON sentence, as every other answer, instead of Starlette's plain "Method Not Allowed"/"Not Found".
        if exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")  # Starlette's 405 names the route's methods there
            message = f"{request.method} is not allowed on {request.url.path}; it answers {allowed}."
        elif exc.status_code == 404:
            message = (f"there is no route {request.url.path}; taskbench serve answers POST /predict/ (or "
                       "/predictions/, /invocations) and /transform/, GET /info/, /capabilities/, /stats/, /ping and "
                       "/health/.")
        else:
            message = str(exc.detail)
        return Response(json.dumps({"message": message}), status_code=exc.status_code, media_type="application/json",
                        headers=exc.headers)

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: unrouted, 405: unrouted})
    from .protocol import Limits

    return Counted(app, state, Limits(config.header_timeout, config.body_timeout, config.max_connections))


_JSON = json.JSONEncoder(default=str)  # json.dumps(answer, default=str), without a new encoder per request

# How /stats/ names a request's route: DRUM's other names for /predict/ count as /predict/.
ROUTES = {"/predict": "/predict/", "/transform": "/transform/", "/info": "/info/", "/stats": "/stats/",
          "/ping": "/ping", "/ping/": "/ping", "/health": "/health/", "/": "/ping", "/predictions/": "/predict/",
          "/predictions": "/predict/", "/invocations": "/predict/", "/capabilities": "/capabilities/"}


class Counted:
    """ASGI wrapper that records every HTTP request's route, status and latency in the monitor; a request whose
    client left mid-body is counted apart (`aborted`) and logged in one line. `limits` and `event` serve the
    connection guards of `protocol.GuardedProtocol`."""

    def __init__(self, app, state: dict, limits=None):
        self.app = app
        self.state = state
        self.limits = limits

    def event(self, name: str) -> None:
        served = self.state.get("served")
        if served is not None:
            served.monitor.event(name)

    def fast(self, path: str, authorization: str, content_type: str, data: bytes) -> tuple[int, bytes, bool] | None:
        """(status, JSON body, close) for a small POST to /predict/ or /predict whose whole body came with its headers,
        answered and counted as the application would, without its layers (~0.25 ms less per request here);
        None to leave the request to the application. A fault of the server's own is logged and answered 500, as
        Starlette and Uvicorn do."""
        served = self.state.get("served")
        if served is None:
            return None
        started = time.perf_counter()
        try:
            got = fast_predict(served, authorization, content_type, data)
        except Exception as exc:  # noqa: BLE001 - what Starlette's error middleware and Uvicorn do with it
            logger().error("Exception in ASGI application\n", exc_info=exc)
            got = (500, None, True)
        if got is None:
            return None
        status, answer, close = got
        route = ROUTES.get(path, path)
        served.monitor.count(route, status)  # before the answer leaves, as `sending` does
        served.monitor.timing(route, time.perf_counter() - started)
        if answer is None:
            return status, None, close
        return status, _JSON.encode(answer).encode(), close

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = [500]

        path = scope["path"]
        route = ROUTES.get(path, path if path in ROUTES.values() else "other")
        counted = [False]

        async def sending(message):
            if message["type"] == "http.response.start":
                if scope.get("taskbench.aborted"):
                    return
                status[0] = message["status"]
                served = self.state.get("served")
                if served is not None:  # counted before the answer leaves: /stats/ never lags behind a client
                    served.monitor.count(route, status[0])
                    counted[0] = True
            elif scope.get("taskbench.aborted"):
                return
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            served = self.state.get("served")
            if served is not None:
                if scope.get("taskbench.aborted"):
                    served.monitor.aborted(route)
                    client = scope.get("client") or ("?", 0)
                    logger().warning("%s:%s left before its %s %s body ended (%s bytes received); counted as aborted.",
                                     client[0], client[1], scope["method"], route, f"{scope.get('taskbench.received', 0):,}")
                else:
                    if not counted[0]:
                        served.monitor.count(route, status[0])
                    served.monitor.timing(route, time.perf_counter() - started)
                    if scope.get("taskbench.timed_out"):
                        served.monitor.event("timeouts")


def logger():
    import logging

    return logging.getLogger("uvicorn.error")


def app_from_environment():
    """The application factory Uvicorn's worker processes call (`--workers N`); config from the environment."""
    return create_app(ServeConfig(**json.loads(settings.SERVE_CONFIG.get())))


def free_address(host: str, port: int) -> int:
    """Check that `host:port` can be bound (port 0: pick a free one) and return the port; else one clear sentence."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UsageError(f"--host {host} is not an address or a known host name; use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface).") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(f"port {port} on {host} is already in use; choose another --port (or stop what listens there).") from None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise UsageError(f"--host {host} is not an address of this machine; use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface).") from None
            if exc.errno == errno.EACCES:
                raise UsageError(f"port {port} needs more privileges to bind; choose a port above 1023.") from None
            raise
        return probe.getsockname()[1]


def requirements_note(code_dir: str | Path) -> str | None:
    """One line when a fitted folder's requirements.txt names packages this Python lacks (or not in the versions it
    asks for): serve --code-dir, like `drum server`, runs the task here and installs nothing (DRUM installs them only
    into a --docker image)."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import InvalidRequirement, Requirement

    from ..runtime.taskcode import task_language

    if task_language(code_dir) == "r":
        return None  # R package names, not pip's: the R bridge names any the local R lacks before it loads the task
    path = Path(code_dir) / contract.REQUIREMENTS_FILE
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    missing = []
    for line in lines:
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            missing.append(line)  # an option or a URL: not something to check here
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            if req.specifier.contains(version(req.name), prereleases=True):
                continue
        except PackageNotFoundError:
            pass
        missing.append(line)
    if not missing:
        return None
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return (f"{path} asks for {shown}, which this Python lacks; serve --code-dir does not install requirements "
            f"(nor does drum server): run `pip install -r {path}` first, or use `taskbench score --code-dir`, which "
            "installs them in a cached environment.")


def check_servable(config: ServeConfig) -> None:
    """What each worker process would refuse at start-up, checked once in the parent: the deployment, its trained
    model, and the images of its Docker nodes (built when missing); or the fitted folder and its labels."""
    import sys

    if config.code_dir:
        from ..tasks.score import ScoreOptions, folder_facts

        folder_facts(ScoreOptions(code_dir=Path(config.code_dir), input=Path(), target_type=config.target_type,
                                  class_labels=list(config.class_labels or []) or None))
        return
    from ..store import open_store
    from .deployments import get_deployment
    from .source import deployed_source
    from .workers import environment_images

    store = open_store(config.home)
    try:
        source = deployed_source(store, get_deployment(store, config.deployment))
        if not source.local_only:
            environment_images(store, source, lambda line: print(line, file=sys.stderr, flush=True))
    finally:
        store.close()


def serve(config: ServeConfig, on_ready=None) -> None:
    """Run the server until interrupted; binds to loopback unless `config.host` says otherwise.

    `on_ready(port)` is called once the server answers GET /ping (with several worker processes: once one of
    them does), so that a client that connects after it is answered.
    """
    import uvicorn
    from dataclasses import replace

    config = replace(config, port=free_address(config.host, config.port))
    common = dict(host=config.host, port=config.port, log_level="warning", access_log=False,
                  timeout_graceful_shutdown=5, timeout_keep_alive=config.keep_alive,
                  http="core.deploy.protocol:GuardedProtocol")
    stop = threading.Event()
    if on_ready is not None:
        threading.Thread(target=_announce, args=(config.host, config.port, on_ready, stop), daemon=True).start()
    try:
        if config.workers > 1:
            import shutil

            check_servable(config)

            from .. import workspace

            counts = workspace.scratch_dir(Path(config.home), "serve-counts")
            from ..store.deployment_rows import token_digest

            shared = replace(config, run=f"{os.getpid()}-{int(time.time())}", counts_dir=str(counts), token=None,
                             token_hash=token_digest(config.token) if config.token else None)
            settings.SERVE_CONFIG.export(json.dumps(shared.__dict__))
            try:
                uvicorn.run("core.deploy.server:app_from_environment", factory=True, workers=config.workers,
                            loop="core.deploy.protocol:BalancedLoop", **common)
            finally:
                shutil.rmtree(counts, ignore_errors=True)
            return
        served = Served(config)  # loaded before listening, so a model that cannot serve is one sentence, not a traceback
        try:
            uvicorn.Server(uvicorn.Config(create_app(config, served), **common)).run()
        finally:
            served.close()
    finally:
        stop.set()


def _announce(host: str, port: int, on_ready, stop: threading.Event) -> None:
    """Call `on_ready(port)` once GET /ping on `host:port` answers 200 (polled until `stop` is set)."""
    import socket

    target = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    request = f"GET /ping HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n".encode()
    while not stop.is_set():
        try:
            with socket.create_connection((target, port), timeout=2) as probe:
                probe.sendall(request)
                if probe.recv(16).startswith(b"HTTP/1.1 200"):
                    if not stop.is_set():
                        on_ready(port)
                    return
        except OSError:
            pass
        stop.wait(0.05)


def check_host(host: str) -> bool:
    """True when `host` is a loopback address (the default); anything else exposes the model to the network."""
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


__all__ = ["ServeConfig", "serve", "create_app", "check_host", "MAX_BODY"]
