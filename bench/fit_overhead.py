"""Benchmark: `taskbench fit` against a plain script doing the same work in one process.

The plain script reads the juniors regression CSV, fits the same decision-tree
task, pickles it, loads it back and scores the full data and a 10% sample.
Prints each run's wall time and the median ratio (SPEC target: at most 1.5x).
Run: python bench/fit_overhead.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "sample_tasks" / "data" / "juniors_3_year_stats_regression.csv"
TARGET = "Grade 2014"

TASK = '''
import pickle
import pandas as pd
from sklearn.tree import DecisionTreeRegressor


def fit(X, y, output_dir, **kwargs):
    model = DecisionTreeRegressor(max_depth=8, random_state=0).fit(X, y)
    with open(f"{output_dir}/artifact.pkl", "wb") as fh:
        pickle.dump(model, fh)


def predict(X, model, **kwargs):
    return pd.DataFrame({"Predictions": model.predict(X)})
'''

PLAIN = f'''
import pickle, sys, tempfile
import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeRegressor

df = pd.read_csv({str(DATA)!r})
y = df.pop({TARGET!r})
model = DecisionTreeRegressor(max_depth=8, random_state=0).fit(df, y)
with tempfile.TemporaryDirectory() as tmp:
    with open(tmp + "/artifact.pkl", "wb") as fh:
        pickle.dump(model, fh)
    with open(tmp + "/artifact.pkl", "rb") as fh:
        loaded = pickle.load(fh)
full = pd.DataFrame({{"Predictions": loaded.predict(df)}})
rows = np.sort(np.random.default_rng(0).choice(len(df), size=len(df) // 10, replace=False))
sample = pd.DataFrame({{"Predictions": loaded.predict(df.iloc[rows])}})
assert np.allclose(full.iloc[rows].to_numpy(), sample.to_numpy())
'''


def timed(cmd: list[str], env: dict) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="tb-bench-"))
    try:
        task = scratch / "tree_task"
        task.mkdir()
        (task / "custom.py").write_text(TASK)
        plain = scratch / "plain.py"
        plain.write_text(PLAIN)
        env = dict(os.environ, TASKBENCH_HOME=str(scratch / "home"))
        taskbench = [
            sys.executable, "-m", "tui.cli", "fit", "--code-dir", str(task), "--input", str(DATA),
            "--target-type", "regression", "--target", TARGET,
        ]
        baseline = [sys.executable, str(plain)]
        timed(baseline, env)  # warm the disk cache for both
        timed(taskbench, env)
        ratios = []
        for i in range(args.runs):
            t_plain = timed(baseline, env)
            t_tb = timed(taskbench, env)
            ratios.append(t_tb / t_plain)
            print(f"run {i + 1}: plain {t_plain:.2f} s, taskbench fit {t_tb:.2f} s, ratio {t_tb / t_plain:.2f}")
        print(f"median ratio taskbench fit / plain script: {statistics.median(ratios):.2f} (target <= 1.5)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
