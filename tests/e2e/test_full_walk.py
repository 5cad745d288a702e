"""End-to-end: the whole workbench flow in the real `taskbench`, in tmux at 80x24 and 200x50, keyboard only.

The walk (issue 5, "Done when"): open a task and read its custom.py; run its fit check and
watch the result; copy a blueprint template, type a mistake and see the error at the right
line and column within a second, fix it, save it, train it on a project; watch the training
job's log; see the new leaderboard row, open the model's insights, unlock the holdout; quit.
Building an environment and watching its build log is a separate test that needs Docker
(it skips without an engine, and fails instead where CI sets TASKBENCH_REQUIRE_DOCKER=1).

Only the user's prior work (a registered task and a project) is prepared through `core`;
everything after the app starts is keys sent to the terminal and text read off its screen.
Short, distinctive strings are waited for, so the checks hold when 80 columns cut lines.
Where a list's content is checked, the text read is a title, a status or log line, or a row's
leading cells, which stay in view however narrow the list is.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.docker_support import require_docker
from tests.e2e.tmux import Terminal, require_tmux, taskbench_command

REPO = Path(__file__).resolve().parents[2]
TASK = REPO / "sample_tasks" / "11_regression_ridge"
DATA = REPO / "sample_tasks" / "data" / "juniors_3_year_stats_regression.csv"
TARGET = "Grade 2014"
TEMPLATE = "impute-standardize-ridge"  # the first regression template: `model = ridge(scale, cat)` on line 6
SETTLE = 0.3  # after esc (else tmux's esc + next key reads as alt+key) and between key groups

SIZES = pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module", autouse=True)
def tmux_server():
    """Keep one idle session for the module, so the tmux server does not exit when a test closes its terminal
    (a new session started while the last one's server shuts down fails with "server exited unexpectedly")."""
    tmux = require_tmux()
    name = f"tb-keep-{uuid.uuid4().hex[:8]}"
    subprocess.run([tmux, "-f", "/dev/null", "new-session", "-d", "-s", name, "sleep 3600"], check=True)
    yield
    subprocess.run([tmux, "kill-session", "-t", name], check=False, capture_output=True)


def settle() -> None:
    time.sleep(SETTLE)


def press(term: Terminal, *keys: str) -> None:
    """Send keys, then give the app a moment: a binding reaches its action only after the key bubbles up,
    so a printable key typed right behind it could otherwise be handled first."""
    term.keys(*keys)
    settle()


def escape(term: Terminal) -> None:
    press(term, "Escape")


def wait_all(term: Terminal, *texts: str, timeout: float = 15.0) -> str:
    """The screen once every one of `texts` is on it at the same time."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = term.screen()
        if all(text in screen for text in texts):
            return screen
        time.sleep(0.1)
    missing = [text for text in texts if text not in screen]
    raise AssertionError(f"{missing!r} not on the screen within {timeout} s; the screen was:\n{screen}")


def wait_match(term: Terminal, pattern: str, timeout: float = 15.0, fail_on: tuple[str, ...] = ()) -> re.Match:
    """The first match of `pattern` once it is on the screen; fails early when a `fail_on` text shows up."""
    regex = re.compile(pattern, re.MULTILINE)
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = term.screen()
        match = regex.search(screen)
        if match:
            return match
        bad = [text for text in fail_on if text in screen]
        if bad:
            raise AssertionError(f"{bad[0]!r} appeared while waiting for /{pattern}/; the screen was:\n{screen}")
        time.sleep(0.1)
    raise AssertionError(f"/{pattern}/ did not appear within {timeout} s; the screen was:\n{screen}")


def watch(term: Terminal, pattern: str, timeout: float, fail_on: tuple[str, ...] = ()) -> str:
    """Every screen seen until `pattern` shows up, joined: what scrolled by on the way counts too."""
    regex = re.compile(pattern, re.MULTILINE)
    deadline = time.monotonic() + timeout
    screens: list[str] = []
    while time.monotonic() < deadline:
        screen = term.screen()
        if not screens or screen != screens[-1]:
            screens.append(screen)
        if regex.search(screen):
            return "\n".join(screens)
        bad = [text for text in fail_on if text in screen]
        if bad:
            raise AssertionError(f"{bad[0]!r} appeared while waiting for /{pattern}/; the screen was:\n{screen}")
        time.sleep(0.05)
    raise AssertionError(f"/{pattern}/ did not appear within {timeout} s; the screen was:\n{screens[-1] if screens else ''}")


def start(home: Path, size: tuple[int, int], **env: str) -> Terminal:
    width, height = size
    # The tmux server may have been started by another test with another environment: pass what matters.
    env = {"TASKBENCH_HOME": str(home), "TMPDIR": os.environ.get("TMPDIR", "/tmp"), **env}
    term = Terminal(taskbench_command(home), width, height, env=env)
    term.wait_for("2 Environments", timeout=20)
    return term


def quit_app(term: Terminal) -> None:
    """q; when the app asks first (an unsaved buffer, a running job), q again quits anyway."""
    press(term, "q")
    if "Quit taskbench?" in term.screen():
        press(term, "q")
    term.wait_gone("2 Environments", timeout=10)


# ---------------------------------------------------------------- the walk


@pytest.fixture
def prepared(home: Path) -> Path:
    """The user's prior work, done through core before the app starts: a registered task and project `jr`."""
    from core.tasks.versions import add_task
    from core.store import open_store
    from core.training.projects import create_project

    with open_store(home) as store:
        version, _ = add_task(store, TASK)
        assert version.ref == "regression_ridge@1"
        project, _ = create_project(store, DATA, target=TARGET, name="jr")
        assert project.target_type == "regression"
    return home


@SIZES
def test_full_walk_keyboard_only(prepared, size):
    term = start(prepared, size)
    try:
        walk_tasks(term)
        see_empty_leaderboard(term)
        walk_blueprints(term)
        walk_jobs(term)
        walk_projects(term)
        quit_app(term)
    finally:
        term.close()


def walk_tasks(term: Terminal) -> None:
    """Tasks pane: open the task, read custom.py, run a fit check and watch it pass."""
    press(term, "1")
    term.wait_for("regression_ridge@1  estimator")  # the selected task's header beside the list
    press(term, "Enter")  # open: the list becomes the version's files, custom.py shown first
    wait_all(term, "regression_ridge@1 ", "custom.py", "model-metadata.yaml")
    term.wait_for("from sklearn.linear_model import Ridge")  # line 7 of the task's own custom.py

    press(term, "f")
    term.wait_for("Fit check regression_ridge@1")
    term.wait_for("Data file")
    # enter moves to the next field and runs from the last; the focus moves a moment after enter
    term.type(str(DATA))
    settle()
    press(term, "Enter")
    term.type(TARGET)
    settle()
    press(term, "Enter")
    press(term, "Enter")  # target type left empty: regression from the task's metadata
    term.wait_gone("Target column (empty", timeout=5)
    term.wait_for("Fit check of regression_ridge@1", timeout=10)  # the run's output replaces the file view
    wait_match(term, r"Fit check of regression_ridge@1\s+passed in", timeout=90, fail_on=("FAIL ",))


def see_empty_leaderboard(term: Terminal) -> None:
    """Projects pane before training: project jr is there and has no model yet."""
    press(term, "4")
    screen = wait_all(term, "jr · regression", "1,477 rows")  # the leaderboard's title
    assert not re.search(r"\bimpute", screen), screen


def walk_blueprints(term: Terminal) -> None:
    """Blueprints pane: copy a regression template, break it, see the error at 6:22 within 1 s, fix, save, train."""
    press(term, "3")
    title = wait_match(term, r"Blueprints \(\d+\) \+ (\w+)")
    for _ in range(4):  # y steps through the template types until the regression ones are listed
        if title.group(1) == "regression":
            break
        press(term, "y")
        title = wait_match(term, rf"Blueprints \(\d+\) \+ (?!{title.group(1)}\b)(\w+)")
    assert title.group(1) == "regression", term.screen()

    press(term, "c")  # the title and the rows come together; the cursor sits on the first template
    wait_all(term, f"copy of template {TEMPLATE}", "model = ridge(scale, cat)")
    term.wait_for("problems: none", timeout=5)

    # The cursor starts at the end of the copy (an empty line 7): up to line 6, to its end, left of ')'.
    press(term, "Up", "End", "Left")
    started = time.monotonic()
    term.type("s")  # model = ridge(scale, cats): 'cats' is no node and no channel
    term.wait_for("6:22: error: unknown input 'cats'", timeout=1.0)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"the error took {elapsed:.2f} s to appear"
    wait_all(term, "model = ridge(scale, cats)", "1 error(s)")

    press(term, "BSpace")  # fixed
    term.wait_for("problems: none", timeout=2)
    term.wait_gone("6:22: error", timeout=2)
    assert "model = ridge(scale, cat)" in term.screen()

    press(term, "C-s")  # a copy never saved asks its name first, the header's offered
    wait_all(term, "Save the new blueprint under the name:", TEMPLATE)
    press(term, "Enter")
    term.wait_for(f"saved as {TEMPLATE}@1", timeout=10)
    term.wait_for(f"{TEMPLATE}@1", timeout=5)  # the editor's title names the saved version

    escape(term)  # leave the editor: there `t` would be typed, not train
    press(term, "t")
    wait_all(term, "on which project?", "jr  regression")
    press(term, "Enter")  # jr is the only project, highlighted
    term.wait_gone("on which project?", timeout=5)
    # "training … job N, model M (its log is in Jobs)" then "model M trained on jr …"; either shows it started
    wait_match(term, r"its log is in Jobs|trained on jr|training \S+ on jr", timeout=30, fail_on=("failed:",))


def walk_jobs(term: Terminal) -> None:
    """Jobs pane: the training job is listed; its log shows the nodes fitting and the model trained."""
    press(term, "5")
    wait_match(term, r"Jobs\s+2\b", timeout=30)  # the fit check and the training
    # Newest first; the cursor may have stayed on the fit check if the list loaded before the job existed.
    press(term, "k", "k")
    press(term, "Enter")
    term.wait_for(f"train {TEMPLATE}@1 on jr", timeout=10)  # the log's title
    wait_match(term, r"#\d+ train (running|succeeded)", timeout=10)  # the log's title names the job
    term.wait_for("(ridge): fitting on", timeout=60)
    wait_match(term, r"model \d+ trained in", timeout=90, fail_on=("Traceback",))
    wait_match(term, r"#\d+ train succeeded", timeout=30)


def walk_projects(term: Terminal) -> None:
    """Projects pane: the new row on jr's leaderboard, the model's page and insights, the holdout unlocked.

    The row is matched by its leading cells (rank 1, model 1, a blueprint name starting "impute").
    The holdout is unlocked from the model's page, and the answer is shown there.
    """
    press(term, "4")
    wait_match(term, r"(^|│)\s*1\s+1\s+impute", timeout=30)  # the new leaderboard row: rank 1, model 1
    press(term, "Enter")  # from the project list to its leaderboard
    term.wait_for("sorted by validation", timeout=10)
    press(term, "Enter")  # open the model
    wait_all(term, "model 1 ·", "Scores", "Impact", timeout=10)
    wait_match(term, r"^validation\s+\d", timeout=30)
    wait_match(term, r"^holdout\s+locked", timeout=10)

    press(term, "l")  # the Impact tab: permutation impact drawn as bars
    term.wait_for("permutation impact", timeout=90)
    wait_match(term, r"\|#{3,}", timeout=5)

    press(term, "u")
    term.wait_for("Unlock the holdout of jr?", timeout=10)
    press(term, "y")
    term.wait_gone("Unlock the holdout of jr?", timeout=10)
    term.wait_for("holdout of jr unlocked", timeout=60)  # on the model page, where u was pressed
    press(term, "h")  # back to the Scores tab
    wait_match(term, r"^holdout\s+-?\d+\.\d+", timeout=60)

    escape(term)  # back to the leaderboard: the holdout column is there now
    term.wait_for("holdout unlocked", timeout=10)


# ---------------------------------------------------------------- environments (Docker)


@pytest.fixture
def fresh_base_image(docker_client):
    """The configured base image under a new name, so the environment's image tag is new and really builds.

    The tag of an environment image covers the base image setting, so a new name for the same base
    gives a tag no earlier run built; every layer still comes from the cache the session fixture
    `python_sklearn_image` filled, so the build is quick. Both tags are removed afterwards.
    """
    from core.environments import DEFAULT_BASE_IMAGE

    base = os.environ.get("TASKBENCH_BASE_IMAGE") or DEFAULT_BASE_IMAGE
    alias = f"taskbench-e2e-base:{uuid.uuid4().hex[:12]}"
    repository, _, tag = alias.partition(":")
    docker_client.images.get(base).tag(repository, tag)
    made: list[str] = [alias]
    yield alias, made
    import docker

    for name in made:
        with contextlib.suppress(docker.errors.ImageNotFound):  # never built when the test failed early
            docker_client.images.remove(name, noprune=True)


@SIZES
def test_build_environment_and_watch_its_log(home, size, python_sklearn_image, fresh_base_image, monkeypatch):
    require_docker()
    from core.environments.build import image_tag
    from core.environments.versions import get_environment_version
    from core.store import open_store

    alias, made = fresh_base_image
    monkeypatch.setenv("TASKBENCH_BASE_IMAGE", alias)
    with open_store(home) as store:
        expected_tag = image_tag(get_environment_version(store, "python-sklearn"))
    made.append(expected_tag)
    env = {"TASKBENCH_BASE_IMAGE": alias}
    for name in ("TASKBENCH_CA_BUNDLE", "DOCKER_HOST"):
        if os.environ.get(name):
            env[name] = os.environ[name]

    term = start(home, size, **env)
    try:
        press(term, "2")
        term.wait_for("python-local: the Python")  # the first row's description
        for _ in range(5):  # j until python-sklearn is the selected row (its Dockerfile shows on the right)
            if "python-sklearn@1" in term.screen():
                break
            press(term, "j")
            time.sleep(0.5)
        term.wait_for("python-sklearn@1", timeout=5)
        term.wait_for("ARG BASE_IMAGE", timeout=5)  # the Dockerfile

        term.keys("b")
        # Every screen is kept while the build runs: a build from the layer cache takes well under a second
        # and can scroll its first lines (and the "building python-sklearn…" status) away between two looks.
        seen = watch(term, r"Successfully tagged", timeout=300, fail_on=("error: ",))  # the tag may wrap at 80x24
        # Each step's own output ("Using cache" / "Running in") may scroll by between two looks at 80x24, and a
        # build wholly from the layer cache can scroll every "Step n/m" line by too; the job's log file holds every
        # line the pane was fed.
        logs = "".join(path.read_text() for path in sorted((home / "logs").glob("job-*.log")))
        assert re.search(r"Step \d+/\d+ :", seen) or (size[1] <= 24 and re.search(r"Step \d+/\d+ :", logs)), seen
        assert "Using cache" in logs or "Running in" in logs, logs
        # the last log line and the status line: built, as the environment's own image tag
        wait_match(term, r"built python-sklearn@1 as(.|\n)*built python-sklearn@1 as", timeout=10)
        assert "taskbench-env-py" in term.screen()
        wait_match(term, r"python-sklearn\s+docker\s+v1\s+built|python-sklearn@1\s+built", timeout=10)
        quit_app(term)
    finally:
        term.close()
