"""Rows of jobs (SPEC §1, §6): their lifecycle, the owning process, and the rows a job leaves behind when it ends."""

from __future__ import annotations

import json
import os
import sqlite3

from .. import workspace
from ..errors import UsageError, disk_full
from . import files, processes
from .database import LOGS, Database, from_row, now
from .records import ACTIVE_JOB_STATES, FINAL_JOB_STATES, Job
from .schema import JOB_OWNED_ROWS

INTERRUPTED_MESSAGE = "the engine process ended while the job ran"
UNRECORDED_MESSAGE = "the job ended before it recorded this result"


class JobRows(Database):
    """The store's job operations (see `AbstractStore`)."""

    def create_job(self, kind: str, title: str, subject: dict | None = None, *, pid: int | None = None) -> Job:
        pid = os.getpid() if pid is None else pid
        with self.transaction() as conn:
            job_id = conn.execute(
                "INSERT INTO jobs (kind, title, state, created_by, created_at, pid, pid_start, host, subject) "
                "VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    title,
                    workspace.current_user(),
                    now(),
                    pid,
                    processes.process_start_time(pid),
                    processes.hostname(),
                    json.dumps(subject or {}, sort_keys=True),
                ),
            ).lastrowid
            rel = f"{LOGS}/job-{job_id}.log"
            # The file exists before the row that names it is committed.
            files.create_empty(self.path(rel), truncate=True)
            conn.execute("UPDATE jobs SET log_path = ? WHERE id = ?", (rel, job_id))
        return self.job(job_id)

    def start_job(self, job_id: int, pid: int | None = None) -> Job:
        pid = os.getpid() if pid is None else pid
        with self.transaction() as conn:
            changed = conn.execute(
                "UPDATE jobs SET state = 'running', started_at = ?, pid = ?, pid_start = ?, host = ? "
                "WHERE id = ? AND state = 'queued'",
                (now(), pid, processes.process_start_time(pid), processes.hostname(), job_id),
            ).rowcount
        job = self.job(job_id)
        if job is None:
            raise UsageError(f"there is no job {job_id}.")
        if not changed:
            raise UsageError(f"job {job_id} is {job.state}, so it cannot start; only a queued job can.")
        return job

    def finish_job(self, job_id: int, state: str, exit_code: int | None = None, message: str | None = None) -> Job:
        if state not in FINAL_JOB_STATES:
            raise ValueError(f"a job ends as one of {', '.join(FINAL_JOB_STATES)}, not {state!r}")
        for attempt in (1, 2):
            try:
                with self.transaction() as conn:
                    conn.execute(
                        "UPDATE jobs SET state = ?, finished_at = ?, exit_code = ?, message = ? "
                        "WHERE id = ? AND state IN ('queued', 'running')",
                        (state, now(), exit_code, message, job_id),
                    )
                    self._end_job_rows(conn, [job_id])
                break
            except sqlite3.Error as exc:
                # A full disk: free the reserve so the ending lands (inside a caller's transaction, the caller does).
                if attempt == 2 or self._in_transaction() or disk_full(exc, self.root) is None:
                    raise
                self.release_reserve()
        job = self.job(job_id)
        if job is None:
            raise UsageError(f"there is no job {job_id}.")
        return job

    def job(self, job_id: int) -> Job | None:
        row = self._row("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return self._job(row) if row else None

    def job_state(self, job_id: int) -> str | None:
        row = self._row("SELECT state FROM jobs WHERE id = ?", (job_id,))
        return row["state"] if row else None

    def list_jobs(self, limit: int | None = 50, state: str | None = None) -> list[Job]:
        sql = "SELECT * FROM jobs"
        params: tuple = ()
        if state is not None:
            sql += " WHERE state = ?"
            params = (state,)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params += (int(limit),)
        return [self._job(row) for row in self._rows(sql, params)]

    def count_jobs(self, state: str | None = None) -> int:
        if state is None:
            return self._row("SELECT count(*) FROM jobs")[0]
        return self._row("SELECT count(*) FROM jobs WHERE state = ?", (state,))[0]

    def mark_interrupted(self, job_ids: list[int] | None = None) -> list[int]:
        placeholders = ", ".join("?" for _ in ACTIVE_JOB_STATES)
        sql = f"SELECT id, pid, pid_start, host FROM jobs WHERE state IN ({placeholders})"
        params: tuple = ACTIVE_JOB_STATES
        if job_ids is not None:
            if not job_ids:
                return []
            sql += f" AND id IN ({', '.join('?' for _ in job_ids)})"
            params += tuple(job_ids)
        here = processes.hostname()
        orphans = [
            row
            for row in self._rows(sql, params)
            if row["host"] == here and row["pid"] is not None and not processes.same_process(row["pid"], row["pid_start"])
        ]
        if not orphans:
            return []
        marked = []
        with self.transaction() as conn:
            for row in orphans:
                changed = conn.execute(
                    f"UPDATE jobs SET state = 'interrupted', finished_at = ?, message = ? "
                    f"WHERE id = ? AND state IN ({placeholders}) AND pid IS ? AND pid_start IS ?",
                    (now(), INTERRUPTED_MESSAGE, row["id"], *ACTIVE_JOB_STATES, row["pid"], row["pid_start"]),
                ).rowcount
                if changed:
                    marked.append(row["id"])
            ended = self._end_job_rows(conn, marked)
        self._remove_unrecorded_folders(ended)
        for job_id in marked:
            self._log_interruption(job_id)
        return marked

    def settle_job_rows(self) -> int:
        finals = ", ".join(f"'{state}'" for state in FINAL_JOB_STATES)
        pending = [
            rows
            for rows in self._owned_tables()
            if self._row(
                f"SELECT EXISTS (SELECT 1 FROM {rows.table} WHERE {rows.state_column} = ? AND {rows.job_column} IN "
                f"(SELECT id FROM jobs WHERE state IN ({finals})))",
                (rows.active,),
            )[0]
        ]
        if not pending:
            return 0
        with self.transaction() as conn:
            ended = [
                (rows, self._end_rows(conn, rows, f"{rows.job_column} IN (SELECT id FROM jobs WHERE state IN ({finals}))", ()))
                for rows in pending
            ]
        self._remove_unrecorded_folders(ended)
        return sum(len(ids) for _, ids in ended)

    def _owned_tables(self):
        """The JOB_OWNED_ROWS whose table this workspace's schema has."""
        tables = self._table_names()
        return [rows for rows in JOB_OWNED_ROWS if rows.table in tables]

    def _end_job_rows(self, conn: sqlite3.Connection, job_ids: list[int]) -> list[tuple]:
        """Inside a transaction: rows of these (now ended) jobs that are still active get their final state and
        the job's reason. Returns (JobRows, ids) of what changed."""
        if not job_ids:
            return []
        ids = ", ".join("?" for _ in job_ids)
        return [
            (rows, self._end_rows(conn, rows, f"{rows.job_column} IN ({ids})", tuple(job_ids)))
            for rows in self._owned_tables()
        ]

    def _remove_unrecorded_folders(self, ended: list[tuple]) -> None:
        """Remove the folders a dead job made for rows that never said so (killed between the rename into
        place and the commit)."""
        for rows, ids in ended:
            for row_id in ids if rows.folder else ():
                folder = self.root / rows.folder.format(id=row_id)
                if folder.is_dir():
                    files.remove_tree(folder)

    @staticmethod
    def _end_rows(conn: sqlite3.Connection, rows, where: str, params: tuple) -> list[int]:
        """Give the matching active rows their final state; returns their ids."""
        ids = [
            r[0]
            for r in conn.execute(
                f"SELECT id FROM {rows.table} WHERE {rows.state_column} = ? AND {where}", (rows.active,) + params
            )
        ]
        if not ids:
            return []
        reason = ""
        values: tuple = (rows.final,)
        if rows.message_column:
            reason = (
                f", {rows.message_column} = coalesce("
                f"(SELECT j.message FROM jobs j WHERE j.id = {rows.table}.{rows.job_column}), ?)"
            )
            values += (UNRECORDED_MESSAGE,)
        conn.execute(
            f"UPDATE {rows.table} SET {rows.state_column} = ?{reason} "
            f"WHERE {rows.state_column} = ? AND id IN ({', '.join('?' for _ in ids)})",
            values + (rows.active,) + tuple(ids),
        )
        return ids

    def _log_interruption(self, job_id: int) -> None:
        from ..joblog import JobLog

        job = self.job(job_id)
        if job is None or job.log_path is None:
            return
        try:
            log = JobLog(job.log_path)
            log.line(f"job {job_id} interrupted: {INTERRUPTED_MESSAGE} (noticed by pid {os.getpid()})")
            log.close()
        except OSError:
            pass

    def _job(self, row: sqlite3.Row) -> Job:
        return from_row(
            Job,
            row,
            subject=json.loads(row["subject"] or "{}"),
            log_path=self.path(row["log_path"]) if row["log_path"] else None,
        )
