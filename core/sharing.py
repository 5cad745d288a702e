"""Owners and shares (SPEC §10): who may see, change or share each task, environment, project, blueprint and
deployment of a shared workspace, checked here in core so every front end enforces the same rules.

In a private workspace its one user owns everything, so every check passes and nothing changes.
"""

from __future__ import annotations

from .errors import UsageError
from .workspace import current_user
from .store import AbstractStore, Share

KINDS = ("task", "env", "project", "blueprint", "deployment")
NOUNS = {"task": "task", "env": "environment", "project": "project", "blueprint": "blueprint",
         "deployment": "deployment"}
LISTINGS = {"task": "task list", "env": "env list", "project": "project list", "blueprint": "blueprint list",
            "deployment": "deployments"}
ROLES = ("read", "write")
# What each role lets a member do with each kind of object (SPEC §10), for front ends that offer the choice.
ROLE_MEANINGS = {
    "task": {"read": "see its code and versions, download it, use it in their own blueprints",
             "write": "also add versions"},
    "env": {"read": "see its Dockerfile, download and build it, use it for their tasks",
            "write": "also add versions"},
    "project": {"read": "see its leaderboard, insights and logs; predict with and deploy its models",
                "write": "also train and retrain in it, unlock its holdout"},
    "blueprint": {"read": "see it, train it, clone it", "write": "also save new versions"},
    "deployment": {"read": "serve it and see its numbers", "write": "the same as read (only you delete it)"},
}
LEVELS = ("none", "read", "write", "owner")  # each allows what the ones before it allow
EVERYONE = "*"


def access(store: AbstractStore, user: str, kind: str, name: str) -> str:
    """`user`'s access to the `kind` called `name`: 'none', 'read', 'write' or 'owner' (the highest of their own
    share and the share with every member). Private workspaces and objects that do not exist: 'owner'."""
    if store.sharing is None:
        return "owner"
    owner = store.owner(kind, name)
    if owner is None or owner == user:
        return "owner"
    return _shared_level(store.list_shares(kind, name), user, _floor(store, kind, name))


def _floor(store: AbstractStore, kind: str, name: str) -> str:
    """What every member has without a share: read on the environments taskbench ships."""
    if kind == "env":
        found = store.environment(name)
        if found is not None and found.builtin:
            return "read"
    return "none"


def _shared_level(shares: list[Share], user: str, floor: str = "none") -> str:
    levels = [floor] + [share.role for share in shares if share.grantee in (user, EVERYONE)]
    return max(levels, key=LEVELS.index)


def require(store: AbstractStore, kind: str, name: str, needed: str, doing: str, *, user: str | None = None) -> None:
    """Refuse with one sentence naming the owner unless `user` (default: the acting user) has at least `needed`
    ('read', 'write' or 'owner') on the object; `doing` says what was refused ("add a version of", "train in").
    An object that does not exist passes: its caller says so."""
    user = user or current_user()
    have = access(store, user, kind, name)
    if LEVELS.index(have) >= LEVELS.index(needed):
        return
    owner = store.owner(kind, name)
    noun = NOUNS[kind]
    if needed == "owner":
        raise UsageError(f"only the owner of the {noun} {name!r}, {owner}, can {doing} it.")
    raise UsageError(f"you ({user}) cannot {doing} the {noun} {name!r}: it belongs to {owner}, who has not given you "
                     f"{needed} access; ask {owner} to run: taskbench share {kind} {name} {user} "
                     f"--role {needed}.")


def unreadable_tasks(store: AbstractStore, nodes, inherited: dict[str, list[int]] | None = None
                     ) -> list[tuple[object, str]]:
    """(the node's task position, the sentence) for each resolved blueprint node whose registered task the acting
    user may not read: only a saved blueprint shared with them carries execute on the tasks it pins (SPEC §10,
    implicit sharing), so a blueprint of their own may not use it, unless it is a clone and `inherited` (see
    inherited_pins) holds that exact task version."""
    if getattr(store, "sharing", None) is None:  # no store (a file checked alone), or a private workspace
        return []
    user, found = current_user(), []
    inherited = inherited or {}
    for resolved in nodes:
        task = resolved.task
        if task.builtin or task.version in inherited.get(task.name, ()):
            continue
        if access(store, user, "task", task.name) != "none":
            continue
        owner = store.owner("task", task.name)
        pinned = ", ".join(f"{task.name}@{version}" for version in inherited.get(task.name, ()))
        instead = (f"this blueprint may run only {pinned}, which its saved versions pin: write that" if pinned
                   else f"use it through a blueprint {owner} shared")
        found.append((resolved.node.task_position,
                      f"the task {task.name!r} belongs to {owner}, who has not shared it with you ({user}); "
                      f"{instead}, or ask for: taskbench share task {task.name} {user} --role read"))
    return found


def inherited_pins(store: AbstractStore | None, name: str | None) -> dict[str, list[int]]:
    """Task name → the versions the blueprint `name` may run by execute: those its saved versions pin, when the
    acting user may read it but does not own it (SPEC §10: reading a blueprint gives execute on its task versions),
    and those of the versions it descends from by `blueprint clone`, at any depth, nearest origin first (the clone
    keeps execute on the task versions its origin used). Empty in a private workspace and for anything else."""
    if getattr(store, "sharing", None) is None or not name:
        return {}
    have = access(store, current_user(), "blueprint", name)
    if have == "none" or store.owner("blueprint", name) is None:
        return {}
    found: dict[str, list[int]] = {}
    if have != "owner":
        for version in store.blueprint_versions(name):
            _add_pins(found, version)
    mine, seen = store.blueprint_version(name), set()
    origin = mine.origin if mine is not None else None
    while origin and origin not in seen:
        seen.add(origin)
        blueprint, _, number = origin.rpartition("@")
        version = store.blueprint_version(blueprint, int(number)) if number.isdigit() else None
        if version is None:
            break
        _add_pins(found, version)
        origin = version.origin
    return found


def _add_pins(found: dict[str, list[int]], version) -> None:
    for pin in version.pins.values():
        if not pin.get("builtin") and pin.get("version") not in found.setdefault(pin["task"], []):
            found[pin["task"]].append(pin["version"])


def share(store: AbstractStore, user: str, kind: str, name: str, grantee: str, role: str) -> Share:
    """Give `grantee` (a member, or EVERYONE) `role` on the owner's object, replacing any role they had."""
    if role not in ROLES:
        raise UsageError(f"the role {role!r} is not one of {', '.join(ROLES)}; pass --role read or --role write.")
    _check_owner(store, user, kind, name, "share")
    if grantee != EVERYONE:
        if grantee == user:
            raise UsageError(f"you ({user}) own the {NOUNS[kind]} {name!r} already; name another member or --all.")
        members = store.sharing.members()
        if grantee not in members:
            raise UsageError(f"{grantee} is not a member of the group {store.sharing.group} that shares this "
                             f"workspace; name one of {', '.join(members) or 'its members'} (taskbench workspace "
                             "show lists them).")
    return store.grant_share(kind, name, grantee, role, user)


def unshare(store: AbstractStore, user: str, kind: str, name: str, grantee: str) -> None:
    """Take back the share the owner gave `grantee` (a member, or EVERYONE) on the object."""
    _check_owner(store, user, kind, name, "unshare")
    if not store.revoke_share(kind, name, grantee):
        who = "every member (--all)" if grantee == EVERYONE else grantee
        raise UsageError(f"the {NOUNS[kind]} {name!r} is not shared with {who}; taskbench shares {kind} {name} "
                         "lists its shares.")


def shares(store: AbstractStore, kind: str | None = None, name: str | None = None) -> list[Share]:
    """The shares of the workspace, or of one object (which must exist)."""
    if kind is not None:
        _check_kind(kind)
        if name is not None:
            _check_exists(store, kind, name)
    return store.list_shares(kind, name)


def owners_and_access(store: AbstractStore, user: str, kind: str) -> dict[str, tuple[str, str]]:
    """For listings: every object of `kind`, its name → (owner, `user`'s access)."""
    every = store.list_shares(kind)
    result = {}
    for name, owner in store.owners(kind).items():
        if store.sharing is None or owner == user:
            result[name] = (owner, "owner")
        else:
            mine = [share for share in every if share.name == name]
            result[name] = (owner, _shared_level(mine, user, _floor(store, kind, name)))
    return result


def standing(store: AbstractStore, kind: str, name: str) -> tuple[str, str] | None:
    """For a heading: the object's owner and the acting user's access to it, or None in a private workspace."""
    if store.sharing is None:
        return None
    return store.owner(kind, name), access(store, current_user(), kind, name)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise UsageError(f"{kind!r} is not something that can be shared; KIND is one of {', '.join(KINDS)}.")


def _check_exists(store: AbstractStore, kind: str, name: str) -> str:
    owner = store.owner(kind, name)
    if owner is None:
        raise UsageError(f"there is no {NOUNS[kind]} named {name!r}; taskbench {LISTINGS[kind]} lists them.")
    return owner


def _check_owner(store: AbstractStore, user: str, kind: str, name: str, doing: str) -> None:
    _check_kind(kind)
    if store.sharing is None:
        raise UsageError("sharing needs a shared workspace, and this one is private (one user); create one with "
                         "taskbench workspace init DIR --group GROUP.")
    owner = _check_exists(store, kind, name)
    if owner != user:
        raise UsageError(f"only the owner of the {NOUNS[kind]} {name!r}, {owner}, can {doing} it.")


def require_model(store: AbstractStore, model_ref, doing: str):
    """The model `model_ref` and its project, refused with one sentence naming the project's owner unless the acting
    user can read the project: reading a project gives execute on every model in it (SPEC §10)."""
    from .training.engine import get_model  # the model lookup lives with training, which imports this module

    model, project = get_model(store, model_ref)
    require(store, "project", project.name, "read", doing)
    return model, project


def withheld_nodes(store: AbstractStore, model) -> dict[str, tuple[str, str]]:
    """Node name → (task, its owner) for each node of `model` whose registered task the acting user may not read:
    execute on a model stops at that task's code and fitted artifact (SPEC §10). Empty in a private workspace."""
    if getattr(store, "sharing", None) is None:
        return {}
    user, found = current_user(), {}
    for node, pin in (model.resolved or {}).items():
        task = pin.get("task")
        if task and not pin.get("builtin") and access(store, user, "task", task) == "none":
            found[node] = (task, store.owner("task", task))
    return found


def node_refusal(node: str, task: str, owner: str, doing: str) -> str:
    """The one sentence refusing `doing` ("download the artifact of") a node whose task the acting user may not read."""
    user = current_user()
    return (f"you ({user}) cannot {doing} node {node!r}: its task {task!r} belongs to {owner}, who has not shared it "
            f"with you; ask {owner} to run: taskbench share task {task} {user} --role read.")
