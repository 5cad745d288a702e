"""Portable model packages (SPEC §9): export a trained model as one zip, import it safely elsewhere.

A package holds the blueprint, the plan, each node's task code and fitted
artifacts, a description of the environment, and `manifest.json` with the
sha256 of every other file. Importing refuses absolute paths, `..`, links,
files the manifest does not list and files whose digest differs, and writes
only inside a private folder of the workspace (`packages/<digest>/`). The
digests catch damaged or edited files, not a hostile author: a package's task
code and pickles run when it scores, so score only packages you trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from ..errors import UsageError
from .source import ModelSource, describe, model_source

FORMAT = "taskbench-model-package"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
LIBRARIES = ("numpy", "pandas", "scikit-learn", "scipy", "pyarrow", "joblib")
SKIPPED = {"__pycache__", ".git", ".DS_Store"}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _folder_files(folder: Path):
    """(relative posix path, absolute path) of every file under `folder`, links followed, caches skipped."""
    for base, dirs, names in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED and not d.startswith("."))
        for name in sorted(names):
            if name in SKIPPED or name.endswith(".pyc"):
                continue
            path = Path(base) / name
            yield path.relative_to(folder).as_posix(), path


def environment_description(plan: dict) -> dict:
    from importlib import metadata

    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": versions,
        "node_environments": {n["name"]: n.get("env", "python-local") for n in plan["nodes"]},
    }


def export_model(store, model_ref: int | str, target: Path) -> dict:
    """Write model `model_ref` as a package at `target` (.zip); returns the manifest."""
    source = model_source(store, model_ref)
    target = Path(target)
    if target.suffix.lower() != ".zip":
        raise UsageError(f"the package name {target} must end in .zip.")
    if not target.parent.is_dir():
        raise UsageError(f"the folder of {target} does not exist.")
    plan = json.loads(json.dumps(source.plan))
    plan["data"] = None  # the training data stays in the workspace
    members: dict[str, bytes | Path] = {}
    for node in plan["nodes"]:
        name = node["name"]
        for rel, path in _folder_files(Path(node["task_dir"])):
            members[f"tasks/{name}/{rel}"] = path
        for rel, path in _folder_files(source.model_dir / "nodes" / name):
            members[f"nodes/{name}/{rel}"] = path
        node["task_dir"] = f"tasks/{name}"
        node["cache_dir"] = None
    members["plan.json"] = json.dumps(plan, indent=2).encode()
    members["blueprint.bp"] = source.info.get("blueprint_text", "").encode()
    members["environment.json"] = json.dumps(environment_description(plan), indent=2).encode()
    files = {}
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, content in members.items():
                data = content if isinstance(content, bytes) else content.read_bytes()
                files[name] = {"sha256": _sha256(data), "size": len(data)}
                zf.writestr(name, data)
            manifest = {"format": FORMAT, "version": FORMAT_VERSION,
                        "model": {k: v for k, v in source.info.items() if k != "blueprint_text"}, "files": files}
            zf.writestr(MANIFEST, json.dumps(manifest, indent=2))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return manifest


def _safe_member(name: str) -> bool:
    """False for absolute paths, drive letters, backslashes, `..` and empty parts: anything that could leave the folder."""
    if not name or name.startswith(("/", "\\")) or "\\" in name or (len(name) > 1 and name[1] == ":"):
        return False
    parts = PurePosixPath(name).parts
    return all(p not in ("", ".", "..") for p in parts)


def _refuse(package: Path, why: str) -> UsageError:
    return UsageError(f"package {package} is refused: {why}")


def import_package(root: Path, package: Path) -> ModelSource:
    """Check a package and unpack it under `root/packages/`; returns the model ready to score."""
    package = Path(package)
    if not package.is_file():
        raise UsageError(f"package {package} does not exist.")
    digest = hashlib.sha256()
    with open(package, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    folder = Path(root) / "packages" / digest.hexdigest()[:24]
    if not (folder / ".complete").exists():
        _extract(package, folder)
    plan = json.loads((folder / "plan.json").read_text())
    for node in plan["nodes"]:
        node["task_dir"] = str(folder / "tasks" / node["name"])
    manifest = json.loads((folder / MANIFEST).read_text())
    info = describe(plan, **{k: v for k, v in manifest.get("model", {}).items() if k in ("model", "blueprint", "project")},
                    package=str(package))
    return ModelSource(plan, folder, info)


def _extract(package: Path, folder: Path) -> None:
    try:
        zf = zipfile.ZipFile(package)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refuse(package, f"it is not a readable zip file ({exc}).") from None
    with zf:
        infos = zf.infolist()
        for info in infos:
            if not _safe_member(info.filename.rstrip("/") if info.is_dir() else info.filename):
                raise _refuse(package, f"member {info.filename!r} has an absolute path or '..'; it would write outside its folder.")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise _refuse(package, f"member {info.filename!r} is a symbolic link.")
        names = {i.filename for i in infos if not i.is_dir()}
        if MANIFEST not in names:
            raise _refuse(package, "it has no manifest.json; export packages with `taskbench export`.")
        try:
            manifest = json.loads(zf.read(MANIFEST))
            files = manifest["files"]
            assert manifest.get("format") == FORMAT
        except (ValueError, KeyError, AssertionError, TypeError):
            raise _refuse(package, "its manifest.json is not a taskbench package manifest.") from None
        for name in files:
            if not _safe_member(name):
                raise _refuse(package, f"its manifest lists {name!r}, a path outside its folder.")
        extra = sorted(names - set(files) - {MANIFEST})
        if extra:
            raise _refuse(package, f"member {extra[0]!r} is not listed in the manifest.")
        absent = sorted(set(files) - names)
        if absent:
            raise _refuse(package, f"file {absent[0]!r} of the manifest is missing.")
        for required in ("plan.json",):
            if required not in files:
                raise _refuse(package, f"it has no {required}.")
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            base = tmp.resolve()
            for name, expected in files.items():
                target = (tmp / name)
                if not target.resolve().is_relative_to(base):
                    raise _refuse(package, f"member {name!r} would write outside its folder.")
                info = zf.getinfo(name)
                if info.file_size != expected.get("size", info.file_size):
                    raise _refuse(package, f"file {name!r} does not match the manifest (it was changed after export).")
                data = zf.read(info)
                if _sha256(data) != expected["sha256"]:
                    raise _refuse(package, f"file {name!r} does not match the manifest's sha256 (it was changed after export).")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            (tmp / MANIFEST).write_bytes(zf.read(MANIFEST))
            (tmp / ".complete").touch()
            try:
                os.rename(tmp, folder)
            except OSError:
                if not (folder / ".complete").exists():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["export_model", "import_package", "environment_description"]
