"""How a job (a JobRun) records its ending, and its model's, when the disk refuses the first try (simulated SQLITE_FULL)."""

from __future__ import annotations

import sqlite3
from core.jobs import JobRun
from core.store import open_store
from core.store.database import RESERVE_FILE


def test_an_ending_refused_by_a_full_disk_frees_the_reserve_and_is_recorded(home, tmp_path, monkeypatch):
    with open_store(home) as store:
        run = JobRun(store, "train", "meets a full disk").start()
        job = run.job
        with store.transaction() as conn:
            project = conn.execute(
                "INSERT INTO projects (name, data_path, partition_path, source, rows, target_type, settings, "
                "created_by, created_at) VALUES ('p', 'd', 'p', 's', 1, 'regression', '{}', 'u', 'now')"
            ).lastrowid
            model = conn.execute(
                "INSERT INTO models (project_id, blueprint, blueprint_text, resolved, job_id, created_by, created_at) "
                "VALUES (?, 'b', 'b', '{}', ?, 'u', 'now')",
                (project, job.id),
            ).lastrowid
        real_finish, tries = store.finish_job, []

        def finish_job(*args, **kwargs):
            tries.append((home / RESERVE_FILE).exists())
            if len(tries) == 1:
                raise sqlite3.OperationalError("database or disk is full")
            return real_finish(*args, **kwargs)

        monkeypatch.setattr(store, "finish_job", finish_job)
        run.finish("failed", exit_code=1, message="the disk is full")
        run.close()
        assert tries == [True, False], "the second try comes after the reserve was freed"
        assert store.job(job.id).state == "failed" and store.job(job.id).message == "the disk is full"
        row = store._row("SELECT state, message FROM models WHERE id = ?", (model,))
        assert (row["state"], row["message"]) == ("failed", "the disk is full")
