"""An R task in the Tasks pane: listed and opened like a Python one, custom.R highlighted, its language said, and a
fit check through the same engine (the R bridge) streaming the task's own output."""

from __future__ import annotations

import pytest

from tests.conftest import DATA, SAMPLES
from tests.workbench.test_tui_80x24 import stray_scrollbars
from tests.workbench.test_tui_tasks import log_text, open_task, pane, run_fit_check, settle, text_of
from tui.app import TaskbenchApp
from tui.widgets.codeview import CodeView

R_SAMPLE = SAMPLES / "15_binary_r_ridge_logistic"
R_FIT_LINE = "fit <- function(X, y, output_dir, class_order = NULL, row_weights = NULL, parameters = NULL, ...) {"


@pytest.fixture
def workspace(home):
    """A workspace with the R sample task and a Python one beside it."""
    from core.store import open_store
    from core.tasks.versions import add_task

    with open_store(home) as store:
        add_task(store, R_SAMPLE)
        add_task(store, SAMPLES / "11_regression_ridge")
    return home


def highlighted(area: CodeView, row: int, word: str) -> set[str]:
    """The highlight names the view gives the first `word` on line `row` (byte offsets: the line is ASCII)."""
    start = area.document.get_line(row).index(word)
    return {name for begin, end, name in area._highlights[row] if begin <= start and (end is None or start < end)}


async def test_an_r_task_opens_on_custom_r_highlighted_and_says_its_language(workspace):
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_task(app, pilot, "r_ridge_logistic")
        files = pane(app).query_one("#tasks-files")
        assert [o.id for o in files.options] == ["custom.R", "model-metadata.yaml", "requirements.txt"]
        area = pane(app).query_one("#tasks-file", CodeView)
        assert R_FIT_LINE in area.text
        row = area.text.splitlines().index(R_FIT_LINE)
        assert "keyword" in highlighted(area, row, "function")
        assert "constant.builtin" in highlighted(area, row, "NULL")
        assert "comment" in highlighted(area, 0, "Ridge")
        assert highlighted(area, row, "X") == set()  # a plain name stays plain
        meta = " ".join(text_of(app, "#tasks-meta").split())
        assert "language R (custom.R defines fit, score)" in meta
        assert "lambda (float)" in meta
        assert stray_scrollbars(app) == []

        await pilot.press("j")  # the YAML next to it goes back to tree-sitter
        await settle(app, pilot)
        assert area.language == "yaml" and "targetType: binary" in area.text


async def test_a_python_task_says_python_and_keeps_tree_sitter(workspace):
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_task(app, pilot, "regression_ridge")
        area = pane(app).query_one("#tasks-file", CodeView)
        assert area.language == "python"
        assert "language Python" in " ".join(text_of(app, "#tasks-meta").split())


async def test_fit_check_of_an_r_task_streams_its_output_and_passes(workspace, need_r):
    app = TaskbenchApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_fit_check(app, pilot, "r_ridge_logistic", str(DATA / "iris_binary_training.csv"), "Species")
        log = " ".join(log_text(app).split())  # folded at 80 columns
        assert "r_ridge_logistic: lambda=1, 5 columns" in log  # the R task's own cat(), streamed
        assert "probabilities per class valid" in log
        assert "Fit check of r_ridge_logistic@1 passed" in log, log
        assert "passed" in text_of(app, "#tasks-status")
        assert "Traceback" not in log


async def test_an_r_error_in_a_fit_check_is_one_sentence_with_the_log(home, tmp_path, need_r):
    from core.store import open_store
    from core.tasks.versions import add_task

    folder = tmp_path / "broken_r"
    folder.mkdir()
    (folder / "custom.R").write_text(
        'fit <- function(X, y, output_dir, ...) {\n  stop("no model for these columns")\n}\n')
    (folder / "model-metadata.yaml").write_text("name: broken_r\ntype: training\ntargetType: binary\n")
    with open_store(home) as store:
        add_task(store, folder)
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_fit_check(app, pilot, "broken_r", str(DATA / "iris_binary_training.csv"), "Species")
        status = text_of(app, "#tasks-status")
        assert status.startswith("FAIL") and "no model for these columns" in status, status
        assert "Traceback" not in log_text(app)
