"""Benchmark: the workbench on a big workspace (1,000 models, 10,000 jobs).

Measures, in a fresh process each time, how long the real app takes from start
to its first painted screen with data (target: under 1.5 s), against a bare
Textual app's start in the same run; then the per-key latency of scrolling the
Jobs list and the leaderboard (target: no stalls, i.e. every key under 100 ms).
Run: python bench/tui_workspace.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROBE = r"""
import asyncio, json, sys, time
started = time.perf_counter()
from tui.app import TaskbenchApp

async def main():
    app = TaskbenchApp(sys.argv[1])
    result = {}
    async with app.run_test(size=(200, 50)) as pilot:
        table = app.current_pane.query_one("DataTable")
        deadline = time.perf_counter() + 30
        while table.row_count == 0 and time.perf_counter() < deadline:
            await pilot.pause(0.01)
        result["first_paint"] = time.perf_counter() - started
        for key, table_id in (("5", "#jobs-table"), ("4", None)):
            await pilot.press(key)
            await pilot.pause(0.3)
            pane = app.current_pane
            if table_id is None:
                await pilot.press("enter")  # open the project's leaderboard
                await pilot.pause(1.0)
                tables = [t for t in pane.query("DataTable") if t.row_count > 100]
                if not tables:
                    continue
                table = tables[0]
                table.focus()
            else:
                table = pane.query_one(table_id)
                deadline = time.perf_counter() + 30
                while table.row_count == 0 and time.perf_counter() < deadline:
                    await pilot.pause(0.01)
                table.focus()
            latencies = []
            for _ in range(60):
                before = table.cursor_row
                began = time.perf_counter()
                app.simulate_key("j")  # unlike pilot.press, does not wait for the app to go idle
                while table.cursor_row == before and time.perf_counter() - began < 5:
                    await asyncio.sleep(0.001)
                latencies.append(time.perf_counter() - began)
            result[f"scroll_{key}"] = latencies
    print(json.dumps(result))

asyncio.run(main())
"""

BARE = r"""
import asyncio, time
started = time.perf_counter()
from textual.app import App
from textual.widgets import DataTable

class Bare(App):
    def compose(self):
        yield DataTable()
    def on_mount(self):
        t = self.query_one(DataTable); t.add_columns("a"); t.add_row("x")

async def main():
    async with Bare().run_test(size=(200, 50)) as pilot:
        await pilot.pause(0.01)
    print(time.perf_counter() - started)

asyncio.run(main())
"""


def build_workspace(home: Path) -> None:
    """1,000 models in one project and 10,000 finished jobs, written through the store."""
    from core.store import open_store
    from core.training.projects import create_project

    from core.tasks.versions import add_task

    with open_store(home) as store:
        for folder in sorted((ROOT / "sample_tasks").glob("[0-9]*")):
            add_task(store, folder)
        project, _ = create_project(
            store, ROOT / "sample_tasks" / "data" / "juniors_3_year_stats_regression.csv", target="Grade 2014", name="big"
        )
        for i in range(10_000):
            job = store.start_job(store.create_job("fit", f"fit check {i}", {}).id)
            store.finish_job(job.id, "succeeded" if i % 7 else "failed", exit_code=0 if i % 7 else 1)
        for i in range(1_000):
            model = store.add_model(project_id=project.id, blueprint=f"bp-{i}", blueprint_text="",
                                 resolved={}, job_id=None)
            r2 = 0.1 + (i % 97) / 1000
            store.finish_model(model.id, state="trained", scores={"validation": {"RMSE": 10 - r2, "MAE": 6.0, "R2": r2}},
                         train_seconds=1.0 + i % 5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="tb-tui-bench-"))
    try:
        home = scratch / "ws"
        build_workspace(home)
        probe, bare = scratch / "probe.py", scratch / "bare.py"
        probe.write_text(PROBE)
        bare.write_text(BARE)
        firsts, bares, scrolls = [], [], {}
        for _ in range(args.runs):
            out = subprocess.run([sys.executable, probe, home], capture_output=True, text=True, cwd=ROOT, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            firsts.append(result["first_paint"])
            for key in ("scroll_5", "scroll_4"):
                scrolls.setdefault(key, []).extend(result.get(key, []))
            bare_out = subprocess.run([sys.executable, bare], capture_output=True, text=True, cwd=ROOT, check=True)
            bares.append(float(bare_out.stdout.strip()))
        print(f"first paint with 1,000 models and 10,000 jobs: median {statistics.median(firsts):.2f} s "
              f"(bare Textual app {statistics.median(bares):.2f} s; target < 1.5 s)")
        for key, name in (("scroll_5", "Jobs list"), ("scroll_4", "leaderboard")):
            values = sorted(scrolls.get(key, []))
            if values:
                p95 = values[int(len(values) * 0.95) - 1]
                print(f"scrolling the {name}: per key p50 {statistics.median(values) * 1000:.1f} ms, "
                      f"p95 {p95 * 1000:.1f} ms, max {values[-1] * 1000:.1f} ms (target: no key over 100 ms)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
