"""Schema 8 records a tuned model's lineage: the model it came from and its tuning record (changed parameters)."""

from __future__ import annotations

import sqlite3

from core.store import Store
from core.store.schema import DB_FILENAME, MIGRATIONS


def test_schema_8_adds_lineage_to_a_schema_7_workspace_whose_models_keep_theirs_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKBENCH_USER", "alice")
    home = tmp_path / "ws"
    assert MIGRATIONS[7].version == 8 and "parent_id" in MIGRATIONS[7].steps[0]
    with Store.open(home, migrations=MIGRATIONS[:7]) as old:
        assert old.schema_version() == 7
    conn = sqlite3.connect(home / DB_FILENAME)
    with conn:  # a model trained by a schema-7 taskbench
        conn.execute("INSERT INTO projects (name, data_path, partition_path, source, rows, target, target_type, "
                     "settings, created_by, created_at) VALUES ('p', 'd', 'q', 's', 1, 'y', 'regression', '{}', "
                     "'alice', 't')")
        conn.execute("INSERT INTO models (project_id, blueprint, blueprint_text, resolved, state, created_by, "
                     "created_at) VALUES (1, 'bp', 'model = ridge(NUM)', '{}', 'trained', 'alice', 't')")
    conn.close()
    with Store.open(home) as store:
        assert store.schema_version() == 8
        legacy = store.model(1)
        assert legacy.parent_id is None and legacy.tuning is None and legacy.state == "trained"
        child = store.add_model(project_id=1, blueprint="bp (tuned)", blueprint_text="model = ridge(NUM, alpha=0.1)",
                                resolved={}, job_id=None)
        record = {"changed": {"model.alpha": 0.1}, "inner": {"RMSE": 1.5}, "best": True}
        store.set_model_lineage(child.id, parent_id=1, tuning=record)
        again = store.model(child.id)
        assert again.parent_id == 1 and again.tuning == record
        assert [m.parent_id for m in store.project_models(1)] == [None, 1]
