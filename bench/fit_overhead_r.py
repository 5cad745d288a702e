"""Benchmark: `taskbench fit` on an R template against a plain `Rscript` doing the same fit and score.

The task is DataRobot's 3_r_lang template (vendored unchanged in tests/fixtures/drum_r_templates): caret
trains a gbm with 3-fold cross-validation behind a recipes pipeline, so the fit does real work, and its
init loads tidyverse, caret, recipes, e1071 and gbm, the load any real R task pays. The data is the
juniors regression set repeated four times (5,908 rows, 33 numeric columns), large enough that fitting,
not R's start-up, is most of the plain run. The plain script sources custom.R, calls init and fit,
reads the artifact back with readRDS and scores the full data and a 10% sample with R's predict (the
template has no score hook, so DRUM predicts that way), all in one R process. `taskbench fit` does the
same through the worker and the R bridge, fitting and scoring in separate R processes as DRUM does.
Prints each run's wall time, both medians and the ratio of the medians (goal: at most 1.5x), and the same
for CPU time, which a busy machine disturbs less (it counts the processes their parents reaped).
Run: python bench/fit_overhead_r.py [--runs 5] [--copies 4]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "tests" / "fixtures" / "drum_r_templates" / "3_r_lang"
JUNIORS = ROOT / "sample_tasks" / "data" / "juniors_3_year_stats_regression.csv"
TARGET = "Grade 2014"

PLAIN = r"""
args <- commandArgs(TRUE)
code_dir <- args[1]; data <- args[2]; target <- args[3]
source(file.path(code_dir, "custom.R"))
init(code_dir)
df <- read.csv(data, check.names = FALSE)
y <- df[[target]]
X <- df[, names(df) != target, drop = FALSE]
out <- tempfile("artifacts-")
dir.create(out)
fit(X, y, paste0(out, "/"))
model <- readRDS(file.path(out, "artifact.rds"))
full <- data.frame(Predictions = predict(model, X))
set.seed(0)
rows <- sort(sample(nrow(X), nrow(X) %/% 10))
part <- data.frame(Predictions = predict(model, X[rows, , drop = FALSE]))
stopifnot(isTRUE(all.equal(full$Predictions[rows], part$Predictions)))
unlink(out, recursive = TRUE)
cat(sprintf("Predictions mean %.4g on %d rows\n", mean(full$Predictions), nrow(X)))
"""


def timed(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """Wall time, CPU time (user + system of the command and every process it waited for) and stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, proc.stdout


def mean_line(output: str) -> str:
    """The 'Predictions mean X' part of an output, to prove both runs fitted the same model."""
    for line in output.splitlines():
        if "Predictions mean" in line:
            return line.split("Predictions mean", 1)[1].split()[0]
    sys.exit(f"no 'Predictions mean' in output:\n{output}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--copies", type=int, default=4, help="How many times the juniors rows are repeated.")
    args = parser.parse_args()
    rscript = shutil.which("Rscript")
    if not rscript:
        sys.exit("Rscript is not on PATH; install R (Debian: apt install r-base-core r-cran-caret r-cran-gbm ...).")
    scratch = Path(tempfile.mkdtemp(prefix="tb-bench-r-"))
    try:
        lines = JUNIORS.read_text(encoding="utf-8").splitlines(keepends=True)
        data = scratch / "juniors_repeated.csv"
        rows = "".join(line if line.endswith("\n") else line + "\n" for line in lines[1:])
        data.write_text(lines[0] + rows * args.copies, encoding="utf-8")
        plain = scratch / "plain.R"
        plain.write_text(PLAIN)
        env = dict(os.environ, TASKBENCH_HOME=str(scratch / "home"))
        taskbench = [
            sys.executable, "-m", "tui.cli", "fit", "--code-dir", str(TEMPLATE), "--input", str(data),
            "--target-type", "regression", "--target", TARGET,
        ]
        baseline = [rscript, str(plain), str(TEMPLATE), str(data), TARGET]
        *_, plain_out = timed(baseline, env)  # warm the disk cache for both
        *_, tb_out = timed(taskbench, env)
        if mean_line(plain_out) != mean_line(tb_out):
            sys.exit(f"the two runs disagree: plain {plain_out.strip()!r}, taskbench {mean_line(tb_out)!r}")
        print(f"{len(lines) - 1} x {args.copies} rows; both score Predictions mean {mean_line(plain_out)}")
        plains, tbs, plain_cpu, tb_cpu = [], [], [], []
        for i in range(args.runs):
            t_plain, c_plain, _ = timed(baseline, env)
            t_tb, c_tb, _ = timed(taskbench, env)
            plains.append(t_plain)
            tbs.append(t_tb)
            plain_cpu.append(c_plain)
            tb_cpu.append(c_tb)
            print(f"run {i + 1}: plain Rscript {t_plain:.2f} s (CPU {c_plain:.2f} s), "
                  f"taskbench fit {t_tb:.2f} s (CPU {c_tb:.2f} s), ratio {t_tb / t_plain:.2f}")
        p, t = statistics.median(plains), statistics.median(tbs)
        pc, tc = statistics.median(plain_cpu), statistics.median(tb_cpu)
        print(f"median plain Rscript {p:.2f} s, median taskbench fit {t:.2f} s")
        print(f"ratio of medians taskbench fit / plain Rscript: {t / p:.2f} (goal <= 1.5)")
        print(f"CPU time (steadier on a busy machine): plain {pc:.2f} s, taskbench {tc:.2f} s, ratio {tc / pc:.2f}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
