"""The worker: a warm process that reads requests on stdin and forks one child per step.

Importing pandas and the task's libraries costs over a second, so the worker
imports them once and forks: each step still runs in a fresh process (the fit
check's scoring never sees the fitting process's state) without paying for the
imports again. A scoring session (`scoring_load` once, then `scoring_run` per
frame) is the exception: its nodes stay loaded in the worker itself. Replies
are JSON lines on the original stdout; anything a task prints goes to stderr,
which the engine streams live.
"""

import ast
import importlib
import json
import os
import resource
import select
import signal
import sys
import time
import traceback

from . import contract, protocol
from .sessions import become_subreaper, descendants, kill_descendants, kill_session_members, reap_children, rss

_CONTROL = None
_READ_CHUNK = 65536
_POLL = 0.05


def send(message):
    """Write one JSON line on the control channel."""
    _CONTROL.write(json.dumps(message, default=str) + "\n")
    _CONTROL.flush()


class Requests:
    """Request lines from the engine on fd 0, read unbuffered so a step can also watch for the engine's death."""

    def __init__(self, fd=0):
        self.fd = fd
        self.buffer = b""
        self.closed = False

    def _fill(self):
        chunk = os.read(self.fd, 65536)
        if chunk:
            self.buffer += chunk
        else:
            self.closed = True

    def next_line(self):
        """The next request line, or None at end of input."""
        while b"\n" not in self.buffer:
            if self.closed:
                return None
            self._fill()
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def engine_gone(self):
        """True once the engine's end of the pipe is closed (it exited or was killed)."""
        if not self.closed and select.select([self.fd], [], [], 0)[0]:
            self._fill()
        return self.closed


_REQUESTS = Requests()


def main():
    global _CONTROL
    sys.dont_write_bytecode = True
    _CONTROL = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints, ours or a library's, join the task output stream
    sys.stdout = sys.stderr
    # Orphans of a step (fork, setsid, fork again) come back to the worker, which can then count and kill them.
    become_subreaper()
    import pandas  # noqa: F401 - the point of the warm worker

    send({protocol.EVENT: protocol.READY, "pid": os.getpid(), "python": sys.version.split()[0], "pandas": pandas.__version__})
    state = {}
    while (line := _REQUESTS.next_line()) is not None:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            reply = handle(req, state)
        except Exception as exc:  # noqa: BLE001 - report engine-side faults instead of dying silently
            reply = _failure_reply(exc)
        reply[protocol.ID] = req.get(protocol.ID)
        reply.setdefault(protocol.EVENT, protocol.RESULT)
        send(reply)
        if req.get(protocol.OP) == protocol.EXIT:
            kill_strays(final=True)
            sys.stderr.flush()
            os._exit(0)  # skip interpreter teardown: with scikit-learn loaded it costs a third of a second
    kill_strays(final=True)


def _failure_reply(exc):
    from .errors import StepFailure

    if isinstance(exc, StepFailure):
        return exc.to_dict()
    return protocol.failure(protocol.ENGINE_ERROR, f"the worker failed: {type(exc).__name__}: {exc}",
                            details=traceback.format_exc())


def handle(req, state):
    op = req[protocol.OP]
    if op in (protocol.EXIT, protocol.PING):
        return protocol.ok()
    if op == protocol.PRELOAD:
        preloaded = preload(req["code_dir"])
        r_version = _rtask().zygote_version() if _rtask() is not None else None
        return protocol.ok(preloaded=preloaded, **({"r_version": r_version} if r_version else {}))
    if op == protocol.WARM:
        done = []
        for name in req.get("modules", []):
            try:
                importlib.import_module(name)
                done.append(name)
            except BaseException:  # noqa: BLE001 - warming is best effort
                pass
        return protocol.ok(imported=done)
    if op == protocol.LOAD_DATA:
        from .data import describe, load_dataset

        started = time.perf_counter()
        state["dataset"] = load_dataset(req)
        return protocol.ok(seconds=time.perf_counter() - started, data=describe(state["dataset"]))
    if op in (protocol.FIT, protocol.SCORE):
        from . import steps

        fn = steps.fit_step if op == protocol.FIT else steps.score_step
        return run_child(fn, state.get("dataset"), req)
    if op == protocol.LOAD_PROJECT:
        from .pipeline import preload_data

        for code_dir in req.get("code_dirs", []):
            preload(code_dir)
        return preload_data(req)
    if op in (protocol.TRAIN, protocol.PREDICT):
        from . import pipeline

        fn = pipeline.train_step if op == protocol.TRAIN else pipeline.predict_step
        return run_child(fn, None, req)
    if op in (protocol.SCORING_LOAD, protocol.SCORING_RUN):
        # A scoring session (server, batch predict) loads its nodes once and scores many frames, so the
        # task code runs here in the worker itself rather than in a child per request.
        from . import serving

        fn = serving.load_segment if op == protocol.SCORING_LOAD else serving.run_segment
        return fn(req, state)
    raise ValueError(f"unknown op {op!r}")


def preload(code_dir):
    """Import the third-party modules that the task's Python files import, so children inherit them.

    Only module imports are run here, never the task's own files. For an R task, the worker's R zygote
    loads the R packages its files name instead (rtask.preload).
    """
    from .taskcode import task_language

    if task_language(code_dir) == "r":
        from .rtask import preload as preload_r

        return preload_r(code_dir)
    local = set()
    files = []
    for root, dirs, names in os.walk(code_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        for name in names:
            if name.endswith(".py"):
                local.add(name[:-3])
                files.append(os.path.join(root, name))
        local.update(dirs)
    wanted = []
    for path in files:
        try:
            with open(path, "rb") as fh:
                tree = ast.parse(fh.read(), filename=path)
        except (SyntaxError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                wanted += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                wanted.append(node.module)
                wanted += [f"{node.module}.{a.name}" for a in node.names if a.name != "*"]
    done = []
    for name in dict.fromkeys(wanted):
        if name.split(".")[0] in local or name.startswith("datarobot_drum"):
            continue
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - a missing module is reported by the real import later
            continue
        done.append(name)
    return done


def run_child(fn, dataset, req):
    """Fork a child that runs `fn(dataset, req)`; enforce the time and memory limits from outside."""
    timeout = req.get("timeout")
    memory = req.get("memory")
    read_fd, write_fd = os.pipe()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(fn, dataset, req, write_fd)
    os.close(write_fd)
    started = time.monotonic()
    chunks = []
    killed = None
    peak = 0
    status = None
    eof = False
    while status is None:
        if eof:
            time.sleep(_POLL)
        elif select.select([read_fd], [], [], _POLL)[0]:
            chunk = os.read(read_fd, _READ_CHUNK)
            if chunk:
                chunks.append(chunk)
            else:
                eof = True
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = code
            break
        if memory:
            used = step_rss()
            peak = max(peak, used)
            if used > memory:
                killed = "memory"
        if timeout and time.monotonic() - started > timeout:
            killed = "timeout"
        if _REQUESTS.engine_gone():
            # Nobody will read the result: stop the step and everything it started, then leave.
            kill_strays(final=True)
            os._exit(1)
        if killed:
            kill_descendants(os.getpid(), spare=_spared())
            _, status = os.waitpid(pid, 0)
    # The child has exited; take what it wrote without waiting for processes it may have left behind.
    os.set_blocking(read_fd, False)
    try:
        while chunk := os.read(read_fd, _READ_CHUNK):
            chunks.append(chunk)
    except BlockingIOError:
        pass
    os.close(read_fd)
    kill_strays()
    _sweep_r_folders(pid)
    elapsed = time.monotonic() - started
    step = req[protocol.OP]
    if killed == "timeout":
        return protocol.failure(protocol.TIMEOUT, f"{step} did not finish within the time limit of {_seconds(timeout)} "
                                "and was stopped.", rule="time limit")
    if killed == "memory":
        return protocol.failure(protocol.MEMORY, f"{step} used {_mb(peak)} of memory, over the limit of {_mb(memory)}, "
                                "and was stopped.", rule="memory limit")
    payload = b"".join(chunks)
    if not payload:
        how = (
            f"was killed by signal {signal.Signals(-_status_code(status)).name}"
            if os.WIFSIGNALED(status)
            else f"exited with code {os.WEXITSTATUS(status)}"
        )
        return protocol.failure(protocol.CRASH, f"the {step} process {how} before reporting a result "
                                "(the task's code ended the process).", rule="crash")
    reply = json.loads(payload)
    reply["elapsed"] = elapsed
    if memory:
        reply["peak_memory"] = peak
    return reply


def _sweep_r_folders(pid):
    """Remove the R bridge's temp folders of a step child that was killed before it could (named by its pid)."""
    import glob
    import shutil
    import tempfile

    for folder in glob.glob(os.path.join(tempfile.gettempdir(), f"{contract.R_TEMP_PREFIX}{pid}-*")):
        shutil.rmtree(folder, ignore_errors=True)


def _status_code(status):
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _child(fn, dataset, req, write_fd):
    """Body of the forked child: isolate, apply limits, run, write one JSON result, exit."""
    code = 0
    try:
        os.close(_CONTROL.fileno())
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if req.get("memory"):
            _limit_address_space(req["memory"])
        if req.get("work_dir"):
            os.chdir(req["work_dir"])
        try:
            result = fn(dataset, req)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the engine as JSON
            result = _failure_reply(exc)
        data = json.dumps(result, default=str).encode()
    except BaseException as exc:  # noqa: BLE001
        data = json.dumps(protocol.failure(protocol.ENGINE_ERROR, f"worker child failed: {exc}")).encode()
        code = 70
    _end_r()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - a task may have closed the streams
        pass
    view = memoryview(data)
    while view:
        written = os.write(write_fd, view)
        view = view[written:]
    os._exit(code)


def _limit_address_space(memory):
    """A hard backstop under the RSS watch: allocations far past the limit fail with MemoryError."""
    try:
        with open("/proc/self/statm") as fh:
            size_pages = int(fh.read().split()[0])
        current = size_pages * os.sysconf("SC_PAGE_SIZE")
        limit = current + 2 * memory + (256 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (OSError, ValueError):
        pass


def _rtask():
    """The R bridge module if a step has used R in this process, else None (never imported just to ask)."""
    return sys.modules.get(__package__ + ".rtask") if __package__ else None


def _spared():
    """The worker's own helpers that outlive steps (the R zygote), which step cleanup and memory counts leave out."""
    return _rtask().zygote_pids() if _rtask() is not None else ()


def _end_r(final=False):
    """Let this process's R bridges quit on their own (they remove their temp folders), before anything is killed."""
    if _rtask() is not None:
        try:
            _rtask().shutdown(final=final)
        except Exception:  # noqa: BLE001 - cleanup must not hide the step's result
            pass


def step_rss():
    """Resident memory of every process below the worker: the step's child and all it started, escaped or not."""
    return rss(descendants(os.getpid(), spare=_spared()))


def kill_strays(final=False):
    """SIGKILL every process below the worker and in its session (what a step left running), then reap them;
    the R zygote is kept until the worker's `final` cleanup."""
    me = os.getpid()
    if final:
        _end_r(final=True)
    kill_descendants(me, spare=() if final else _spared())
    if os.getsid(0) == me:  # a session of our own (not started by hand in a shell)
        kill_session_members(me, spare=me)
    reap_children()


def _mb(n):
    return f"{n / (1 << 20):.0f} MB"


def _seconds(s):
    return f"{s:g} s"


if __name__ == "__main__":
    main()
