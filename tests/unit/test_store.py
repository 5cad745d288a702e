"""The workspace store: SQLite settings, migrations, the newer-schema refusal, connections, atomic files."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.store import INTERRUPTED_MESSAGE, Migration, MigrationFailed, SchemaTooNew, Store, latest_version, open_store
from core.store import files, processes
from core.store.schema import DB_FILENAME, INITIAL, MIGRATIONS


def raw(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / DB_FILENAME)


def test_open_creates_the_database_with_wal_foreign_keys_and_busy_timeout(home):
    with open_store(home) as store:
        assert store.db_path == home / "taskbench.db"
        assert store.db_path.is_file()
        conn = store._conn()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
        assert store.schema_version() == latest_version() == len(MIGRATIONS)
        assert store.integrity_check() == "ok"
        for folder in ("objects/tasks", "objects/environments", "logs"):
            assert (home / folder).is_dir()


def test_open_uses_taskbench_home(home):
    with open_store() as store:  # $TASKBENCH_HOME, set by the fixture
        assert store.root == home


def test_foreign_keys_are_enforced(home):
    with open_store(home) as store:
        with pytest.raises(sqlite3.IntegrityError):
            with store.transaction() as conn:
                conn.execute(
                    "INSERT INTO task_versions (task_id, version, sha256, snapshot_path, files, metadata, created_by, "
                    "created_at) VALUES (999, 1, 'x', 'objects/tasks/x', '[]', '{}', 'me', 'now')"
                )


def test_migrations_run_in_order_on_open_and_only_once(home):
    ran = []
    second = Migration(2, "add task notes", (lambda conn: ran.append(2), "ALTER TABLE tasks ADD COLUMN notes TEXT"))
    third = Migration(3, "index notes", (lambda conn: ran.append(3), "CREATE INDEX tasks_notes ON tasks (notes)"))
    with Store.open(home, migrations=(INITIAL,)) as store:
        assert store.schema_version() == 1
    with Store.open(home, migrations=(INITIAL, second, third)) as store:
        assert store.schema_version() == 3
        columns = [row[1] for row in store._conn().execute("PRAGMA table_info(tasks)")]
        assert "notes" in columns
    with Store.open(home, migrations=(INITIAL, second, third)) as store:
        assert store.schema_version() == 3
    assert ran == [2, 3]


def test_a_failing_migration_rolls_back_completely(home):
    with Store.open(home, migrations=(INITIAL,)):
        pass
    broken = Migration(2, "broken", ("ALTER TABLE tasks ADD COLUMN notes TEXT", "CREATE TABLE tasks (x)"))
    with pytest.raises(MigrationFailed, match=r"schema 2 \(broken\) failed: .*left at schema 1"):
        Store.open(home, migrations=(INITIAL, broken))
    conn = raw(home)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert "notes" not in [row[1] for row in conn.execute("PRAGMA table_info(tasks)")]


def test_a_newer_workspace_is_refused_with_the_upgrade_sentence(home, taskbench):
    with open_store(home):
        pass
    newer = latest_version() + 4
    conn = raw(home)
    conn.execute(f"PRAGMA user_version = {newer}")
    conn.close()
    with pytest.raises(SchemaTooNew) as caught:
        open_store(home)
    expected = (
        f"this workspace was written by a newer taskbench (schema {newer}, this one knows {latest_version()}); "
        "upgrade taskbench"
    )
    assert caught.value.message == expected
    result = taskbench("task", "list")
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output


def test_migrations_must_be_numbered_in_order(home):
    with pytest.raises(RuntimeError, match="numbered 1, 2, 3"):
        Store.open(home, migrations=(INITIAL, Migration(3, "skips 2", ())))


def test_each_thread_gets_its_own_connection_and_writes_queue(home):
    with open_store(home) as store:
        seen, ids, errors = [], [], []

        def work():
            try:
                seen.append(id(store._conn()))
                for _ in range(20):
                    ids.append(store.create_job("t", "thread job").id)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(set(seen)) == 8
        assert sorted(ids) == list(range(1, 161))
        assert store.count_jobs() == 160


def test_a_failed_transaction_leaves_nothing(home):
    with open_store(home) as store:
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.create_job("t", "inside")  # joins the outer transaction
                raise RuntimeError("abort")
        assert store.count_jobs() == 0
        assert store.create_job("t", "after").id == 1


def test_rows_record_the_acting_user(home, monkeypatch):
    monkeypatch.setenv("TASKBENCH_USER", "carol")
    with open_store(home) as store:
        assert store.create_job("t", "x").created_by == "carol"


def test_atomic_write_never_leaves_a_half_file(tmp_path, monkeypatch):
    target = tmp_path / "data.json"
    files.write_text_atomic(target, "old")

    def broken_rename(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(files.os, "rename", broken_rename)
    with pytest.raises(OSError, match="disk gone"):
        files.write_text_atomic(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["data.json"]


def test_snapshot_is_content_addressed_and_skips_caches(tmp_path):
    source = tmp_path / "task"
    (source / "__pycache__").mkdir(parents=True)
    (source / ".git").mkdir()
    (source / "sub").mkdir()
    (source / "custom.py").write_text("x = 1\n")
    (source / "sub" / "helper.py").write_text("y = 2\n")
    (source / "__pycache__" / "custom.cpython-311.pyc").write_bytes(b"cache")
    (source / ".git" / "HEAD").write_text("ref")
    (source / "stray.pyc").write_bytes(b"cache")
    objects = tmp_path / "objects"
    sha, entries, folder = files.snapshot_folder(source, objects)
    assert folder == objects / sha
    assert [e.path for e in entries] == ["custom.py", "sub/helper.py"]
    assert files.tree_digest(folder)[0] == sha
    again, _, same_folder = files.snapshot_folder(source, objects)
    assert (again, same_folder) == (sha, folder)
    assert sorted(p.name for p in objects.iterdir()) == [sha]  # no temp left, nothing stored twice
    (source / "sub" / "helper.py").write_text("y = 3\n")
    assert files.snapshot_folder(source, objects)[0] != sha
    # A renamed file is different content even with the same bytes.
    (source / "sub" / "helper.py").rename(source / "sub" / "helper2.py")
    assert files.tree_digest(source)[0] != files.tree_digest(folder)[0]


def test_snapshots_are_read_only_and_still_removable(tmp_path):
    import stat

    source = tmp_path / "task"
    (source / "sub").mkdir(parents=True)
    (source / "custom.py").write_text("x = 1\n")
    (source / "run.sh").write_text("#!/bin/sh\n")
    (source / "run.sh").chmod(0o755)
    (source / "sub" / "helper.py").write_text("y = 2\n")
    _, _, folder = files.snapshot_folder(source, tmp_path / "objects")
    for path in [folder, *folder.rglob("*")]:
        assert path.stat().st_mode & files.WRITE_BITS == 0, path
    assert (folder / "run.sh").stat().st_mode & stat.S_IXUSR  # executables stay executable
    assert (source / "custom.py").stat().st_mode & stat.S_IWUSR  # the user's folder is untouched
    copy = tmp_path / "download"
    files.copy_tree_to(folder, copy)
    (copy / "custom.py").write_text("x = 2\n")  # a downloaded copy is the user's to edit
    files.remove_tree(folder)
    assert not folder.exists()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_open_removes_orphan_temp_files_of_dead_writers_only(home):
    with open_store(home):
        pass
    tag = files.host_tag()
    dead = dead_pid()
    orphan_dir = home / "objects" / "tasks" / f".tmp-{dead}-{tag}-aaaa-snapshot"
    orphan_dir.mkdir()
    (orphan_dir / "custom.py").write_text("half")
    orphan_file = home / "logs" / f".tmp-{dead}-{tag}-bbbb-x.log"
    orphan_file.write_text("half")
    live = home / "objects" / "tasks" / f".tmp-{os.getpid()}-{tag}-cccc-snapshot"
    live.mkdir()
    other_host = home / "objects" / "tasks" / f".tmp-{dead}-00000000-dddd-snapshot"
    other_host.mkdir()
    with open_store(home):
        pass
    assert not orphan_dir.exists() and not orphan_file.exists()
    assert live.exists() and other_host.exists()


def test_process_identity_uses_start_time(tmp_path):
    me = os.getpid()
    assert processes.pid_alive(me)
    assert processes.same_process(me, processes.process_start_time(me))
    assert not processes.pid_alive(dead_pid())
    if processes.process_start_time(me) is not None:
        assert not processes.same_process(me, "1")
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        for _ in range(100):
            if processes._proc_state(zombie.pid) in ("Z", None):
                break
            threading.Event().wait(0.05)
        if processes._proc_state(zombie.pid) == "Z":
            assert not processes.pid_alive(zombie.pid)  # exited, not yet reaped: not alive
    finally:
        zombie.wait()


def test_interrupted_message_is_the_documented_sentence():
    assert INTERRUPTED_MESSAGE == "the engine process ended while the job ran"


def test_threads_opening_a_new_workspace_together_all_succeed(tmp_path):
    """The workbench's first start opens the store from several threads at once; none may see "database is locked"
    (SQLite gives it at once, with no busy wait, to connections that switch a new database to WAL together)."""
    import threading

    errors = []

    def open_it(home, barrier):
        barrier.wait()
        try:
            with open_store(home):
                pass
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(repr(exc))

    for round_ in range(150):
        home, barrier = tmp_path / f"ws{round_}", threading.Barrier(8)
        threads = [threading.Thread(target=open_it, args=(home, barrier)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def test_open_sweeps_every_temporary_location_of_a_dead_writer_and_keeps_live_ones(home):
    """Each entry of files.TEMP_LOCATIONS gets a temp of a dead process (swept) and of this one (kept); the open
    finds the dead engine's job, so it walks the cache's folders too."""
    tag, dead, me = files.host_tag(), dead_pid(), os.getpid()
    with open_store(home) as store:
        store.create_job("train", "its engine died", pid=dead)
    names = {
        "objects/tasks": ".tmp-{pid}-{tag}-aaaa-snapshot",
        "objects/environments": ".tmp-{pid}-{tag}-aaaa-snapshot",
        "objects/projects": ".tmp-{pid}-{tag}-aaaa-data.parquet",
        "logs": ".tmp-{pid}-{tag}-aaaa-job-1.log",
        "models": [".tmp-{pid}-{tag}-aaaa-model-7", ".tmp-7-{pid}"],
        "tmp": ["train-{pid}-abcd1234", "serve-counts-{pid}-abcd1234"],
        "venvs": "tmp-0123456789abcdef-{pid}",
        "packages": ".0123456789abcdef01234567.tmp-{pid}",
        "cache/*": "0123456789abcdef.tmp-{pid}",
    }
    assert set(names) == {rel for rel, _ in files.TEMP_LOCATIONS}, "every temp location is covered here"
    made = {}
    for rel, patterns in names.items():
        folder = home / (rel[:-2] + "/ab" if rel.endswith("/*") else rel)
        folder.mkdir(parents=True, exist_ok=True)
        for pattern in [patterns] if isinstance(patterns, str) else patterns:
            for pid in (dead, me):
                path = folder / pattern.format(pid=pid, tag=tag)
                path.mkdir()
                (path / "half-written").write_text("x")
                made[path] = pid == dead
    with open_store(home):
        pass
    assert [p for p, dead_writer in made.items() if dead_writer and p.exists()] == []
    assert [p for p, dead_writer in made.items() if not dead_writer and not p.exists()] == []


def job_owned_rows(store, job_id: int) -> tuple[int, int]:
    """A model in training and an environment version building, both produced by job `job_id`."""
    with store.transaction() as conn:
        project = conn.execute(
            "INSERT INTO projects (name, data_path, partition_path, source, rows, target_type, settings, created_by, "
            "created_at) VALUES ('p', 'd', 'p', 's', 1, 'regression', '{}', 'u', 'now')"
        ).lastrowid
        model = conn.execute(
            "INSERT INTO models (project_id, blueprint, blueprint_text, resolved, job_id, created_by, created_at) "
            "VALUES (?, 'b', 'b', '{}', ?, 'u', 'now')",
            (project, job_id),
        ).lastrowid
        env = conn.execute(
            "INSERT INTO environments (name, kind, created_by, created_at) VALUES ('e', 'docker', 'u', 'now')"
        ).lastrowid
        version = conn.execute(
            "INSERT INTO environment_versions (environment_id, version, sha256, snapshot_path, files, status, "
            "build_job_id, created_by, created_at) VALUES (?, 1, 'x', 's', '[]', 'building', ?, 'u', 'now')",
            (env, job_id),
        ).lastrowid
    return model, version


def owned_states(store, model: int, version: int) -> tuple:
    m = store._row("SELECT state, message FROM models WHERE id = ?", (model,))
    v = store._row("SELECT status FROM environment_versions WHERE id = ?", (version,))
    return m["state"], m["message"], v["status"]


def test_rows_of_a_job_whose_engine_died_end_failed_with_its_reason_on_the_next_open(home):
    with open_store(home) as store:
        dead = dead_pid()
        job = store.start_job(store.create_job("train", "killed", pid=dead).id, pid=dead)
        model, version = job_owned_rows(store, job.id)
        live = store.start_job(store.create_job("train", "alive").id)
        live_model, live_version = job_owned_rows_again(store, live.id)
    # Killed between renaming its folder into place and committing the row: the folder is no model's.
    for number in (model, live_model):
        (home / "models" / str(number)).mkdir(parents=True)
        (home / "models" / str(number) / "plan.json").write_text("{}")
    with open_store(home) as store:
        assert store.job(job.id).state == "interrupted"
        assert owned_states(store, model, version) == ("failed", INTERRUPTED_MESSAGE, "failed")
        assert owned_states(store, live_model, live_version) == ("training", None, "building")
    assert not (home / "models" / str(model)).exists()
    assert (home / "models" / str(live_model) / "plan.json").exists()


def job_owned_rows_again(store, job_id: int) -> tuple[int, int]:
    with store.transaction() as conn:
        project = conn.execute("SELECT id FROM projects").fetchone()[0]
        model = conn.execute(
            "INSERT INTO models (project_id, blueprint, blueprint_text, resolved, job_id, created_by, created_at) "
            "VALUES (?, 'b2', 'b2', '{}', ?, 'u', 'now')",
            (project, job_id),
        ).lastrowid
        version = conn.execute(
            "INSERT INTO environment_versions (environment_id, version, sha256, snapshot_path, files, status, "
            "build_job_id, created_by, created_at) VALUES (1, 2, 'y', 's', '[]', 'building', ?, 'u', 'now')",
            (job_id,),
        ).lastrowid
    return model, version


def test_finishing_a_job_ends_its_rows_and_an_old_leftover_is_settled_on_open(home):
    with open_store(home) as store:
        job = store.start_job(store.create_job("train", "fails").id)
        model, version = job_owned_rows(store, job.id)
        store.finish_job(job.id, "failed", exit_code=1, message="the disk holding the workspace is full")
        assert owned_states(store, model, version) == ("failed", "the disk holding the workspace is full", "failed")
        # A workspace where an older taskbench marked the job interrupted but left its model training.
        old = store.start_job(store.create_job("train", "old").id)
        old_model, old_version = job_owned_rows_again(store, old.id)
        with store.transaction() as conn:
            conn.execute("UPDATE jobs SET state = 'interrupted', message = ? WHERE id = ?", (INTERRUPTED_MESSAGE, old.id))
        assert store.settle_job_rows() == 2
        assert owned_states(store, old_model, old_version) == ("failed", INTERRUPTED_MESSAGE, "failed")
        assert store.settle_job_rows() == 0  # nothing left: no write


def test_a_full_database_is_recognised_and_leaves_no_transaction_open(home):
    """SQLITE_FULL for real (the page limit reached), as on a full disk."""
    from core.errors import DiskFull, disk_full

    with open_store(home) as store:
        conn = store._conn()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(sqlite3.OperationalError) as caught:
            with store.transaction() as tx:
                tx.execute("CREATE TABLE filler (x BLOB)")
                tx.execute("INSERT INTO filler VALUES (zeroblob(1000000))")
        assert not conn.in_transaction
        full = disk_full(caught.value, home)
        assert isinstance(full, DiskFull) and full.exit_code == 1
        assert full.message.startswith(f"the disk holding the workspace {home} is full (")
        conn.execute("PRAGMA max_page_count = 1073741823")
        job = store.create_job("check", "after the full disk")  # the connection works on
        assert store.job(job.id).state == "queued"


def test_the_disk_full_sentence_for_each_way_a_full_disk_shows(home, tmp_path):
    import errno

    from core.errors import TaskbenchError, disk_full

    inside = OSError(errno.ENOSPC, "No space left on device", str(home / "objects" / "x"))
    assert "the disk holding the workspace" in disk_full(inside, home).message
    copy = OSError(errno.ENOSPC, "No space left on device")
    copy.filename, copy.filename2 = "/source/file", str(tmp_path / "out" / "file")
    assert disk_full(copy, home).message.startswith(f"the disk holding {tmp_path / 'out' / 'file'} is full")
    assert "quota" in disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"), home).message
    relayed = TaskbenchError("scoring failed: OSError: [Errno 28] No space left on device")
    assert disk_full(relayed, home).message.startswith("a disk this command wrote to is full (not the workspace's, which has ")
    named = TaskbenchError(f"OSError: [Errno 28] No space left on device: '{tmp_path / 'out.csv'}'")
    assert disk_full(named, home).message.startswith(f"the disk holding {tmp_path / 'out.csv'} is full (")
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise RuntimeError("cleanup failed too")
    except RuntimeError as chained:
        assert disk_full(chained, home) is not None
    assert disk_full(sqlite3.OperationalError("disk I/O error"), home) is None  # a disk with room: a real I/O error
    assert disk_full(OSError(errno.EACCES, "Permission denied"), home) is None
    assert disk_full(ValueError("no"), home) is None


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full answers every write with ENOSPC")
def test_a_job_log_on_a_full_disk_drops_lines_instead_of_raising():
    from core.joblog import JobLog

    log = JobLog(Path("/dev/full"))
    log.line("an engine line")
    log.output(b"task output\n")
    log.exception("no exception")
    assert log.unwritten_bytes > 0
    log.close()


def test_the_reserve_is_kept_aside_released_on_demand_and_restored_on_open(home):
    from core.store.database import RESERVE_BYTES, RESERVE_FILE

    with open_store(home) as store:
        assert (home / RESERVE_FILE).stat().st_size == RESERVE_BYTES
        assert store.release_reserve() == RESERVE_BYTES
        assert not (home / RESERVE_FILE).exists()
    with open_store(home):
        assert (home / RESERVE_FILE).stat().st_size == RESERVE_BYTES
