"""The database schema, as SQLite stores it, matches the committed snapshot.

A schema change needs a new migration; this test makes that change visible in
review. After adding a migration, regenerate the snapshot with
TASKBENCH_UPDATE_SCHEMA_SNAPSHOT=1 pytest tests/unit/test_schema_snapshot.py
and read the difference before committing it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from core.store import Store, latest_version
from core.store.schema import FILE_COLUMNS

SNAPSHOT = Path(__file__).with_name("schema_snapshot.sql")


def dump_schema(store: Store) -> str:
    """Every table, index and trigger SQLite holds, in a stable order, plus the schema version."""
    rows = store._conn().execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "ORDER BY type DESC, name"
    )
    parts = [f"-- schema version {store.schema_version()}\n"]
    for kind, name, sql in rows:
        body = "\n".join(line.rstrip() for line in re.sub(r"^\n+", "", sql).splitlines())
        parts.append(f"\n-- {kind} {name}\n{body.strip()};\n")
    return "".join(parts)


def test_schema_matches_the_snapshot(tmp_path):
    with Store.open(tmp_path / "ws") as store:
        schema = dump_schema(store)
    if os.environ.get("TASKBENCH_UPDATE_SCHEMA_SNAPSHOT"):
        SNAPSHOT.write_text(schema)
    assert SNAPSHOT.is_file(), "no snapshot yet: run with TASKBENCH_UPDATE_SCHEMA_SNAPSHOT=1"
    assert schema == SNAPSHOT.read_text(), (
        "the schema changed; add a migration, then regenerate the snapshot (see this module's docstring)"
    )
    assert f"-- schema version {latest_version()}\n" in schema


def test_every_path_column_is_listed_as_pointing_to_a_file(tmp_path):
    """The crash test checks FILE_COLUMNS; a new *_path column must join that list."""
    with Store.open(tmp_path / "ws") as store:
        conn = store._conn()
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        path_columns = {
            (table, row[1])
            for table in tables
            for row in conn.execute(f"PRAGMA table_info({table})")
            if row[1].endswith("_path")
        }
    assert path_columns == set(FILE_COLUMNS)
