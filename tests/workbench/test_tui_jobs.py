"""The Jobs pane with Pilot: a live job list, the selected job's log tailed, filtered, searched and jumped to errors."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from core.joblog import JobLog
from core.store import open_store
from tests.workbench.tui_support import wait_for
from tui.app import TaskbenchApp
from tui.panes.jobs import JobsPane
from tui.widgets.logview import LogView


@pytest.fixture
def jobs(home):
    """Three jobs made through the engine: a failed fit with a traceback, a finished build, a running train."""
    with open_store(home) as store:
        fit = store.start_job(store.create_job("fit", "median-impute@3", {}).id)
        log = JobLog(fit.log_path)
        log.line("job started: fit check of median-impute@3")
        log.output(b"reading 6,400 rows\n")
        log.output(b"Traceback (most recent call last):\n  File \"custom.py\", line 4, in fit\nValueError: boom\n")
        log.line("fit check failed: ValueError: boom")
        log.close()
        store.finish_job(fit.id, "failed", exit_code=1, message="ValueError: boom")

        build = store.start_job(store.create_job("build", "python-sklearn v2", {}).id)
        log = JobLog(build.log_path)
        log.line("building image")
        log.close()
        store.finish_job(build.id, "succeeded", exit_code=0)

        train = store.start_job(store.create_job("train", "impute-onehot-logreg · diabetes", {}).id)
        log = JobLog(train.log_path)
        for i in range(500):
            log.line(f"node model: iteration {i} loss {1 / (i + 1):.4f}")
        log.close()
    return {"fit": fit, "build": build, "train": train}


def table_ids(app) -> list[str]:
    table = app.query_one("#jobs-table", DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


def cell(app, job_id: int, column: str) -> str:
    return str(app.query_one("#jobs-table", DataTable).get_cell(str(job_id), column))


async def open_jobs(pilot, count: int = 3) -> JobsPane:
    await pilot.press("5")
    await wait_for(pilot, lambda: len(table_ids(pilot.app)) == count)
    return pilot.app.query_one(JobsPane)


async def open_log_of(pilot, job_id: int, has_lines: bool = True) -> LogView:
    """Select the job in the list and press enter."""
    app = pilot.app
    table = app.query_one("#jobs-table", DataTable)
    table.focus()
    table.move_cursor(row=table.get_row_index(str(job_id)))
    await pilot.press("enter")
    view = app.query_one(LogView)
    await wait_for(pilot, lambda: view.lines.index is not None and (len(view.lines.index) > 0 or not has_lines))
    return view


async def test_list_shows_jobs_newest_first_with_state(home, jobs):
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot)
        assert table_ids(pilot.app) == [f"#{jobs[k].id}" for k in ("train", "build", "fit")]
        assert cell(pilot.app, jobs["fit"].id, "state") == "failed"
        assert cell(pilot.app, jobs["train"].id, "state") == "running"
        assert cell(pilot.app, jobs["fit"].id, "kind") == "fit"
        assert cell(pilot.app, jobs["build"].id, "title") == "python-sklearn v2"


async def test_list_updates_without_a_key_and_keeps_the_cursor(home, jobs):
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot)
        table = pilot.app.query_one("#jobs-table", DataTable)
        table.move_cursor(row=table.get_row_index(str(jobs["build"].id)))
        with open_store(home) as store:
            new = store.create_job("fit", "one-hot@1", {})
            store.finish_job(jobs["train"].id, "succeeded", exit_code=0)
        await wait_for(pilot, lambda: len(table_ids(pilot.app)) == 4)
        await wait_for(pilot, lambda: cell(pilot.app, jobs["train"].id, "state") == "succeeded")
        assert table_ids(pilot.app)[0] == f"#{new.id}"
        assert pilot.app.query_one(JobsPane).selected().id == jobs["build"].id


async def test_enter_shows_the_last_lines_and_follows_a_running_job(home, jobs):
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot)
        view = await open_log_of(pilot, jobs["train"].id)
        await pilot.pause()
        shown = view.lines.visible_text()
        assert len(shown) >= 8  # readable at 80x24
        assert shown[-1].endswith("node model: iteration 499 loss 0.0020")
        assert shown[0].endswith(f"iteration {500 - len(shown)} loss {1 / (501 - len(shown)):.4f}")
        assert view.following
        assert "following" in str(pilot.app.query_one("#jobs-log-title").render())

        log = JobLog(jobs["train"].log_path)
        log.line("node model: done, validation LogLoss 0.612")
        log.close()
        await wait_for(pilot, lambda: view.lines.visible_text()[-1].endswith("validation LogLoss 0.612"))


async def test_a_finished_job_opens_without_following(home, jobs):
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot)
        view = await open_log_of(pilot, jobs["fit"].id)
        await pilot.pause()
        assert not view.following
        assert view.lines.visible_text()[-1].endswith("[engine] fit check failed: ValueError: boom")
        title = str(pilot.app.query_one("#jobs-log-title").render())
        # an ended job's log is whole: the header said "log paused" for it, which meant nothing
        assert title.startswith(f"#{jobs['fit'].id} fit failed · ") and "paused" not in title and "following" not in title
        await pilot.press("f")
        assert view.following
        assert "following" not in str(pilot.app.query_one("#jobs-log-title").render())


async def test_filter_narrows_the_list(home, jobs):
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot)
        await pilot.press("slash", *"sklearn")
        await wait_for(pilot, lambda: table_ids(pilot.app) == [f"#{jobs['build'].id}"])
        await pilot.press("enter")  # keeps the filter, back in the list
        assert pilot.app.query_one("#jobs-table").has_focus
        await pilot.pause(1.2)  # a live refresh keeps the filter
        assert table_ids(pilot.app) == [f"#{jobs['build'].id}"]
        await pilot.press("slash", "escape")
        await wait_for(pilot, lambda: len(table_ids(pilot.app)) == 3)


async def test_search_finds_a_line_above_the_view(home, jobs):
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot)
        view = await open_log_of(pilot, jobs["train"].id)
        await pilot.press("slash", *"iteration 42 ", "enter")
        lines = view.lines
        await wait_for(pilot, lambda: lines.current_line() is not None)
        text = lines.visible_text()
        first, _ = lines.visible_range()
        assert text[lines.current_line() - first].endswith("iteration 42 loss 0.0233")
        assert not view.following

        def current() -> str:
            return lines.visible_text()[lines.current_line() - lines.visible_range()[0]]

        await pilot.press("slash", *"iteration 4", "enter")  # from the marked line upwards
        await wait_for(pilot, lambda: "iteration 41 " in current())
        await pilot.press("n")
        await wait_for(pilot, lambda: "iteration 40 " in current())
        await pilot.press("n")
        await wait_for(pilot, lambda: "iteration 4 " in current())
        await pilot.press("N")
        await wait_for(pilot, lambda: "iteration 40 " in current())
        await pilot.press("slash", *"no such line", "enter")
        await wait_for(pilot, lambda: "no line above has 'no such line'" in str(view.query_one(".logview-status").render()))


async def test_e_jumps_to_the_previous_error(home, jobs):
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot)
        view = await open_log_of(pilot, jobs["fit"].id)
        lines = view.lines

        def current() -> str:
            return lines.visible_text()[lines.current_line() - lines.visible_range()[0]]

        await pilot.press("e")
        await wait_for(pilot, lambda: lines.current_line() is not None)
        assert current().endswith("fit check failed: ValueError: boom")
        await pilot.press("e")
        await wait_for(pilot, lambda: current() == "ValueError: boom")
        await pilot.press("e")
        await wait_for(pilot, lambda: current() == "Traceback (most recent call last):")
        await pilot.press("e")
        await wait_for(pilot, lambda: "no error line above" in str(view.query_one(".logview-status").render()))


async def test_a_large_log_opens_at_its_end_and_reads_back_on_demand(home, jobs):
    path = jobs["build"].log_path
    path.write_bytes(path.read_bytes() + b"".join(b"2026-01-01 00:00:00.000 [engine] step %d\n" % i for i in range(200_000)))
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot)
        view = await open_log_of(pilot, jobs["build"].id)
        await pilot.pause()
        index = view.lines.index
        assert view.lines.visible_text()[-1].endswith("step 199999")
        assert not index.complete and len(index) < 5000  # only the end was read
        await pilot.press("g")
        await wait_for(pilot, lambda: index.complete and view.lines.scroll_y == 0)
        assert view.lines.visible_text()[0].endswith("[engine] building image")
        await pilot.press("G")
        assert view.following
        assert view.lines.visible_text()[-1].endswith("step 199999")


async def test_log_of_a_job_whose_file_is_not_written_yet(home):
    with open_store(home) as store:
        job = store.create_job("fit", "waiting", {})
    job.log_path.unlink()
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot, count=1)
        view = await open_log_of(pilot, job.id, has_lines=False)
        assert "waiting for" in str(view.query_one(".logview-status").render())
        job.log_path.write_text("2026-01-01 00:00:00.000 [engine] here now\n")
        await wait_for(pilot, lambda: view.lines.visible_text() == ["2026-01-01 00:00:00.000 [engine] here now"])
        await wait_for(pilot, lambda: "waiting" not in str(view.query_one(".logview-status").render()))


async def test_layout_stacks_at_80_columns_and_sits_side_by_side_when_wide(home, jobs):
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        pane = await open_jobs(pilot)
        await pilot.pause()
        table = pilot.app.query_one("#jobs-table")
        log = pilot.app.query_one(LogView).lines
        assert not pane.has_class("-wide")
        assert table.size.height >= 4 and log.size.height >= 8
        assert table.region.y < log.region.y
        await pilot.resize_terminal(160, 40)
        await pilot.pause()
        assert pane.has_class("-wide")
        assert table.region.right <= log.region.x


async def test_keys_are_in_the_registry(home, jobs):
    app = TaskbenchApp(home)
    names = {(a.key, a.description) for a, pane in app.all_actions() if pane is JobsPane}
    assert ("slash", "Filter jobs") in names
    assert ("slash", "Search the log (from the log)") in names
    assert ("g", "Start of the log") in names
    assert ("e", "Previous error in the log") in names


LONG_FAILURE = ("fit raised Exception: As an input, this task must receive a single column of numbers, "
                "but it received 3 columns: age, diag_1_desc and [global] weight; select one with NUM")


def record_long_failure(home):
    """A failed job whose last log line and failure sentence are both far wider than 80 columns."""
    with open_store(home) as store:
        job = store.start_job(store.create_job("fit", "one-col@1", {}).id)
        log = JobLog(job.log_path)
        log.line("job started")
        log.line(LONG_FAILURE)
        log.close()
        store.finish_job(job.id, "failed", exit_code=1, message=LONG_FAILURE)
    return job


@pytest.fixture
def long_failure(home):
    return record_long_failure(home)


async def test_a_failed_jobs_sentence_is_shown_whole_above_its_log(home, long_failure):
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot, 1)
        await open_log_of(pilot, long_failure.id)
        await pilot.pause()
        failure = pilot.app.query_one("#jobs-failure")
        assert failure.display and failure.size.height >= 2  # wrapped over several rows
        text = str(failure.render())
        assert text == f"failed: {LONG_FAILURE}"
        assert "[global]" in text  # user text is never read as markup


async def test_w_wraps_a_long_log_line_and_h_l_scroll_sideways(home, long_failure):
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot, 1)
        view = await open_log_of(pilot, long_failure.id)
        await pilot.pause()
        lines = view.lines
        width = lines.size.width

        def rows() -> list[str]:
            return [lines.render_line(y).text for y in range(lines.size.height)]

        cut = [r for r in rows() if "fit raised" in r]
        assert cut and "select one with NUM" not in "".join(rows())  # cut at the edge by default
        await pilot.press("l", "l", "l", "l", "l")
        await pilot.pause()
        assert lines.scroll_x > 0
        assert any("select one with NUM" in r for r in rows())
        await pilot.press("0")
        await pilot.pause()
        assert lines.scroll_x == 0

        await pilot.press("w")
        await pilot.pause()
        assert lines.wrap
        assert all(len(r) == width for r in rows())
        assert words(LONG_FAILURE) in words("".join(rows()))  # folded at spaces, every word kept
        assert [r for r in rows() if r.strip()][-1].strip().endswith("select one with NUM")
        assert "wrapped" in str(view.query_one(".logview-status").render())
        await pilot.press("w")
        await pilot.pause()
        assert not lines.wrap and "select one with NUM" not in "".join(rows())


def words(text: str) -> str:
    return " ".join(text.split())


async def test_w_wraps_at_spaces_and_a_word_wider_than_the_log_is_read_with_h_l(home):
    """Wrapping cut words at the edge (`taskbench-env-pytho` / `n-sklearn:…`, `(pid 4839` / `)`): it folds at
    spaces like the build log, and a word wider than the log keeps one row, its end reached with l."""
    tag = "taskbench-env-python-sklearn:4e8caac7dcd8"
    huge = "/very/long/" + "x" * 120 + "/end-of-path"
    with open_store(home) as store:
        job = store.start_job(store.create_job("fit", "one-col@1", {}).id)
        log = JobLog(job.log_path)
        for n in range(40, 80):  # every offset of the tag against the edge
            log.line("w" * (n % 40) + f" image {tag} built (pid 4839)")
        log.line(f"wrote {huge} ok")
        log.close()
        store.finish_job(job.id, "succeeded", exit_code=0)
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot, 1)
        view = await open_log_of(pilot, job.id)
        await pilot.press("w")
        await pilot.pause()
        lines = view.lines

        def rows() -> list[str]:
            return [lines.render_line(y).text for y in range(lines.size.height)]

        await pilot.press("g")
        for _ in range(len(lines.index)):
            await pilot.press("j")
            await pilot.pause()
            for row in rows():
                assert "pid 4839)" in row or "4839" not in row, row
                assert tag in row or "sklearn" not in row, row
        await pilot.press("G")
        await pilot.pause()
        assert any("/very/long/xxx" in r for r in rows()) and not any("end-of-path" in r for r in rows())
        await pilot.press("l", "l", "l", "l", "l")
        await pilot.pause()
        assert any("end-of-path" in r for r in rows())
        assert any("built (pid 4839)" in r for r in rows())  # the rows that fit stay in place


async def test_opening_a_running_job_follows_it(home, jobs):
    """Even after a longer finished log was open and scrolled to its start, a running job's log opens following."""
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot)
        view = await open_log_of(pilot, jobs["fit"].id)
        await pilot.press("g")
        view = await open_log_of(pilot, jobs["train"].id)
        await pilot.pause(0.2)
        assert view.following
        assert "following" in str(pilot.app.query_one("#jobs-log-title").render())


async def test_wrapped_and_following_the_newest_long_line_is_whole_at_the_bottom(home, jobs):
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot)
        view = await open_log_of(pilot, jobs["train"].id)
        await pilot.press("w")
        log = JobLog(jobs["train"].log_path)
        log.line(LONG_FAILURE)
        log.close()
        lines = view.lines

        def rows() -> list[str]:
            return [lines.render_line(y).text for y in range(lines.size.height)]

        await wait_for(pilot, lambda: rows()[-1].rstrip().endswith("select one with NUM"))
        assert view.following
        assert words(LONG_FAILURE) in words("".join(rows()))
        assert any("iteration 499" in r for r in rows())  # the lines before it still fill the page above
        await pilot.press("k")  # up one line: the long line leaves the bottom, iteration 499 is the last row
        await pilot.pause()
        assert not view.following
        assert "iteration 499" in [r for r in rows() if r.strip()][-1]


async def test_the_sideways_offset_is_reset_when_the_width_changes(home, long_failure):
    """Scrolled right at 80 columns, then the terminal is resized: lines start at their first column again,
    never mid-word; fast l/j presses each move."""
    from textual import events

    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        await open_jobs(pilot, 1)
        view = await open_log_of(pilot, long_failure.id)
        await pilot.pause()
        lines = view.lines
        for _ in range(3):
            pilot.app.post_message(events.Key("l", "l"))
        await pilot.pause(0.2)
        step = max(8, lines.size.width // 2)
        assert lines.scroll_x == min(3 * step, lines.max_scroll_x) > step  # every press moved
        await pilot.resize_terminal(120, 30)
        await pilot.pause(0.2)
        assert lines.scroll_x == 0
        assert any(r.startswith("20") and "fit raised" in r for r in (lines.render_line(y).text for y in range(lines.size.height)))


async def test_with_no_job_the_filter_key_is_not_offered(home):
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await pilot.pause()
        offered = [b.action for _n, b, enabled, _t in pilot.app.screen.active_bindings.values() if b.show and enabled]
        assert "filter" not in offered and "open" not in offered, offered
