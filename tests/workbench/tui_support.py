"""What the workbench's Pilot tests share."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "sample_tasks" / "data" / "juniors_3_year_stats_regression.csv"
QUICK = "num = impute_median(NUM)\nmodel = ridge(num)\n"


def juniors_workspace(home: Path, label: str, tasks: tuple[Path, ...] = ()) -> Path:
    """A workspace at `home` with `tasks` registered, project 'jr' and one model of QUICK trained as `label`."""
    from core.tasks.versions import add_task
    from core.store import open_store
    from core.training.engine import BlueprintSource, train_blueprints
    from core.training.projects import create_project

    with open_store(home) as store:
        for task in tasks:
            add_task(store, task)
        create_project(store, DATA, target="Grade 2014", name="jr")
        outcome = train_blueprints(store, "jr", [BlueprintSource(label, QUICK)])[0]
    assert outcome.model is not None, outcome.error
    return home


def copy_workspace(prepared: Path, tmp_path: Path) -> Path:
    """A private copy of a module's prepared workspace, for one test to change."""
    home = tmp_path / "ws"
    shutil.copytree(prepared, home)
    return home


async def wait_for_file(pilot, path: Path, what: str, timeout: float = 60.0) -> None:
    """Let the app run until `path` exists (a task writes it when `what` has started)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{what} never started"
        await pilot.pause(0.1)


async def wait_for(pilot, condition, timeout: float = 15.0) -> float:
    """Let the app run, no key pressed, until `condition()` holds; returns the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"the screen did not reach the expected state within {timeout} s")
        await pilot.pause(0.02)
    return time.monotonic() - start


async def export_artifacts(pilot, pane, target: Path) -> str:
    """On a model's page: `a`, the folder `target`, enter; the status line once the export answered."""
    from textual.widgets import Input, Static

    from tui.screens.projects import ExportPrompt

    await pilot.press("a")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ExportPrompt))
    pilot.app.screen.query_one(Input).value = str(target)
    await pilot.press("enter")
    status = pane.query_one("#model-status", Static)
    try:
        await wait_for(pilot, lambda: "exported" in str(status.content), timeout=30)  # "not exported" too
    except AssertionError:
        raise AssertionError(f"the export never answered; the status line says: {status.content}") from None
    return str(status.content)
