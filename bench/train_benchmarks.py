"""Training benchmarks (issue 4), each printing a ratio measured in the same run.

overhead  impute -> standardize -> logistic_regression through `taskbench train` on
          100,000 rows, against the same scikit-learn Pipeline fitted and scored
          in one plain process on the same partition (target: ratio <= 1.3).
cache     on 50,000 rows, a blueprint whose prefix (TF-IDF on three text columns,
          SVD, imputation) another blueprint already fitted, against the first
          training (target: <= 0.6).
jobs      four independent blueprints with --jobs 2 against --jobs 1 (target:
          speed-up >= 1.6 on 2 cores). Their learners (forests, boosting,
          neighbours) run on one thread each, so --jobs is what uses the second
          core; BLAS-heavy learners already use every core, and with --jobs N
          each worker gets its share of the cores.

Run: python bench/train_benchmarks.py [overhead|cache|jobs ...] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIABETES = ROOT / "sample_tasks" / "data" / "10k_diabetes.csv"
TB = [sys.executable, "-m", "tui.cli"]


def run(cmd: list, env: dict) -> float:
    started = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def workspace(scratch: Path, name: str) -> dict:
    return dict(os.environ, TASKBENCH_HOME=str(scratch / name))


def make_rows(scratch: Path, rows: int) -> Path:
    """100,000 rows of the diabetes data (repeated, with a little noise on the numbers) as Parquet."""
    import numpy as np
    import pandas as pd

    base = pd.read_csv(DIABETES)
    reps = -(-rows // len(base))
    frame = pd.concat([base] * reps, ignore_index=True).iloc[:rows]
    rng = np.random.default_rng(0)
    for column in frame.select_dtypes("number").columns:
        frame[column] = frame[column] + rng.normal(0, 0.01, len(frame))
    path = scratch / f"diabetes_{rows}.parquet"
    frame.to_parquet(path, index=False)
    return path


PLAIN = """
import sys
import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

frame = pd.read_parquet(sys.argv[1])
parts = np.load(sys.argv[2])
columns = sys.argv[3].split(",")
y = frame["readmitted"]
train, valid = parts >= 1, parts == 0
model = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
model.fit(frame.loc[train, columns], y[train])
proba = model.predict_proba(frame.loc[valid, columns])
print(log_loss(y[valid], proba))
"""


def bench_overhead(scratch: Path, runs: int) -> None:
    data = make_rows(scratch, 100_000)
    env = workspace(scratch, "overhead")
    run([*TB, "project", "create", data, "--target", "readmitted", "--name", "big"], env)
    with open(scratch / "overhead" / "taskbench.db", "rb"):
        pass
    project = json.loads(subprocess.run([*TB, "project", "show", "big", "--json"], env=env, capture_output=True, text=True, cwd=ROOT).stdout)
    from core.store import open_store

    with open_store(scratch / "overhead") as store:
        p = store.project("big")
        parquet, partition, numeric = p.data_path, p.partition_path, p.settings["channels"]["NUM"]
    bp = scratch / "three.bp"
    bp.write_text("num = impute_median(NUM)\nscaled = standardize(num)\nmodel = logistic_regression(scaled)\n")
    plain = scratch / "plain.py"
    plain.write_text(PLAIN)
    baseline = [sys.executable, plain, parquet, partition, ",".join(numeric)]
    ratios = []
    for i in range(runs):
        shutil.rmtree(scratch / "overhead" / "cache", ignore_errors=True)  # every run fits every node
        t_plain = run(baseline, env)
        t_tb = run([*TB, "train", "big", bp], env)
        ratios.append(t_tb / t_plain)
        print(f"overhead run {i + 1}: plain pipeline {t_plain:.2f} s, taskbench train {t_tb:.2f} s, ratio {ratios[-1]:.2f}")
    print(f"overhead: median ratio {statistics.median(ratios):.2f} on {project['rows']} rows (target <= 1.3)")


def bench_cache(scratch: Path, runs: int) -> None:
    ratios = []
    prefix = "txt = tfidf(TXT)\ncomp = svd(txt)\nnum = impute_median(NUM)\n"
    first = scratch / "first.bp"
    first.write_text(prefix + "model = logistic_regression(comp, num)\n")
    second = scratch / "second.bp"
    second.write_text(prefix + "model = logistic_regression(comp, num, C=0.1)\n")
    data = make_rows(scratch, 50_000)
    for i in range(runs):
        env = workspace(scratch, f"cache-{i}")
        run([*TB, "project", "create", data, "--target", "readmitted", "--name", "d"], env)
        t_first = run([*TB, "train", "d", first], env)
        t_second = run([*TB, "train", "d", second], env)
        log = subprocess.run([*TB, "logs", "2"], env=env, capture_output=True, text=True, cwd=ROOT).stdout
        reused = log.count("reused the fitted step")
        ratios.append(t_second / t_first)
        print(f"cache run {i + 1}: first {t_first:.2f} s, second (prefix reused: {reused} nodes) {t_second:.2f} s, ratio {ratios[-1]:.2f}")
    print(f"cache: median ratio second/first {statistics.median(ratios):.2f} (target <= 0.6)")


def bench_jobs(scratch: Path, runs: int) -> None:
    blueprints = []
    finals = ["random_forest_classifier(num, cat, n_estimators=60)", "gbm_classifier(num, cat)",
              "knn_classifier(num, cat)", "random_forest_classifier(num, cat, n_estimators=40, max_depth=12)"]
    for i, final in enumerate(finals):
        path = scratch / f"independent{i}.bp"
        path.write_text(f"num = impute_median(NUM)\ncat = ordinal(CAT)\nmodel = {final}\n")
        blueprints.append(path)
    speedups = []
    for i in range(runs):
        times = {}
        for jobs in (1, 2):
            env = workspace(scratch, f"jobs-{i}-{jobs}")
            run([*TB, "project", "create", DIABETES, "--target", "readmitted", "--name", "d"], env)
            times[jobs] = run([*TB, "train", "d", *blueprints, "--jobs", str(jobs)], env)
        speedups.append(times[1] / times[2])
        print(f"jobs run {i + 1}: --jobs 1 {times[1]:.2f} s, --jobs 2 {times[2]:.2f} s, speed-up {speedups[-1]:.2f}")
    print(f"jobs: median speed-up {statistics.median(speedups):.2f} with 4 blueprints (target >= 1.6)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="*", default=["overhead", "cache", "jobs"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    scratch = Path(tempfile.mkdtemp(prefix="tb-train-bench-"))
    try:
        for name in args.which:
            {"overhead": bench_overhead, "cache": bench_cache, "jobs": bench_jobs}[name](scratch, args.runs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
