"""Shared workspaces (SPEC §10), files and identity: real Unix users in one group run the real `taskbench`.

A group and three users (two members, one outsider) are made with groupadd/useradd, as CI runs as root; each
command runs as its user through `runuser` with umask 022 or 002. The project's venv may sit where those users
cannot enter (under /root), so a small venv in a world-readable temp folder points at the same installed packages.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLES
from tests.docker_support import python_sklearn_image  # noqa: F401 - a fixture

NEEDS = ("groupadd", "useradd", "userdel", "groupdel", "runuser")


def _skip_reason() -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "needs root to create Unix users and a group (groupadd/useradd), as CI runs"
    missing = [tool for tool in NEEDS if shutil.which(tool) is None]
    return f"needs {', '.join(missing)} to create Unix users" if missing else None


def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=120)
    if check:
        assert done.returncode == 0, f"{cmd}: {done.stderr}"
    return done


def _can_run(user: str, *cmd: str) -> bool:
    return _run("runuser", "-u", user, "--", *cmd, check=False).returncode == 0


class Team:
    """A group with members `a` and `b`, an outsider `c`, and a `taskbench` each of them can run."""

    def __init__(self, root: Path, tag: str):
        self.root = root
        self.group = f"tbg{tag}"
        self.a, self.b, self.c = (f"tb{tag}{who}" for who in "abc")
        self.taskbench: Path | None = None
        self.setup_seconds = 0.0

    def create(self) -> None:
        _run("groupadd", self.group)
        _run("useradd", "-m", "-G", self.group, self.a)
        _run("useradd", "-m", "-G", self.group, self.b)
        _run("useradd", "-m", self.c)

    def remove(self) -> None:
        for user in (self.a, self.b, self.c):
            _run("userdel", "-r", user, check=False)
        _run("groupdel", self.group, check=False)

    def install(self) -> None:
        """A venv in a readable folder whose Python each user can run, seeing this interpreter's packages and this
        checkout (copied when the users cannot read it)."""
        started = time.perf_counter()
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        candidates = [os.path.realpath(getattr(sys, "_base_executable", sys.executable)), f"/usr/bin/{version}",
                      f"/usr/local/bin/{version}"]
        base = next((p for p in candidates if os.path.exists(p) and _can_run(self.a, p, "-c", "pass")), None)
        if base is None:
            pytest.skip(f"no {version} that the test users may run (tried {', '.join(candidates)})")
        venv = self.root / "venv"
        _run(base, "-m", "venv", "--without-pip", str(venv))
        source = REPO
        if not _can_run(self.a, "test", "-r", str(REPO / "core" / "__init__.py")):
            source = self.root / "source"
            for package in ("core", "tui"):
                shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
        packages = [p for p in site.getsitepackages() if Path(p).is_dir()]
        unreadable = [p for p in packages if not _can_run(self.a, "test", "-r", p)]
        if unreadable:
            pytest.skip(f"the test users cannot read the installed packages in {unreadable[0]}")
        lines = [f"import site; site.addsitedir({p!r})" for p in packages] + [str(source)]
        purelib = next(venv.glob("lib/python*/site-packages"))
        (purelib / "taskbench-under-test.pth").write_text("\n".join(lines) + "\n")
        self.taskbench = venv / "bin" / "taskbench"
        self.taskbench.write_text(f"#!{venv}/bin/python\nimport sys\nfrom tui.cli.entry import run\nsys.exit(run())\n")
        self.taskbench.chmod(0o755)
        for path in [self.root, *self.root.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
        self.setup_seconds = time.perf_counter() - started

    def folder(self, name: str) -> Path:
        """A group-shared folder (chgrp + chmod 2775) that the members may create a workspace in."""
        path = self.root / name
        path.mkdir()
        shutil.chown(path, group=self.group)
        path.chmod(0o2775)
        return path

    def run(self, user: str, *args, home: Path | None = None, umask: str = "022", env: dict | None = None):
        """`taskbench ARGS…` as `user` with `umask`, in a clean environment; returns the finished process."""
        variables = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": f"/home/{user}", "LANG": "C.UTF-8",
                     "COLUMNS": "200", **({"TASKBENCH_HOME": str(home)} if home else {}), **(env or {})}
        command = ["runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in variables.items()),
                   "sh", "-c", f'umask {umask} && exec "$0" "$@"', str(self.taskbench), *map(str, args)]
        return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=self.root)


@pytest.fixture(scope="module")
def team():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="taskbench-team-"))
    root.chmod(0o755)
    made = Team(root, uuid.uuid4().hex[:6])
    try:
        made.create()
        made.install()
        print(f"\nteam fixture: users, group and a runnable taskbench in {made.setup_seconds:.2f} s")
        yield made
    finally:
        made.remove()
        shutil.rmtree(root, ignore_errors=True)


def _ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _one_sentence_refusal(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def _not_shared(home: Path) -> list[str]:
    """Every path under `home` a member could not use: not group-owned, or not group-readable, or (outside the
    immutable snapshots, trained models and cached steps) not group-writable, or a folder without the setgid bit."""
    group = home.stat().st_gid
    bad = []
    for path in [home, *home.rglob("*")]:
        mode = path.lstat().st_mode
        rel = path.relative_to(home).as_posix()
        immutable = ("objects/tasks/" in rel or "objects/environments/" in rel  # and trained models, cached steps
                     or re.match(r"(models/\d+|cache/[0-9a-f]{2}/[0-9a-f]+)(/|$)", rel) is not None)
        needed = stat.S_IRGRP | (0 if immutable else stat.S_IWGRP)
        if path.is_dir():
            needed |= stat.S_IXGRP | stat.S_ISGID
        if path.lstat().st_gid != group or mode & needed != needed:
            bad.append(f"{stat.filemode(mode)} {path.relative_to(home)}")
    return bad


@pytest.mark.parametrize("umask", ["022", "002"])
def test_a_members_read_only_command_does_not_lock_another_out(team, umask):
    home = team.folder(f"lockout-{umask}") / "ws"
    _ok(team.run(team.a, "workspace", "init", home, "--group", team.group, umask=umask))
    _ok(team.run(team.a, "task", "add", SAMPLES / "01_transform_median_impute", home=home, umask=umask))
    _ok(team.run(team.b, "jobs", home=home, umask=umask))  # read-only: used to leave -wal/-shm 0644, owned by b
    _ok(team.run(team.a, "task", "add", SAMPLES / "11_regression_ridge", home=home, umask=umask))
    _ok(team.run(team.b, "task", "add", SAMPLES / "07_binary_class_interface", home=home, umask=umask))
    listed = json.loads(_ok(team.run(team.a, "task", "list", "--json", home=home, umask=umask)))
    assert len(listed) == 3
    assert _not_shared(home) == []
    db = home / "taskbench.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o660
    assert stat.S_IMODE(home.stat().st_mode) == 0o2770


def test_files_a_member_left_private_are_made_group_writable_by_their_owner(team):
    home = team.folder("repair") / "ws"
    _ok(team.run(team.a, "workspace", "init", home, "--group", team.group))
    _ok(team.run(team.a, "jobs", home=home))
    db = home / "taskbench.db"
    db.chmod(0o644)  # as a run without taskbench's umask (an older version, a copy by hand) leaves it
    assert team.run(team.b, "task", "add", SAMPLES / "01_transform_median_impute", home=home).returncode != 0
    _ok(team.run(team.a, "jobs", home=home))
    assert stat.S_IMODE(db.stat().st_mode) == 0o660
    _ok(team.run(team.b, "task", "add", SAMPLES / "01_transform_median_impute", home=home))


def test_workspace_show_names_the_group_its_members_and_the_mode(team):
    home = team.folder("show") / "ws"
    created = _ok(team.run(team.a, "workspace", "init", home, "--group", team.group))
    assert team.group in created and str(home) in created
    shown = json.loads(_ok(team.run(team.b, "workspace", "show", "--json", home=home)))
    assert shown["path"] == str(home) and shown["shared"] is True and shown["group"] == team.group
    assert {team.a, team.b} <= set(shown["members"]) and team.c not in shown["members"]
    assert shown["mode"] == "2770" and shown["user"] == team.b
    text = _ok(team.run(team.b, "workspace", "show", home=home))
    assert f"yes, by the group {team.group}" in text and "2770" in text


def test_a_non_member_is_refused_with_one_sentence(team):
    home = team.folder("outsider") / "ws"
    _ok(team.run(team.a, "workspace", "init", home, "--group", team.group))
    for args in (["jobs"], ["task", "list"], ["workspace", "show"], []):  # [] : the workbench, before it opens
        refused = _one_sentence_refusal(team.run(team.c, *args, home=home))
        assert team.c in refused and f"group {team.group}" in refused
    refused = _one_sentence_refusal(team.run(team.c, "workspace", "init", team.root / "c-ws", "--group", team.group))
    assert f"not a member of the group {team.group}" in refused


def test_taskbench_user_cannot_impersonate_in_a_shared_workspace(team):
    home = team.folder("identity") / "ws"
    _ok(team.run(team.a, "workspace", "init", home, "--group", team.group))
    refused = _one_sentence_refusal(team.run(team.b, "task", "add", SAMPLES / "01_transform_median_impute",
                                             home=home, env={"TASKBENCH_USER": team.a}))
    assert "TASKBENCH_USER" in refused and team.b in refused
    _ok(team.run(team.b, "task", "add", SAMPLES / "01_transform_median_impute", home=home,
                 env={"TASKBENCH_USER": team.b}))
    _ok(team.run(team.b, "task", "add", SAMPLES / "11_regression_ridge", home=home,
                 env={"USER": team.a, "LOGNAME": team.a}))  # the uid decides, not the login variables
    for name in ("transform_median_impute", "regression_ridge"):
        versions = json.loads(_ok(team.run(team.b, "task", "versions", name, "--json", home=home)))
        assert [version["created_by"] for version in versions] == [team.b], name
        refused = _one_sentence_refusal(team.run(team.a, "task", "versions", name, home=home))  # b's, unshared
        assert team.b in refused and "see the versions of" in refused


def test_a_private_workspace_is_unchanged(taskbench, home, monkeypatch):
    """No group, no setgid, the user's own umask, and `TASKBENCH_USER` names whoever acts."""
    monkeypatch.setenv("TASKBENCH_USER", "somebody-else")
    before = os.umask(0o022)
    try:
        added = taskbench("task", "add", SAMPLES / "01_transform_median_impute")
        assert added.exit_code == 0, added.output
        assert stat.S_IMODE((home / "taskbench.db").stat().st_mode) == 0o644
        assert not (home / "workspace.json").exists()
        assert not home.stat().st_mode & stat.S_ISGID
        shown = taskbench("workspace", "show", "--json")
        assert shown.exit_code == 0, shown.output
        found = json.loads(shown.output)
        assert found["shared"] is False and found["members"] == [] and found["user"] == "somebody-else"
        versions = taskbench("task", "versions", "transform_median_impute", "--json")
        assert json.loads(versions.output)[0]["created_by"] == "somebody-else"
        assert os.umask(0o022) == 0o022  # opening a private workspace leaves the process's umask alone
    finally:
        os.umask(before)


def test_workspace_init_refuses_an_unknown_group_and_a_folder_in_use(taskbench, tmp_path):
    unknown = taskbench("workspace", "init", tmp_path / "ws", "--group", "no-such-group-" + uuid.uuid4().hex[:6])
    assert unknown.exit_code == 2 and "there is no group named" in unknown.output
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    group = __import__("grp").getgrgid(os.getegid()).gr_name
    busy = taskbench("workspace", "init", used, "--group", group)
    assert busy.exit_code == 2 and "is not empty" in busy.output
    assert (used / "notes.txt").read_text() == "mine"


def test_docker_workers_of_a_shared_workspace_get_its_umask_and_group(team, python_sklearn_image):
    """A container runs as the user's uid:gid with Docker's umask 022; in a shared workspace it must also write
    group-writable files and enter folders only the group may (another member's cache and model folders)."""
    home = team.folder("docker") / "ws"
    task = team.root / "docker-task"
    shutil.copytree(SAMPLES / "11_regression_ridge", task)
    custom = task / "custom.py"
    custom.write_text('import os\n_mask = os.umask(0); os.umask(_mask)\n'
                      'print(f"container umask {_mask:03o} groups {sorted(os.getgroups())}", flush=True)\n'
                      + custom.read_text())
    for path in [task, *task.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    _ok(team.run("root", "workspace", "init", home, "--group", team.group, env={"HOME": "/root"}))
    data = REPO / "sample_tasks" / "data" / "juniors_3_year_stats_regression.csv"
    fitted = team.run("root", "fit", "--code-dir", task, "--input", data, "--target-type", "regression", "--target",
                      "Grade 2014", "--docker", python_sklearn_image, home=home,
                      env={"HOME": "/root", **{k: v for k, v in os.environ.items() if k.startswith("DOCKER_")}})
    out = _ok(fitted)
    gid = __import__("grp").getgrnam(team.group).gr_gid
    assert "container umask 007" in out and str(gid) in out.split("container umask 007 groups", 1)[1].split("\n")[0]


def test_a_private_workspace_of_its_owner_is_shared_in_place(team):
    """a's private workspace (umask 022, files 0644) becomes shared: its task kept and owned by a, every file and
    folder usable by the group, and b, a member, works in it once a shares the task."""
    home = team.root / "a-private"
    home.mkdir()
    shutil.chown(home, user=team.a)
    _ok(team.run(team.a, "task", "add", SAMPLES / "01_transform_median_impute", home=home))
    assert stat.S_IMODE((home / "taskbench.db").stat().st_mode) == 0o644

    shared = _ok(team.run(team.a, "workspace", "init", home, "--group", team.group))
    assert "Shared the private workspace" in shared
    assert _not_shared(home) == []
    assert not [p for p in home.rglob("*") if not p.is_symlink() and p.stat().st_mode & 0o007]  # others: nothing
    listed = json.loads(_ok(team.run(team.b, "task", "list", "--json", home=home)))
    assert [(t["name"], t["owner"]) for t in listed] == [("transform_median_impute", team.a)]
    _one_sentence_refusal(team.run(team.b, "task", "show", "transform_median_impute", home=home))
    _ok(team.run(team.a, "share", "task", "transform_median_impute", team.b, "--role", "read", home=home))
    assert "custom.py" in _ok(team.run(team.b, "task", "show", "transform_median_impute", home=home))
    assert _not_shared(home) == []  # b's commands left nothing a cannot write

    other = team.root / "b-private"
    other.mkdir()
    shutil.chown(other, user=team.b)
    _ok(team.run(team.b, "task", "list", home=other))
    refused = _one_sentence_refusal(team.run(team.a, "workspace", "init", other, "--group", team.group))
    assert "belongs to someone else" in refused or "may not" in refused


def _a_trains(team, home: Path, project: str, text: str) -> tuple[Path, Path]:
    """a creates `project` from the juniors data and trains the blueprint `text` in it: (the data, the .bp file)."""
    data = REPO / "sample_tasks" / "data" / "juniors_3_year_stats_regression.csv"
    _ok(team.run(team.a, "project", "create", data, "--target", "Grade 2014", "--name", project, home=home))
    bp = team.root / f"{project}.bp"
    bp.write_text(text)
    bp.chmod(0o644)
    _ok(team.run(team.a, "train", project, bp, home=home))
    return data, bp


def test_a_snapshot_another_member_swapped_is_refused_before_any_of_it_runs(team):
    """The issue's attack: b, a member, changes a's stored task version with a shell; a's fit, training and
    scoring refuse it with one sentence naming the version, and b's code never runs with a's rights."""
    home = team.folder("tamper") / "ws"
    _ok(team.run(team.a, "workspace", "init", home, "--group", team.group))
    _ok(team.run(team.a, "task", "add", SAMPLES / "11_regression_ridge", "--name", "ridge", home=home))
    data, bp = _a_trains(team, home, "juniors", "model = ridge@1(NUM)\n")

    snapshot = Path(json.loads(_ok(team.run(team.a, "task", "show", "ridge@1", "--json", home=home)))["path"])
    markers = team.root / "markers"
    markers.mkdir()
    markers.chmod(0o1777)  # anyone may leave the marker there
    marker = markers / "b-code-ran-as"
    planted = team.root / "planted.py"
    planted.write_text((snapshot / "custom.py").read_text()
                       + f"\nimport getpass, pathlib\npathlib.Path({str(marker)!r}).write_text(getpass.getuser())\n")
    planted.chmod(0o644)
    # With a shell, b tries to replace the file the way group write would allow (a new file moved over it); the
    # stored version's read-only folder stops b, so root plays the part of a member who got past that.
    swap = f"cp {planted} {snapshot}/.swap && mv -f {snapshot}/.swap {snapshot}/custom.py"
    by_b = subprocess.run(["runuser", "-u", team.b, "--", "sh", "-c", swap], capture_output=True, text=True)
    print(f"b's swap: exit {by_b.returncode} {by_b.stderr.strip()}")
    if by_b.returncode != 0:
        subprocess.run(["sh", "-c", swap], check=True)
    assert "getpass" in (snapshot / "custom.py").read_text()

    for args in (("fit", "--task", "ridge@1", "--input", data, "--target", "Grade 2014"),
                 ("predict", "1", "--input", data, "--output", team.root / "p.csv"),
                 ("task", "show", "ridge@1")):
        done = team.run(team.a, *args, home=home)
        assert done.returncode == 2, args
        assert "task ridge@1 was changed after it was stored (custom.py changed)" in " ".join(
            (done.stdout + done.stderr).split()), args
    _ok(team.run(team.a, "share", "task", "ridge", team.b, "--role", "read", home=home))
    refused = _one_sentence_refusal(team.run(team.b, "task", "show", "ridge@1", home=home))
    assert f"ask {team.a}, who stored it, to add the task's folder again" in refused  # b cannot restore a's version
    trained = team.run(team.a, "train", "juniors", bp, home=home)
    assert trained.returncode == 2 and "ridge@1 was changed after it was stored" in " ".join(trained.stdout.split())
    assert not marker.exists(), f"b's code ran as {marker.read_text()}"
    assert not (team.root / "p.csv").exists()


def test_paths_a_member_may_not_use_are_one_sentence_and_the_shared_log_stays_group_writable(team):
    """A path in a folder b cannot enter (a's home, 0700) was an 'internal error' (exit 1) whose traceback went to a
    logs/cli.log created with b's umask, which a could then no longer write; now: one sentence, exit 2, and the log
    is group-writable whoever made it first."""
    home = team.folder("paths") / "ws"
    _ok(team.run(team.a, "workspace", "init", home, "--group", team.group))
    _ok(team.run(team.a, "task", "add", SAMPLES / "01_transform_median_impute", "--name", "imp", home=home))
    _ok(team.run(team.a, "share", "task", "imp", team.b, "--role", "read", home=home))
    hidden = Path(f"/home/{team.a}")
    hidden.chmod(0o700)
    data, _ = _a_trains(team, home, "jr", "num = impute_median(NUM)\nmodel = ridge(num)\n")
    _ok(team.run(team.a, "share", "project", "jr", team.b, "--role", "read", home=home))
    for args in (["task", "download", "imp", "--to", hidden / "copy"],
                 ["blueprint", "from-task", "ridge", "-o", hidden / "x.bp"],
                 ["project", "create", hidden / "data.csv", "--target", "y"],
                 ["predict", "1", "--input", data, "--output", hidden / "p.csv"]):
        done = team.run(team.b, *args, home=home, umask="022")
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        text = " ".join((done.stdout + done.stderr).split())
        assert "internal error" not in text and "Traceback" not in text and str(hidden) in text, (args, text)
    log = home / "logs" / "cli.log"  # b's tracebacks of the refused paths, kept for a bug report
    assert stat.S_IMODE(log.stat().st_mode) & 0o060 == 0o060, oct(log.stat().st_mode)


def test_a_private_workspace_linked_to_a_shared_ones_database_cannot_impersonate(team):
    """b links a's shared database into a 'private' workspace of b's (symbolic and hard links), where
    TASKBENCH_USER would name anyone: refused, and a's task and deployment are untouched."""
    home = team.folder("linked") / "ws"
    _ok(team.run(team.a, "workspace", "init", home, "--group", team.group))
    _ok(team.run(team.a, "task", "add", SAMPLES / "01_transform_median_impute", "--name", "secret", home=home))
    fakes = team.folder("fakes")
    for how in ("-s", ""):
        fake = fakes / f"b-fake{how or '-hard'}"
        link = (f"mkdir {fake} && for f in {home}/*; do case $f in *workspace.json) ;; "  # posing as private
                f"*) ln {how} $f {fake}/ 2>/dev/null || true ;; esac; done")
        subprocess.run(["runuser", "-u", team.b, "--", "sh", "-c", link], check=True)
        if not (fake / "taskbench.db").exists():
            continue  # this system's protected_hardlinks stopped b: nothing to try
        refused = _one_sentence_refusal(team.run(team.b, "task", "show", "secret", home=fake,
                                                 env={"TASKBENCH_USER": team.a}))
        assert "belongs to" in refused and "private workspace" in refused, refused
    assert "custom.py" in _ok(team.run(team.a, "task", "show", "secret", home=home))
