"""The environment registry (SPEC §3): built-in and custom environments, their versions and build state.

Built-ins appear without being added: `python-local` (the Python taskbench runs
on), `python-sklearn` and `r-base` (Dockerfiles shipped in the package, each
snapshotted as a new version whenever its shipped folder changes). Custom environments are
folders with a Dockerfile, versioned exactly like tasks. Building images is not
done here; builders record their progress with `set_environment_build`.
"""

from __future__ import annotations

from pathlib import Path

from .. import sharing, workspace
from ..errors import UsageError, not_a_folder
from ..names import check_name, missing_version, parse_ref, unknown_name
from ..store import files as store_files
from ..store.integrity import verify
from ..store.records import BUILD_STATES, Environment, EnvironmentVersion
from ..store.store import Store
from . import BUILTIN_DIR, BUILTIN_DOCKER_ENVIRONMENTS, PYTHON_LOCAL, PYTHON_SKLEARN, R_BASE

LOCAL = PYTHON_LOCAL
SKLEARN = PYTHON_SKLEARN
BUILTIN_OWNER = "taskbench"
BUILTIN_ENVIRONMENTS_DIR = BUILTIN_DIR
BUILTIN_SKLEARN_DIR = BUILTIN_ENVIRONMENTS_DIR / SKLEARN

BUILTINS = {
    LOCAL: ("local", "The Python taskbench runs on; no Docker needed."),
    SKLEARN: ("docker", "Python, pandas, scikit-learn, pyarrow and joblib, from the Dockerfile shipped with taskbench."),
    R_BASE: ("docker", "Debian's R with recipes, statmod, glmnet, caret, e1071, gbm, tidyverse and Matrix, "
                       "beside python-sklearn's Python, from the Dockerfile shipped with taskbench."),
}


def ensure_builtin_environments(store: Store) -> None:
    """Make the built-in rows exist, and snapshot each shipped Docker environment's folder when it changed."""
    if any(store.environment(name) is None for name in BUILTINS):
        for name, (kind, description) in BUILTINS.items():
            store.ensure_environment(name, kind, builtin=True, description=description, created_by=BUILTIN_OWNER)
    for name, folder in BUILTIN_DOCKER_ENVIRONMENTS.items():
        if not (folder / "Dockerfile").is_file():
            continue
        sha, _ = store_files.tree_digest(folder)
        if any(v.sha256 == sha for v in store.environment_versions(name)):
            continue
        sha, files, snapshot = store_files.snapshot_folder(folder, store.objects_dir("environments"))
        store.add_environment_version(
            name, sha256=sha, snapshot=snapshot, files=files, builtin=True, created_by=BUILTIN_OWNER
        )


def add_environment(store: Store, folder: str | Path, name: str | None = None) -> tuple[EnvironmentVersion, bool]:
    """Register a folder holding a Dockerfile as version N+1 of environment `name` (default: the folder's name).

    Returns (the version, True), or (the existing version with this content, False).
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise UsageError(not_a_folder(folder, "the environment folder that holds a Dockerfile"))
    if not (folder / "Dockerfile").is_file():
        raise UsageError(f"{folder} has no Dockerfile; an environment folder needs one at its top.")
    if name:
        check_name(name, "environment")
    else:
        name = check_name(folder.resolve().name, "environment", hint=" (it is the folder's name; give --name)")
    if name in BUILTINS:
        raise UsageError(f"{name} is a built-in environment; add yours under another name.")
    ensure_builtin_environments(store)
    sharing.require(store, "env", name, "write", "add a version of")
    sha, files, snapshot = store_files.snapshot_folder(folder, store.objects_dir("environments"))
    return store.add_environment_version(name, sha256=sha, snapshot=snapshot, files=files)


def list_environments(store: Store) -> list[Environment]:
    """Built-ins first, then custom environments by name."""
    ensure_builtin_environments(store)
    return store.list_environments()


def get_environment(store: Store, name: str) -> Environment:
    ensure_builtin_environments(store)
    name, _ = parse_ref(name, "environment")
    found = store.environment(name)
    if found is None:
        known = [env.name for env in store.list_environments()]
        raise unknown_name("environment", name, known, "taskbench env list")
    return found


def environment_exists(store: Store, ref: str) -> bool:
    """True when `ref` ('name' or 'name@N') names a registered environment (or version)."""
    try:
        name, version = parse_ref(ref, "environment")
        get_environment(store, name)
        if version is not None:
            get_environment_version(store, ref)
    except UsageError:
        return False
    return True


def environment_versions(store: Store, name: str) -> list[EnvironmentVersion]:
    """Every version of environment `name`, oldest first (none for python-local)."""
    env = get_environment(store, name)
    return store.environment_versions(env.name)


def get_environment_version(store: Store, ref: str) -> EnvironmentVersion:
    """The version 'name' (latest) or 'name@N' names, its files verified against its sha256 (callers build, show or
    copy them; SPEC §10), for a user who may read the environment; python-local has none, being the running Python."""
    sharing.require(store, "env", parse_ref(ref, "environment")[0], "read", "read")
    return environment_version_to_run(store, ref)


def environment_version_to_run(store: Store, ref: str) -> EnvironmentVersion:
    """The version `ref` names, verified, without a read check: a task version that runs in it carries execute on
    it (SPEC §10, implicit sharing), as a shared blueprint's task runs unread."""
    name, version = parse_ref(ref, "environment")
    env = get_environment(store, name)
    if env.kind == "local":
        raise UsageError(f"{name} is the Python taskbench runs on; it has no Dockerfile or versions.")
    found = store.environment_version(name, version)
    if found is not None:
        verify(found)
        return found
    versions = [v.version for v in store.environment_versions(name)]
    if not versions:
        shipped = BUILTIN_DOCKER_ENVIRONMENTS.get(name, BUILTIN_SKLEARN_DIR)
        raise UsageError(
            f"{name} has no Dockerfile in this installation ({shipped / 'Dockerfile'} is missing); reinstall taskbench."
        )
    raise missing_version("environment", name, version, versions)


def download_environment(store: Store, ref: str, to_dir: str | Path) -> EnvironmentVersion:
    """Write an environment version's Dockerfile and files into `to_dir` (absent or empty)."""
    version = get_environment_version(store, ref)
    store_files.copy_snapshot(version.path, to_dir)
    workspace.hand_over(to_dir)
    return version


def set_environment_build(
    store: Store, env_version_id: int, status: str, image_id: str | None = None, job_id: int | None = None
) -> EnvironmentVersion:
    """Record a build's progress for one environment version: unbuilt, building, built (with image id) or failed."""
    if status not in BUILD_STATES:
        raise UsageError(f"build status {status!r} is not one of {', '.join(BUILD_STATES)}.")
    return store.set_environment_build(env_version_id, status, image_id=image_id, job_id=job_id)
