"""The Environments pane with Pilot: a build's log streams in, and the keys read it like the Jobs pane's log."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, RichLog

from tests.workbench.tui_support import wait_for
from tui.app import TaskbenchApp
from tui.panes.environments import EnvironmentsPane

LINES = 300


def engine_build(monkeypatch, build_environment) -> None:
    """The pane's builds call `build_environment` (the engine's signature) instead, Docker taken as ready."""
    from core.environments import build, resolve

    monkeypatch.setattr(resolve, "docker_ready", lambda: None)
    monkeypatch.setattr(build, "build_environment", build_environment)


@pytest.fixture
def fake_build(monkeypatch):
    """A Docker-free image build that streams LINES log lines through the engine's callback, as a real one does."""
    from core.environments.versions import get_environment_version

    def build_environment(store, ref, on_log, *, force=False):
        version = get_environment_version(store, ref)
        for i in range(LINES):
            on_log(f"Step {i + 1}/{LINES} : RUN echo line {i + 1}")
        return version, "taskbench-env-test:0", True

    engine_build(monkeypatch, build_environment)


async def test_the_build_log_is_read_with_the_log_keys(home, fake_build):
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, table = await environments_pane(pilot)
        await pilot.press("j")
        row = table.cursor_row
        name = pane.selected_name()
        await pilot.press("b")
        log = pane.query_one("#env-log", RichLog)
        # every step line, then the 'built …' line (it may wrap over two rows in the narrow log)
        await wait_for(pilot, lambda: len(log.lines) >= LINES + 1 and "taskbench-env-test:0" in "".join(s.text for s in log.lines[-2:]))
        await pilot.pause()
        assert log.scroll_y == log.max_scroll_y > 0  # it followed the build to its last line
        status = str(pane.query_one("#env-status").render())
        assert "built" in status and name in status

        await pilot.press("enter")
        assert app.focused is log
        bottom = log.max_scroll_y
        await pilot.press("k", "k", "k")
        assert log.scroll_y == bottom - 3
        assert table.cursor_row == row  # the keys scroll the log, not the list
        await pilot.press("g")
        assert log.scroll_y == 0
        await pilot.press("j")
        assert log.scroll_y == 1
        await pilot.press("pagedown")
        page = log.scrollable_content_region.height - 1
        assert log.scroll_y == 1 + page
        await pilot.press("pageup")
        assert log.scroll_y == 1
        await pilot.press("end")
        assert log.scroll_y == bottom
        await pilot.press("home")
        assert log.scroll_y == 0

        # Scrolled up, new lines do not pull the view down; G goes to the end and follows again.
        pane.post_message(EnvironmentsPane.BuildLine("one more line"))
        await pilot.pause()
        assert log.scroll_y == 0
        await pilot.press("G")
        assert log.scroll_y == log.max_scroll_y
        pane.post_message(EnvironmentsPane.BuildLine("and another"))
        await wait_for(pilot, lambda: log.scroll_y == log.max_scroll_y == bottom + 2)

        await pilot.press("escape")
        assert app.focused is table
        await pilot.press("k")
        assert table.cursor_row == row - 1


DOCKERFILE_LINES = 60


@pytest.fixture
def built_earlier(home, tmp_path):
    """A custom environment whose 60-line Dockerfile writes a `[global]` pip.conf section, built (and failed)
    before the workbench opened: its log is only in the build job's log file."""
    from core.environments.versions import add_environment, set_environment_build
    from core.jobs import JobRun
    from core.store import open_store

    folder = tmp_path / "bracket-env"
    folder.mkdir()
    body = ["FROM python:3.11-slim", "RUN printf '[global]\\nindex-url = https://pypi.org/simple\\n' > /etc/pip.conf"]
    body += [f"RUN echo step {i}" for i in range(3, DOCKERFILE_LINES)]
    body.append("RUN echo the last line")
    (folder / "Dockerfile").write_text("\n".join(body) + "\n")
    with open_store(home) as store:
        version, _ = add_environment(store, folder)
        try:
            with JobRun(store, "env-build", f"build {version.ref}", {"environment": version.ref}) as run:
                job, log = run.job, run.log
                log.line("Step 1/60 : FROM python:3.11-slim", who="build")
                log.line("ERROR: could not find a version that satisfies [global] the requirement xgboost==99 "
                         "(from versions: 1.0, 2.0); pin a version that exists or remove it from requirements.txt",
                         who="build")
                set_environment_build(store, version.id, "failed", job_id=job.id)
                raise RuntimeError("the image build failed at step 2")
        except RuntimeError:
            pass
    return version


async def test_an_earlier_builds_log_shows_and_the_dockerfile_scrolls_and_stays_plain_text(home, built_earlier):
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        pane = app.query_one(EnvironmentsPane)
        table = pane.query_one("#env-table", DataTable)
        await wait_for(pilot, lambda: table.row_count > 2)
        keys = [row.key.value for row in table.ordered_rows]
        table.move_cursor(row=keys.index(built_earlier.ref.partition("@")[0]))
        log = pane.query_one("#env-log", RichLog)

        def text() -> str:
            return " ".join(strip.text.rstrip() for strip in log.lines)

        await wait_for(pilot, lambda: "satisfies [global] the requirement" in text())
        text = text()
        assert "build job #" in text and "failed" in text
        assert "remove it from" in text and "requirements.txt" in text  # wrapped, not cut at the edge

        detail = pane.query_one("#env-detail")
        assert "printf '[global]" in str(detail.render())  # not swallowed as markup
        box = pane.query_one("#env-detail-box")
        await pilot.press("d")
        assert box.has_focus
        for _ in range(DOCKERFILE_LINES):
            await pilot.press("j")
        await pilot.pause()
        assert box.scroll_y > 0 and box.scroll_y == box.max_scroll_y  # the Dockerfile's last lines are reachable
        await pilot.press("escape")
        assert table.has_focus


async def test_a_long_environment_name_is_cut_never_its_build_state_at_80x24(home, tmp_path):
    from core.environments.versions import BUILTINS, add_environment
    from core.store import open_store

    folder = tmp_path / "env"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM python:3.11-slim\n")
    long = "python-with-a-rather-long-environment-name"
    with open_store(home) as store:
        add_environment(store, folder, name=long)
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        pane = app.query_one(EnvironmentsPane)
        table = pane.query_one("#env-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == len(BUILTINS) + 1)  # the built-ins and this one
        await pilot.pause(0.2)
        header = "".join(seg.text for seg in table.render_line(0))
        assert "build" in header
        keys = [row.key.value for row in table.ordered_rows]
        row = keys.index(long)
        drawn = "".join(seg.text for seg in table.render_line(1 + row))
        assert "…" in drawn and "unbuilt" in drawn and long not in drawn
        table.move_cursor(row=row)
        assert pane.selected_name() == long  # the whole name, for build and the Dockerfile


async def environments_pane(pilot, more_than: int = 1):
    """Show the Environments pane once its list holds more than `more_than` rows; the pane and its table."""
    await pilot.press("2")
    pane = pilot.app.query_one(EnvironmentsPane)
    table = pane.query_one("#env-table", DataTable)
    await wait_for(pilot, lambda: table.row_count > more_than)
    return pane, table


async def select_environment(pilot, name: str):
    """Show the Environments pane and put the list's cursor on `name`; the pane and its table."""
    pane, table = await environments_pane(pilot)
    table.move_cursor(row=[row.key.value for row in table.ordered_rows].index(name))
    return pane, table


def typed_fast(app, key: str, times: int) -> None:
    """Queue `times` presses of `key` at once, as a terminal delivers keys typed faster than the screen redraws."""
    from textual import events

    for _ in range(times):
        app.post_message(events.Key(key, key))


async def test_the_dockerfile_gets_the_room_when_there_is_no_build_log_and_every_key_moves_it(home):
    """No build log: one line says so and the Dockerfile fills the rest; d then fast j presses move one line each,
    G reaches the end, and the header line is read whole (wrapped) rather than cut."""
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, table = await select_environment(pilot, "python-sklearn")
        await wait_for(pilot, lambda: "no build yet" in str(pane.query_one("#env-log-note").render()))
        await pilot.pause(0.2)
        box, note, log = pane.query_one("#env-detail-box"), pane.query_one("#env-log-note"), pane.query_one("#env-log")
        assert not log.display and note.size.height <= 2  # the rule above it and its one line
        right = pane.query_one("#env-right")
        assert box.size.height >= right.size.height - 5  # the Dockerfile takes the room (header, note, rule)

        await pilot.press("d")
        typed_fast(app, "j", 10)
        await pilot.pause(0.3)
        assert box.scroll_y == 10  # every press moved one line
        await pilot.press("G")
        assert box.scroll_y == box.max_scroll_y > 10
        await pilot.press("g")
        assert box.scroll_y == 0

        table.move_cursor(row=[row.key.value for row in table.ordered_rows].index("python-local"))
        header = pane.query_one("#env-header")
        await wait_for(pilot, lambda: "nothing to build" in " ".join(str(header.render()).split()))
        import sys

        assert sys.executable in str(header.render()).replace("\n", "")  # the interpreter's path, whole
        assert not box.display


async def test_d_on_python_local_says_in_one_line_why_there_is_no_dockerfile(home):
    """d on python-local did nothing and said nothing; the key stays out of the footer, and pressing it answers."""
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, table = await select_environment(pilot, "python-local")
        await pilot.pause()
        assert table.has_focus
        assert " d " not in f" {pane.query_one('#env-status').render()} "  # not offered
        await pilot.press("d")
        await pilot.pause()
        status = " ".join(str(pane.query_one("#env-status").render()).split())
        assert status == "python-local runs on this machine's own Python, not in an image: it has no Dockerfile."
        assert not pane.query_one("#env-detail-box").display


async def test_the_build_log_folds_at_spaces_and_keeps_an_image_name_whole(home, monkeypatch):
    """A long image name is never cut inside: it stays on one row, h/l scroll sideways to read it; words fold at spaces."""
    from core.environments.versions import get_environment_version

    tag = "taskbench-env-python-sklearn-with-a-long-name:1f2e3d4c5b6a79881f2e3d4c5b6a7988"

    def build_environment(store, ref, on_log, *, force=False):
        on_log("Step 2/9 : RUN pip install pandas scikit-learn numpy scipy joblib threadpoolctl and more words")
        return get_environment_version(store, ref), tag, True

    engine_build(monkeypatch, build_environment)
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, table = await select_environment(pilot, "python-sklearn")
        await pilot.press("b")
        log = pane.query_one("#env-log", RichLog)
        await wait_for(pilot, lambda: any(tag in strip.text for strip in log.lines))
        rows = [strip.text.rstrip() for strip in log.lines]
        assert any(row.strip() == tag for row in rows)  # one row, never folded inside
        words = " ".join(rows).split()
        assert "scikit-learn" in words and "threadpoolctl" in words  # folded between words, none split
        assert all(len(row) <= log.scrollable_content_region.width for row in rows if tag not in row)
        await pilot.press("enter")
        typed_fast(app, "l", 1)
        await pilot.pause(0.2)
        assert log.scroll_x > 0  # sideways to the image name's end


async def test_an_image_found_present_is_said_so_and_its_tag_is_never_cut_or_split(home, monkeypatch):
    """At 80x24 an environment built without a build job shows its whole image tag in the header, says the image is
    present (not "no build yet"), b says clearly that it is up to date, and the left pane never splits a long word;
    the list is only as wide as its rows, so the Dockerfile gets the rest."""
    from core.environments.versions import get_environment_version, set_environment_build
    from core.store import open_store

    tag = "taskbench-env-python-sklearn:3f2f0054e2f0"
    with open_store(home) as store:
        set_environment_build(store, get_environment_version(store, "python-sklearn").id, "built", image_id=tag)

    up_to_date(monkeypatch, tag)
    async with TaskbenchApp(home).run_test(size=(80, 24)) as pilot:
        pane, table = await select_environment(pilot, "python-sklearn")
        header, note = pane.query_one("#env-header"), pane.query_one("#env-log-note")
        await wait_for(pilot, lambda: "image present" in str(note.render()))
        assert tag in str(header.render()).split()  # whole, on one row
        assert "no build yet" not in str(note.render())
        left = pane.query_one("#env-left").size.width
        assert left < 40 and pane.query_one("#env-right").size.width >= left  # the Dockerfile gets at least half
        await pilot.press("b")
        status = pane.query_one("#env-status")
        await wait_for(pilot, lambda: "up to date" in str(status.render()))
        assert "nothing to build" in " ".join(str(status.render()).split())

        pane.say(f"error: building {tag}-and-some-more-of-a-long-name failed at step 2/8")
        await pilot.pause()
        rows = str(status.render()).splitlines()
        assert all(len(row) <= status.size.width for row in rows)
        assert any(row.startswith("taskbench-env-python-sklearn") and row.endswith("…") for row in rows)  # one row, cut with …


async def test_a_failed_builds_sentence_reads_whole_in_the_status_at_80x24(home, monkeypatch):
    """The status beside the list showed four rows of a failed build's sentence, cut mid-sentence (a trial finding):
    an error gets the rows it needs, to its last word."""
    from core.environments.docker_build import BuildError

    sentence = ("Building taskbench-env-python-sklearn:1f2e3d4c5b6a failed at step 3/5 (RUN pip install -r "
                "requirements.txt): The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 1.")

    def build_environment(store, ref, on_log, *, force=False):
        on_log("Step 1/5 : FROM python:3.11-slim")
        raise BuildError(sentence, "the log's tail")

    engine_build(monkeypatch, build_environment)
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, _table = await select_environment(pilot, "python-sklearn")
        await pilot.press("b")
        status = pane.query_one("#env-status")
        await wait_for(pilot, lambda: "error:" in str(status.render()))
        await pilot.pause()
        rows = str(status.render()).splitlines()
        assert len(rows) > 4 and status.size.height >= len(rows), (status.size, rows)  # every row shown
        assert rows[-1].endswith("returned a non-zero code: 1."), rows


def up_to_date(monkeypatch, tag: str) -> None:
    """Builds answer as the engine does for an image already present: nothing built, one line saying so."""
    from core.environments.versions import get_environment_version

    def build_environment(store, ref, on_log, *, force=False):
        on_log(f"environment image {tag} for {ref}@1 is up to date")
        return get_environment_version(store, ref), tag, False

    engine_build(monkeypatch, build_environment)


async def test_esc_is_not_offered_on_the_top_level_list(home):
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, table = await environments_pane(pilot)
        await pilot.pause()
        assert table.has_focus
        assert "esc back" not in str(pane.query_one("#env-status").render())


async def test_c_runs_the_doctors_checks_into_the_log_and_says_the_summary(home, monkeypatch):
    """The Environments pane shows the same checks as `taskbench doctor` (key c): each check's line, a failed one's
    fix, and the summary in the status line; enter then reads the report with the log keys."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/taskbench-tui.sock")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.delenv("TASKBENCH_BASE_IMAGE", raising=False)  # set, it would make Docker needed (as in CI)
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, table = await environments_pane(pilot)
        await pilot.press("c")
        log = pane.query_one("#env-log", RichLog)
        def text() -> str:  # the log folds long lines at spaces: read it as one text
            return " ".join(" ".join(strip.text.split()) for strip in log.lines)

        await wait_for(pilot, lambda: "Everything your configuration needs works." in text(), timeout=30)
        text = text()
        assert "ok python Python 3." in text and "FAIL docker No Docker engine answers" in text
        assert "fix: start dockerd" in text and "http://127.0.0.1:9/simple" in text
        assert " ".join(str(pane.query_one("#env-status").render()).split()) == "Everything your configuration needs works."
        await pilot.press("enter")
        assert log.has_focus
