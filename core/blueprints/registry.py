"""Saved blueprints (SPEC §1, §7): named, versioned, and pinned to the exact task versions they run.

Saving validates first (errors block), then records the text with every
node's task resolved: a registered task left unpinned gets its latest version
at that moment, a built-in is recorded as built-in with its folder's sha256.
A version's identity is its text plus those pins, so saving identical text
again makes no new version unless a task it names has moved on.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .. import sharing
from ..errors import UsageError
from ..names import check_name, missing_version, parse_ref, unknown_name
from ..store import BlueprintVersion, SavedBlueprint
from ..store.records import BlueprintExists
from ..tasks.catalog import TaskInfo, resolve_task
from .model import Node
from .syntax import BlueprintSyntaxError, parse_blueprint, renamed
from .validate import BlueprintInvalid, CheckedBlueprint, DataFacts, check

__all__ = [
    "BlueprintVersion",
    "SavedBlueprint",
    "blueprint_versions",
    "clone_blueprint",
    "get_blueprint",
    "list_blueprints",
    "resolve_saved",
    "save_blueprint",
]


def _json_ready(value: object) -> object:
    if isinstance(value, tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    return value


def content_sha256(text: str, pins: dict[str, dict]) -> str:
    """The identity of a saved version: its exact text and the exact task each node runs."""
    canonical = json.dumps(pins, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8") + b"\0" + canonical.encode("utf-8")).hexdigest()


def save_blueprint(
    store,
    text: str,
    name: str | None = None,
    path: str | Path | None = None,
    *,
    target_type: str | None = None,
) -> tuple[BlueprintVersion, bool]:
    """Validate and save `text`: (its new version, True), or (the version with this content already, False).

    The name is `name`, else the header's `# blueprint: NAME`, else the file's stem.
    Raises BlueprintInvalid (every message) when the blueprint has errors.
    """
    where = str(path) if path is not None else "<blueprint>"
    checked = check(text, store, target_type=target_type, path=where, name=saving_name(text, name, path))
    if not checked.ok:
        raise BlueprintInvalid(where, list(checked.messages))
    bp = checked.blueprint
    if name:
        check_name(name, "blueprint")
    elif bp.name:
        name = check_name(bp.name, "blueprint", hint=" (it comes from the `# blueprint:` header; give --name)")
    elif path is not None:
        name = check_name(Path(path).stem, "blueprint", hint=" (it is the file's name; give --name)")
    else:
        raise UsageError("the blueprint has no name; give --name or start it with `# blueprint: NAME`.")
    sharing.require(store, "blueprint", name, "write", "add a version of")
    recorded_type = checked.target_type
    if recorded_type is None:
        types = checked.final.task.target_types
        recorded_type = types[0] if len(types) == 1 and types[0] != "transform" else None
    pins = checked.pins()
    nodes = {
        node: {**pin, "parameters": _json_ready(checked.nodes[node].parameters)} for node, pin in pins.items()
    }
    resolved = {"final": bp.final.name, "nodes": nodes}
    return store.add_blueprint_version(
        name, text=text, resolved=resolved, sha256=content_sha256(text, pins), target_type=recorded_type
    )


def saving_name(text: str, name: str | None = None, path: str | Path | None = None) -> str | None:
    """The name `save_blueprint` saves `text` under: `name`, else the `# blueprint:` header's, else the file's
    stem (None when there is none, or the text does not parse)."""
    if name:
        return name
    try:
        header = parse_blueprint(text).name
    except BlueprintSyntaxError:
        return None
    return header or (Path(path).stem if path is not None else None)


def clone_blueprint(store, ref: str, name: str | None = None) -> BlueprintVersion:
    """Copy a saved version the user can read as version 1 of a new blueprint of theirs (default name: NAME-copy),
    recording it as the origin: its text (the header renamed) and pins, so the clone keeps execute on the task
    versions the origin used (SPEC §10)."""
    origin = get_blueprint(store, ref)
    given = name is not None
    name = check_name(name if given else f"{origin.blueprint}-copy", "blueprint")
    taken = (f"there is a blueprint named {name!r} already; give another name with --name"
             if given else f"{name!r} is taken; name the clone with --name NEW")
    if store.owner("blueprint", name) is not None:
        raise UsageError(taken + ".")
    text = renamed(origin.text, name)
    try:
        version, _ = store.add_blueprint_version(
            name, text=text, resolved=origin.resolved, sha256=content_sha256(text, origin.pins),
            target_type=origin.target_type, origin=origin.ref,
        )
    except BlueprintExists:
        raise UsageError(taken + ".") from None
    return version


def get_blueprint(store, ref: str) -> BlueprintVersion:
    """The saved version a reference names: 'name' (the latest) or 'name@3'."""
    name, version = parse_ref(ref, "blueprint")
    sharing.require(store, "blueprint", name, "read", "read")
    found = store.blueprint_version(name, version)
    if found is not None:
        return found
    versions = [v.version for v in store.blueprint_versions(name)]
    if not versions:
        raise unknown_name("blueprint", name, store.blueprint_names(), "taskbench blueprint list")
    raise missing_version("blueprint", name, version, versions)


def list_blueprints(store) -> list[SavedBlueprint]:
    """Every saved blueprint with its latest version, by name."""
    return store.list_blueprints()


def blueprint_versions(store, name: str) -> list[BlueprintVersion]:
    """Every version of a saved blueprint, oldest first."""
    sharing.require(store, "blueprint", name, "read", "see the versions of")
    found = store.blueprint_versions(name)
    if not found:
        raise unknown_name("blueprint", name, store.blueprint_names(), "taskbench blueprint list")
    return found


def pinned_resolver(store, pins: dict[str, dict]):
    """A resolver for `check` that runs each node's recorded task, not whatever is latest now."""

    def resolve(node: Node) -> TaskInfo:
        pin = pins.get(node.name)
        if pin is None:
            return resolve_task(store, node.task, node.version)
        if pin.get("builtin"):
            return resolve_task(store, pin["task"])
        return resolve_task(store, pin["task"], pin["version"])

    return resolve


def resolve_saved(
    store,
    version: BlueprintVersion | str,
    *,
    target_type: str | None = None,
    data_facts: DataFacts | None = None,
) -> CheckedBlueprint:
    """A saved version checked again with its pinned tasks: each node's TaskInfo and validated parameters.

    `target_type` and `data_facts` are the project's (the saved target type is used when none is given).
    Raises BlueprintInvalid when it does not fit (for example a project of another target type).
    """
    if isinstance(version, str):
        version = get_blueprint(store, version)
    checked = check(
        parse_blueprint(version.text, version.ref),
        store,
        target_type=target_type or version.target_type,
        data_facts=data_facts,
        path=version.ref,
        resolver=pinned_resolver(store, version.pins),
    )
    if not checked.ok:
        raise BlueprintInvalid(version.ref, list(checked.messages))
    return checked


def changed_builtins(version: BlueprintVersion, checked: CheckedBlueprint) -> list[str]:
    """Nodes whose built-in task's content differs from what was recorded when the version was saved."""
    changed = []
    for name, pin in version.pins.items():
        resolved = checked.nodes.get(name)
        if pin.get("builtin") and resolved is not None and resolved.task.sha256 != pin.get("sha256"):
            changed.append(name)
    return changed
