"""A predict or serve start reads each node's requirements.txt once (local_only, scoring_plan and the worker keys all
ask for it), and a changed file is read again."""

from __future__ import annotations

import os
from pathlib import Path

from core.deploy.source import ModelSource
from core.deploy.workers import scoring_plan, worker_environments


def task(root: Path, name: str, requirements: str | None) -> str:
    folder = root / name
    folder.mkdir()
    (folder / "custom.py").write_text("def fit(X, y, output_dir, **kwargs):\n    pass\n")
    if requirements is not None:
        (folder / "requirements.txt").write_text(requirements)
    return str(folder)


def test_each_requirements_file_is_read_once_per_start_and_again_when_it_changes(tmp_path, monkeypatch):
    plain = task(tmp_path, "plain", None)
    needs = task(tmp_path, "needs", "# pinned for the scorer\nsix==1.16.0\n")
    other = task(tmp_path, "other", "six==1.16.0\n")
    nodes = [{"name": "a", "task_dir": plain, "env": "python-local"},
             {"name": "b", "task_dir": needs, "env": "python-local"},
             {"name": "c", "task_dir": needs, "env": "python-local"},
             {"name": "d", "task_dir": other, "env": "python-local"}]
    source = ModelSource({"nodes": nodes, "target_type": "regression"}, tmp_path)
    reads: list[str] = []
    read_text = Path.read_text

    def counted(path, *args, **kwargs):
        if path.name == "requirements.txt":
            reads.append(path.parent.name)
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counted)
    assert not source.local_only
    plan = scoring_plan(source.plan)
    keys = worker_environments(source.plan)
    assert not source.local_only and scoring_plan(source.plan) == plan and worker_environments(source.plan) == keys
    assert sorted(reads) == ["needs", "other"]
    assert [n["env"] for n in plan["nodes"]][0] == "python-local"
    assert plan["nodes"][1]["env"] == plan["nodes"][2]["env"] == plan["nodes"][3]["env"] != "python-local"
    assert set(keys) == {plan["nodes"][1]["env"]}

    (Path(needs) / "requirements.txt").write_text("six==1.15.0\n")  # a new version of the file is read again
    stamp = os.stat(Path(needs) / "requirements.txt")
    os.utime(Path(needs) / "requirements.txt", ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1))
    changed = scoring_plan(source.plan)
    assert reads.count("needs") == 2 and changed["nodes"][1]["env"] != plan["nodes"][1]["env"]
    assert changed["nodes"][3]["env"] == plan["nodes"][3]["env"]
