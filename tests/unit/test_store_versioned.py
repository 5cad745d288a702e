"""The one versioned-entity query: tasks, environments and saved blueprints number, find and deduplicate their
versions the same way (same content -> the version that has it; new content -> N+1; None -> the latest)."""

from __future__ import annotations

import pytest

from core.store import open_store


def _snapshot(store, kind: str, content: str):
    folder = store.objects_dir(kind) / content
    folder.mkdir(parents=True, exist_ok=True)
    return folder


ADD = {
    "task": lambda store, name, sha: store.add_task_version(
        name, sha256=sha, snapshot=_snapshot(store, "tasks", sha), files=(), target_type=None, kind=None, env=None,
        metadata={},
    ),
    "environment": lambda store, name, sha: store.add_environment_version(
        name, sha256=sha, snapshot=_snapshot(store, "environments", sha), files=()
    ),
    "blueprint": lambda store, name, sha: store.add_blueprint_version(
        name, text=sha, resolved={}, sha256=sha, target_type=None
    ),
}
READ = {
    "task": lambda store: (store.task_version, store.task_versions),
    "environment": lambda store: (store.environment_version, store.environment_versions),
    "blueprint": lambda store: (store.blueprint_version, store.blueprint_versions),
}


@pytest.mark.parametrize("entity", sorted(ADD))
def test_versions_are_numbered_found_and_deduplicated_alike(home, entity):
    with open_store(home) as store:
        add, (one, every) = ADD[entity], READ[entity](store)
        first, created = add(store, "thing", "a" * 64)
        assert (first.version, created) == (1, True)
        again, created = add(store, "thing", "a" * 64)
        assert (again.id, again.version, created) == (first.id, 1, False)
        second, created = add(store, "thing", "b" * 64)
        assert (second.version, created) == (2, True)
        other, _ = add(store, "other", "b" * 64)  # the same content under another name is that name's version 1
        assert other.version == 1
        assert one("thing").version == 2
        assert one("thing", 1).id == first.id
        assert one("thing", 3) is None and one("missing") is None
        assert [v.version for v in every("thing")] == [1, 2]
        assert every("missing") == []


def test_a_task_version_is_new_when_only_its_environment_differs(home):
    with open_store(home) as store:
        snapshot = _snapshot(store, "tasks", "same")
        kwargs = dict(sha256="c" * 64, snapshot=snapshot, files=(), target_type=None, kind=None, metadata={})
        local, _ = store.add_task_version("t", env=None, **kwargs)
        docker, created = store.add_task_version("t", env="python-sklearn", **kwargs)
        assert (docker.version, created) == (2, True)
        assert store.add_task_version("t", env=None, **kwargs) == (local, False)
