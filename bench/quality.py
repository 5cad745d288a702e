"""Model quality (issue 15): the quick autopilot's best cross-validated score against plain scikit-learn.

For each bundled data set this creates a project in a scratch workspace, runs
`taskbench train --templates --cv` (timed), and reads the best template's CV score
from the leaderboard. In the same run it cross-validates two plain scikit-learn
scripts on the project's own partition (read through the store API, so the folds are
exactly taskbench's: fold k is scored by a model fitted on the other training folds,
the holdout is never used):

  linear  median-imputed, scaled numbers and one-hot categories into LogisticRegression
          (scikit-learn defaults, max_iter raised) or Ridge; text columns left out
  hgb     numbers and ordinal-coded categories into HistGradientBoosting (defaults)

Metrics: AUC (binary, higher is better), LogLoss (multiclass, lower), RMSE (regression, lower).
Goals: taskbench ahead of the better baseline on every data set; 10k_diabetes AUC >= 0.705.
A baseline already at the metric's best value (iris_binary: AUC 1.0 on every fold) cannot be beaten: that data set
is reported "level (saturated)" and still counted as not ahead.

Run: python bench/quality.py [--data NAME ...] [--jobs N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "sample_tasks" / "data"
TB = [sys.executable, "-m", "tui.cli"]

# (project name, file, target column)
DATASETS = [
    ("diabetes", "10k_diabetes.csv", "readmitted"),
    ("diabetes_categorical", "diabetes_categorical.csv", "readmitted"),
    ("iris_binary", "iris_binary_training.csv", "Species"),
    ("juniors", "juniors_3_year_stats_regression.csv", "Grade 2014"),
    ("skyserver", "skyserver_sql2_27_2018_6_51_39_pm.csv", "class"),
    ("regression_single_col", "regression_single_col.csv", "target"),
]
METRIC = {"binary": "AUC", "multiclass": "LogLoss", "regression": "RMSE"}
GOAL = {"diabetes": 0.705}
TIE = 5e-5  # closer than this to the baseline is level (the same model, or a saturated metric)
PERFECT = {"AUC": 1.0, "RMSE": 0.0, "LogLoss": 0.0}  # a baseline here is saturated: nothing scores better


def taskbench(home: Path, *args) -> str:
    env = dict(os.environ, TASKBENCH_HOME=str(home))
    proc = subprocess.run([*TB, *map(str, args)], env=env, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"taskbench {' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def best_template(home: Path, name: str, metric: str) -> tuple[str, float, list[tuple[str, float]]]:
    """The leaderboard's best CV score for `metric`, its blueprint, and every template's CV score."""
    from core.training.metrics import better

    rows = json.loads(taskbench(home, "leaderboard", name, "--json"))
    scored = [(r["blueprint"], r["cv"][metric]) for r in rows if r.get("cv") and metric in r["cv"]]
    best = scored[0]
    for row in scored[1:]:
        if better(metric, row[1], best[1]):
            best = row
    return best[0], best[1], scored


def baselines(home: Path, name: str) -> dict[str, float]:
    """CV scores of the two plain scikit-learn scripts on the project's own folds."""
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    from core.runtime.metrics import compute
    from core.store import open_store
    from core.training.projects import get_project

    with open_store(home) as store:
        project = get_project(store, name)
    frame = pd.read_parquet(project.data_path)
    parts = np.load(project.partition_path)
    channels = project.settings["channels"]
    labels = project.settings.get("class_labels")
    kind = project.target_type
    num, cat = channels.get("NUM", []), channels.get("CAT", [])
    X = frame[num + cat].copy()
    for column in cat:
        X[column] = X[column].astype(str)  # missing becomes the level 'nan'
    y = frame[project.target]
    regression = kind == "regression"

    def linear():
        steps = [("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num)]
        steps += [("cat", OneHotEncoder(handle_unknown="ignore"), cat)] if cat else []
        model = Ridge() if regression else LogisticRegression(max_iter=5000)
        return make_pipeline(ColumnTransformer(steps), model)

    def hgb():
        steps = [("num", "passthrough", num)]
        steps += [("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), cat)] if cat else []
        model = HistGradientBoostingRegressor() if regression else HistGradientBoostingClassifier()
        return make_pipeline(ColumnTransformer(steps), model)

    scores = {}
    for label, make in (("linear", linear), ("hgb", hgb)):
        per_fold = []
        for k in range(project.settings["folds"]):
            train, test = (parts >= 0) & (parts != k), parts == k
            model = make()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(X[train], y[train])
            if regression:
                predictions = pd.DataFrame({"Predictions": model.predict(X[test])})
            else:
                proba = model.predict_proba(X[test])
                order = [list(model.classes_).index(c) for c in labels]
                predictions = pd.DataFrame(proba[:, order], columns=labels)
            per_fold.append(compute(kind, y[test].to_numpy(), predictions, labels)[METRIC[kind]])
        scores[label] = float(np.mean(per_fold))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="*", help="project names to run (default: all)")
    parser.add_argument("--jobs", type=int, default=1, help="taskbench train --jobs")
    parser.add_argument("--keep", type=Path, help="workspace folder to keep (default: a temporary one)")
    args = parser.parse_args()
    from core.training.metrics import better

    home = args.keep or Path(tempfile.mkdtemp(prefix="taskbench-quality-"))
    chosen = [d for d in DATASETS if not args.data or d[0] in args.data]
    lines, failures = [], []
    try:
        for name, file, target in chosen:
            taskbench(home, "project", "create", DATA / file, "--target", target, "--name", name)
            started = time.perf_counter()
            taskbench(home, "train", name, "--templates", "--cv", "--jobs", args.jobs)
            seconds = time.perf_counter() - started
            from core.store import open_store
            from core.training.projects import get_project

            with open_store(home) as store:
                kind = get_project(store, name).target_type
            metric = METRIC[kind]
            blueprint, best, scored = best_template(home, name, metric)
            base = baselines(home, name)
            best_base = base["linear"] if better(metric, base["linear"], base["hgb"]) else base["hgb"]
            ahead = better(metric, best, best_base) and abs(best - best_base) > TIE
            saturated = abs(best_base - PERFECT[metric]) <= TIE
            level = "level (saturated)" if saturated else "level"
            verdict = "ahead" if ahead else level if abs(best - best_base) <= TIE else "BEHIND"
            goal = GOAL.get(name)
            ok = ahead and (goal is None or best >= goal)
            if not ok:
                failures.append(name + (" (saturated)" if saturated and not ahead else ""))
            line = (f"{name:22s} {kind:10s} {metric:7s} taskbench {best:.4f} ({blueprint}, templates {seconds:.0f} s)  "
                    f"linear {base['linear']:.4f}  hgb {base['hgb']:.4f}  {verdict}"
                    + (f", goal >= {goal}: {'met' if best >= goal else 'MISSED'}" if goal else ""))
            print(line, flush=True)
            for bp, score in scored:
                print(f"    {bp:45s} {score:.4f}", flush=True)
            lines.append(line)
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    print("\nCV means over the project's 5 folds (holdout unused); AUC higher is better, LogLoss and RMSE lower.")
    print("all ahead and goals met" if not failures else f"not ahead (level or behind) or goal missed: {', '.join(failures)}")


if __name__ == "__main__":
    main()
