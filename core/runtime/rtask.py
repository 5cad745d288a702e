"""R tasks: a `custom.R` run by an R process (r/bridge.R) that the worker's step drives over pipes.

The worker stays Python: an R task is loaded as an `RTaskCode`, which has the interface of
`taskcode.TaskCode`, so fitting, scoring, training and serving treat R nodes like Python ones.
Frames cross as CSV files (sparse ones as MatrixMarket) with their column classes named, and
hyperparameters as R literals; no Python package is needed to reach R. The R process is a child
of the step, so the step's time and memory limits and its cleanup cover it.
"""

import csv
import json
import math
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pandas as pd

from . import contract
from .contract import Hooks
from .errors import RuleViolation, StepFailure, TaskCrash

BRIDGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "r", "bridge.R")
NA = "__taskbench_NA__"
R_HOOKS = (Hooks.INIT, Hooks.FIT, Hooks.TRANSFORM, Hooks.SCORE, Hooks.LOAD_MODEL, Hooks.READ_INPUT_DATA, Hooks.POST_PROCESS)


def rscript():
    """The Rscript on PATH that runs R tasks, or None (the worker sees no TASKBENCH_* variable, so PATH decides)."""
    return shutil.which("Rscript")


def requirements(code_dir):
    """The R package names an R task's requirements.txt lists (comments, blanks and version pins dropped)."""
    path = os.path.join(code_dir, contract.REQUIREMENTS_FILE)
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []
    names = []
    for line in lines:
        name = line.split("#", 1)[0].strip()
        for sep in ("==", ">=", "<=", "~=", ">", "<", "=", " "):
            name = name.split(sep, 1)[0].strip()
        if name:
            names.append(name)
    return names


# ---------------------------------------------------------------- values to R


def r_string(text):
    """An R string literal for `text` (one line, escaped)."""
    out = ['"']
    for ch in str(text):
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _r_scalar(value):
    if value is None:
        return "NULL"
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, np.integer)):
        return f"{int(value)}L" if abs(int(value)) < 2**31 else repr(float(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return "NA_real_"
        if math.isinf(value):
            return "Inf" if value > 0 else "-Inf"
        return repr(value)
    return r_string(value)


def _column_class(column):
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "logical"
    if pd.api.types.is_integer_dtype(dtype):
        values = column.dropna()
        if len(values) == 0 or (values.abs().max() < 2**31):
            return "integer"
        return "numeric"
    if pd.api.types.is_float_dtype(dtype):
        return "numeric"
    return "character"


def _r_vector(names):
    return "c(" + ", ".join(r_string(n) for n in names) + ")" if names else "character()"


def _labels(value):
    """Class labels as R sees them, as DRUM passes them: text, with booleans spelled True/False like the target."""
    if isinstance(value, (list, tuple)):
        return [_labels(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    return str(value)


class RModel:
    """A fitted object that lives in the R process; Python holds its handle only."""

    def __init__(self, process, handle):
        self.process = process
        self.handle = handle

    def __repr__(self):
        return f"<R object {self.handle}>"


class Exchange:
    """A scratch folder for one request's files, removed when the request is answered."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix=_prefix())
        self.count = 0

    def path(self, suffix):
        self.count += 1
        return os.path.join(self.folder, f"{self.count}{suffix}")

    def close(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def r(self, value):
        """The R expression that gives `value` in the bridge (frames and vectors go through files)."""
        if isinstance(value, RModel):
            return f".model({r_string(value.handle)})"
        if isinstance(value, pd.DataFrame):
            return self._frame(value)
        if isinstance(value, (pd.Series, np.ndarray)):
            series = pd.Series(value) if isinstance(value, np.ndarray) else value
            return f"{self._frame(series.reset_index(drop=True).to_frame('y'))}[[1]]"
        if isinstance(value, dict):
            if not value:
                return "list()"
            return "list(" + ", ".join(f"`{str(k).replace('`', '')}` = {self.r(v)}" for k, v in value.items()) + ")"
        if isinstance(value, (list, tuple)):
            if all(not isinstance(v, (list, tuple, dict)) and v is not None for v in value) and value:
                kinds = {type(v) for v in value}
                if len(kinds) == 1:
                    return "c(" + ", ".join(_r_scalar(v) for v in value) + ")"
            return "list(" + ", ".join(self.r(v) for v in value) + ")"
        return _r_scalar(value)

    def _frame(self, frame):
        from .checks import is_sparse_frame

        if is_sparse_frame(frame):
            path = self.path(".mtx")
            _write_mtx(frame, path)
            with open(path + ".names", "w", encoding="utf-8") as fh:
                fh.write("".join(f"{c}\n" for c in frame.columns))
            return f".read_sparse({r_string(path)}, {r_string(path + '.names')})"
        # Numbers go as raw little-endian columns (exact and fast), text as CSV; R reassembles them in order.
        classes = [_column_class(frame.iloc[:, i]) for i in range(frame.shape[1])]
        numeric = [i for i, c in enumerate(classes) if c in _BINARY]
        text = [i for i, c in enumerate(classes) if c not in _BINARY]
        binary = self.path(".bin") if numeric else None
        if binary:
            with open(binary, "wb") as fh:
                for i in numeric:
                    _column_bytes(frame.iloc[:, i], classes[i]).tofile(fh)
        table = self.path(".csv") if text else None
        if table:
            _write_csv(frame.iloc[:, text], table)
        names = _r_vector([str(c) for c in frame.columns])
        return (f".read_columns({r_string(binary) if binary else 'NULL'}, {r_string(table) if table else 'NULL'}, "
                f"{names}, {_r_vector(classes)}, {len(frame)}L)")


_BINARY = ("numeric", "integer")
R_NA_INTEGER = -(2**31)


def _column_bytes(column, cls):
    """A numeric column as R reads it with readBin: float64, or int32 with R's NA_integer_ for missing."""
    if cls == "numeric":
        return column.to_numpy(dtype="<f8", na_value=np.nan)
    values = column.to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.isnan(values), R_NA_INTEGER, values).astype("<i4")


def _write_csv(frame, path):
    frame = frame.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    frame.to_csv(path, index=False, na_rep=NA, float_format="%.17g", quoting=csv.QUOTE_MINIMAL,
                 encoding="utf-8", lineterminator="\n")


def _write_mtx(frame, path):
    rows, cols, values = [], [], []
    for j, name in enumerate(frame.columns):
        array = frame[name].array
        positions = array.sp_index.indices
        rows.append(positions + 1)
        cols.append(np.full(len(positions), j + 1))
        values.append(np.asarray(array.sp_values, dtype="float64"))
    rows = np.concatenate(rows) if rows else np.array([], dtype=int)
    cols = np.concatenate(cols) if cols else np.array([], dtype=int)
    values = np.concatenate(values) if values else np.array([])
    with open(path, "w", encoding="ascii") as fh:
        fh.write("%%MatrixMarket matrix coordinate real general\n")
        fh.write(f"{frame.shape[0]} {frame.shape[1]} {len(values)}\n")
        np.savetxt(fh, np.column_stack([rows, cols, values]), fmt=["%d", "%d", "%.17g"])


def read_frame(reply):
    """The frame an R hook returned, read back with the column classes R reported."""
    if reply.get("kind") == "sparse":
        return _read_mtx(reply["path"], reply["rows"], reply["columns"])
    names, classes = _as_list(reply.get("names")), _as_list(reply.get("classes"))
    rows = int(reply.get("rows") or 0)
    columns = {}
    if reply.get("numbers"):
        with open(reply["numbers"], "rb") as fh:
            for i, cls in enumerate(classes):
                if cls == "numeric":
                    columns[i] = np.fromfile(fh, dtype="<f8", count=rows)
                elif cls == "integer":
                    values = np.fromfile(fh, dtype="<i4", count=rows)
                    missing = values == R_NA_INTEGER
                    columns[i] = np.where(missing, np.nan, values) if missing.any() else values.astype("int64")
    text = [i for i, c in enumerate(classes) if c not in _BINARY]
    if text and reply.get("table"):
        table = pd.read_csv(reply["table"], header=None, skiprows=1, names=list(range(len(text))), dtype=object,
                            keep_default_na=False, na_values=[NA], encoding="utf-8")
        for k, i in enumerate(text):
            column = table[k]
            if classes[i] == "logical":
                mapped = column.map({"TRUE": True, "FALSE": False})
                column = mapped.astype(bool) if not mapped.isna().any() else mapped
            columns[i] = column.to_numpy()
    frame = pd.DataFrame({i: columns[i] for i in range(len(names))}, index=pd.RangeIndex(rows))
    frame.columns = names
    return frame


def _as_list(value):
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _read_mtx(path, n_rows, n_cols):
    with open(path, encoding="ascii") as fh:
        lines = [line for line in fh if not line.startswith("%")]
    data = np.loadtxt(lines[1:], ndmin=2) if len(lines) > 1 else np.zeros((0, 3))
    dense = np.zeros((int(n_rows), int(n_cols)))
    if len(data):
        dense[data[:, 0].astype(int) - 1, data[:, 1].astype(int) - 1] = data[:, 2]
    with open(path + ".names", encoding="utf-8") as fh:
        names = fh.read().splitlines()
    return pd.DataFrame(dense, columns=names).astype(pd.SparseDtype("float64", 0.0))


# ---------------------------------------------------------------- the R process


def _prefix():
    return f"{contract.R_TEMP_PREFIX}{os.getpid()}-"


def sweep_dead_folders():
    """Remove this user's R bridge temp folders whose process has ended (killed servers, cancelled steps):
    a process killed with SIGKILL cannot remove its own, so the next R task does."""
    root = tempfile.gettempdir()
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        if not name.startswith(contract.R_TEMP_PREFIX):
            continue
        pid = name[len(contract.R_TEMP_PREFIX):].split("-", 1)[0]
        path = os.path.join(root, name)
        try:
            if not pid.isdigit() or os.path.exists(f"/proc/{pid}") or os.stat(path).st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)


def _no_r():
    return TaskCrash(
        "this is an R task (custom.R), but Rscript was not found here; install R (Debian: apt install "
        "r-base-core) or run the task in the r-base environment.",
        rule="R is installed",
    )


def _start_bridge():
    """Start `Rscript bridge.R` with its request and reply pipes and a temp folder of its own; returns
    (Popen, request writer, reply reader, folder). R's stdin is /dev/null, so task code reading stdin reads nothing."""
    path = rscript()
    if not path:
        raise _no_r()
    read_fd, write_fd = os.pipe()
    request_read, request_write = os.pipe()
    env = dict(os.environ)
    # R's session folder (Rtmp…) goes in a folder we remove ourselves: a killed R cannot remove its own.
    env["TMPDIR"] = folder = tempfile.mkdtemp(prefix=_prefix())
    env.setdefault("LANG", "C.UTF-8")
    env.setdefault("TZ", "UTC")  # else R asks timedatectl, which warns in containers
    env["LC_ALL"] = env.get("LC_ALL") or "C.UTF-8"
    try:
        proc = subprocess.Popen(
            [path, "--no-save", "--no-restore", "--no-init-file", BRIDGE, f"/dev/fd/{request_read}", f"/dev/fd/{write_fd}"],
            stdin=subprocess.DEVNULL, stdout=2, stderr=2, pass_fds=(write_fd, request_read), env=env,
            start_new_session=True,
        )
    finally:
        os.close(write_fd)
        os.close(request_read)
    return proc, os.fdopen(request_write, "wb"), os.fdopen(read_fd, "r", encoding="utf-8"), folder


def _stop(proc, writer, folder):
    """End a bridge by closing its input (R then quits on its own), killing it if it does not; remove its folder."""
    try:
        writer.close()
    except OSError:
        pass
    if proc is not None:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


class RProcess:
    """One R bridge serving this process: forked from the worker's zygote when there is one, else its own Rscript.

    Requests go as lines of R, replies come back as JSON lines.
    """

    def __init__(self):
        sweep_dead_folders()
        self.loaded = 0
        self.proc = None
        self.fifos = self.folder = None
        forked = None
        if _ZYGOTE is not None and _ZYGOTE.alive():
            try:
                forked = _ZYGOTE.fork()
            except (OSError, ValueError):
                forked = None  # the zygote is gone: start R afresh
        if forked:
            self.writer, self.replies, self.fifos = forked
        else:
            self.proc, self.writer, self.replies, self.folder = _start_bridge()
        ready = self._read("starting R")
        self.version = ready.get("r_version", "R")
        if self.fifos:
            shutil.rmtree(self.fifos, ignore_errors=True)

    def alive(self):
        return self.proc is None or self.proc.poll() is None

    def close(self):
        _stop(self.proc, self.writer, self.folder)

    def _read(self, what):
        line = self.replies.readline()
        if not line:
            how = "ended without answering"
            if self.proc is not None:
                code = self.proc.wait()
                how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            raise TaskCrash(
                f"R {how} during {what}: custom.R called quit() or q(), or R or a package it uses crashed; "
                "R's own output, if any, is in the log.",
                rule="crash",
            )
        return json.loads(line)

    def request(self, expression, what):
        """Send one R expression and return the bridge's reply."""
        try:
            self.writer.write((expression + "\n").encode("utf-8"))
            self.writer.flush()
        except BrokenPipeError:
            pass  # R has ended: reading says how
        return self._read(what)


class Zygote:
    """The worker's warm R: loads a task's packages once, then forks a fresh bridge for each step that asks."""

    def __init__(self):
        self.proc, self.writer, self.replies, self.folder = _start_bridge()
        self.owner = os.getpid()
        ready = json.loads(self.replies.readline() or "{}")
        self.version = ready.get("r_version")
        self.r_pid = ready.get("pid")  # R's own pid: Rscript may be a wrapper that runs R as its child
        self.packages = set()

    def alive(self):
        if os.getpid() == self.owner:
            return self.proc.poll() is None
        try:  # a step child cannot wait() for its parent's child: ask /proc instead
            with open(f"/proc/{self.proc.pid}/stat", "rb") as fh:
                return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
        except (OSError, IndexError):
            return False

    def close(self):
        _stop(self.proc, self.writer, self.folder)

    def _ask(self, expression):
        self.writer.write((expression + "\n").encode("utf-8"))
        self.writer.flush()
        line = self.replies.readline()
        if not line:
            raise OSError("the R zygote ended")
        return json.loads(line)

    def preload(self, attach, load):
        attach = [p for p in attach if p not in self.packages]
        load = [p for p in load if p not in self.packages]
        if attach or load:
            reply = self._ask(f"op_preload({_r_vector(attach)}, {_r_vector(load)})")
            loaded = reply.get("loaded") or []
            self.packages.update([loaded] if isinstance(loaded, str) else loaded)
        return sorted(self.packages)

    def fork(self):
        """A fresh bridge forked from this one: (request writer, reply reader, FIFO folder)."""
        folder = tempfile.mkdtemp(prefix=_prefix())
        requests, replies = os.path.join(folder, "requests"), os.path.join(folder, "replies")
        os.mkfifo(requests, 0o600)
        os.mkfifo(replies, 0o600)
        self._ask(f"op_fork({r_string(requests)}, {r_string(replies)})")
        reader = open(replies, "r", encoding="utf-8")  # noqa: SIM115 - lives as long as the bridge
        writer = open(requests, "wb")  # noqa: SIM115
        return writer, reader, folder


_ZYGOTE = None


def preload(code_dir):
    """Start the worker's R zygote (once) and load there the packages the task's R files use, without running them."""
    global _ZYGOTE
    if not rscript():
        return []
    try:
        if _ZYGOTE is None or not _ZYGOTE.alive():
            _ZYGOTE = Zygote()
        return _ZYGOTE.preload(*packages_used(code_dir))
    except (OSError, ValueError):
        _ZYGOTE = None
        return []


def shutdown(final=False):
    """End this process's R bridge (a step's end) and, with `final`, the worker's zygote, so R removes its files."""
    global _ZYGOTE
    proc = _PROCESSES.pop(os.getpid(), None)
    if proc is not None:
        proc.close()
    if final and _ZYGOTE is not None and _ZYGOTE.owner == os.getpid():
        _ZYGOTE.close()
        _ZYGOTE = None


def zygote_version():
    """The R version string of the worker's zygote, or None when there is none."""
    return _ZYGOTE.version if _ZYGOTE is not None else None


def zygote_pids():
    """The pids of the worker's R zygote (the Rscript started and R itself, when Rscript is a wrapper), which
    step cleanup spares; empty when there is none."""
    if _ZYGOTE is None or not _ZYGOTE.alive():
        return ()
    return tuple({_ZYGOTE.proc.pid, int(_ZYGOTE.r_pid or _ZYGOTE.proc.pid)})


_PROCESSES = {}


def _process():
    """This process's R bridge, started on first use (a forked child starts its own)."""
    proc = _PROCESSES.get(os.getpid())
    if proc is None or not proc.alive():
        proc = _PROCESSES[os.getpid()] = RProcess()
    return proc


_ATTACHES = re.compile(r"""\b(?:library|require)\(\s*["']?([A-Za-z][A-Za-z0-9.]*)""")
_LOADS = re.compile(r"""\b(?:requireNamespace|loadNamespace)\(\s*["']([A-Za-z][A-Za-z0-9.]*)|\b([A-Za-z][A-Za-z0-9.]*):::?[A-Za-z.]""")


def packages_used(code_dir):
    """R packages the task's R files attach (library/require, in order) and those it only loads (pkg::,
    requireNamespace, requirements.txt); the zygote does the same ahead of time, so the task's own calls find
    them ready and its search path is the one it would build itself."""
    attach, load = [], list(requirements(code_dir))
    for root, dirs, files in os.walk(code_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith((".R", ".r")):
                try:
                    with open(os.path.join(root, name), encoding="utf-8", errors="replace") as fh:
                        text = "\n".join(line.split("#", 1)[0] for line in fh)
                except OSError:
                    continue
                attach += [m.group(1) for m in _ATTACHES.finditer(text)]
                load += [m.group(1) or m.group(2) for m in _LOADS.finditer(text)]
    base = {"base", "stats", "utils", "methods", "graphics", "grDevices", "datasets"}
    attach = [n for n in dict.fromkeys(attach) if n not in base]
    load = [n for n in dict.fromkeys(load) if n not in base and n not in attach]
    return attach, load


# ---------------------------------------------------------------- the task


class RHook:
    """A hook of an R task, callable from Python as the Python hook of the same name would be."""

    def __init__(self, task, name):
        self.task = task
        self.name = name

    def __call__(self, *args, **kwargs):
        return self.task.invoke(self.name, args, kwargs)


class RTaskCode:
    """A loaded `custom.R`: the same interface as taskcode.TaskCode, its hooks run in the R bridge."""

    language = "r"
    uses_class = False
    task_class = None

    def __init__(self, code_dir, custom_file):
        self.code_dir = code_dir
        self.custom_file = custom_file
        self.process = _process()
        self.process.loaded += 1
        self.id = r_string(f"t{self.process.loaded}")
        exchange = Exchange()
        try:
            expr = "op_load({}, {}, {}, {})".format(
                self.id, r_string(code_dir), r_string(custom_file), exchange.r(requirements(code_dir)) if requirements(code_dir) else "character()"
            )
            reply = self.process.request(expr, f"loading {custom_file}")
        finally:
            exchange.close()
        if reply.get("status") == "missing":
            raise _missing_packages(reply, self.process.version)
        self._raise_if_failed(reply, f"loading {custom_file}")
        defined = reply.get("hooks") or []
        defined = [defined] if isinstance(defined, str) else defined
        self.hooks = {name: RHook(self, name) for name in defined if name in R_HOOKS}
        # DRUM's defaults when the hook is absent: R's predict() for estimators, recipes' bake() for transforms.
        self.defaults = {Hooks.SCORE: RHook(self, Hooks.SCORE), Hooks.TRANSFORM: RHook(self, Hooks.TRANSFORM)}

    def has(self, hook):
        return hook in self.hooks

    def call(self, hook, /, *args, **kwargs):
        return self.hooks[hook](*args, **kwargs)

    def load_model(self, model_dir, target_type):
        """Read the fitted model as DRUM does: `load_model`, else the one `.rds` file (none is fine for a transform)."""
        reply = self.process.request(
            f"op_load_model({self.id}, {r_string(model_dir)}, {r_string(target_type)})", "load_model"
        )
        self._raise_if_failed(reply, "load_model")
        return RModel(self.process, reply["handle"])

    def invoke(self, hook, args, kwargs):
        exchange = Exchange()
        try:
            if hook == Hooks.SCORE:
                data, model = args[0], args[1]
                extra = {k: _labels(kwargs[k]) for k in ("class_labels", "positive_class_label", "negative_class_label")
                         if k in kwargs}
                expr = "op_score({}, {}, {}, {}, {}, {})".format(
                    self.id, exchange.r(data), exchange.r(model), r_string(kwargs.get("target_type", contract.REGRESSION)),
                    exchange.r(extra), r_string(exchange.path(".out.csv")),
                )
                return self._frame_reply(self.process.request(expr, hook), hook)
            if hook == Hooks.TRANSFORM:
                data, model = args[0], args[1]
                y = args[2] if len(args) > 2 else kwargs.get("y")
                expr = "op_transform({}, {}, {}, {}, {})".format(
                    self.id, exchange.r(data), exchange.r(model), exchange.r(y), r_string(exchange.path(".out.csv"))
                )
                return self._frame_reply(self.process.request(expr, hook), hook)
            if hook == Hooks.READ_INPUT_DATA:  # the raw input, as a raw vector (DRUM passes R the bytes)
                path = exchange.path(".input")
                with open(path, "wb") as fh:
                    fh.write(args[0])
                raw = f"readBin({r_string(path)}, 'raw', n = file.size({r_string(path)}))"
                expr = f"op_call({self.id}, {r_string(hook)}, list({raw}), 'frame', {r_string(exchange.path('.out.csv'))})"
                return self._frame_reply(self.process.request(expr, hook), hook)
            if hook == Hooks.FIT and kwargs.get("output_dir") and not str(kwargs["output_dir"]).endswith("/"):
                kwargs = dict(kwargs, output_dir=str(kwargs["output_dir"]) + "/")  # as DRUM passes it
            if hook == Hooks.FIT and not kwargs.get("parameters"):
                kwargs = dict(kwargs, parameters=None)
            if hook == Hooks.FIT and kwargs.get("class_order") is not None:
                kwargs = dict(kwargs, class_order=_labels(kwargs["class_order"]))
            named = ", ".join(f"{k} = {exchange.r(v)}" for k, v in kwargs.items())
            positional = ", ".join(exchange.r(v) for v in args)
            expr = f"op_call({self.id}, {r_string(hook)}, list({', '.join(p for p in (positional, named) if p)}))"
            reply = self.process.request(expr, hook)
            self._raise_if_failed(reply, hook)
            return None
        finally:
            exchange.close()

    def _frame_reply(self, reply, hook):
        self._raise_if_failed(reply, hook)
        return read_frame(reply)

    def _raise_if_failed(self, reply, hook):
        if reply.get("status") == "ok":
            return
        raise _failure(reply, hook, self.custom_file, self.process.version)


def _missing_packages(reply, version):
    names = reply.get("packages") or []
    names = [names] if isinstance(names, str) else names
    quoted = ", ".join(f"'{n}'" for n in names)
    debs = " ".join(f"r-cran-{n.lower()}" for n in names)
    noun = "package" if len(names) == 1 else "packages"
    verb = "is" if len(names) == 1 else "are"
    return TaskCrash(
        f"R {noun} {quoted} from requirements.txt {verb} not installed for {version}; install "
        f"{'it' if len(names) == 1 else 'them'} for that R (Debian builds many as r-cran-<name>: apt install {debs}; "
        "otherwise install.packages from a CRAN mirror), run the task in the r-base environment, or remove "
        f"{'it' if len(names) == 1 else 'them'} from requirements.txt.",
        details="R looked in: " + ", ".join(reply.get("libraries") or []) if reply.get("libraries") else None,
        rule="import",
    )


def _failure(reply, hook, custom_file, version):
    """The StepFailure for an error reply from the bridge: one sentence, the R traceback as details."""
    message = (reply.get("message") or "(no message)").strip()
    first = message.splitlines()[0] if message else "(no message)"
    if len(first) > 300:
        first = first[:300] + "…"
    kind = reply.get("kind")
    if kind == "type":
        return RuleViolation(first + ".", rule=f"{reply.get('hook', hook)} returns a data.frame")
    if kind in ("artifact", "missing hook"):
        return StepFailure(first + ".", rule="artifact can be loaded" if kind == "artifact" else "transform is required")
    if kind == "engine":
        return StepFailure(f"the R bridge could not run a request: {first}.")
    syntax = re.match(r"^(.*?([^/]+\.[Rr])):(\d+):(\d+): (.*)$", first)
    if syntax and reply.get("hook", "").startswith("loading"):
        return TaskCrash(f"{syntax.group(2)} line {syntax.group(3)}, column {syntax.group(4)}: R syntax error: "
                         f"{syntax.group(5)}.", details=message, rule="import")
    lines = reply.get("traceback") or []
    lines = [lines] if isinstance(lines, str) else lines
    details = ["R traceback (the task's own frames, innermost last):"] + lines if lines else []
    call = reply.get("call")
    details.append(f"Error{' in ' + call if call else ''}: {message}")
    location = reply.get("location")
    at = f" ({location})" if location else ""
    name = reply.get("hook", hook)
    package = reply.get("package")
    if package:
        where = location or custom_file
        return TaskCrash(
            f"{where} loads R package '{package}', which is not installed for {version}; add '{package}' to the "
            f"task's requirements.txt (Docker installs it as r-cran-{package.lower()}) or install it where Rscript runs.",
            details="\n".join(details), rule="import",
        )
    if first.startswith("cannot allocate vector"):
        return TaskCrash(f"{name} ran out of memory (R: {first}){at}.", details="\n".join(details), rule="crash")
    return TaskCrash(f"{name} raised an R error: {first}{at}.", details="\n".join(details), rule="crash")
