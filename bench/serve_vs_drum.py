"""Side by side (issue 15): `drum server` and `taskbench serve` answering single-row requests, in one run.

Each tool fits its own model with its own libraries:
user     DRUM's own `1_python_regression` template (tests/fixtures/drum_templates) fitted on juniors by
         `drum fit --output` and `taskbench fit --output`, each fitted folder served with `--code-dir`
         (`drum server` / `taskbench serve`: the same folder contract on both sides).
linear   taskbench's built-in `num = impute_median(NUM)` / `model = ridge(num)`, trained, deployed and served
         by name; DRUM serves a custom.py fitting the same scikit-learn pipeline (SimpleImputer(median), then
         Ridge(alpha=1)) with a `score` hook.
One keep-alive sequential client on raw sockets sends one-row `multipart X` bodies (a CSV file in field "X",
as DRUM's clients send) and CSV bodies: --requests per round after a warm-up, --runs rounds, the floor and
both servers interleaved in blocks. Printed: median, p95, requests/s, DRUM/taskbench median (goals >= 3x user,
>= 4x linear), and taskbench / the in-process floor (`pd.read_csv` of the CSV + the task's own predict + the
JSON answer, in this process; goal <= 1.3x). `--workers` also runs `taskbench serve --workers 2` against 1
worker under 8 concurrent clients (wrk when on PATH, else bench/_load.py; its own process, its CPU printed): goal >= 1.8x.
DRUM (default 1.18.1) goes into its own virtual environment, cached in --drum-venv, pinned to the project's
scikit-learn/pandas/numpy when pip can; when it cannot be installed the DRUM side is skipped with a sentence.

Run: python bench/serve_vs_drum.py [--runs 2] [--requests 1000] [--workers] [--no-drum]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import pickle
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import Connection, csv_body, get_request, multipart_x, post_request  # noqa: E402

DATA = ROOT / "sample_tasks" / "data"
JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
INFERENCE = DATA / "juniors_3_year_stats_regression_inference.csv"
TARGET = "Grade 2014"
USER_TASK = ROOT / "tests" / "fixtures" / "drum_templates" / "1_python_regression"
SHIM = ROOT / "core" / "runtime" / "drum_shim"
BUILTINS = ROOT / "core" / "builtin_tasks"
TB = [sys.executable, "-m", "tui.cli"]
BLUEPRINT = "num = impute_median(NUM)\nmodel = ridge(num)\n"
DEFAULT_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "taskbench-bench" / "drum-venv"
GOAL_DRUM = {"user": 3.0, "linear": 4.0}
GOAL_FLOOR = 1.3
GOAL_WORKERS = 1.8

DRUM_LINEAR = '''"""Median imputation then ridge (alpha=1) on every column: the pipeline of taskbench's built-in
`num = impute_median(NUM)` / `model = ridge(num)`, as a DRUM task."""
import pickle

import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline


def fit(X, y, output_dir, **kwargs):
    model = make_pipeline(SimpleImputer(strategy="median"), Ridge(alpha=1.0)).fit(X.astype("float64"), y)
    with open(f"{output_dir}/artifact.pkl", "wb") as fh:
        pickle.dump(model, fh)


def score(data, model, **kwargs):
    return pd.DataFrame({"Predictions": model.predict(data.astype("float64"))})
'''
DRUM_LINEAR_META = "name: bench_linear\ntype: training\ntargetType: regression\n"


class Stop(Exception):
    """Raised by SIGTERM/SIGHUP so the cleanup in `finally` runs."""


def say(text: str = "") -> None:
    print(text, flush=True)


def run(cmd: list, env: dict | None = None, timeout: float = 600, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run a command, exiting with its output when it fails."""
    cmd = [str(c) for c in cmd]
    try:
        proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        sys.exit(f"timed out after {timeout:.0f} s: {' '.join(cmd)}")
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- DRUM's own virtual environment


def drum_venv(path: Path, version: str) -> tuple[Path | None, str]:
    """The venv's python with datarobot-drum installed (built once, then reused while the version and taskbench's
    scikit-learn/pandas/numpy stay the same), or None and why not."""
    import numpy
    import pandas
    import sklearn

    python = path / "bin" / "python"
    pins = [f"scikit-learn=={sklearn.__version__}", f"pandas=={pandas.__version__}", f"numpy=={numpy.__version__}"]
    marker = path / "taskbench-bench.json"
    if marker.exists() and python.exists():
        made = json.loads(marker.read_text())
        if made.get("drum") == version and made.get("pins") == pins:
            return python, made["how"]
    shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    say(f"Installing datarobot-drum=={version} into {path} (once; about a minute)...")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, capture_output=True, timeout=300)
        attempts = [(pins, "pinned to taskbench's scikit-learn, pandas and numpy"), ([], "with pip's own choice of "
                    "scikit-learn, pandas and numpy (the pinned install failed)")]
        for extra, how in attempts:
            proc = subprocess.run([str(python), "-m", "pip", "install", "-q", f"datarobot-drum=={version}",
                                   "scikit-learn", *extra], capture_output=True, text=True, timeout=1200)
            if proc.returncode == 0:
                break
        else:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            shutil.rmtree(path, ignore_errors=True)
            return None, f"pip could not install datarobot-drum=={version} ({last})"
    except (subprocess.SubprocessError, OSError) as exc:
        shutil.rmtree(path, ignore_errors=True)
        return None, f"its virtual environment could not be made in {path} ({exc})"
    marker.write_text(json.dumps({"drum": version, "pins": pins, "how": how}))
    return python, how


def venv_versions(python: Path) -> str:
    code = ("import datarobot_drum, importlib.metadata as m, sklearn, pandas, numpy; "
            "print(m.version('datarobot-drum'), sklearn.__version__, pandas.__version__, numpy.__version__)")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        return ""
    drum, sk, pd_, np_ = out.stdout.split()
    return f"datarobot-drum {drum}, scikit-learn {sk}, pandas {pd_}, numpy {np_}"


# ---------------------------------------------------------------- servers


class Servers:
    """Server processes started by the bench, each in its own session so its workers stop with it."""

    def __init__(self, scratch: Path):
        self.scratch, self.procs = scratch, []

    def start(self, name: str, cmd: list, env: dict, ping: str, timeout: float = 120) -> tuple[int, int] | None:
        """Start a server on a free port and wait until `ping` answers 200: (port, pid), or None (log printed)."""
        port = free_port()
        cmd = [str(c).replace("{port}", str(port)) for c in cmd]
        log = self.scratch / f"{name}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, env=env, cwd=self.scratch, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            conn = Connection(port, timeout=2)
            try:
                if conn.request(get_request(port, ping))[0] == 200:
                    return port, proc.pid
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.2)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        say(f"{name} did not answer {ping} within {timeout:.0f} s; the last lines of its log:\n{tail}")
        self.stop(proc)
        return None

    def stop(self, proc: subprocess.Popen) -> None:
        """SIGTERM to the server's session (its workers too), SIGKILL after 10 s."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(10)
                break
            except subprocess.TimeoutExpired:
                continue
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc)


# ---------------------------------------------------------------- measurement


def summary(times: list, total: float, block: int) -> dict:
    """Median, p95 (ms) and requests/s, plus the median of each block (for ratios of neighbouring blocks)."""
    blocks = [statistics.median(times[i:i + block]) for i in range(0, len(times), block)]
    times = sorted(times)
    return {"median": times[len(times) // 2] * 1000, "p95": times[int(len(times) * 0.95)] * 1000,
            "rps": len(times) / total, "blocks": blocks}


def paired(row: dict, a: str, b: str) -> float:
    """The median over turns of a/b between blocks run side by side (robust when the machine's load comes and goes)."""
    return statistics.median(x / y for x, y in zip(row[a]["blocks"], row[b]["blocks"]))


def ratio(row: dict, a: str, b: str) -> str:
    """a/b of the medians, and of blocks side by side."""
    return f"{row[a]['median'] / row[b]['median']:.2f}x (blocks side by side {paired(row, a, b):.2f}x)"


def interleaved(calls: dict, n: int, warmup: int, block: int) -> dict:
    """`n` timed calls of each contender after `warmup` untimed ones, in blocks of `block` taken in turn (the
    order rotating each block), so that load from elsewhere on the machine falls on all of them alike."""
    for call in calls.values():
        for _ in range(warmup):
            call()
    times = {name: [] for name in calls}
    spent = dict.fromkeys(calls, 0.0)
    names = list(calls)
    done = turn = 0
    while done < n:
        size = min(block, n - done)
        for name in names[turn % len(names):] + names[:turn % len(names)]:
            call, log = calls[name], times[name]
            began = time.perf_counter()
            for _ in range(size):
                t = time.perf_counter()
                call()
                log.append(time.perf_counter() - t)
            spent[name] += time.perf_counter() - began
        done += size
        turn += 1
    return {name: summary(times[name], spent[name], block) for name in calls}


def server_call(conn: Connection, raw: bytes):
    """One request on a keep-alive connection; anything but 200 stops the bench with the answer."""
    def call():
        status, body = conn.request(raw)
        if status != 200:
            raise RuntimeError(f"HTTP {status} from port {conn.port}: {body[:300].decode(errors='replace')}")
    return call


def floor_call(predict, csv: bytes):
    """The work itself in this process: parse the CSV, the task's own predict, the JSON answer."""
    import pandas as pd

    def call():
        frame = predict(pd.read_csv(io.BytesIO(csv)))
        return json.dumps({"predictions": frame["Predictions"].tolist()})
    return call


def user_floor(fitted: Path):
    """The user task's own predict, its artifact loaded as DRUM and taskbench load it (`CustomTask.load`)."""
    if importlib.util.find_spec("datarobot_drum") is None:
        sys.path.append(str(SHIM))
    sys.path.insert(0, str(fitted))
    try:
        import custom
    finally:
        sys.path.remove(str(fitted))
    task = custom.CustomTask.load(str(fitted))
    return task.predict


def linear_floor(model_dir: Path):
    """The built-in tasks' own hooks (impute_median.transform, ridge.predict) on the deployed model's artifacts."""
    def module(folder: str):
        sys.path.insert(0, str(BUILTINS / folder))  # for its builtin_helpers
        try:
            spec = importlib.util.spec_from_file_location(f"bench_builtin_{folder}", BUILTINS / folder / "custom.py")
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
        finally:
            sys.path.remove(str(BUILTINS / folder))
        return mod

    impute, ridge = module("impute_median"), module("ridge")
    with open(model_dir / "nodes" / "num" / "artifact.pkl", "rb") as fh:
        fills = pickle.load(fh)
    with open(model_dir / "nodes" / "model" / "artifact.pkl", "rb") as fh:
        fitted = pickle.load(fh)
    return lambda X: ridge.predict(impute.transform(X, fills), fitted)


# ---------------------------------------------------------------- setup of each side


def setup_taskbench(scratch: Path, servers: Servers, env: dict) -> dict:
    """Fit the user task, train and deploy the linear blueprint, start both servers; the floors' predict too."""
    tasks = {}
    fitted = scratch / "tb_user"
    run(TB + ["fit", "--code-dir", USER_TASK, "--input", JUNIORS, "--target-type", "regression", "--target", TARGET,
              "--output", fitted], env)
    started = servers.start("taskbench-user", TB + ["serve", "--code-dir", fitted, "--port", "{port}"], env, "/ping")
    if started is None:
        sys.exit("taskbench serve --code-dir did not start; see its log above.")
    tasks["user"] = {"taskbench_port": started[0], "predict": user_floor(fitted)}
    run(TB + ["project", "create", JUNIORS, "--target", TARGET, "--name", "juniors"], env)
    bp = scratch / "ridge.bp"
    bp.write_text(BLUEPRINT)
    run(TB + ["train", "juniors", bp], env)
    run(TB + ["deploy", "1", "--name", "bench"], env)
    started = servers.start("taskbench-linear", TB + ["serve", "bench", "--port", "{port}"], env, "/ping")
    if started is None:
        sys.exit("taskbench serve did not start; see its log above.")
    model_dir = Path(env["TASKBENCH_HOME"]) / "models" / "1"
    tasks["linear"] = {"taskbench_port": started[0], "predict": linear_floor(model_dir)}
    return tasks


def setup_drum(python: Path, scratch: Path, servers: Servers, tasks: dict) -> None:
    """`drum fit --output` each task in DRUM's venv, check the venv loads what it fitted, start `drum server`s."""
    drum = python.parent / "drum"
    src = scratch / "drum_linear_src"
    src.mkdir()
    (src / "custom.py").write_text(DRUM_LINEAR)
    (src / "model-metadata.yaml").write_text(DRUM_LINEAR_META)
    user_src = scratch / "drum_user_src"  # a copy: drum fit also leaves drum_artifact.pkl in the code folder
    shutil.copytree(USER_TASK, user_src)
    for name, code_dir in (("user", user_src), ("linear", src)):
        fitted = scratch / f"drum_{name}"
        fitted.mkdir()
        home = scratch / f"drum_home_{name}"  # gunicorn keeps a control socket under $HOME
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKBENCH_", "PYTHONPATH", "VIRTUAL_ENV"))}
        env.update(HOME=str(home), PATH=f"{python.parent}{os.pathsep}{env.get('PATH', '')}")
        # --skip-predict: drum fit's own prediction check starts a server and times out here
        run([drum, "fit", "--code-dir", code_dir, "--input", JUNIORS, "--target-type", "regression", "--target",
             TARGET, "--output", fitted, "--skip-predict"], env, timeout=600)
        pkl = next(fitted.glob("*.pkl"))
        check = (f"import pickle, sys; sys.path.insert(0, {str(fitted)!r}); "
                 f"pickle.load(open({str(pkl)!r}, 'rb'))")
        proc = subprocess.run([str(python), "-c", check], env=env, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            say(f"DRUM side of '{name}' skipped: DRUM's venv cannot load the artifact it fitted "
                f"({(proc.stderr.strip().splitlines() or ['?'])[-1]}).")
            continue
        started = servers.start(f"drum-{name}", [drum, "server", "--code-dir", fitted, "--target-type", "regression",
                                                 "--address", "127.0.0.1:{port}"], env, "/")
        if started is not None:
            tasks[name]["drum_port"] = started[0]


# ---------------------------------------------------------------- the runs


def tree_cpu(pid: int) -> dict:
    """CPU seconds used so far by a process and each of its descendants, by pid (from /proc; empty elsewhere)."""
    parents, cpu = {}, {}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        cpu[child] = (int(fields[11]) + int(fields[12])) / tick
    tree, grew = {pid}, True
    while grew:
        more = {c for c, p in parents.items() if p in tree} - tree
        tree |= more
        grew = bool(more)
    return {p: cpu[p] for p in tree if p in cpu}


def autogroup() -> bool:
    """Whether Linux groups CPU time by session (then a session's processes share one fair share between them)."""
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return False


def load() -> str:
    """The machine's load average, printed beside each measurement: other work shares these CPUs."""
    return "load average {:.1f}".format(os.getloadavg()[0])


def fmt(s: dict) -> str:
    return f"median {s['median']:6.2f} ms  p95 {s['p95']:6.2f} ms  {s['rps']:6.0f} req/s"


def compare(tasks: dict, csv: bytes, args) -> list:
    """For each round, task and body kind: the floor, DRUM and taskbench, interleaved in blocks."""
    rows = []
    for rnd in range(1, args.runs + 1):
        for name, task in tasks.items():
            for kind, build in (("multipart X", multipart_x), ("CSV", csv_body)):
                body, ctype = build(csv)
                calls = {"floor": floor_call(task["predict"], csv)}
                conns = []
                for side in ("drum", "taskbench"):
                    port = task.get(f"{side}_port")
                    if port:
                        conns.append(Connection(port))
                        raw = post_request(port, "/predict/", body, ctype)
                        status, answer = conns[-1].request(raw)
                        if status != 200 or len(json.loads(answer)["predictions"]) != 1:
                            sys.exit(f"{side} answered {status} to a one-row {kind} body: {answer[:300]!r}")
                        calls[side] = server_call(conns[-1], raw)
                try:
                    row = interleaved(calls, args.requests, args.warmup, args.block)
                finally:
                    for conn in conns:
                        conn.close()
                row.update(task=name, kind=kind, round=rnd)
                rows.append(row)
                say(f"\n{name} task, {kind} body, round {rnd} ({args.requests} requests each after {args.warmup}, "
                    f"in blocks of {args.block}; {load()}):")
                say(f"  floor (in-process)  {fmt(row['floor'])}")
                if "drum" in row:
                    say(f"  drum server         {fmt(row['drum'])}")
                say(f"  taskbench serve     {fmt(row['taskbench'])}")
                if "drum" in row:
                    say(f"  DRUM/taskbench  {ratio(row, 'drum', 'taskbench')}  goal >= {GOAL_DRUM[name]:.0f}x")
                say(f"  taskbench/floor {ratio(row, 'taskbench', 'floor')}  goal <= {GOAL_FLOOR}x")
    return rows


def print_summary(rows: list) -> None:
    say("\nSummary (ratios of median latencies, one per round; blocks side by side in brackets):")

    def both(r, a, b):
        return f"{r[a]['median'] / r[b]['median']:.2f} [{paired(r, a, b):.2f}]"

    for name in dict.fromkeys(r["task"] for r in rows):
        for kind in dict.fromkeys(r["kind"] for r in rows):
            sel = [r for r in rows if r["task"] == name and r["kind"] == kind]
            fl = " / ".join(both(r, "taskbench", "floor") for r in sel)
            line = f"  {name:6} {kind:11}  taskbench/floor {fl} (goal <= {GOAL_FLOOR})"
            if all("drum" in r for r in sel):
                dr = " / ".join(both(r, "drum", "taskbench") for r in sel)
                line += f"   DRUM/taskbench {dr} (goal >= {GOAL_DRUM[name]:.0f})"
            say(line)


def workers_bench(scratch: Path, servers: Servers, env: dict, csv: bytes, args) -> None:
    """`taskbench serve --workers 1` against `--workers 2` under concurrent clients (bench/_load.py, its own
    process), for the linear deployment and the user task's fitted folder, the two worker counts alternating."""
    client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "python")
    how = ("wrk, one thread" if client == "wrk" else
           "raw sockets on one epoll loop; `apt install wrk` for a client that takes less of the CPUs")
    say(f"\n--workers: one-row CSV bodies, {args.clients} concurrent keep-alive clients ({how}; in one process apart "
        f"from the bench and the servers), {args.seconds:g} s per round after 1 s of warm-up; {os.cpu_count()} CPUs "
        "here")
    if os.getloadavg()[0] > (os.cpu_count() or 1) and autogroup():
        say("  Note: this machine is busy and the kernel schedules by session (autogroup): a server started in its "
            "own session, as from a terminal, gets one session's share of the CPUs however many workers it has, so "
            "--workers 2 cannot show its scaling here; run it on an idle machine.")
    sources = {"linear": ["bench"], "user": ["--code-dir", scratch / "tb_user"]}
    for name, source in sources.items():
        ports, pids = {}, {}
        for k in (1, 2):
            started = servers.start(f"taskbench-{name}-workers{k}", TB + ["serve", *source, "--port", "{port}",
                                                                         "--workers", str(k)], env, "/ping")
            if started is None:
                sys.exit(f"taskbench serve --workers {k} did not start; see its log above.")
            ports[k], pids[k] = started
        ratios, bounds = [], []
        for rnd in range(1, args.runs + 1):
            got = {}
            for k, port in ports.items():
                raw_file = scratch / f"request-{name}-{k}.bin"
                raw_file.write_bytes(post_request(port, "/predict/", *csv_body(csv)))
                before, began = tree_cpu(pids[k]), time.perf_counter()
                out = run([sys.executable, ROOT / "bench" / "_load.py", port, raw_file, "--clients", args.clients,
                           "--seconds", args.seconds, "--client", client], timeout=args.seconds + 120)
                after, wall = tree_cpu(pids[k]), time.perf_counter() - began
                busy = sorted((after[p] - before.get(p, 0.0)) / wall * 100 for p in after)[::-1]
                got[k] = r = json.loads(out.stdout.strip().splitlines()[-1])
                r["server_us"] = sum(busy) / 100 / r["requests_per_s"] * 1e6  # server CPU per answered request
                r["client_us"] = r["client_cpu_s"] / max(r["requests"], 1) * 1e6
                working = [b for b in busy if b >= 1]
                idle = " (one worker took every connection)" if k > 1 and len(working) == 1 else ""
                say(f"  {name} task, round {rnd}, --workers {k}: {r['requests_per_s']:6.0f} req/s, median "
                    f"{r['median_ms']:6.2f} ms, {r['errors']} errors; % of a core: server processes "
                    f"{' + '.join(f'{b:.0f}' for b in working) or '0'}{idle}, client "
                    f"{r['client_cpu_s'] / r['seconds'] * 100:.0f}; CPU per request: servers {r['server_us']:.0f} us, "
                    f"client {r['client_us']:.0f} us; {load()}")
            ratios.append(got[2]["requests_per_s"] / got[1]["requests_per_s"])
            bounds.append(2 * got[1]["server_us"] / (got[2]["server_us"] + got[2]["client_us"]))
        say(f"  {name} task: --workers 2 / --workers 1 throughput "
            f"{' / '.join(f'{x:.2f}' for x in ratios)} (goal >= {GOAL_WORKERS}x); the most two cores shared with "
            f"the client allow at these CPU costs: {' / '.join(f'{x:.2f}' for x in bounds)}")
        for proc in list(servers.procs):
            servers.stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2, help="rounds of every measurement (default 2)")
    parser.add_argument("--requests", type=int, default=1000, help="measured requests per round (default 1000)")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured requests first (default 100)")
    parser.add_argument("--block", type=int, default=20, help="requests per turn when interleaving (default 20)")
    parser.add_argument("--workers", action="store_true", help="also --workers 2 against 1 under concurrent clients")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for --workers (default 8)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator for --workers: wrk when on PATH (auto), or bench/_load.py's Python loop")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per --workers round")
    parser.add_argument("--no-drum", action="store_true", help="skip the DRUM side")
    parser.add_argument("--drum-version", default="1.18.1")
    parser.add_argument("--drum-venv", type=Path, default=DEFAULT_VENV, help=f"default {DEFAULT_VENV}")
    args = parser.parse_args()

    def stop(signum, frame):
        raise Stop()

    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    scratch = Path(tempfile.mkdtemp(prefix="tb-serve-vs-drum-"))
    servers = Servers(scratch)
    try:
        python = None
        if not args.no_drum:
            python, how = drum_venv(args.drum_venv, args.drum_version)
            if python is None:
                say(f"The DRUM side is skipped: {how}.")
            else:
                say(f"DRUM: {venv_versions(python)} in {args.drum_venv} ({how}); `drum server` as shipped "
                    f"(gunicorn sync worker by default in 1.18)")
        import numpy
        import pandas
        import sklearn

        say(f"taskbench: {sys.executable}, scikit-learn {sklearn.__version__}, pandas {pandas.__version__}, "
            f"numpy {numpy.__version__}; {os.cpu_count()} CPUs")
        env = dict(os.environ, TASKBENCH_HOME=str(scratch / "ws"))
        tasks = setup_taskbench(scratch, servers, env)
        if python is not None:
            setup_drum(python, scratch, servers, tasks)
        lines = INFERENCE.read_bytes().splitlines()
        csv = lines[0] + b"\n" + lines[1] + b"\n"
        rows = compare(tasks, csv, args)
        print_summary(rows)
        if args.workers:
            for proc in list(servers.procs):  # idle servers would still hold memory; the workers want the CPUs
                servers.stop(proc)
            workers_bench(scratch, servers, env, csv, args)
    except (KeyboardInterrupt, Stop):
        say("\nStopped; cleaning up.")
        sys.exit(130)
    finally:
        servers.stop_all()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
