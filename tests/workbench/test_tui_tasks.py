"""The Tasks pane, driven with the keyboard: list, filter, files, versions, fit check, upload, help."""

from __future__ import annotations

import shutil

import pytest
from rich.text import Text
from textual import events
from textual.keys import key_to_character
from textual.widgets import DataTable, Input, OptionList, RichLog, Static, TextArea

from tests.conftest import DATA, SAMPLES
from tests.workbench.tui_support import wait_for_file
from tui.app import TaskbenchApp
from tui.panes.tasks import ACTIONS, FitRequest, TasksPane

RIDGE_FIT_LINE = "def fit(X, y, output_dir, row_weights=None, parameters=None, **kwargs):"


@pytest.fixture
def workspace(home):
    """A workspace holding the ridge regression and the binary text pipeline sample tasks."""
    from core.tasks.versions import add_task
    from core.store import open_store

    with open_store(home) as store:
        add_task(store, SAMPLES / "11_regression_ridge")
        add_task(store, SAMPLES / "09_binary_text_pipeline")
    return home


@pytest.fixture
def ridge_copy(tmp_path):
    """A copy of the ridge task whose custom.py has one more line: a new version's content."""
    folder = tmp_path / "ridge_v2"
    shutil.copytree(SAMPLES / "11_regression_ridge", folder)
    with open(folder / "custom.py", "a") as f:
        f.write("\nSECOND_VERSION = True\n")
    return folder


async def settle(app, pilot, rounds: int = 20) -> None:
    """Wait until no worker runs and the messages they posted are handled (handlers may start more workers)."""
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in app.workers):
            await pilot.pause()
            if not any(w.is_running for w in app.workers):
                return


def pane(app) -> TasksPane:
    return app.query_one(TasksPane)


def text_of(app, selector: str) -> str:
    return str(pane(app).query_one(selector, Static).render())


def log_text(app) -> str:
    log = pane(app).query_one("#tasks-fit-log", RichLog)
    return "\n".join("".join(segment.text for segment in strip) for strip in log.lines)


def table_names(app) -> list[str]:
    table = pane(app).query_one("#tasks-table", DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


async def select_task(app, pilot, name: str) -> None:
    """Move the list's cursor to `name` with j/k."""
    await settle(app, pilot)
    table = pane(app).query_one("#tasks-table", DataTable)
    target = table_names(app).index(name)
    while table.cursor_row != target:
        await pilot.press("j" if table.cursor_row < target else "k")
    await settle(app, pilot)


async def press_on_task(app, pilot, name: str | None, key: str) -> None:
    """The workbench's first screen, the list's cursor on `name` (None: where it is), then `key` (a dialog opens)."""
    await open_app(app, pilot)
    if name is not None:
        await select_task(app, pilot, name)
    await pilot.press(key)
    await pilot.pause()


async def open_app(app, pilot) -> None:
    await settle(app, pilot)
    assert isinstance(app.current_pane, TasksPane)


async def open_task(app, pilot, name: str) -> None:
    """The workbench's first screen, then enter on the task `name`: its latest version open."""
    await open_app(app, pilot)
    await select_task(app, pilot, name)
    await pilot.press("enter")
    await settle(app, pilot)


async def test_list_shows_registered_tasks(workspace):
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        assert table_names(app) == ["binary_text_pipeline", "regression_ridge"]
        table = pane(app).query_one("#tasks-table", DataTable)
        assert [str(c) for c in table.get_row_at(1)[1:3]] == ["v1", "regression"]
        assert isinstance(app.focused, DataTable)
        # The highlighted task's latest version is previewed on the right.
        assert "binary_text_pipeline@1" in text_of(app, "#tasks-header")


async def test_empty_workspace_says_how_to_add_a_task(home):
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        assert table_names(app) == []
        assert "upload a task folder with u" in text_of(app, "#tasks-header")


async def test_slash_filters_the_list_and_escape_clears_it(workspace):
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        await pilot.press("slash")
        filter_input = pane(app).query_one("#tasks-filter", Input)
        assert app.focused is filter_input
        await pilot.press(*"ridge")
        await settle(app, pilot)
        assert table_names(app) == ["regression_ridge"]
        assert "regression_ridge@1" in text_of(app, "#tasks-header")
        await pilot.press("escape")
        await settle(app, pilot)
        assert table_names(app) == ["binary_text_pipeline", "regression_ridge"]
        assert filter_input.value == "" and not filter_input.display
        assert isinstance(app.focused, DataTable)


async def test_enter_opens_a_task_and_shows_its_files_and_metadata(workspace):
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_task(app, pilot, "regression_ridge")
        files = pane(app).query_one("#tasks-files", OptionList)
        assert app.focused is files
        assert [o.id for o in files.options] == ["custom.py", "model-metadata.yaml"]
        assert RIDGE_FIT_LINE in pane(app).query_one("#tasks-file", TextArea).text
        meta = text_of(app, "#tasks-meta")
        assert "regression" in meta and "alpha" in meta and "data_types IN NUM" in meta
        assert "python-local" in meta

        await pilot.press("j")
        await settle(app, pilot)
        assert "targetType: regression" in pane(app).query_one("#tasks-file", TextArea).text
        await pilot.press("enter")  # into the file, to scroll it
        assert app.focused is pane(app).query_one("#tasks-file", TextArea)
        await pilot.press("escape")
        assert app.focused is files
        await pilot.press("escape")
        assert isinstance(app.focused, DataTable)
        assert table_names(app) == ["binary_text_pipeline", "regression_ridge"]


async def test_default_schema_sentence_for_a_task_without_type_schema(home, tmp_path):
    from core.tasks.versions import add_task
    from core.store import open_store
    from core.tasks.metadata import describe_default_schema

    folder = tmp_path / "plain_task"
    folder.mkdir()
    (folder / "custom.py").write_text("def fit(X, y, output_dir, **kwargs):\n    pass\n")
    with open_store(home) as store:
        add_task(store, folder)
    app = TaskbenchApp(home)
    async with app.run_test(size=(200, 50)) as pilot:
        await open_app(app, pilot)
        meta = " ".join(text_of(app, "#tasks-meta").split())
        assert describe_default_schema(None) in meta


async def test_brackets_step_between_versions(workspace, ridge_copy):
    from core.tasks.versions import add_task
    from core.store import open_store

    with open_store(workspace) as store:
        version, created = add_task(store, ridge_copy, name="regression_ridge")
    assert created and version.version == 2
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_task(app, pilot, "regression_ridge")
        area = pane(app).query_one("#tasks-file", TextArea)
        assert "regression_ridge@2" in text_of(app, "#tasks-header")
        assert "SECOND_VERSION" in area.text

        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert "regression_ridge@1" in text_of(app, "#tasks-header")
        assert "SECOND_VERSION" not in area.text and RIDGE_FIT_LINE in area.text

        await pilot.press("left_square_bracket")  # no older one: says so, stays
        await settle(app, pilot)
        assert "no older version" in text_of(app, "#tasks-status")

        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert "regression_ridge@2" in text_of(app, "#tasks-header")
        assert "SECOND_VERSION" in area.text

        await pilot.press("d")
        await settle(app, pilot)
        assert "+SECOND_VERSION = True" in area.text


async def type_path(app, pilot, selector: str, path: str) -> None:
    """Put a long path in a dialog field (typing it key by key only slows the test) and press enter."""
    app.screen.query_one(selector, Input).value = path
    await pilot.press("enter")


async def fill_fit_dialog(app, pilot, data: str, target: str) -> None:
    await pilot.press("f")
    await pilot.pause()
    assert type(app.screen).__name__ == "FitCheckDialog"
    await type_path(app, pilot, "#fit-data", data)
    await pilot.press(*target, "enter", "enter")
    await pilot.pause()
    assert type(app.screen).__name__ != "FitCheckDialog"


async def run_fit_check(app, pilot, task: str, data: str, target: str) -> None:
    """From the first screen: select `task`, fit-check it on `data` with `target`, and wait for the check to end."""
    await open_app(app, pilot)
    await select_task(app, pilot, task)
    await fill_fit_dialog(app, pilot, data, target)
    await settle(app, pilot)


async def test_fit_check_streams_steps_and_ends_with_a_pass(workspace):
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_fit_check(app, pilot, "regression_ridge", str(DATA / "juniors_3_year_stats_regression.csv"), "Grade 2014")
        log = log_text(app)
        assert "fit" in log and "score" in log
        assert "regression_ridge: alpha=1.0" in log  # the task's own print, streamed
        assert "Fit check of regression_ridge@1 passed" in log
        assert "passed" in text_of(app, "#tasks-status")
        assert pane(app).query_one("#tasks-view").current == "tasks-fit-log"

        await pilot.press("enter")  # picking a file brings its content back
        await settle(app, pilot)
        assert pane(app).query_one("#tasks-view").current == "tasks-file"
        await pilot.press("l")
        assert pane(app).query_one("#tasks-view").current == "tasks-fit-log"


async def test_fit_check_failure_is_one_sentence_with_the_log(workspace):
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_fit_check(app, pilot, "regression_ridge", str(DATA / "juniors_3_year_stats_regression.csv"), "no such column")
        status = text_of(app, "#tasks-status")
        assert status.startswith("FAIL") and "no such column" in status
        assert "job" in status and ".log" in status
        assert "Traceback" not in log_text(app)

        await fill_fit_dialog(app, pilot, "/nowhere/data.csv", "x")
        await settle(app, pilot)
        assert "does not exist" in text_of(app, "#tasks-status")


async def type_burst(pilot, keys) -> None:
    """Deliver keys the way a terminal does when typing outpaces the app: all read before the first is handled.

    `pilot.press` lets the app go idle after each key, which hides a form whose focus moves a moment late.
    """
    for key in keys:
        pilot.app.post_message(events.Key(key, key_to_character(key)))
    await pilot.pause()


async def test_fast_typing_lands_each_answer_in_its_own_field(workspace):
    data = str(DATA / "juniors_3_year_stats_regression.csv")
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await press_on_task(app, pilot, "regression_ridge", "f")
        await type_burst(pilot, [*data, "enter", *"Grade 2014", "enter", *"regression", "enter"])
        assert type(app.screen).__name__ != "FitCheckDialog"
        assert pane(app).last_fit == FitRequest(data, "Grade 2014", "regression")
        await settle(app, pilot)
        assert "Fit check of regression_ridge@1 passed" in log_text(app)


async def test_fit_dialog_escape_cancels(workspace):
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await press_on_task(app, pilot, None, "f")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.current_pane, TasksPane) and app.screen is app.screen_stack[0]
        assert not app.workers or not any(w.name == "fit_check" for w in app.workers)


SLEEPY_FIT = """
import os
import time


def fit(X, y, output_dir, **kwargs):
    open(os.environ["SLEEPY_MARKER"], "w").write(str(os.getpid()))
    time.sleep(30)
"""


async def test_quitting_during_a_fit_check_cancels_it_at_once(home, tmp_path, monkeypatch):
    """q while a task's fit sleeps: the app exits within a couple of seconds, the job ends cancelled, no process is left."""
    import asyncio
    import time

    from core.tasks.versions import add_task
    from core.store import open_store
    from tests.conftest import make_task
    from tests.cli.test_fit_faults import processes_using

    marker = tmp_path / "fit.pid"
    monkeypatch.setenv("SLEEPY_MARKER", str(marker))
    with open_store(home) as store:
        add_task(store, make_task(tmp_path, {"custom.py": SLEEPY_FIT}, name="sleepy"))
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        await pilot.press("f")
        await pilot.pause()
        await type_path(app, pilot, "#fit-data", str(DATA / "juniors_3_year_stats_regression.csv"))
        await pilot.press(*"Grade 2014", "enter", *"regression", "enter")
        await wait_for_file(pilot, marker, "the task's fit")
        quit_at = time.monotonic()
        await pilot.press("q")
    # What `taskbench` does once the app returns (asyncio.run): wait for the worker threads still running.
    await asyncio.get_running_loop().shutdown_default_executor()
    exited = time.monotonic() - quit_at
    assert exited < 2, f"the app took {exited:.1f} s to exit"
    with open_store(home) as store:
        (job,) = store.list_jobs(limit=5)
    assert job.state == "cancelled" and job.exit_code == 130
    assert processes_using(home) == [], "the worker or the task outlived the app"


async def test_u_uploads_a_new_version_and_reports_identical_content(workspace, ridge_copy):
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await press_on_task(app, pilot, "regression_ridge", "u")
        assert pane(app).app.screen.query_one("#upload-name", Input).value == "regression_ridge"
        await type_path(app, pilot, "#upload-folder", str(ridge_copy))
        await pilot.press("enter")
        await settle(app, pilot)
        assert "Added regression_ridge@2" in text_of(app, "#tasks-status")
        assert "regression_ridge@2" in text_of(app, "#tasks-header")
        table = pane(app).query_one("#tasks-table", DataTable)
        assert str(table.get_row_at(table.get_row_index("regression_ridge"))[1]) == "v2"

        await pilot.press("u")
        await pilot.pause()
        await type_path(app, pilot, "#upload-folder", str(ridge_copy))
        await pilot.press("enter")
        await settle(app, pilot)
        said = " ".join(text_of(app, "#tasks-status").split())  # folded at 80 columns
        assert said.startswith("regression_ridge@2 already has this content (sha256 ")
        assert said.endswith("); no new version was made.")

        await pilot.press("u")
        await pilot.pause()
        await pilot.press(*"/nowhere", "enter", "enter")
        await settle(app, pilot)
        assert "/nowhere does not exist" in text_of(app, "#tasks-status")


async def test_u_on_a_task_says_the_folder_becomes_its_version_and_shows_a_refusal(workspace):
    """u on a task filled its name in while the label said empty meant model-metadata.yaml, so another task's folder
    silently became its version; the title and label now say so, and core's refusal of the folder reads whole."""
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await press_on_task(app, pilot, "regression_ridge", "u")
        screen = app.screen
        assert screen.query_one("#upload-name", Input).value == "regression_ridge"
        label = str(screen.query_one("#upload-name-label", Static).render())
        assert "a new version of regression_ridge" in label and "empty: from model-metadata.yaml" in label
        assert "Upload a new version of regression_ridge" in str(screen.query_one(".pane-title", Static).render())
        assert screen.query_one("#upload-name-label").region.height >= 2  # wrapped at 80 columns, nothing cut
        await type_path(app, pilot, "#upload-folder", str(SAMPLES / "09_binary_text_pipeline"))
        await pilot.press("enter")
        await settle(app, pilot)
        status = pane(app).query_one("#tasks-status", Static)
        text = str(status.render())
        assert "but task regression_ridge is" in text and "a task keeps its kind and target type" in text
        rows = len(Text(text).wrap(app.console, status.content_region.width))  # its wrapped height
        assert rows > 3 and status.content_region.height >= rows  # read whole: it was cut after 3 rows
        assert table_names(app).count("regression_ridge") == 1
        table = pane(app).query_one("#tasks-table", DataTable)
        assert str(table.get_row_at(table.get_row_index("regression_ridge"))[1]) == "v1"  # no version added


async def test_u_with_no_task_leaves_the_name_to_the_metadata(home):
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await press_on_task(app, pilot, None, "u")
        assert app.screen.query_one("#upload-name", Input).value == ""
        label = str(app.screen.query_one("#upload-name-label", Static).render())
        assert label == "Task name (empty: from model-metadata.yaml, else the folder)"


async def test_help_lists_the_panes_actions(workspace):
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = str(app.screen.query_one("#help-text").render())
        assert "Tasks" in text
        for action in ACTIONS:
            assert action.description in text


async def test_readable_at_80x24_and_200x50(workspace):
    for size in ((80, 24), (200, 50)):
        app = TaskbenchApp(workspace)
        async with app.run_test(size=size) as pilot:
            await open_task(app, pilot, "regression_ridge")
            p = pane(app)
            for selector in ("#tasks-left", "#tasks-right", "#tasks-file", "#tasks-header", "#tasks-status"):
                region = p.query_one(selector).region
                assert region.width > 0 and region.height > 0, (size, selector)
                assert region.right <= size[0] and region.bottom <= size[1], (size, selector)
            assert p.query_one("#tasks-file").region.height >= 5, size
            assert p.query_one("#tasks-header").region.height >= 2, size


async def test_after_a_fit_check_started_from_a_file_esc_m_and_l_act(workspace):
    """f pressed while reading custom.py hides the file behind the fit output: the focus went into the log, so esc
    only moved it back to the files list and nothing visible happened; now it lands on the list and esc closes."""
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_task(app, pilot, "regression_ridge")
        await pilot.press("enter")  # into custom.py
        assert app.focused is pane(app).query_one("#tasks-file", TextArea)
        await fill_fit_dialog(app, pilot, str(DATA / "juniors_3_year_stats_regression.csv"), "Grade 2014")
        await settle(app, pilot)
        assert "passed" in log_text(app)
        files = pane(app).query_one("#tasks-files", OptionList)
        assert app.focused is files
        await pilot.press("m")
        assert pane(app).query_one("#tasks-meta-scroll").has_focus
        await pilot.press("escape")
        assert app.focused is files
        await pilot.press("l")
        assert pane(app).query_one("#tasks-fit-log", RichLog).has_focus
        await pilot.press("escape")
        assert app.focused is files
        await pilot.press("escape")
        assert not pane(app).opened and isinstance(app.focused, DataTable)


async def test_after_m_the_arrows_move_the_list_again(workspace):
    """m moves into the metadata (j/k scroll it); the arrows up and down then give the focus back to the list and
    move its cursor, on the task list and on an open task's files alike, and m again goes back too."""
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        table = pane(app).query_one("#tasks-table", DataTable)
        meta = pane(app).query_one("#tasks-meta-scroll")
        assert table.has_focus and table.cursor_row == 0
        await pilot.press("m")
        assert meta.has_focus
        await pilot.press("down")
        assert table.has_focus and table.cursor_row == 1
        await pilot.press("m", "up")
        assert table.has_focus and table.cursor_row == 0

        await pilot.press("enter")
        await settle(app, pilot)
        files = pane(app).query_one("#tasks-files", OptionList)
        first = files.highlighted
        assert files.has_focus and first is not None and first + 1 < files.option_count
        await pilot.press("m", "down")
        assert files.has_focus and files.highlighted == first + 1
        await pilot.press("m")
        assert meta.has_focus
        await pilot.press("m")
        assert files.has_focus


async def l_says_no_fit_check(app, pilot) -> None:
    """Press l: the right side keeps the file and the status says there is no fit check (of this task) to show."""
    await pilot.press("l")
    await settle(app, pilot)
    assert pane(app).query_one("#tasks-view").current == "tasks-file"
    assert text_of(app, "#tasks-status") == "no fit check yet: f runs one."


async def test_fit_output_folds_at_spaces_and_l_before_any_fit_says_so(workspace):
    """The fit output was cut at the pane's edge (`fitted in 0.46`) with no way to read the rest, and l before any
    fit blanked the right side without a word."""
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        await select_task(app, pilot, "regression_ridge")
        await l_says_no_fit_check(app, pilot)

        await fill_fit_dialog(app, pilot, str(DATA / "juniors_3_year_stats_regression.csv"), "Grade 2014")
        await settle(app, pilot)
        log = pane(app).query_one("#tasks-fit-log", RichLog)
        width = log.scrollable_content_region.width
        rows = [line.text.rstrip() for line in log.lines]
        assert all(len(row) <= width or " " not in row.strip() for row in rows), rows  # only a long path overflows
        text = " ".join(" ".join(rows).split())
        assert "fitted in" in text and " s; artifacts: artifact.pkl" in text  # every word whole, nothing cut
        assert "Fit check of regression_ridge@1 passed in" in text


async def test_l_shows_only_the_selected_tasks_own_fit_check(workspace):
    """l on task A showed the fit check just run on task B (`Fit check of knn_reg@2 passed`) as if it were A's."""
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_fit_check(app, pilot, "regression_ridge", str(DATA / "juniors_3_year_stats_regression.csv"), "Grade 2014")
        assert "Fit check of regression_ridge@1 passed" in log_text(app)
        await pilot.press("escape")  # back to the list
        await settle(app, pilot)
        await select_task(app, pilot, "binary_text_pipeline")
        await l_says_no_fit_check(app, pilot)
        await pilot.press("enter")  # opened, the keys act on its shown version: still not its check
        await settle(app, pilot)
        await l_says_no_fit_check(app, pilot)

        await pilot.press("escape")
        await settle(app, pilot)
        await select_task(app, pilot, "regression_ridge")
        await pilot.press("l")
        assert pane(app).query_one("#tasks-view").current == "tasks-fit-log"


async def test_keys_that_cannot_act_are_not_offered(home, ridge_copy):
    """An empty workspace offered f; a task with one version offered d [ ]; the top-level list offered esc."""
    from core.store import open_store
    from core.tasks.versions import add_task

    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        hint_and_footer = text_of(app, "#tasks-status") + " " + " ".join(
            binding.key for _node, binding, enabled, _tip in app.screen.active_bindings.values() if binding.show and enabled)
        assert "fit check" not in hint_and_footer and " f " not in f" {hint_and_footer} ", hint_and_footer

    with open_store(home) as store:
        add_task(store, SAMPLES / "11_regression_ridge")
        add_task(store, SAMPLES / "09_binary_text_pipeline")
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        hint = text_of(app, "#tasks-status")
        assert "esc back" not in hint and "d diff" not in hint and "older" not in hint, hint
        await select_task(app, pilot, "regression_ridge")
        await pilot.press("u")
        await pilot.pause()
        await type_path(app, pilot, "#upload-folder", str(ridge_copy))
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("enter")  # open it: esc now goes back
        await settle(app, pilot)
        hint = text_of(app, "#tasks-status")
        assert "esc back" in hint and "d diff" in hint and "[ older" in hint, hint
