"""Prediction benchmarks (issue 6), each printing a ratio measured in the same run.

batch    `taskbench predict` on 100,000 rows of the juniors features (the
         inference CSV repeated) with `num = impute_median(NUM); model =
         ridge(num)`, against a plain script that reads the CSV, unpickles the
         same fitted scikit-learn objects and writes a predictions CSV. Whole
         process wall times (and CPU), runs interleaved; the ratio is plain /
         taskbench throughput (issue 15's goal >= 1.0; DRUM's `drum score`
         measured 0.66 here). Each build's own modules are byte-compiled first,
         as an installed taskbench is. `--base DIR` runs another build too.
serve    `taskbench serve` answering single-row `/predict/` requests (a CSV body,
         and multipart file field X as DRUM's clients send) from one keep-alive
         client, for the ridge blueprint (a deployment) and for DRUM's own
         regression template fitted on juniors (`serve --code-dir`): median
         latency, requests/s and the server's CPU per request (steadier than
         wall time on a busy machine), against the floor: a plain in-process
         script of `pd.read_csv` of the body + the task's own predict.
         `--base DIR` (a `git worktree` of an older commit) runs that build
         interleaved with this one, each with a workspace of its own.
workers  `serve --workers 1` and `--workers 2` under 8 concurrent keep-alive
         clients: throughput ratio (issue 15's goal >= 1.8). The load generator
         is one asyncio process of raw sockets, apart from the servers; on a
         2-core machine it shares the cores with them, and a busy machine
         (the kernel's autogroup shares CPU per session) hides the scaling.

Run: python bench/predict_benchmarks.py [batch|serve|workers ...] [--runs 3] [--requests N] [--kind builtin|user]
     [--form csv|multipart] [--base DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "sample_tasks" / "data"
JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
INFERENCE = DATA / "juniors_3_year_stats_regression_inference.csv"
TB = [sys.executable, "-m", "tui.cli"]
BLUEPRINT = "num = impute_median(NUM)\nmodel = ridge(num)\n"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import csv_body, multipart_x, post_request  # noqa: E402 - the request builders serve_vs_drum uses too


def run(cmd: list, env: dict) -> float:
    started = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True, cwd=env.get("TB_CWD", ROOT))
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def trained_model(scratch: Path, build: Path | None = None) -> tuple[dict, Path]:
    """A workspace with the juniors project and the ridge blueprint trained as model 1 (by the checkout `build`)."""
    scratch.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TASKBENCH_HOME=str(scratch / "ws"))
    if build is not None:
        env.update(PYTHONPATH=str(build), TB_CWD=str(build))
    run(TB + ["project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors"], env)
    bp = scratch / "ridge.bp"
    bp.write_text(BLUEPRINT)
    run(TB + ["train", "juniors", bp], env)
    return env, scratch / "ws" / "models" / "1"


def make_rows(scratch: Path, rows: int) -> Path:
    import pandas as pd

    base = pd.read_csv(INFERENCE)
    frame = pd.concat([base] * -(-rows // len(base)), ignore_index=True).iloc[:rows]
    path = scratch / f"juniors_{rows}.csv"
    frame.to_csv(path, index=False)
    return path


PLAIN = """
import pickle, sys
import pandas as pd
model_dir, data, out = sys.argv[1:4]
with open(f"{model_dir}/nodes/num/artifact.pkl", "rb") as fh:
    imputer = pickle.load(fh)
with open(f"{model_dir}/nodes/model/artifact.pkl", "rb") as fh:
    ridge = pickle.load(fh)
frame = pd.read_csv(data)
X = frame[imputer["columns"]].astype("float64").fillna(value=imputer["fills"])
predictions = ridge["estimator"].predict(X[ridge["columns"]].to_numpy(dtype="float64"))
pd.DataFrame({"Predictions": predictions}).to_csv(out, index=False)
"""


def compiled(build: Path) -> None:
    """Byte-compile a checkout's own modules, as `pip install` does: with PYTHONDONTWRITEBYTECODE set (as here),
    a source checkout would otherwise compile ~70 modules again in every run, which an installed taskbench never does
    (the plain script's libraries are installed, hence compiled, too)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "core", "tui"], cwd=build, check=True,
                   stdout=subprocess.DEVNULL)


def timed(cmd: list, env: dict) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, the process and its children) of a command."""
    before = os.times()
    wall = run(cmd, env)
    after = os.times()
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def bench_batch(scratch: Path, runs: int, bases=()) -> None:
    """Whole-process wall times of `taskbench predict` (this build and each of `bases`, every build with a workspace
    of its own) and of the plain script, interleaved run by run; the ratio is plain / taskbench throughput."""
    import pandas as pd

    builds = [("this", ROOT)] + [(f"base {Path(b).name}", Path(b).resolve()) for b in bases]
    envs, model_dir = {}, None
    for i, (name, where) in enumerate(builds):
        compiled(where)
        envs[name], trained = trained_model(scratch / f"build{i}", where)
        model_dir = model_dir or trained
    data = make_rows(scratch, 100_000)
    plain_py = scratch / "plain.py"
    plain_py.write_text(PLAIN)
    times: dict = {name: [] for name in ["plain"] + [n for n, _ in builds]}
    for _ in range(runs):
        times["plain"].append(timed([sys.executable, plain_py, model_dir, data, scratch / "plain.csv"], envs["this"]))
        for i, (name, _) in enumerate(builds):
            times[name].append(timed(TB + ["predict", "1", "--input", data, "--output", scratch / f"tb{i}.csv"],
                                     envs[name]))
    plain = statistics.median(w for w, _ in times["plain"])
    a = pd.read_csv(scratch / "plain.csv")
    load = os.getloadavg()[0]
    print(f"batch: 100,000 rows, {runs} interleaved runs, load average {load:.1f} on {os.cpu_count()} cores; plain "
          f"script median {plain:.2f} s (CPU {statistics.median(c for _, c in times['plain']):.2f} s)")
    for i, (name, _) in enumerate(builds):
        b = pd.read_csv(scratch / f"tb{i}.csv")
        same = bool(((a["Predictions"] - b["Predictions"]).abs() < 1e-9).all())
        wall = statistics.median(w for w, _ in times[name])
        cpu = statistics.median(c for _, c in times[name])
        print(f"  {name:>14}: taskbench predict median {wall:.2f} s (CPU {cpu:.2f} s, runs "
              f"{' '.join(f'{w:.2f}' for w, _ in times[name])}); throughput ratio plain/taskbench {plain / wall:.2f} "
              f"(goal >= 1.0); identical predictions: {same}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


USER_TASK = ROOT / "tests" / "fixtures" / "drum_templates" / "1_python_regression"  # DRUM's 2_estimators/1_python_regression


def fitted_user_task(scratch: Path, env: dict) -> Path:
    """DRUM's own regression template fitted on juniors into a folder `serve --code-dir` serves (as `drum server`)."""
    out = scratch / "fitted_user"
    run(TB + ["fit", "--code-dir", USER_TASK, "--input", JUNIORS, "--target", "Grade 2014", "--output", out], env)
    return out


# The floor: a plain script that reads the body with pd.read_csv and calls the task's own scoring code, in process.
FLOOR = """
import importlib.util, io, json, pickle, sys, time
import pandas as pd
kind, where, body, n = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read(), int(sys.argv[4])

def module(folder):
    spec = importlib.util.spec_from_file_location("custom_" + folder.replace("/", "_"), folder + "/custom.py")
    sys.path.insert(0, folder)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.path.pop(0)
    sys.modules.pop("builtin_helpers", None)
    return mod

if kind == "user":
    sys.path.append("core/runtime/drum_shim")
    sys.path.insert(0, where)
    task = pickle.load(open(where + "/drum_artifact.pkl", "rb"))
    def predict(frame):
        return task.predict(frame)
else:
    impute, ridge = module("core/builtin_tasks/impute_median"), module("core/builtin_tasks/ridge")
    fills = pickle.load(open(where + "/nodes/num/artifact.pkl", "rb"))
    fitted = pickle.load(open(where + "/nodes/model/artifact.pkl", "rb"))
    def predict(frame):
        return ridge.predict(impute.transform(frame[fills["columns"]], fills), fitted)
times = []
for _ in range(n):
    began = time.perf_counter()
    json.dumps({"predictions": predict(pd.read_csv(io.BytesIO(body)))["Predictions"].tolist()})
    times.append(time.perf_counter() - began)
times.sort()
print(times[len(times) // 2])
"""

# The load generator: raw keep-alive sockets, in a process of its own (asyncio for concurrent clients), so that
# its own CPU stays small next to the server's on a 2-core machine.
CLIENT = r"""
import asyncio, json, sys, time
port, request, total, clients = int(sys.argv[1]), open(sys.argv[2], "rb").read(), int(sys.argv[3]), int(sys.argv[4])
seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0  # > 0: every client runs this long, however many it sends

async def answer(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(next(l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")))
    body = await reader.readexactly(length)
    if not head.startswith(b"HTTP/1.1 200"):
        sys.exit(head.decode() + body.decode())
    return body

async def client(count, times, first):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(20):  # warm-up
        writer.write(request)
        first.append(await answer(reader))
    stop = time.perf_counter() + seconds
    while (count := count - 1) >= 0 or (seconds and time.perf_counter() < stop):
        began = time.perf_counter()
        writer.write(request)
        await answer(reader)
        times.append(time.perf_counter() - began)
    writer.close()

async def main():
    times, first = [], []
    began = time.perf_counter()
    await asyncio.gather(*(client(0 if seconds else total // clients, times, first) for _ in range(clients)))
    elapsed = time.perf_counter() - began
    times.sort()
    print(json.dumps({"median": times[len(times) // 2], "rate": len(times) / elapsed, "answer": first[0].decode()}))

asyncio.run(main())
"""


def http_request(body: bytes, form: str, port: int) -> bytes:
    """A keep-alive POST /predict/ of `body` as a raw CSV body or as DRUM clients send it (multipart file field X)."""
    return post_request(port, "/predict/", *(multipart_x(body) if form == "multipart" else csv_body(body)))


def start_server(args: list, env: dict, workers: int = 1) -> tuple[subprocess.Popen, int]:
    port = free_port()
    server = subprocess.Popen([str(c) for c in TB + ["serve", *args, "--port", str(port), "--workers", str(workers)]],
                              env=env, cwd=env.get("TB_CWD", ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 90
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if probe.recv(16).startswith(b"HTTP/1.1 200"):
                    if workers > 1:  # /ping answers once the first worker is up; the others still load the model
                        time.sleep(10)
                    return server, port
        except OSError:
            pass
        if time.time() > deadline or server.poll() is not None:
            server.kill()
            sys.exit("the server did not start within 90 s")
        time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children that ended (Linux /proc), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def load(scratch: Path, port: int, request: bytes, total: int, clients: int, server=None, seconds: float = 0) -> dict:
    """Run the load generator; with `server` (a Popen), also the server's CPU time per request, which other load
    on the machine disturbs far less than wall time."""
    path = scratch / f"request-{port}.http"
    path.write_bytes(request)
    script = scratch / "client.py"
    script.write_text(CLIENT)
    before = cpu_seconds(server.pid) if server is not None else 0.0
    out = subprocess.run([sys.executable, script, str(port), path, str(total), str(clients), str(seconds)],
                         capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    if server is not None:
        got["cpu"] = (cpu_seconds(server.pid) - before) / (total + 20 * clients)
    return got


def floor_median(scratch: Path, kind: str, where: Path, body_path: Path, count: int, env: dict) -> float:
    floor_py = scratch / "floor.py"
    floor_py.write_text(FLOOR)
    out = subprocess.run([sys.executable, floor_py, kind, where, body_path, str(count)], env=env,
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip())


def bench_serve(scratch: Path, requests_count: int, rounds: int = 2, kinds=("builtin", "user"),
                forms=("csv", "multipart"), bases=()) -> None:
    """Single-row /predict/ from one keep-alive client, per task kind and body form, against the floor;
    with `bases` (checkouts of older builds) each round runs them interleaved with this one."""
    builds = [("this", ROOT)] + [(f"base {Path(b).name}", Path(b).resolve()) for b in bases]
    envs = {}
    for i, (name, where) in enumerate(builds):  # each build its own workspace: an older one may not read a newer's
        envs[name], trained = trained_model(scratch / f"build{i}", where)
        run(TB + ["deploy", "1", "--name", "bench"], envs[name])
        if i == 0:
            env, model_dir = envs[name], trained
    user_dir = fitted_user_task(scratch, env)
    lines = INFERENCE.read_text().splitlines()
    body = (lines[0] + "\n" + lines[1] + "\n").encode()
    body_path = scratch / "row.csv"
    body_path.write_bytes(body)
    serve_args = {"builtin": ["bench"], "user": ["--code-dir", user_dir, "--target-type", "regression"]}
    answers = {}
    for r in range(rounds):
        for kind in kinds:
            floor = floor_median(scratch, kind, user_dir if kind == "user" else model_dir, body_path,
                                 requests_count, env)
            print(f"round {r + 1} {kind}: in-process floor (pd.read_csv + the task's own predict) {floor * 1000:.2f} ms")
            for name, where in builds:
                server, port = start_server(serve_args[kind], envs[name])
                try:
                    for form in forms:
                        got = load(scratch, port, http_request(body, form, port), requests_count, 1, server)
                        answers.setdefault(kind, set()).add(got["answer"])
                        print(f"  {name:>14} {kind:7} {form:9}: median {got['median'] * 1000:.2f} ms, "
                              f"{got['rate']:.0f} requests/s, {got['median'] / floor:.2f}x the floor; "
                              f"server CPU {got['cpu'] * 1000:.2f} ms/request")
                finally:
                    server.terminate()
                    server.wait(10)
    for kind, seen in answers.items():
        print(f"{kind}: answers identical across builds and forms: {len(seen) == 1} ({sorted(seen)[0][:80]})")


def bench_workers(scratch: Path, requests_count: int, clients: int = 8, rounds: int = 2) -> None:
    """Throughput of `serve --workers 1` and `--workers 2` under `clients` concurrent keep-alive clients."""
    env, _ = trained_model(scratch)
    run(TB + ["deploy", "1", "--name", "bench"], env)
    lines = INFERENCE.read_text().splitlines()
    body = (lines[0] + "\n" + lines[1] + "\n").encode()
    rates: dict = {1: [], 2: []}
    for _ in range(rounds):
        for workers in (1, 2):
            server, port = start_server(["bench"], env, workers)
            try:
                got = load(scratch, port, http_request(body, "csv", port), requests_count, clients, seconds=5)  # all clients for 5 s
            finally:
                server.terminate()
                server.wait(10)
            rates[workers].append(got["rate"])
            print(f"--workers {workers}, {clients} clients: {got['rate']:.0f} requests/s, median {got['median'] * 1000:.2f} ms")
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print(f"workers: 2 workers serve {two / one:.2f}x one worker's throughput (target >= 1.8; the load generator "
          f"is one asyncio process of raw sockets sharing the {os.cpu_count()} cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", nargs="*", choices=["batch", "serve", "workers", []],
                        help="benchmarks to run (default: all)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--kind", choices=["builtin", "user"], action="append", help="serve: task kinds (default both)")
    parser.add_argument("--form", choices=["csv", "multipart"], action="append", help="serve: body forms (default both)")
    parser.add_argument("--base", action="append", default=[],
                        help="batch, serve: a checkout of another build to run interleaved with this one (git worktree)")
    args = parser.parse_args()
    for which in args.which or ["batch", "serve", "workers"]:
        scratch = Path(tempfile.mkdtemp(prefix=f"tb-predict-bench-{which}-"))
        try:
            if which == "batch":
                bench_batch(scratch, args.runs, bases=args.base)
            elif which == "serve":
                bench_serve(scratch, args.requests, kinds=args.kind or ("builtin", "user"),
                            forms=args.form or ("csv", "multipart"), bases=args.base)
            else:
                bench_workers(scratch, args.requests * 4)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
