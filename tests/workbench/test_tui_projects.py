"""The Projects pane over a real workspace: live leaderboard, a model's page with insights, holdout unlock."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from tests.workbench.tui_support import export_artifacts, wait_for
from tui.app import TaskbenchApp
from tui.panes.projects import ConfirmUnlock, ProjectsPane
from tui.widgets.charts import Chart, number

DATA = Path(__file__).resolve().parents[2] / "sample_tasks" / "data" / "juniors_3_year_stats_regression.csv"
QUICK = "num = impute_median(NUM)\nmodel = ridge(num)\n"


def train(home: Path, label: str, text: str = QUICK) -> None:
    from core.store import open_store
    from core.training.engine import BlueprintSource, train_blueprints

    with open_store(home) as store:
        outcomes = train_blueprints(store, "jr", [BlueprintSource(label, text)])
    assert outcomes[0].model is not None, outcomes[0].error


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """A workspace with project 'jr' and one model trained through core, built once and copied per test."""
    from core.store import open_store
    from core.training.projects import create_project

    home = tmp_path_factory.mktemp("prepared") / "ws"
    with open_store(home) as store:
        create_project(store, DATA, target="Grade 2014", name="jr")
    train(home, "quick")
    return home


@pytest.fixture
def ws(prepared, tmp_path) -> Path:
    home = tmp_path / "ws"
    shutil.copytree(prepared, home)
    return home


def engine_board(home: Path):
    from core.store import open_store
    from core.training.engine import leaderboard

    with open_store(home) as store:
        return leaderboard(store, "jr")


def column_labels(table: DataTable) -> list[str]:
    return [str(column.label) for column in table.columns.values()]


async def test_leaderboard_shows_the_project_and_a_model_trained_elsewhere_appears(ws):
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        pane = app.query_one(ProjectsPane)
        await wait_for(pilot, lambda: len(pane.board_rows) == 1)
        projects = pane.query_one("#proj-table", DataTable)
        assert [str(c) for c in projects.get_row_at(0)[:4]] == ["jr", "regression", "1,477", "locked"]

        _, metric, rows = engine_board(ws)
        board = pane.query_one("#proj-board", DataTable)
        first = board.get_row_at(0)
        assert metric == "RMSE"
        assert [str(c) for c in first[1:4]] == [str(rows[0]["model"]), "quick", number(rows[0]["validation"]["RMSE"])]
        assert column_labels(board)[:4] == ["#", "model", "blueprint", "valid RMSE"]

        worker = threading.Thread(target=train, args=(ws, "second", "num = impute_median(NUM)\nmodel = ridge(num, alpha=10)\n"))
        worker.start()
        try:
            await wait_for(pilot, lambda: board.row_count == 2, timeout=60)  # no key pressed meanwhile
            labels = lambda: {str(board.get_row_at(i)[2]) for i in range(board.row_count)}
            await wait_for(pilot, lambda: labels() == {"quick", "second"}, timeout=60)  # "(training)" until it is done
        finally:
            worker.join()
        _, _, rows = engine_board(ws)
        shown = {str(board.get_row_at(i)[2]): str(board.get_row_at(i)[3]) for i in range(board.row_count)}
        assert shown == {r["blueprint"]: number(r["validation"]["RMSE"]) for r in rows}


async def test_sort_and_partition_keys_follow_the_engine(ws):
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        pane = app.query_one(ProjectsPane)
        await wait_for(pilot, lambda: pane.board is not None)
        await pilot.press("enter", "s")
        await wait_for(pilot, lambda: pane.board.metric == "MAE")
        board = pane.query_one("#proj-board", DataTable)
        assert "valid MAE" in column_labels(board)
        # No model has cv scores and the holdout is locked: sorting by a column of '-' would say nothing (a trial
        # finding: p sorted by "cv MAE" here), so p stays on validation and says why.
        status = pane.query_one("#proj-status", Static)
        await pilot.press("p")
        await wait_for(pilot, lambda: "no model has cv scores (train with --cv)" in str(status.content))
        assert pane.board.partition == "validation" and "valid MAE" in column_labels(board)


async def test_model_page_shows_scores_and_feature_impact_bars(ws):
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        pane = app.query_one(ProjectsPane)
        await wait_for(pilot, lambda: len(pane.board_rows) == 1)
        await pilot.press("enter", "enter")  # project -> leaderboard -> model
        await wait_for(pilot, lambda: pane.model is not None)
        scores = str(pane.query_one("#model-scores", Static).content)
        _, _, rows = engine_board(ws)
        assert number(rows[0]["validation"]["RMSE"]) in scores
        assert "holdout     locked" in scores

        await wait_for(pilot, lambda: pane.insights is not None, timeout=90)
        await pilot.press("l")
        impact = str(pane.query_one("#model-impact", Chart).content)
        top = pane.insights["validation"]["feature_impact"]["features"][0]
        assert top["impact_percent"] == 100.0
        line = next(line for line in impact.splitlines() if line.startswith(top["feature"]))
        assert "|####" in line and "100%" in line
        await pilot.press("l")
        charts = str(pane.query_one("#model-charts", Chart).content)
        assert "residuals" in charts and "predicted vs actual" in charts

        await pilot.press("l")
        files = pane.query_one("#model-files", DataTable)
        await wait_for(pilot, lambda: files.row_count >= 2)
        assert {str(files.get_row_at(i)[0]) for i in range(files.row_count)} == {"num", "model"}
        assert files.has_focus
        await pilot.press("enter")  # into the file's preview (keyboard only), esc back to the files
        assert pane.query_one("#model-preview-scroll").has_focus
        await pilot.press("j", "escape")
        assert files.has_focus and pane.model_id is not None

        target = ws.parent / "exported"
        said = await export_artifacts(pilot, pane, target)
        assert said == f"exported 2 file(s) of 2 node(s) of model {pane.model_id} to {target}"
        assert (target / "README.txt").is_file() and (target / "model" / "artifact.pkl").is_file()

        await pilot.press("escape")
        assert pane.model_id is None


async def test_unlock_holdout_asks_then_holdout_scores_appear(ws):
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        pane = app.query_one(ProjectsPane)
        await wait_for(pilot, lambda: len(pane.board_rows) == 1)
        board = pane.query_one("#proj-board", DataTable)
        assert not any("holdout" in label for label in column_labels(board))
        assert "holdout" not in pane.board_rows[0]

        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmUnlock))
        await pilot.press("n")  # keeps it locked
        await pilot.pause(0.3)
        assert not engine_board(ws)[0].holdout_unlocked

        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmUnlock))
        await pilot.press("y")
        await wait_for(pilot, lambda: any("holdout" in label for label in column_labels(board)), timeout=60)
        assert engine_board(ws)[0].holdout_unlocked
        await wait_for(pilot, lambda: pane.board_rows and pane.board_rows[0].get("holdout"), timeout=60)
        index = column_labels(board).index("holdout RMSE")
        assert str(board.get_row_at(0)[index]) == number(engine_board(ws)[2][0]["holdout"]["RMSE"])
        assert str(pane.query_one("#proj-table", DataTable).get_row_at(0)[3]) == "unlocked"


async def test_unlock_from_a_model_page_is_answered_on_that_page(ws):
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        pane = app.query_one(ProjectsPane)
        await wait_for(pilot, lambda: len(pane.board_rows) == 1)
        await pilot.press("enter", "enter")  # project -> leaderboard -> model
        await wait_for(pilot, lambda: pane.model is not None)
        model_status = pane.query_one("#model-status", Static)
        board_status = pane.query_one("#proj-status", Static)

        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmUnlock))
        await pilot.press("n")
        await wait_for(pilot, lambda: str(model_status.content) == "the holdout stays locked")

        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmUnlock))
        await pilot.press("y")
        answer = "holdout of jr unlocked; 1 model(s) scored on it"
        await wait_for(pilot, lambda: answer in str(model_status.content), timeout=60)
        assert pane.query_one("#proj-views").current == "proj-model"
        assert "unlock" not in str(board_status.content)
        # The page reloads in place: holdout scores appear, and the answer stays once the insights are recomputed.
        await wait_for(pilot, lambda: "holdout     locked" not in str(pane.query_one("#model-scores", Static).content), timeout=60)
        await wait_for(pilot, lambda: "insights computed" in str(model_status.content), timeout=90)
        assert answer in str(model_status.content)


def holdout_row(pane) -> str:
    """The holdout row of the model page's Scores tab."""
    text = str(pane.query_one("#model-scores", Static).content)
    return next(line for line in text.splitlines() if line.startswith("holdout"))


async def test_the_scores_tab_stops_saying_locked_once_the_unlock_is_confirmed(ws, monkeypatch):
    """u then y on a model page: core unlocks at once and scores the models for a while, and all that while the
    Scores tab said "holdout locked" (until the user left the page and came back)."""
    from core.service import Workspace

    gate = threading.Event()
    unlock = Workspace.unlock_holdout

    def held(self, project):
        assert gate.wait(30)
        return unlock(self, project)

    monkeypatch.setattr(Workspace, "unlock_holdout", held)
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        pane = app.query_one(ProjectsPane)
        await wait_for(pilot, lambda: len(pane.board_rows) == 1)
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: pane.model is not None)
        assert holdout_row(pane).split()[1] == "locked"
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmUnlock))
        await pilot.press("y")
        await pilot.pause()
        assert holdout_row(pane).split()[1] == "scoring…"
        gate.set()
        await wait_for(pilot, lambda: holdout_row(pane).split()[1] not in ("scoring…", "locked", "-"), timeout=60)
        rmse = number(engine_board(ws)[2][0]["holdout"]["RMSE"])
        assert rmse in holdout_row(pane).split()


async def test_wide_terminal_keeps_list_and_leaderboard_side_by_side(ws):
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.press("4")
        pane = app.query_one(ProjectsPane)
        await wait_for(pilot, lambda: len(pane.board_rows) == 1)
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert pane.has_class("-wide")
        left, board = pane.query_one("#proj-table"), pane.query_one("#proj-board")
        assert left.display and board.region.x > left.region.right - 1


LONG = "impute-standardize-ridge-with-a-very-long-descriptive-name-v2"


async def test_leaderboard_at_80x24_cuts_names_never_scores_and_aligns_numbers(ws):
    """A long blueprint name is ellipsised; every score, time and speed column is drawn whole, right-aligned,
    one precision per column; the titles stay on one row each."""
    train(ws, LONG, "num = impute_median(NUM)\nscale = standardize(num)\nmodel = ridge(scale)\n")
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        pane = app.query_one(ProjectsPane)
        board = pane.query_one("#proj-board", DataTable)
        await wait_for(pilot, lambda: board.row_count == 2)
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("…" in str(board.get_row_at(i)[2]) for i in range(2)))
        await pilot.pause(0.3)
        top = board.header_height
        drawn = ["".join(seg.text for seg in board.render_line(top + y)) for y in range(2)]
        header = "".join(seg.text for seg in board.render_line(0))
        assert "rows/s" in header and "valid RMSE" in header  # the last column is in view
        _, _, rows = engine_board(ws)
        for line, row in zip(drawn, rows):
            assert f"{row['validation']['RMSE']:.3f}" in line
            assert f"{row['train_seconds']:.1f}" in line
        assert not any(LONG in line for line in drawn)
        assert any(LONG[:10] in line and "…" in line for line in drawn)
        # right-aligned: the scores end in the same column, under the end of their label
        ends = {line.index(f"{row['validation']['RMSE']:.3f}") + len(f"{row['validation']['RMSE']:.3f}") for line, row in zip(drawn, rows)}
        assert ends == {header.index("valid RMSE") + len("valid RMSE")}
        title = pane.query_one("#proj-board-title")
        assert title.size.height == 2


def test_impact_percentages_and_values_line_up():
    from tui.panes.projects import impact_rows

    rows = impact_rows([
        {"feature": "age", "impact_percent": 100.0, "impact": 0.51234},
        {"feature": "bmi", "impact_percent": 5.2, "impact": -0.0123},
        {"feature": "id", "impact_percent": 0.4, "impact": 0.00012},
    ])
    texts = [text for _, _, text in rows]
    assert texts == ["100%  +0.5123", "  5%  -0.0123", "  0%  +0.0001"]
    assert len({t.index("%") for t in texts}) == 1


def test_a_repeat_is_marked_on_the_board_before_its_name():
    """Two trainings of the same blueprint and versions are told apart on the workbench's board, as on the CLI's."""
    from tui.panes.projects import board_cells, fit_names

    rows = [
        {"model": 1, "blueprint": "impute-standardize-logistic-regression", "state": "trained", "runs": 2,
         "repeat_of": None, "validation": {"AUC": 0.7}, "cv": None},
        {"model": 3, "blueprint": "impute-standardize-logistic-regression", "state": "trained", "runs": 2,
         "repeat_of": 1, "validation": {"AUC": 0.7}, "cv": None},
    ]
    cells = board_cells(rows, "AUC", unlocked=False)
    assert str(cells[0][2]) == "impute-standardize-logistic-regression"
    labels = ["#", "model", "blueprint", "valid AUC", "cv AUC", "train s", "rows/s"]
    narrow = fit_names(cells, 2, 60, labels)
    assert str(narrow[0][1]) == "1" and str(narrow[1][1]) == "3≡1"  # the model column is never cut


def test_the_board_shows_a_score_at_the_precision_the_cli_does():
    """The demo's board read 0.619 where `taskbench leaderboard` read 0.6193 (a LogLoss over 1 in the column made it
    three decimals): one precision per metric, from tui/numbers.py, in both front ends."""
    from tui.numbers import score
    from tui.panes.projects import board_cells

    rows = [{"model": i, "blueprint": f"b{i}", "state": "trained", "validation": {"LogLoss": v}, "cv": None}
            for i, v in ((1, 0.6193), (2, 2.385))]
    cells = board_cells(rows, "LogLoss", unlocked=False)
    assert [str(c[3]) for c in cells] == ["0.6193", "2.3850"] == [score("LogLoss", v, [0.6193, 2.385]) for v in (0.6193, 2.385)]


async def board_preview(pilot, models: int) -> tuple[ProjectsPane, DataTable]:
    """The Projects pane (4) once its board, beside the project list, holds `models` rows."""
    await pilot.press("4")
    pane = pilot.app.query_one(ProjectsPane)
    await wait_for(pilot, lambda: len(pane.board_rows) == models)
    await pilot.pause(0.3)
    return pane, pane.query_one("#proj-board", DataTable)


async def test_the_side_preview_shows_whole_columns_only_and_says_how_to_see_the_rest(ws):
    """Beside the project list at 80x24 the leaderboard drops the columns that do not fit (never one cut mid-header,
    as `valid RMSE  cv RM` was) and says which and how to see them; enter shows the whole board; a reload keeps
    the selected model by its id, not its row."""
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, board = await board_preview(pilot, 1)
        labels = column_labels(board)
        header = "".join(segment.text for segment in board.render_line(0))
        assert all(label in header for label in labels), (labels, header)
        assert sum(column.get_render_width(board) for column in board.ordered_columns) <= board.size.width
        status = str(pane.query_one("#proj-status").render())
        assert "not shown here" in status and "enter" in status, status
        hidden = status.split(": ", 1)[1].split(" (")[0].split(", ")
        assert hidden and not set(hidden) & set(labels)

        await pilot.press("enter")  # the board alone: every column
        await wait_for(pilot, lambda: len(column_labels(board)) > len(labels))
        assert all(label in column_labels(board) for label in hidden)

        train(ws, "second")
        first = pane.selected_model()
        await wait_for(pilot, lambda: len(pane.board_rows) == 2, timeout=30)
        assert pane.selected_model() == first


async def test_the_side_preview_reads_names_and_tells_tuned_children_apart(ws):
    """Beside the project list at 80x24 a blueprint name kept 9 cells (the cv column took the rest) and the children
    of a tuning all read 'NAME (tune…': the name now keeps 18 cells before another score column shows, a child
    leads with the setting it tried, and its page says its lineage whole."""
    from core.store import open_store
    from core.training.tune import tune_model

    train(ws, "juniors-ridge-baseline", QUICK.replace("ridge(num)", "ridge(num, alpha=3.0)"))  # model 2
    with open_store(ws) as store:
        tune_model(store, 2, budget=2, settings={"model.alpha": [0.1, 30.0]})
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, board = await board_preview(pilot, 4)
        cells = {str(board.get_row_at(i)[1]): str(board.get_row_at(i)[2]) for i in range(board.row_count)}
        assert cells.get("2") == "juniors-ridge-base…", cells
        children = sorted(cells[model] for model in cells if model not in ("1", "2"))
        assert [c[:12] for c in children] == ["alpha=0.1 (f", "alpha=30.0 ("], children

        child = next(r for r in pane.board_rows if r["tuned_from"] == 2 and r["tuning"]["changed"] == {"model.alpha": 30.0})
        await pilot.press("enter")
        board.move_cursor(row=[str(r["model"]) for r in pane.board_rows].index(str(child["model"])))
        await pilot.press("enter")
        head = pane.query_one("#model-head", Static)
        await wait_for(pilot, lambda: str(child["model"]) in str(head.content))
        assert "juniors-ridge-baseline (from #2: alpha=30.0" in str(head.content)


async def test_the_model_page_hints_each_key_once_and_the_project_list_fits(ws):
    """At 80x24 the project list shows every column whole (no `10,000` pushed past the edge, no sideways bar); a
    model page's hint line names only the keys the footer does not (h l tabs), never `a export  esc back` twice."""
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await projects_pane(pilot)
        projects = pane.query_one("#proj-table", DataTable)
        demo = ("diabetes-demo", "binary", 10_000, False)  # the demo's project, as `taskbench demo` makes it
        pane.show_projects(ProjectsPane.ProjectsLoaded([*pane._projects_rows, demo]))
        await pilot.pause(0.2)
        assert [str(c) for c in projects.get_row_at(1)[1:]] == ["binary", "10,000", "locked"]
        assert sum(column.get_render_width(projects) for column in projects.ordered_columns) <= projects.size.width
        assert projects.max_scroll_x == 0 and not projects.show_horizontal_scrollbar

        await pilot.press("enter", "enter")
        model_status = pane.query_one("#model-status", Static)
        await wait_for(pilot, lambda: "insights computed" in str(model_status.content), timeout=90)
        hint = str(model_status.content)
        footer = {b.key for _n, b, enabled, _t in app.screen.active_bindings.values() if b.show and enabled}
        assert "h l tabs" in hint and {"a", "escape"} <= footer
        assert "export" not in hint and "esc" not in hint
        assert "T" not in hint.split("computed at ")[1]  # a local time, as everywhere, not a stored ISO stamp
        head = pane.query_one("#model-head", Static)
        assert "esc" not in str(head.content) and "…" not in str(head.render())  # read whole, keys once


async def projects_pane(pilot) -> ProjectsPane:
    """The Projects pane shown, once its one model is on the board."""
    await pilot.press("4")
    pane = pilot.app.query_one(ProjectsPane)
    await wait_for(pilot, lambda: len(pane.board_rows) == 1)
    await pilot.pause(0.2)
    return pane


async def test_export_is_offered_only_where_it_acts(ws):
    """The project list offered `a export` and answered "open a model first"; it shows on the board and a model."""
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await projects_pane(pilot)

        def offered() -> set[str]:
            return {b.action for _n, b, enabled, _t in app.screen.active_bindings.values() if b.show and enabled}

        assert pane.query_one("#proj-table", DataTable).has_focus
        assert "export" not in offered()
        await pilot.press("enter")  # onto the board
        await pilot.pause()
        assert pane.query_one("#proj-board").has_focus and "export" in offered()


async def test_the_model_page_names_u_once_and_h_l_tabs_from_the_start(ws):
    """u was named in the body and the footer; `h l tabs` only appeared once insights were computed."""
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await projects_pane(pilot)
        await pilot.press("enter", "enter")
        await pilot.pause()
        model_status = pane.query_one("#model-status", Static)
        assert "h l tabs" in str(model_status.content)  # while insights are still being computed
        body = " ".join(str(w.render()) for w in pane.query("#proj-model Static"))
        assert "u unlocks" not in body


async def test_a_narrowed_terminal_keeps_the_sorted_column_and_does_not_crash(ws):
    """Narrowing the terminal under the whole board left no room for the sorted column, and the pane raised
    ValueError (a tester's resize 80 -> 50); the sorted column stays, the name gives way."""
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        pane = app.query_one(ProjectsPane)
        board = pane.query_one("#proj-board", DataTable)
        await wait_for(pilot, lambda: board.row_count >= 1)
        await pilot.press("enter")
        await pilot.pause(0.3)
        for width in (160, 50, 36, 80):
            await pilot.resize_terminal(width, 24)
            await pilot.pause(0.3)
            header = "".join(seg.text for seg in board.render_line(0))
            assert "valid RMSE" in header, (width, header)
        assert app.is_running
