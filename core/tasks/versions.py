"""The task registry: every upload of a task folder is an immutable, content-addressed version (SPEC §1).

Version numbers are allocated by the store inside one write transaction, so
concurrent uploaders never get the same number or leave a gap; content equal to
an existing version is reported and not stored again.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from .. import sharing, workspace
from ..environments import versions as environments
from ..errors import UsageError, not_a_folder
from ..names import check_name, missing_version, parse_ref, unknown_name
from ..runtime.taskcode import find_custom_files
from ..store import files as store_files
from ..store.integrity import verify
from ..store.records import Task, TaskVersion
from ..store.store import Store
from .hookscan import first_classification_type, missing_scoring_hook as scoring_gap, python_hook_gap
from .metadata import TaskMetadata, load_metadata

PLATFORM_ID = re.compile(r"^[0-9a-fA-F]{24}$")
_BINARY_SNIFF = 8192


def add_task(
    store: Store, folder: str | Path, name: str | None = None, env: str | None = None
) -> tuple[TaskVersion, bool]:
    """Upload a task folder: returns (its version, True) or (the existing version with this content, False).

    `name` defaults to the metadata's `name`, then the folder's name; `env` to
    the metadata's `environmentID` when that names a registered environment.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise UsageError(not_a_folder(folder, "the task folder that holds custom.py"))
    found = find_custom_files(folder)
    if not found:
        raise UsageError(f"{folder} has no custom.py or custom.R; a task folder needs exactly one.")
    if len(found) > 1:
        raise UsageError(f"{folder} has {len(found)} task files ({', '.join(found)}); keep exactly one custom.py or custom.R.")
    metadata = load_metadata(folder)  # a MetadataError is a UsageError: FILE:LINE:COL: sentence, exit 2

    if name:
        check_name(name, "task")
    elif metadata.name:
        name = check_name(metadata.name.strip(), "task", hint=" (it comes from model-metadata.yaml; give --name)")
    else:
        name = check_name(folder.resolve().name, "task", hint=" (it is the folder's name; give --name)")

    sharing.require(store, "task", name, "write", "add a version of")
    _refuse_kind_change(store, name, folder, metadata)
    gap = python_hook_gap(folder, metadata.kind)
    notes = list(metadata.warnings) + list(filter(None, [
        gap or scoring_gap(folder, first_classification_type(metadata.target_types))]))
    if metadata.path is None:
        notes.append("the folder has no model-metadata.yaml, so blueprints treat it as an estimator for any target "
                     "type and cannot check its inputs; add one with `type: training` and `targetType`.")
    if env:
        environments.get_environment(store, parse_ref(env, "environment")[0])
        sharing.require(store, "env", parse_ref(env, "environment")[0], "read", "use")
        if "@" in env:
            environments.get_environment_version(store, env)
    elif metadata.environment_id:
        env, note = _environment_from_metadata(store, metadata.environment_id)
        if note:
            notes.append(note)
    if env == environments.LOCAL:
        env = None  # the default, stored one way so that it never makes a spurious new version

    sha, files, snapshot = store_files.snapshot_folder(folder, store.objects_dir("tasks"))
    summary = metadata_summary(metadata, custom_file=found[0], warnings=notes)
    return store.add_task_version(
        name,
        sha256=sha,
        snapshot=snapshot,
        files=files,
        target_type=metadata.target_type,
        kind=metadata.kind,
        env=env,
        metadata=summary,
    )


def identical_content_sentence(version: TaskVersion, latest: TaskVersion | None) -> str:
    """What an upload says when `version` already has its content (SPEC §1 stores content once); when that
    version is not the task's `latest`, it says which version an unpinned blueprint gets and how to pin this one."""
    said = f"{version.ref} already has this content (sha256 {version.sha256[:12]}); no new version was made"
    if latest is None or latest.version == version.version:
        return said + "."
    return (f"{said}, so the latest stays {latest.ref}, which blueprints naming `{version.task}` use; to use this "
            f"content write `{version.ref}` in the blueprint.")


def _refuse_kind_change(store: Store, name: str, folder: Path, metadata: TaskMetadata) -> None:
    """Refuse a folder whose declared kind or target type differs from the task's latest version: a task's
    type is fixed (as DataRobot's custom tasks fix it), and blueprints naming the task would silently change."""
    latest = store.task_version(name)
    if latest is None or latest.kind is None or metadata.kind is None:
        return
    if (latest.kind, latest.target_type) == (metadata.kind, metadata.target_type):
        return
    from .catalog import language_name

    was = _kind_phrase(language_name(latest.path), latest.kind, latest.target_type)
    now = _kind_phrase(language_name(folder), metadata.kind, metadata.target_type)
    file = Path(metadata.path).name if metadata.path else "model-metadata.yaml"
    raise UsageError(
        f"{folder} is {now} (targetType: {metadata.target_type} in its {file}), but task {name} is {was} "
        f"(latest {latest.ref}), and a task keeps its kind and target type; register the folder under its own "
        f"name (`taskbench task add {folder} --name NEW_NAME`) or fix targetType in {file}."
    )


def _kind_phrase(language: str, kind: str, target_type: str | None) -> str:
    """'a Python transform' or 'an R binary estimator': what a task is, for refusals."""
    words = f"{language} {kind}" if kind != "estimator" else f"{language} {target_type} estimator"
    return f"{'an' if words[0] in 'AEIOUR' else 'a'} {words}"


def _environment_from_metadata(store: Store, value: str) -> tuple[str | None, str | None]:
    """The environment `environmentID` names, or None and a note saying why it is ignored (never an error)."""
    value = value.strip()
    if environments.environment_exists(store, value):
        return value, None
    if PLATFORM_ID.match(value):
        return None, f"environmentID {value} is a DataRobot platform id and names no environment here; ignored."
    return None, f"environmentID '{value}' names no environment here; ignored (the task runs in {environments.LOCAL})."


def metadata_summary(metadata: TaskMetadata, *, custom_file: str = "custom.py", warnings: list[str] = ()) -> dict:
    """What `task show` needs from the metadata, as JSON-ready values."""

    def requirement(req) -> dict:
        value = list(req.value) if isinstance(req.value, tuple) else req.value
        return {"field": req.field, "condition": req.condition, "value": value}

    hyperparameters = []
    for hp in metadata.hyperparameters:
        entry = {"name": hp.name, "type": hp.type, "default": hp.default}
        if hp.min is not None or hp.max is not None:
            entry.update(min=hp.min, max=hp.max)
        if hp.values:
            entry["values"] = list(hp.values)
        if hp.multi:
            entry["multi"] = hp.multi
        hyperparameters.append(entry)
    return {
        "file": Path(metadata.path).name if metadata.path else None,
        "custom_file": custom_file,
        "name": metadata.name,
        "target_type": metadata.target_type,
        "environment_id": metadata.environment_id,
        "network": metadata.network,
        "hyperparameters": hyperparameters,
        "type_schema": {
            "declared": metadata.type_schema.declared,
            "input_requirements": [requirement(r) for r in metadata.type_schema.input_requirements],
            "output_requirements": [requirement(r) for r in metadata.type_schema.output_requirements],
        },
        "warnings": list(warnings),
    }


def list_tasks(store: Store) -> list[Task]:
    """Every registered task with its latest version, by name."""
    return store.list_tasks()


def task_versions(store: Store, name: str) -> list[TaskVersion]:
    """Every version of task `name`, oldest first, for a user who may read the task (SPEC §10: read sees versions)."""
    name, version = parse_ref(name, "task")
    sharing.require(store, "task", name, "read", "see the versions of")
    versions = store.task_versions(name)
    if not versions:
        raise unknown_name("task", name, store.task_names(), "taskbench task list")
    return versions


def get_task_version(store: Store, ref: str) -> TaskVersion:
    """The version a reference names: 'name' (the latest) or 'name@3', its files verified against its sha256
    (callers run, show or copy them; SPEC §10), for a user who may read the task."""
    sharing.require(store, "task", parse_ref(ref, "task")[0], "read", "read")
    return task_version_to_run(store, ref)


def task_version_to_run(store: Store, ref: str) -> TaskVersion:
    """`get_task_version` for code that runs a version under a right checked before: execute through a shared
    project or blueprint (SPEC §10), which does not let the user read the task."""
    name, version = parse_ref(ref, "task")
    found = store.task_version(name, version)
    if found is not None:
        verify(found)
        return found
    versions = [v.version for v in store.task_versions(name)]
    if not versions:
        raise unknown_name("task", name, store.task_names(), "taskbench task list")
    raise missing_version("task", name, version, versions)


def diff_versions(store: Store, a: str, b: str) -> str:
    """A unified diff of the files that differ between two task versions ('' when their files are equal)."""
    old, new = get_task_version(store, a), get_task_version(store, b)
    return diff_snapshots(old.path, old.ref, {f.path: f.sha256 for f in old.files},
                          new.path, new.ref, {f.path: f.sha256 for f in new.files})


def diff_snapshots(
    old_root: Path, old_label: str, old_files: dict[str, str], new_root: Path, new_label: str, new_files: dict[str, str]
) -> str:
    """Unified diffs, file by file in path order; added and removed files diff against /dev/null."""
    out: list[str] = []
    for path in sorted(set(old_files) | set(new_files)):
        if old_files.get(path) == new_files.get(path):
            continue
        before = (old_root / path).read_bytes() if path in old_files else b""
        after = (new_root / path).read_bytes() if path in new_files else b""
        from_name = f"{old_label}/{path}" if path in old_files else "/dev/null"
        to_name = f"{new_label}/{path}" if path in new_files else "/dev/null"
        old_text, new_text = _text(before), _text(after)
        if old_text is None or new_text is None:
            out.append(f"Binary files {from_name} and {to_name} differ\n")
            continue
        lines = difflib.unified_diff(
            old_text.splitlines(keepends=True), new_text.splitlines(keepends=True), from_name, to_name
        )
        for line in lines:
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _text(data: bytes) -> str | None:
    """The bytes as text, or None when they look binary (a NUL byte, or not UTF-8)."""
    if b"\0" in data[:_BINARY_SNIFF]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def verify_pinned(store: Store, pins: dict) -> None:
    """Verify every registered task version a trained model's plan pins (`{node: pin}`), before it scores."""
    for pin in pins.values():
        if not pin.get("builtin") and pin.get("version") is not None:
            found = store.task_version(pin["task"], pin["version"])
            if found is not None:
                verify(found)


def download(store: Store, ref: str, to_dir: str | Path) -> TaskVersion:
    """Write a task version's files into `to_dir` (absent or empty), byte for byte."""
    version = get_task_version(store, ref)
    store_files.copy_snapshot(version.path, to_dir)
    workspace.hand_over(to_dir)
    return version

