"""Server memory per body (issue 10): peak RSS of `taskbench serve` while it scores one CSV body, per MB of body.

A real server (`taskbench serve`, one process) on the juniors ridge model gets
one POST /predict/ of 1, 10 and 40 MB of CSV (the inference rows repeated),
then six concurrent 40 MB bodies. For each, the peak RSS of the server's
process tree while it answered (Linux: /proc/PID/clear_refs resets the peak,
VmHWM reads it) minus its RSS just before, divided by the body size (goal:
<= 6). The baseline, in the same run: a plain script that holds the same body
in memory, reads it with pandas.read_csv, predicts with the same fitted
scikit-learn objects and writes the JSON answer, measured the same way.

Run: python bench/serve_memory.py [--sizes 1 10 40] [--concurrent 6] [--json]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from predict_benchmarks import INFERENCE, ROOT, TB, free_port, run, trained_model  # noqa: E402

MB = 1024 * 1024

PLAIN = """
import io, json, os, pickle, sys
import pandas as pd
sys.path.insert(0, sys.argv[3])
from serve_memory import reset_peak, rss_kb, peak_kb
model_dir, data = sys.argv[1:3]
with open(f"{model_dir}/nodes/num/artifact.pkl", "rb") as fh:
    imputer = pickle.load(fh)
with open(f"{model_dir}/nodes/model/artifact.pkl", "rb") as fh:
    ridge = pickle.load(fh)
pd.read_csv(io.BytesIO(b"a,b\\n1,2\\n"))
pid = os.getpid()
reset_peak([pid])
before = rss_kb([pid])
body = open(data, "rb").read()
frame = pd.read_csv(io.BytesIO(body), low_memory=False)
X = frame[imputer["columns"]].astype("float64").fillna(value=imputer["fills"])
predictions = ridge["estimator"].predict(X[ridge["columns"]].to_numpy(dtype="float64"))
answer = json.dumps({"predictions": predictions.tolist()})
print(before, peak_kb([pid]))
"""


def tree(pid: int) -> list[int]:
    """`pid` and every live descendant of it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    parent = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def _status(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pids: list[int]) -> int:
    return sum(_status(p, "VmRSS") for p in pids)


def peak_kb(pids: list[int]) -> int:
    return sum(_status(p, "VmHWM") for p in pids)


def reset_peak(pids: list[int]) -> None:
    """Reset each process's peak RSS (VmHWM) to its current RSS."""
    for pid in pids:
        with open(f"/proc/{pid}/clear_refs", "w") as fh:
            fh.write("5")


def make_body(scratch: Path, megabytes: int) -> Path:
    base = INFERENCE.read_text().splitlines()
    header, rows = base[0], [line + "\n" for line in base[1:] if line]
    block = "".join(rows)
    target = megabytes * MB
    path = scratch / f"body_{megabytes}mb.csv"
    with open(path, "w") as fh:
        fh.write(header + "\n")
        written = len(header) + 1
        while written + len(block) <= target:
            fh.write(block)
            written += len(block)
        for row in rows:
            if written + len(row) > target:
                break
            fh.write(row)
            written += len(row)
    return path


def post(url: str, body: bytes, kind: str = "text/csv") -> int:
    import requests

    reply = requests.post(f"{url}/predict/", data=body, headers={"Content-Type": kind}, timeout=600)
    if reply.status_code != 200:
        sys.exit(f"the server answered {reply.status_code}: {reply.text[:300]}")
    return len(reply.json()["predictions"])


def measure(server_pid: int, action) -> tuple[int, int]:
    """(RSS before, peak RSS during `action()`) of the server's process tree, in kB."""
    pids = tree(server_pid)
    time.sleep(0.5)
    reset_peak(pids)
    before = rss_kb(pids)
    action()
    return before, peak_kb(tree(server_pid))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 40], help="body sizes in MB")
    parser.add_argument("--concurrent", type=int, default=6, help="concurrent bodies of the largest size (0: skip)")
    parser.add_argument("--json", action="store_true", help='also post each size as JSON {"columns", "data"} (parsed whole)')
    args = parser.parse_args()
    if not os.path.exists(f"/proc/{os.getpid()}/clear_refs"):
        sys.exit("this benchmark needs Linux's /proc/PID/clear_refs to reset peak RSS.")
    import requests

    scratch = Path(tempfile.mkdtemp(prefix="tb-serve-memory-"))
    server = None
    try:
        env, model_dir = trained_model(scratch)
        run(TB + ["deploy", "1", "--name", "mem"], env)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([str(c) for c in TB + ["serve", "mem", "--port", str(port)]], env=env, cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        while "Serving" not in (line := server.stdout.readline()):
            if not line:
                sys.exit("the server did not start")
        requests.post(f"{url}/predict/", data=make_body(scratch, 1).read_bytes()[:20000].rsplit(b"\n", 1)[0] + b"\n")
        plain_py = scratch / "plain.py"
        plain_py.write_text(PLAIN)
        print(f"{'body':>7} {'rows':>8} {'server idle':>12} {'peak':>9} {'growth':>9} {'growth/body':>12} "
              f"{'plain growth':>13} {'plain growth/body':>18}")
        for size in args.sizes:
            path = make_body(scratch, size)
            body = path.read_bytes()
            answered = []
            before, peak = measure(server.pid, lambda: answered.append(post(url, body)))
            out = subprocess.run([sys.executable, plain_py, model_dir, path, str(Path(__file__).resolve().parent)],
                                 capture_output=True, text=True, cwd=ROOT, check=True)
            plain_before, plain_peak = map(int, out.stdout.split())
            mb = len(body) / MB
            growth, plain_growth = (peak - before) / 1024, (plain_peak - plain_before) / 1024
            print(f"{mb:5.1f}MB {answered[0]:>8,} {before / 1024:9.0f} MB {peak / 1024:6.0f} MB {growth:6.0f} MB "
                  f"{growth / mb:11.2f}x {plain_growth:10.0f} MB {plain_growth / mb:17.2f}x")
            if args.json:
                import pandas as pd

                as_json = pd.read_csv(path).to_json(orient="split", index=False).encode()
                before, peak = measure(server.pid, lambda: post(url, as_json, "application/json"))
                mb = len(as_json) / MB
                print(f"{mb:5.1f}MB JSON: server growth {(peak - before) / 1024:.0f} MB = {(peak - before) / 1024 / mb:.2f}x")
        if args.concurrent:
            size = max(args.sizes)
            body = make_body(scratch, size).read_bytes()

            def together():
                threads = [threading.Thread(target=post, args=(url, body)) for _ in range(args.concurrent)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()

            began = time.perf_counter()
            before, peak = measure(server.pid, together)
            took = time.perf_counter() - began
            mb = len(body) / MB
            print(f"{args.concurrent} concurrent {mb:.0f} MB bodies: peak {peak / 1024:.0f} MB, growth "
                  f"{(peak - before) / 1024:.0f} MB = {(peak - before) / 1024 / mb:.2f}x one body, "
                  f"{(peak - before) / 1024 / (mb * args.concurrent):.2f}x all bodies; {took:.1f} s for all")
        print("goal: growth/body <= 6x")
    finally:
        if server is not None:
            server.terminate()
            server.wait(20)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
