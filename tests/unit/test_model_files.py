"""A trained model's files and their recorded sha256 (schema 7): stored with the model, verified before use, and
absent (not checked) for models trained before; a cached fitted step is reused only when it is all this user's."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from core.runtime import pipeline
from core.store import Store, files
from core.store import integrity
from core.store.integrity import IntegrityError, folder_entries, verify_model
from core.store.schema import DB_FILENAME, MIGRATIONS


def _model_folder(root: Path) -> Path:
    folder = root / "models" / "1"
    (folder / "nodes" / "model").mkdir(parents=True)
    (folder / "nodes" / "model" / "artifact.pkl").write_bytes(b"fitted bytes")
    (folder / "plan.json").write_text("{}")
    return folder


def _trained(store: Store, recorded=True):
    project = store.add_project(name="p", data_path=store.root / "d", partition_path=store.root / "q", source="s",
                                rows=1, target="y", target_type="regression", settings={})
    model = store.add_model(project_id=project.id, blueprint="bp", blueprint_text="", resolved={}, job_id=None)
    folder = _model_folder(store.root)
    files.make_read_only(folder)
    return store.finish_model(model.id, state="trained", artifact_path=folder,
                              files=folder_entries(folder) if recorded else None)


def test_a_models_recorded_files_are_verified_and_a_change_is_refused_naming_the_file(tmp_path, monkeypatch):
    with Store.open(tmp_path / "ws") as store:
        model = _trained(store)
        assert [(f.path, f.size) for f in model.files] == [("nodes/model/artifact.pkl", 12), ("plan.json", 2)]
        assert store.model(model.id).files == model.files
        folder = model.artifact_path
        assert not any(p.stat().st_mode & files.WRITE_BITS for p in [folder, *folder.rglob("*")])
        verify_model(model)
        hashed = []
        monkeypatch.setattr(files, "file_sha256", lambda path: hashed.append(path) or ("x", 0))
        verify_model(model)  # unchanged since it verified: the stat cache answers, nothing is hashed
        assert hashed == []
        monkeypatch.undo()

        artifact = folder / "nodes" / "model" / "artifact.pkl"
        os.chmod(artifact.parent, 0o755)
        artifact.unlink()
        artifact.write_bytes(b"planted bytes")  # same size class, new content
        (artifact.parent / "extra.pkl").write_bytes(b"")
        with pytest.raises(IntegrityError) as refused:
            verify_model(store.model(model.id))
        message = refused.value.message
        assert message.startswith("model 1 was changed after training (nodes/model/artifact.pkl changed, "
                                  "nodes/model/extra.pkl added)")
        assert "`taskbench train PROJECT --retrain 1`" in message and "fitted bytes" not in message
        files.remove_tree(folder)
        with pytest.raises(IntegrityError, match="its folder .* is missing"):
            verify_model(store.model(model.id))


def test_schema_7_adds_model_files_to_a_schema_6_workspace_whose_models_keep_working(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKBENCH_USER", "alice")
    home = tmp_path / "ws"
    assert MIGRATIONS[6].version == 7 and "files" in MIGRATIONS[6].steps[0]
    with Store.open(home, migrations=MIGRATIONS[:6]) as old:
        assert old.schema_version() == 6
    _model_folder(home)
    conn = sqlite3.connect(home / DB_FILENAME)
    with conn:  # a model trained as a schema-6 taskbench recorded it: no files
        conn.execute("INSERT INTO projects (name, data_path, partition_path, source, rows, target, target_type, "
                     "settings, created_by, created_at) VALUES ('p', 'd', 'q', 's', 1, 'y', 'regression', '{}', "
                     "'alice', 't')")
        conn.execute("INSERT INTO models (project_id, blueprint, blueprint_text, resolved, state, artifact_path, "
                     "created_by, created_at) VALUES (1, 'bp', '', '{}', 'trained', 'models/1', 'alice', 't')")
    conn.close()
    with Store.open(home) as store:
        assert store.schema_version() >= 7  # and any later schema
        legacy = store.model(1)
        assert legacy.files is None and legacy.state == "trained"
        (legacy.artifact_path / "plan.json").write_text("{ }")
        verify_model(legacy)  # nothing recorded, nothing to compare: it keeps working


def test_a_cache_entry_is_frozen_and_reused_only_when_all_of_it_is_this_users(tmp_path):
    out = tmp_path / "model" / "nodes" / "num"
    out.mkdir(parents=True)
    (out / "artifact.pkl").write_bytes(b"fitted")
    cache = tmp_path / "cache" / "ab" / "abcdef"
    pipeline._write_cache(str(cache), str(out), {"validation": [1]})
    assert pipeline._reusable(str(cache))
    assert not any(p.stat().st_mode & 0o222 for p in [cache, *cache.rglob("*")])
    if os.geteuid() == 0:  # another user's file inside the entry (root can chown): not reused
        os.chown(cache / "outputs.pkl", 65534, -1, follow_symlinks=False)
        assert not pipeline._reusable(str(cache))
    files.remove_tree(cache)
    assert not cache.exists()


def test_make_read_only_keeps_the_setgid_bit_and_skips_what_is_already_read_only(tmp_path):
    folder = tmp_path / "m"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "f").write_text("x")
    os.chmod(folder / "sub", 0o2775)
    files.make_read_only(folder)
    assert stat.S_IMODE((folder / "sub").stat().st_mode) == 0o2555
    files.make_read_only(folder)  # again: nothing left to change
    assert integrity.folder_entries(folder)[0].path == "sub/f"
