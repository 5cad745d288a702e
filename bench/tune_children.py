"""Tuning's wall time with children trained beside the search (tune.PARALLEL_CHILDREN) against one after the other,
measured in one run, interleaved, on the same candidates; also against training the same settings as plain blueprints.

    python bench/tune_children.py [--rounds 2] [--budget 6] [--data juniors|diabetes]

Prints each round's seconds and the ratios (sequential / parallel; plain `train` of the children / tune).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA = {
    "juniors": (REPO / "sample_tasks/data/juniors_3_year_stats_regression.csv", "Grade 2014",
                "num   = impute_median(NUM)\nmodel = ridge(num)\n"),
    "diabetes": (REPO / "sample_tasks/data/diabetes_categorical.csv", None,
                 "num   = impute_median(NUM)\ncat   = ordinal(CAT)\nmodel = gbm_classifier(num, cat)\n"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--budget", type=int, default=6)
    parser.add_argument("--data", choices=sorted(DATA), default="juniors")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tune-bench-"))
    os.environ["TASKBENCH_HOME"] = str(home)

    from core.store import open_store
    from core.training import tune
    from core.training.engine import BlueprintSource, release_prestarted, train_blueprints
    from core.training.projects import create_project

    path, target, text = DATA[args.data]
    if target is None:
        import pandas as pd

        target = pd.read_csv(path, nrows=0).columns[-1]
    with open_store(home) as store:
        project, _ = create_project(store, path, target=target, name="bench")
        (parent,) = train_blueprints(store, "bench", [BlueprintSource("parent", text)])
        parent_id = parent.model.id
        tune.tune_model(store, parent_id, budget=args.budget)  # warm-up: fitted steps cached, as in later rounds
        times: dict[str, list[float]] = {"sequential": [], "parallel": [], "plain train": []}
        for _ in range(args.rounds):
            for mode in ("sequential", "parallel"):
                tune.PARALLEL_CHILDREN = mode == "parallel"
                began = time.perf_counter()
                result = tune.tune_model(store, parent_id, budget=args.budget)
                times[mode].append(time.perf_counter() - began)
                print(f"{mode:>10}: {times[mode][-1]:6.1f} s for {len(result.model_ids)} children", flush=True)
            texts = [store.model(m).blueprint_text for m in result.model_ids]
            began = time.perf_counter()
            train_blueprints(store, "bench", [BlueprintSource(f"plain {i}", t) for i, t in enumerate(texts)])
            times["plain train"].append(time.perf_counter() - began)
            print(f"plain train of the same {len(texts)} settings: {times['plain train'][-1]:6.1f} s", flush=True)
        release_prestarted()
    shutil.rmtree(home, ignore_errors=True)
    seq, par, plain = (statistics.median(times[k]) for k in ("sequential", "parallel", "plain train"))
    print(f"median: sequential {seq:.1f} s, parallel {par:.1f} s -> sequential/parallel {seq / par:.2f}x; "
          f"tune (parallel) / plain train of its children {par / plain:.2f}x")


if __name__ == "__main__":
    main()
