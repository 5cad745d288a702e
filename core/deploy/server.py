"""The prediction server (SPEC §9): DRUM's HTTP routes over a deployment's model, on Starlette and Uvicorn.

The server process loads every node of the model once at start and runs the
python-local nodes' scoring code itself (nodes of a Docker environment score
in a container it starts): it is a separate process from the engine and the
CLI, so a task's fault ends a server, never the workspace.
Scoring runs on the event loop, one request at a time, so task code never runs
in two threads at once; small CSV bodies are parsed without pandas' CSV reader.

Routes (as DRUM's server): POST /predict/ (CSV body, multipart file field `X`,
or JSON `{"columns": [...], "data": [[...]]}` or a list of records) answers
`{"predictions": [...]}`, numbers for regression and anomaly, one
{label: probability} object per row for classification. POST /transform/
answers `{"transformations": "<CSV>", "out.format": "csv"}`. GET /ping, /health/,
/info/ and /stats/.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

MAX_BODY = 50 * 1024 * 1024
FAST_CSV_BYTES = 64 * 1024
MONITOR_SECONDS = float(os.environ.get("TASKBENCH_MONITOR_SECONDS", "2"))
CONFIG_VARIABLE = "TASKBENCH_SERVE_CONFIG"


class BadRequest(Exception):
    """A request the client must fix: a status and one sentence."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class ServeConfig:
    home: str
    deployment: str
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    token: str | None = None
    run: str | None = None  # set by the parent of several worker processes, so that all share one run
    counts_dir: str | None = None  # where those processes keep their shared request counters


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
        from .source import model_source
        from .workers import open_scorer

        self.store = open_store(config.home)
        self.deployment = get_deployment(self.store, config.deployment)
        self.source = model_source(self.store, self.deployment.model_id)
        self.token_hash = token_digest(config.token) if config.token else self.deployment.token_hash
        self.scratch = workspace.scratch_dir(self.store.root, "serve")
        self.scorer = open_scorer(self.store, self.source, str(self.scratch))  # Docker nodes in containers, stopped by close()
        _, project = get_model(self.store, self.deployment.model_id)
        frame = pd.read_parquet(project.data_path)
        parts = np.load(project.partition_path)
        training = frame.iloc[np.flatnonzero(np.isin(parts, self.source.plan["fit_folds"]))]
        features = self.scorer.features
        self.numeric = {c for c in features if c in training.columns and pd.api.types.is_numeric_dtype(training[c])
                        and not pd.api.types.is_bool_dtype(training[c])}
        self.monitor = Monitor(training, features)
        self.counts_dir = config.counts_dir
        if config.counts_dir:
            from .monitor import SharedCounts

            self.monitor.shared = SharedCounts(config.counts_dir)
        labels = self.source.info.get("class_labels")
        # Labels as the predictions name them (JSON object keys are strings), so clients can match the two.
        self.info = {**self.source.info, "deployment": self.deployment.name,
                     "class_labels": [str(c) for c in labels] if labels is not None else None}
        self.run = config.run or f"{os.getpid()}-{int(time.time())}"
        self.started_at = _now()
        self._stop = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, daemon=True)
        self._flusher.start()

    def _flush_loop(self) -> None:
        while not self._stop.wait(MONITOR_SECONDS):
            self.flush()

    def flush(self) -> None:
        from ..store.deployment_rows import save_monitor

        try:
            save_monitor(self.store, self.deployment.id, self.run, os.getpid(), self.started_at, self.monitor.snapshot())
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
        self.store.close()

    def stats(self) -> dict:
        """What /stats/ answers: this process's monitor, or with several worker processes their exact sums.

        Drift of sibling processes comes from their last stored snapshot (every MONITOR_SECONDS).
        """
        own = self.monitor.snapshot()
        if not self.counts_dir:
            return own
        from ..store.deployment_rows import latest_monitor
        from .monitor import SharedCounts, merge_snapshots

        try:
            others = [row for row in latest_monitor(self.store, self.deployment.id)
                      if row.get("run") == self.run and row.get("worker") != os.getpid()]
        except Exception:  # noqa: BLE001 - a busy workspace must not fail /stats/
            others = []
        drift = merge_snapshots([own] + others).get("drift") if others else own.get("drift")
        return {"uptime_seconds": own["uptime_seconds"], **SharedCounts.total(self.counts_dir), "drift": drift}

    # ---------------------------------------------------------------- reading rows

    def parse_csv(self, body: bytes):
        import pandas as pd

        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadRequest(400, "the CSV body is not UTF-8 text.") from None
        if not text.strip():
            raise BadRequest(400, "the request body is empty; send CSV rows with a header row.")
        if len(body) <= FAST_CSV_BYTES:
            frame = self._small_csv(text)
            if frame is not None:
                return frame
        try:
            frame = pd.read_csv(io.StringIO(text), low_memory=False)
        except pd.errors.EmptyDataError:
            raise BadRequest(400, "the CSV body has no header row; send CSV rows with a header row.") from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise BadRequest(400, f"the CSV body is malformed: {str(exc).strip().splitlines()[0]}.") from None
        if frame.empty:
            raise BadRequest(400, "the CSV body has a header but no rows to score.")
        return frame

    def _small_csv(self, text: str):
        """A tiny CSV as a frame without pandas' reader (None to fall back to it): a few hundred µs less per request."""
        import pandas as pd

        rows = list(csv.reader(io.StringIO(text)))
        while rows and not rows[-1]:
            rows.pop()
        if not rows:
            return None
        header, data = rows[0], rows[1:]
        if not data:
            raise BadRequest(400, "the CSV body has a header but no rows to score.")
        if len(set(header)) != len(header) or any(not name for name in header):
            return None
        width = len(header)
        for i, row in enumerate(data, start=2):
            if len(row) != width:
                raise BadRequest(400, f"the CSV body is malformed: line {i} has {len(row)} fields but the header has {width}.")
        columns = {}
        nan = float("nan")
        for j, name in enumerate(header):
            values = [row[j] for row in data]
            if name in self.numeric:
                try:
                    columns[name] = [float(v) if v != "" else nan for v in values]
                except ValueError:
                    return None  # let pandas decide what this column holds
            else:
                columns[name] = [v if v != "" else None for v in values]
        return pd.DataFrame(columns)

    def parse_json(self, body: bytes):
        import pandas as pd

        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise BadRequest(400, f"the JSON body is malformed: {exc}.") from None
        try:
            if isinstance(doc, dict) and "data" in doc:
                frame = pd.DataFrame(doc["data"], columns=doc.get("columns"))
            elif isinstance(doc, list) and all(isinstance(r, dict) for r in doc):
                frame = pd.DataFrame.from_records(doc)
            else:
                raise BadRequest(400, 'send JSON as {"columns": [...], "data": [[...], ...]} or as a list of records.')
        except (ValueError, TypeError) as exc:
            raise BadRequest(400, f"the JSON rows do not form a table: {exc}.") from None
        if frame.empty:
            raise BadRequest(400, "the JSON body has no rows to score.")
        return frame


def _now() -> str:
    from ..store.store import now

    return now()


async def read_body(request) -> bytes:
    """The request body, refused with 413 past MAX_BODY (by its Content-Length, before reading any of it)."""
    length = request.headers.get("content-length")
    if length is not None:
        try:
            if int(length) > MAX_BODY:
                raise BadRequest(413, f"the request body is over the limit of {MAX_BODY // (1024 * 1024)} MB; send fewer rows per request.")
        except ValueError:
            raise BadRequest(400, "the Content-Length header is not a number.") from None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BadRequest(413, f"the request body is over the limit of {MAX_BODY // (1024 * 1024)} MB; send fewer rows per request.")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_frame(served: Served, request):
    body = await read_body(request)
    if not body.strip():
        raise BadRequest(400, "the request body is empty; send CSV rows with a header, a multipart file field X, or JSON.")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        from starlette.requests import Request

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            form = await Request(request.scope, replay).form(max_part_size=MAX_BODY)
        except Exception as exc:  # noqa: BLE001 - python-multipart raises several kinds
            raise BadRequest(400, f"the multipart body is malformed: {exc}.") from None
        part = form.get("X")
        if part is None:
            raise BadRequest(400, "the multipart body has no file field X; send the rows as field X, as DRUM clients do.")
        data = await part.read() if hasattr(part, "read") else str(part).encode()
        if not data.strip():
            raise BadRequest(400, "the file in field X is empty; send CSV rows with a header row.")
        return served.parse_csv(data)
    if kind == "application/json":
        return served.parse_json(body)
    return served.parse_csv(body)


def create_app(config: ServeConfig, served: Served | None = None):
    """The Starlette application of one server process; the model is loaded at start-up unless `served` holds it."""
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from ..runtime.errors import StepFailure, UsageError as RuntimeUsageError
    from ..runtime.serving import json_predictions, unreadable_sentence

    state: dict = {}

    def reply(data, status: int = 200) -> Response:
        return Response(json.dumps(data, default=str), status_code=status, media_type="application/json")

    def guarded(handler):
        async def endpoint(request):
            served: Served = state["served"]
            if served.token_hash is not None:
                from ..store.deployment_rows import token_digest

                auth = request.headers.get("authorization", "")
                given = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
                if not given:
                    return reply({"message": "this deployment needs a bearer token: send 'Authorization: Bearer TOKEN'."}, 401)
                if token_digest(given) != served.token_hash:
                    return reply({"message": "the bearer token is wrong; send the token given to `taskbench deploy` or `serve`."}, 401)
            try:
                return await handler(served, request)
            except BadRequest as exc:
                return reply({"message": exc.message}, exc.status)
            except RuntimeUsageError as exc:
                return reply({"message": exc.message}, 422)
            except StepFailure as exc:
                return reply({"message": f"the model failed on these rows: {exc.message}"}, 500)

        return endpoint

    async def predict(served: Served, request):
        if served.scorer.is_transform:
            raise BadRequest(422, "this deployment's model is a transform; POST the rows to /transform/.")
        frame = await read_frame(served, request)
        predictions = served.scorer.score(frame)
        served.monitor.observe(frame)
        answer = {"predictions": json_predictions(served.scorer, predictions)}
        if served.scorer.unreadable:  # DRUM clients read "predictions"; the rest is for people
            answer["warnings"] = [unreadable_sentence(*u) for u in served.scorer.unreadable]
        return reply(answer)

    async def transform(served: Served, request):
        if not served.scorer.is_transform:
            raise BadRequest(422, "this deployment's model is not a transform; POST the rows to /predict/.")
        frame = await read_frame(served, request)
        out = served.scorer.score(frame)
        served.monitor.observe(frame)
        return reply({"transformations": out.to_csv(index=False), "out.format": "csv"})

    async def info(served: Served, request):
        return reply(served.info)

    async def stats(served: Served, request):
        return reply(served.stats())

    async def ping(request):
        return reply({"message": "OK"})

    async def health(request):
        return reply({"message": "OK", "deployment": state["served"].deployment.name})

    @asynccontextmanager
    async def lifespan(app):
        state["served"] = served or Served(config)
        yield
        state["served"].close()

    routes = [
        Route("/predict/", guarded(predict), methods=["POST"]),
        Route("/predict", guarded(predict), methods=["POST"]),
        Route("/transform/", guarded(transform), methods=["POST"]),
        Route("/transform", guarded(transform), methods=["POST"]),
        Route("/info/", guarded(info), methods=["GET"]),
        Route("/info", guarded(info), methods=["GET"]),
        Route("/stats/", guarded(stats), methods=["GET"]),
        Route("/stats", guarded(stats), methods=["GET"]),
        Route("/ping", ping, methods=["GET"]),
        Route("/ping/", ping, methods=["GET"]),
        Route("/", ping, methods=["GET"]),
        Route("/health/", health, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    return Counted(app, state)


ROUTES = {"/predict": "/predict/", "/transform": "/transform/", "/info": "/info/", "/stats": "/stats/",
          "/ping": "/ping", "/ping/": "/ping", "/health": "/health/", "/": "/ping"}


class Counted:
    """ASGI wrapper that records every HTTP request's route, status and latency in the monitor."""

    def __init__(self, app, state: dict):
        self.app = app
        self.state = state

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
                status[0] = message["status"]
                served = self.state.get("served")
                if served is not None:  # counted before the answer leaves: /stats/ never lags behind a client
                    served.monitor.count(route, status[0])
                    counted[0] = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            served = self.state.get("served")
            if served is not None:
                if not counted[0]:
                    served.monitor.count(route, status[0])
                served.monitor.timing(route, time.perf_counter() - started)


def app_from_environment():
    """The application factory Uvicorn's worker processes call (`--workers N`); config from the environment."""
    return create_app(ServeConfig(**json.loads(os.environ[CONFIG_VARIABLE])))


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


def check_servable(config: ServeConfig) -> None:
    """What each worker process would refuse at start-up, checked once in the parent: the deployment, its trained
    model, and the images of its Docker nodes (built when missing)."""
    import sys

    from ..store import open_store
    from .deployments import get_deployment
    from .source import model_source
    from .workers import environment_images

    store = open_store(config.home)
    try:
        source = model_source(store, get_deployment(store, config.deployment).model_id)
        if not source.local_only:
            environment_images(store, source, lambda line: print(line, file=sys.stderr, flush=True))
    finally:
        store.close()


def serve(config: ServeConfig, on_ready=None) -> None:
    """Run the server until interrupted; binds to loopback unless `config.host` says otherwise.

    `on_ready(port)` is called once the server listens (with several worker processes: when they start).
    """
    import uvicorn
    from dataclasses import replace

    config = replace(config, port=free_address(config.host, config.port))
    common = dict(host=config.host, port=config.port, log_level="warning", access_log=False,
                  timeout_graceful_shutdown=5)
    if config.workers > 1:
        import shutil

        check_servable(config)

        from .. import workspace

        counts = workspace.scratch_dir(Path(config.home), "serve-counts")
        shared = replace(config, run=f"{os.getpid()}-{int(time.time())}", counts_dir=str(counts))
        os.environ[CONFIG_VARIABLE] = json.dumps(shared.__dict__)
        if on_ready is not None:
            on_ready(config.port)
        try:
            uvicorn.run("core.deploy.server:app_from_environment", factory=True, workers=config.workers, **common)
        finally:
            shutil.rmtree(counts, ignore_errors=True)
        return
    served = Served(config)  # loaded before listening, so a model that cannot serve is one sentence, not a traceback
    try:
        server = uvicorn.Server(uvicorn.Config(create_app(config, served), **common))
        if on_ready is not None:
            original = server.startup

            async def startup(sockets=None):
                await original(sockets=sockets)
                if server.started:
                    on_ready(config.port)

            server.startup = startup
        server.run()
    finally:
        served.close()


def check_host(host: str) -> bool:
    """True when `host` is a loopback address (the default); anything else exposes the model to the network."""
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


__all__ = ["ServeConfig", "serve", "create_app", "check_host", "MAX_BODY"]
