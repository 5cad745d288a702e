"""The Deployments pane with Pilot, over a real `taskbench serve` process: live request counts, details, drift."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import requests
from textual.widgets import DataTable

from tests.workbench.tui_support import wait_for
from tui.app import TaskbenchApp
from tui.panes.deployments import DeploymentsPane

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "sample_tasks" / "data"
JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
INFERENCE = DATA / "juniors_3_year_stats_regression_inference.csv"
QUICK = "num = impute_median(NUM)\nmodel = ridge(num)\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def workspace(tmp_path) -> Path:
    """A project, a quick model trained through core, and two deployments of it: 'jr-idle' (never served) and 'jr'."""
    from core.deploy.deployments import create_deployment
    from core.store import open_store
    from core.training.engine import BlueprintSource, train_blueprints
    from core.training.projects import create_project

    home = tmp_path / "ws"
    with open_store(home) as store:
        create_project(store, JUNIORS, target="Grade 2014", name="jr")
        outcome = train_blueprints(store, "jr", [BlueprintSource("quick", QUICK)])[0]
        assert outcome.model is not None, outcome.error
        create_deployment(store, outcome.model.id, "jr-idle")
        create_deployment(store, outcome.model.id, "jr")
    return home


@pytest.fixture
def server(workspace, tmp_path):
    """`taskbench serve jr` as a real subprocess on a free port, storing its monitoring every 0.2 s; killed by PID."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, TASKBENCH_HOME=str(workspace), TASKBENCH_MONITOR_SECONDS="0.2", TMPDIR=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "serve", "jr", "--port", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited: {proc.stdout.read()}")
            try:
                if requests.get(f"{url}/ping", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.time() > deadline:
                pytest.fail("the server did not answer /ping within 60 s")
            time.sleep(0.1)
        yield url
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


class Load:
    """Sequential single-client requests in a background thread until stopped: a few rows per request."""

    def __init__(self, url: str):
        self.url = url
        self.sent = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        frame = pd.read_csv(INFERENCE)
        self.bodies = [frame.iloc[i : i + 3].to_csv(index=False) for i in range(0, 300, 3)]
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                reply = session.post(f"{self.url}/predict/", data=self.bodies[self.sent % len(self.bodies)],
                                     headers={"Content-Type": "text/csv"}, timeout=10)
                if reply.status_code != 200:
                    self.failures.append(reply.text)
                self.sent += 1
                time.sleep(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join(15)


def cell(app, name: str, column: str) -> str:
    return str(app.query_one("#dep-table", DataTable).get_cell(name, column))


def requests_shown(app, name: str = "jr") -> int:
    text = cell(app, name, "requests")
    return -1 if text == "-" else int(text.replace(",", ""))


def detail_text(app) -> str:
    return str(app.query_one("#dep-detail").render())


def engine_rows(home: Path) -> dict:
    from core.deploy.deployments import deployment_rows
    from core.store import open_store

    with open_store(home) as store:
        return {r["name"]: r for r in deployment_rows(store)}


async def open_pane(pilot) -> DeploymentsPane:
    await pilot.press("6")
    app = pilot.app
    await wait_for(pilot, lambda: app.query_one("#dep-table", DataTable).row_count == 2)
    return app.query_one(DeploymentsPane)


async def test_request_counts_grow_live_while_a_load_runs(workspace, server):
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_pane(pilot)
        table = app.query_one("#dep-table", DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(2)] == ["jr-idle", "jr"]
        assert cell(app, "jr-idle", "requests") == "-" and cell(app, "jr-idle", "updated") == "never"
        assert cell(app, "jr", "blueprint") == "quick" and cell(app, "jr", "model") == "#1"
        await pilot.press("j")  # the cursor on 'jr'; from here on no key is pressed until the load ends
        assert table.cursor_row == 1
        # every column is in view at 80 columns: nothing scrolls sideways
        assert table.virtual_size.width <= table.size.width

        with Load(server) as load:
            await wait_for(pilot, lambda: requests_shown(app) > 0)
            first = requests_shown(app)
            await wait_for(pilot, lambda: requests_shown(app) >= first + 20)
            second = requests_shown(app)
            await wait_for(pilot, lambda: requests_shown(app) > second)
            assert cell(app, "jr", "p50") != "-" and cell(app, "jr", "p95") != "-"
            assert table.cursor_row == 1, "the refresh kept the cursor on the same deployment"
            assert app.current_pane is pane
        assert not load.failures
        # once the load stops, the pane settles on what the server stored: every request, /ping included
        def settled():
            monitor = engine_rows(workspace)["jr"]["monitor"]
            return monitor["routes"]["/predict/"]["requests"] == load.sent and requests_shown(app) == monitor["requests"]

        await wait_for(pilot, settled)
        assert cell(app, "jr", "errors") == "0"
        assert cell(app, "jr-idle", "requests") == "-"


@pytest.fixture
def served(workspace, server) -> dict:
    """'jr' after 40-odd scoring requests and one empty body (a 4xx); its monitoring as the engine stored it."""
    with Load(server) as load:
        deadline = time.time() + 15
        while load.sent < 40 and time.time() < deadline:
            time.sleep(0.05)
    assert requests.post(f"{server}/predict/", data=b"").status_code == 400
    scored = load.sent + 1

    def settled():
        monitor = engine_rows(workspace)["jr"]["monitor"]
        return monitor is not None and monitor["routes"]["/predict/"]["requests"] == scored

    deadline = time.time() + 15
    while not settled():
        assert time.time() < deadline, "the server did not store its monitoring"
        time.sleep(0.1)
    return engine_rows(workspace)["jr"]["monitor"]


async def test_enter_shows_stats_drift_and_serve_command_then_esc_backs_out(workspace, served):
    monitor = served
    expected_requests = monitor["requests"]  # the scoring requests and the fixture's /ping

    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_pane(pilot)
        await wait_for(pilot, lambda: requests_shown(app) == expected_requests)
        assert cell(app, "jr", "errors") == "1"
        await pilot.press("j", "enter")
        await wait_for(pilot, lambda: "Latest server run" in detail_text(app))
        text = detail_text(app)
        assert not app.query_one("#dep-table").display or not app.query_one("#dep-list").display
        assert "taskbench serve jr" in text
        assert f"requests {expected_requests:,}   errors 1" in text
        assert f"rows scored {monitor['rows_scored']:,}" in text
        assert "/predict/" in text and "4xx" in text
        # drift: the features with the largest stored PSI come first, each with its PSI and a bar
        features = monitor["drift"]["features"]
        ranked = sorted((name for name in features if features[name]["psi"] is not None), key=lambda n: -features[n]["psi"])
        bars = [line for line in text.splitlines() if " |" in line and line.rstrip().endswith(tuple("0123456789"))]
        assert len(bars) == min(12, len(ranked))
        for line, name in zip(bars, ranked):
            assert line.startswith(name[:8]) and line.rstrip().endswith(f"{features[name]['psi']:.4f}")
        assert "#" in bars[0]
        assert f"{len(ranked) - len(bars)} more features" in text
        width = app.query_one("#dep-detail").content_region.width
        assert width >= 70 and all(len(line) <= width for line in text.splitlines())

        # keys typed faster than the screen redraws each scroll a line; G reaches the end
        from textual import events

        scroll = app.query_one("#dep-detail-scroll")
        for _ in range(3):
            app.post_message(events.Key("j", "j"))
        await pilot.pause(0.2)
        assert scroll.scroll_y == min(3, scroll.max_scroll_y)
        await pilot.press("G")
        assert scroll.scroll_y == scroll.max_scroll_y

        await pilot.press("escape")
        assert pane.opened is None and app.query_one("#dep-list").display
        assert app.focused is app.query_one("#dep-table")

        # the deployment never served says so, with the command that would start it
        await pilot.press("k", "enter")
        await wait_for(pilot, lambda: "Never served" in detail_text(app))
        assert "taskbench serve jr-idle" in detail_text(app)
        await pilot.press("escape")


async def test_wide_terminal_shows_details_beside_the_live_list(workspace, server):
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(200, 50)) as pilot:
        await open_pane(pilot)
        await pilot.press("j", "enter")
        assert app.query_one("#dep-list").display and app.query_one("#dep-detail-box").display
        assert app.query_one("#dep-list").region.right <= app.query_one("#dep-detail-box").region.x
        table = app.query_one("#dep-table", DataTable)
        assert table.virtual_size.width <= table.size.width
        with Load(server):
            await wait_for(pilot, lambda: requests_shown(app) > 0)
            before = requests_shown(app)
            await wait_for(pilot, lambda: f"requests {before:,}" not in detail_text(app) and "Latest server run" in detail_text(app))
            await wait_for(pilot, lambda: requests_shown(app) > before)
        assert "taskbench serve jr" in detail_text(app)


def test_a_long_name_is_cut_with_an_ellipsis():
    from tui.panes.deployments import clip

    assert clip("idtest2-logistic", 12) == "idtest2-log…"
    assert clip("short", 12) == "short"


async def test_enter_is_not_offered_inside_the_details(workspace):
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_pane(pilot)
        offered = lambda: {b.action for _n, b, enabled, _t in app.screen.active_bindings.values() if enabled}  # noqa: E731
        await pilot.press("enter")
        await pilot.pause()
        assert pane.query_one("#dep-detail-scroll").has_focus
        assert "open" not in offered()
