"""Prediction benchmarks (issue 6), each printing a ratio measured in the same run.

batch    `taskbench predict` on 100,000 rows of the juniors features (the
         inference CSV repeated) with `num = impute_median(NUM); model =
         ridge(num)`, against a plain script that reads the CSV, unpickles the
         same fitted scikit-learn objects and writes a predictions CSV. Whole
         process wall times; the ratio is plain / taskbench throughput
         (target >= 0.9; DRUM's `drum score` measured 0.66 here).
serve    `taskbench serve` answering single-row CSV `/predict/` requests from
         one sequential keep-alive client on loopback: median latency and
         requests/s (targets <= 3 ms, >= 300/s), against the in-process parse
         and predict of one row through the same task code (the floor).

Run: python bench/predict_benchmarks.py [batch|serve ...] [--runs 3]
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


def run(cmd: list, env: dict) -> float:
    started = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def trained_model(scratch: Path) -> tuple[dict, Path]:
    """A workspace with the juniors project and the ridge blueprint trained as model 1."""
    env = dict(os.environ, TASKBENCH_HOME=str(scratch / "ws"))
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


def bench_batch(scratch: Path, runs: int) -> None:
    import pandas as pd

    env, model_dir = trained_model(scratch)
    data = make_rows(scratch, 100_000)
    plain_py = scratch / "plain.py"
    plain_py.write_text(PLAIN)
    plain_times, tb_times = [], []
    for _ in range(runs):
        plain_times.append(run([sys.executable, plain_py, model_dir, data, scratch / "plain.csv"], env))
        tb_times.append(run(TB + ["predict", "1", "--input", data, "--output", scratch / "tb.csv"], env))
    a, b = pd.read_csv(scratch / "plain.csv"), pd.read_csv(scratch / "tb.csv")
    same = bool(((a["Predictions"] - b["Predictions"]).abs() < 1e-9).all())
    plain, tb = statistics.median(plain_times), statistics.median(tb_times)
    print(f"batch: 100,000 rows, plain script {plain:.2f} s, taskbench predict {tb:.2f} s; "
          f"throughput ratio {plain / tb:.2f} (target >= 0.9); identical predictions: {same}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FLOOR = """
import io, json, sys, time
import pandas as pd
from core.runtime.serving import PlanScorer, json_predictions
model_dir, body, n = sys.argv[1], open(sys.argv[2]).read(), int(sys.argv[3])
scorer = PlanScorer(json.load(open(f"{model_dir}/plan.json")), model_dir)
times = []
for _ in range(n):
    began = time.perf_counter()
    json.dumps({"predictions": json_predictions(scorer, scorer.score(pd.read_csv(io.StringIO(body))))})
    times.append(time.perf_counter() - began)
times.sort()
print(times[len(times) // 2])
"""


def bench_serve(scratch: Path, requests_count: int) -> None:
    import requests

    env, model_dir = trained_model(scratch)
    lines = INFERENCE.read_text().splitlines()
    body = lines[0] + "\n" + lines[1] + "\n"
    (scratch / "row.csv").write_text(body)
    floor_py = scratch / "floor.py"
    floor_py.write_text(FLOOR)
    floor_env = dict(env, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, floor_py, model_dir, scratch / "row.csv", str(requests_count)],
                         env=floor_env, capture_output=True, text=True, check=True, cwd=ROOT)
    floor = float(out.stdout.strip())
    run(TB + ["deploy", "1", "--name", "bench"], env)
    port = free_port()
    server = subprocess.Popen([str(c) for c in TB + ["serve", "bench", "--port", str(port)]], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        session = requests.Session()
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                if session.get(f"{url}/ping", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.time() > deadline:
                sys.exit("the server did not start within 60 s")
            time.sleep(0.1)
        headers = {"Content-Type": "text/csv"}
        for _ in range(50):
            session.post(f"{url}/predict/", data=body, headers=headers)
        times = []
        began = time.perf_counter()
        for _ in range(requests_count):
            t = time.perf_counter()
            reply = session.post(f"{url}/predict/", data=body, headers=headers)
            times.append(time.perf_counter() - t)
            assert reply.status_code == 200, reply.text
        elapsed = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait(10)
    times.sort()
    p50 = times[len(times) // 2] * 1000
    print(f"serve: single-row /predict/, one keep-alive client: median {p50:.2f} ms (target <= 3), "
          f"{requests_count / elapsed:.0f} requests/s (target >= 300); in-process parse + predict floor "
          f"{floor * 1000:.2f} ms; server overhead {p50 - floor * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", nargs="*", choices=["batch", "serve", []], help="benchmarks to run (default: both)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    for which in args.which or ["batch", "serve"]:
        scratch = Path(tempfile.mkdtemp(prefix=f"tb-predict-bench-{which}-"))
        try:
            if which == "batch":
                bench_batch(scratch, args.runs)
            else:
                bench_serve(scratch, args.requests)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
