"""The seam between core and the front ends: one Workspace service, one leaderboard order, one set of formatters."""

from __future__ import annotations

import ast
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.service import Workspace
from core.training.engine import rank
from tui import numbers

TUI = Path(__file__).resolve().parents[2] / "tui"


@pytest.mark.parametrize("seconds, shown", [(None, "-"), (0, "0:00"), (3.9, "0:03"), (760, "12:40"), (3723, "1:02:03")])
def test_duration(seconds, shown):
    assert numbers.duration(seconds) == shown


def test_when_and_age():
    stamp = "2026-01-02T03:04:05.000+00:00"
    local = datetime.fromisoformat(stamp).astimezone()
    assert numbers.when(stamp) == local.strftime("%Y-%m-%d %H:%M:%S")
    assert numbers.when(None) == numbers.when("", short=True) == "-"
    now = datetime.fromisoformat(stamp)
    assert [numbers.age(stamp, now + timedelta(seconds=s)) for s in (4, 720, 3 * 3600, 2 * 86400)] == \
        ["4s ago", "12m ago", "3h ago", "2d ago"]
    today = datetime.now(timezone.utc).isoformat()
    assert numbers.when(today, short=True) == datetime.fromisoformat(today).astimezone().strftime("%H:%M:%S")


def test_one_home_for_time_and_size_formatters():
    """No module under tui defines its own duration, age, timestamp or size formatter beside tui/numbers.py."""
    copies = []
    for path in TUI.rglob("*.py"):
        if path.name == "numbers.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name in {"duration", "age", "when", "local_time", "size", "_size"}:
                copies.append(f"{path.relative_to(TUI)}:{node.lineno} {node.name}")
    assert copies == []


def test_front_ends_never_open_the_store_themselves():
    """Panes, the app and the CLI reach the store through core.service.Workspace only."""
    found = [str(p.relative_to(TUI)) for p in TUI.rglob("*.py")
             if "import open_store" in p.read_text() or "store.open(" in p.read_text().lower()]
    assert found == []


def rows(*scores):
    return [{"model": i, "validation": {"AUC": v}, "cv": {"AUC": c} if c is not None else None}
            for i, (v, c) in enumerate(scores, 1)]


def test_rank_orders_by_the_metric_direction_on_the_partition_with_validation_breaking_ties():
    board = rows((0.7, 0.8), (0.9, 0.8), (0.8, None), (None, 0.9))
    assert [r["model"] for r in rank(board, "AUC")] == [2, 3, 1, 4]
    assert [r["model"] for r in rank(board, "AUC", "cv")] == [4, 2, 1, 3]  # 2 before 1: better on validation
    lower = [{"model": i, "validation": {"RMSE": v}} for i, v in enumerate((3.0, 1.0, 2.0), 1)]
    assert [r["model"] for r in rank(lower, "RMSE")] == [2, 3, 1]


def test_workspace_opens_a_store_per_call_from_any_thread(tmp_path):
    workspace = Workspace(tmp_path / "ws", user="ana")
    assert workspace.user == "ana" and workspace.home == (tmp_path / "ws").resolve()
    seen = []
    threads = [threading.Thread(target=lambda: seen.append((workspace.projects(), workspace.jobs(5)))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [([], [])] * 4


def test_modal_screens_live_under_tui_screens():
    """Every modal screen (a question, a form) is defined in tui/screens/, none in a pane or widget."""
    outside = []
    for path in TUI.rglob("*.py"):
        if path.parent.name == "screens":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any("Screen" in ast.unparse(base) for base in node.bases):
                outside.append(f"{path.relative_to(TUI)}:{node.lineno} {node.name}")
    assert outside == []


def regression_insights():
    residuals = {"mean": 0.1, "std": 2.0, "mean_abs": 1.5, "min": -5.0, "p5": -3.0, "p25": -1.0, "median": 0.0,
                 "p75": 1.0, "p95": 3.0, "max": 6.0, "note": "residual = actual - predicted"}
    bins = [{"bin": i, "mean_predicted": i * 1.0, "mean_actual": i * 1.1, "rows": 5} for i in range(1, 11)]
    part = {"rows": 50, "residuals": residuals, "predicted_vs_actual": bins, "metrics": {"RMSE": 2.0}}
    impact = {"metric": "RMSE", "columns_measured": 2, "columns_used": 2, "baseline": 2.0, "method": "shuffle",
              "features": [{"feature": "age", "impact_percent": 100.0, "impact": 0.5},
                           {"feature": "bmi", "impact_percent": 50.0, "impact": 0.25}]}
    return {"target_type": "regression", "validation": {**part, "feature_impact": impact}, "holdout": part}


def test_the_cli_and_the_projects_pane_draw_the_same_charts_at_the_same_width():
    """`taskbench insights` prints, for each partition, exactly the text the model page's charts tab shows at 80
    cells (they were two drawings, with different headings, tables and plots)."""
    from types import SimpleNamespace

    from tui.insights_view import draw_charts, plain, report
    from tui.panes.projects import draw_charts as pane_charts

    insights = regression_insights()
    model = SimpleNamespace(id=7, blueprint="forest")
    project = SimpleNamespace(name="juniors", target_type="regression", holdout_unlocked=True)
    cli = plain(report(model, project, insights, {"validation": {"RMSE": 2.0}, "holdout": {"RMSE": 2.1}}, 80))
    assert pane_charts is draw_charts
    charts = draw_charts(insights, 80)
    assert cli.endswith(charts)
    assert "Residuals on validation" in charts and "Residuals on holdout" in charts and "o" in charts.splitlines()[-4]
    assert all(len(line) <= 80 for line in charts.splitlines() if "|" in line)  # the plots keep to the width
