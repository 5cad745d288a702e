"""Portable model packages (SPEC §9): export a trained model as one zip, import it safely elsewhere.

A package holds the blueprint, the plan, each node's task code and fitted
artifacts, a description of the environment, and `manifest.json` with the
sha256 and size of every other file. Importing checks the whole archive before
writing a byte (names, links, encryption, sizes against limits like pip's and
POI's zip-bomb guards, the manifest and the plan's node names), unpacks into a
private folder of the workspace (`packages/<digest>/`) counting and hashing the
bytes as they stream, and checks that folder against the package's manifest on
every later use. The digests catch damaged or edited files, not a hostile
author: a package's task code and pickles run when it scores, with the user's
rights unless it scores in a Docker environment (`predict --package --docker`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import platform
import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Callable

from .. import settings, workspace
from ..errors import TaskbenchError, UsageError
from ..runtime.contract import LOCAL_ENV
from .source import ModelSource, describe, model_source

FORMAT = "taskbench-model-package"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
COMPLETE = ".complete"
SEEN = ".seen"  # packages/.seen/<sha256>: packages this workspace exported or has scored with
LIBRARIES = ("numpy", "pandas", "scikit-learn", "scipy", "pyarrow", "joblib")
SKIPPED = {"__pycache__", ".git", ".DS_Store"}

MAX_BYTES_ENV = settings.PACKAGE_MAX_BYTES.name
MAX_RATIO_ENV = settings.PACKAGE_MAX_RATIO.name
RATIO_GRACE_BYTES = 1 << 20
MAX_PART = 255  # NAME_MAX of common file systems, in UTF-8 bytes
MAX_PATH = 1024
MAX_JSON_BYTES = 64 << 20
BLOCK = 1 << 20
METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
NODE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")  # a blueprint identifier (core/blueprints/syntax.py)
ENV_REF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}(@[1-9][0-9]{0,8})?")
SHA256 = re.compile(r"[0-9a-f]{64}")
KINDS = ("transform", "estimator")
DOCKER_DEFAULT = "python-sklearn"


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
    """What the model was trained with: Python and its libraries, each node's environment and language, the
    requirements.txt lines of nodes whose task has one, and for a model with R nodes the R that ran them and the R
    packages their code loads or requirements.txt lists."""
    from importlib import metadata

    from ..runtime.taskcode import task_language

    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    languages = {n["name"]: task_language(n["task_dir"]) or "python" for n in plan["nodes"]}
    description = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": versions,
        "node_environments": {n["name"]: n.get("env", LOCAL_ENV) for n in plan["nodes"]},
        "node_languages": languages,
    }
    from ..environments.resolve import task_requirements

    # Installed on top of each node's environment when the package scores (deploy.workers), as when it trained.
    wanted = {n["name"]: task_requirements(n["task_dir"]).splitlines() for n in plan["nodes"]}
    if any(wanted.values()):
        description["node_requirements"] = {name: lines for name, lines in wanted.items() if lines}
    r_nodes = [n for n in plan["nodes"] if languages[n["name"]] == "r"]
    if r_nodes:
        from ..runtime import rtask

        description["r"] = {
            "version": _r_version(rtask.rscript()),
            "packages": sorted({name for n in r_nodes
                                for name in [*rtask.requirements(n["task_dir"]), *sum(rtask.packages_used(n["task_dir"]), [])]}),
        }
    return description


def _r_version(rscript: str | None) -> str | None:
    """'4.2.2' for the Rscript R tasks run with here, or None when there is none (the package still exports)."""
    import subprocess

    if rscript is None:
        return None
    try:
        done = subprocess.run([rscript, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"version (\d+\.\d+\.\d+)", done.stdout + done.stderr)
    return found.group(1) if found else None


def export_model(store, model_ref: int | str, target: Path) -> dict:
    """Write model `model_ref` as a package at `target` (.zip); returns the manifest. A package holds every node's
    task code and artifact, so it needs read on the model's project and on each registered task it uses."""
    from ..sharing import node_refusal, require_model, withheld_nodes

    model, _ = require_model(store, model_ref, "export a model of")
    for node, (task, owner) in withheld_nodes(store, model).items():
        raise UsageError(node_refusal(node, task, owner, f"export model {model.id}, which packages the code and "
                                                         "artifact of"))
    source = model_source(store, model.id, "export a model of")
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
    members["environment.json"] = json.dumps(environment_description(source.plan), indent=2).encode()  # task folders
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
        digest = _file_digest(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    workspace.hand_over(target)
    _mark_seen(Path(store.root), digest)  # this workspace's own package: no "from another workspace" warning here
    return manifest


def package_summary(target: Path, manifest: dict) -> str:
    """What an exported package holds, counted from the zip itself so the numbers match what `unzip -l` lists:
    '9 entries (8 files and manifest.json), 12,345 bytes unpacked'."""
    with zipfile.ZipFile(target) as zf:
        entries = zf.infolist()
    unpacked = sum(e.file_size for e in entries)
    files = len(manifest["files"])
    return (f"{len(entries)} entries ({files} file{'s' if files != 1 else ''} and {MANIFEST}), "
            f"{unpacked:,} bytes unpacked")


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _seen_marker(root: Path, digest: str) -> Path:
    return Path(root) / workspace.PACKAGES / SEEN / digest


def _mark_seen(root: Path, digest: str) -> None:
    marker = _seen_marker(root, digest)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()


def _safe_member(name: str) -> bool:
    """False for absolute paths, drive letters, backslashes, `..` and empty parts: anything that could leave the folder."""
    if not name or name.startswith(("/", "\\")) or "\\" in name or "\x00" in name or (len(name) > 1 and name[1] == ":"):
        return False
    parts = PurePosixPath(name).parts
    return all(p not in ("", ".", "..") for p in parts) and "//" not in name


def _too_long(name: str) -> bool:
    return len(name.encode("utf-8", "surrogatepass")) > MAX_PATH or any(
        len(p.encode("utf-8", "surrogatepass")) > MAX_PART for p in name.split("/"))


def _shown(name: str, width: int = 60) -> str:
    """A name from a package as a message quotes it: repr, cut short."""
    return repr(name if len(name) <= width else name[:width] + "…")


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def _refuse(package: Path, why: str) -> UsageError:
    return UsageError(f"package {package} is refused: {why}")


def package_limits() -> tuple[int, float]:
    """The unpacked-size limit (bytes) and expansion-ratio limit, from TASKBENCH_PACKAGE_MAX_BYTES/_MAX_RATIO."""
    return settings.PACKAGE_MAX_BYTES.get(), settings.PACKAGE_MAX_RATIO.get()


def import_package(root: Path, package: Path, *, on_note: Callable[[str], None] | None = None,
                   contained: bool = False) -> ModelSource:
    """Check a package, unpack it under `root/packages/` (or check the copy there), and return the model ready to score.

    `on_note(sentence)` hears that the package runs foreign code (first use in this workspace of a package it did
    not export) and that an unpacked copy had changed and was unpacked afresh. `contained` (it scores in containers)
    leaves out the foreign-code note, which advises exactly that, until the package is first scored outside one.
    """
    package = Path(package)
    if not package.is_file():
        raise UsageError(f"package {package} does not exist.")
    note = on_note or (lambda sentence: None)
    max_bytes, max_ratio = package_limits()
    try:
        fh = open(package, "rb")
    except OSError as exc:
        raise UsageError(f"package {package} cannot be read: {exc.strerror or exc}.") from None
    with fh:
        digest = hashlib.sha256()
        for block in iter(lambda: fh.read(BLOCK), b""):
            digest.update(block)
        digest = digest.hexdigest()
        fh.seek(0)
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise _refuse(package, f"it is not a readable zip file ({exc}).") from None
        with zf:
            checked = _check_archive(package, zf, max_bytes, max_ratio)
            folder = Path(root) / workspace.PACKAGES / digest[:24]
            if not _matches(folder, checked):
                if folder.exists():
                    note(f"the unpacked copy of package {package} in {folder} had been changed; it was unpacked afresh.")
                _extract(package, zf, checked, folder, max_bytes)
    plan = checked.plan
    for node in plan["nodes"]:
        node["task_dir"] = str(folder / "tasks" / node["name"])
        node["cache_dir"] = None
    plan["data"] = None
    model = checked.manifest.get("model")
    facts = {k: v for k, v in model.items() if k in ("model", "blueprint", "project")} if isinstance(model, dict) else {}
    info = describe(plan, **facts, package=str(package))
    if not contained and not _seen_marker(root, digest).exists():
        note(f"package {package} was not exported from this workspace: its task code runs with your rights when it "
             "scores; if you do not trust its author, score it in a container with --docker or --env NAME.")
        _mark_seen(root, digest)
    return ModelSource(plan, folder, info)


class _Checked:
    """What `_check_archive` found: the manifest (its bytes too), the validated plan, and the zip entries by name."""

    def __init__(self, manifest_bytes: bytes, manifest: dict, plan: dict, infos: dict[str, zipfile.ZipInfo]):
        self.manifest_bytes, self.manifest, self.plan, self.infos = manifest_bytes, manifest, plan, infos

    @property
    def files(self) -> dict[str, dict]:
        return self.manifest["files"]


def _check_archive(package: Path, zf: zipfile.ZipFile, max_bytes: int, max_ratio: float) -> _Checked:
    """Every check that needs no writing: names, links, encryption, methods, sizes and limits, manifest, plan."""
    infos: dict[str, zipfile.ZipInfo] = {}
    folders: set[str] = set()
    for info in zf.infolist():
        name = info.filename
        bare = name.rstrip("/") if info.is_dir() else name
        if _too_long(bare):
            raise _refuse(package, f"member {_shown(bare)} has a name of {len(bare)} characters; "
                                   f"names over {MAX_PART} characters (or paths over {MAX_PATH}) cannot be unpacked.")
        if not _safe_member(bare):
            raise _refuse(package, f"member {_shown(name)} has an absolute path or '..'; it would write outside its folder.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _refuse(package, f"member {_shown(name)} is a symbolic link.")
        if info.flag_bits & 0x1:
            raise _refuse(package, f"member {_shown(name)} is encrypted; taskbench packages are never encrypted.")
        if info.compress_type not in METHODS:
            raise _refuse(package, f"member {_shown(name)} uses compression method {info.compress_type}, "
                                   "which is not one a taskbench package uses.")
        parents = PurePosixPath(bare).parents
        folders.update(str(p) for p in list(parents)[:-1])
        if info.is_dir():
            folders.add(bare)
            continue
        if name in infos:
            raise _refuse(package, f"member {_shown(name)} appears twice.")
        infos[name] = info
    clash = sorted(set(infos) & folders)
    if clash:
        raise _refuse(package, f"{_shown(clash[0])} is both a file and a folder.")
    if MANIFEST not in infos:
        raise _refuse(package, "it has no manifest.json; export packages with `taskbench export`.")
    manifest_bytes = _read_small(package, zf, infos[MANIFEST])
    manifest = _load_json(package, manifest_bytes, MANIFEST)
    files = _check_manifest(package, manifest)
    extra = sorted(set(infos) - set(files) - {MANIFEST})
    if extra:
        raise _refuse(package, f"member {_shown(extra[0])} is not listed in the manifest.")
    absent = sorted(set(files) - set(infos))
    if absent:
        raise _refuse(package, f"file {_shown(absent[0])} of the manifest is missing.")
    if "plan.json" not in files:
        raise _refuse(package, "it has no plan.json.")
    total = infos[MANIFEST].file_size
    for name, expected in files.items():
        info = infos[name]
        if info.file_size != expected["size"]:
            raise _refuse(package, f"file {_shown(name)} does not match the manifest (it was changed after export).")
        total += info.file_size
    if total > max_bytes:
        raise _refuse(package, f"it unpacks to {_size(total)}, over the limit of {_size(max_bytes)} ({MAX_BYTES_ENV}); "
                               "raise it only for a package you trust.")
    for name in files:
        info = infos[name]
        if info.file_size > RATIO_GRACE_BYTES and info.file_size > max_ratio * max(info.compress_size, 1):
            raise _refuse(package, f"member {_shown(name)} would expand {info.file_size / max(info.compress_size, 1):,.0f} "
                                   f"times (to {_size(info.file_size)}), over the limit of {max_ratio:g} "
                                   f"({MAX_RATIO_ENV}); raise it only for a package you trust.")
    plan_bytes = _read_small(package, zf, infos["plan.json"])
    if _sha256(plan_bytes) != files["plan.json"]["sha256"]:
        raise _refuse(package, "file 'plan.json' does not match the manifest's sha256 (it was changed after export).")
    plan = _check_plan(package, _load_json(package, plan_bytes, "plan.json"))
    return _Checked(manifest_bytes, manifest, plan, infos)


def _read_small(package: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A JSON member, read whole but never past its declared size or MAX_JSON_BYTES."""
    if info.file_size > MAX_JSON_BYTES:
        raise _refuse(package, f"its {info.filename} is {_size(info.file_size)}, more than a package ever needs.")
    try:
        with zf.open(info) as src:
            data = src.read(MAX_JSON_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
        raise _refuse(package, f"the data of {_shown(info.filename)} is damaged ({exc}).") from None
    if len(data) != info.file_size:
        raise _refuse(package, f"the data of {_shown(info.filename)} does not have the size its header gives.")
    return data


def _load_json(package: Path, data: bytes, name: str):
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise _refuse(package, f"its {name} is not valid JSON.") from None


def _check_manifest(package: Path, manifest) -> dict:
    """The manifest's `files`, each a safe relative path with a sha256 and a size; anything else is refused."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refuse(package, "its manifest.json is not a taskbench package manifest.")
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _refuse(package, "its manifest.json has no format version.")
    if version > FORMAT_VERSION:
        raise _refuse(package, f"it has package format {version}, newer than this taskbench reads ({FORMAT_VERSION}); "
                               "upgrade taskbench.")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise _refuse(package, "its manifest's 'files' is not a table of file names to digests.")
    for name, entry in files.items():
        if _too_long(name) or not _safe_member(name):
            raise _refuse(package, f"its manifest lists {_shown(name)}, a path outside its folder.")
        if name in (MANIFEST, COMPLETE):
            raise _refuse(package, f"its manifest lists {name!r}, a name the package itself uses.")
        if not isinstance(entry, dict):
            raise _refuse(package, f"its manifest's entry for {_shown(name)} is not a table with 'sha256' and 'size'.")
        digest, size = entry.get("sha256"), entry.get("size")
        if not isinstance(digest, str) or not SHA256.fullmatch(digest):
            raise _refuse(package, f"its manifest's entry for {_shown(name)} has no sha256 digest.")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise _refuse(package, f"its manifest's entry for {_shown(name)} has no size.")
    return files


def _check_plan(package: Path, plan) -> dict:
    """The plan, with every name it holds checked before any of them becomes a path."""
    from ..runtime.contract import TARGET_TYPES

    def bad(why: str) -> UsageError:
        return _refuse(package, f"its plan.json {why}.")

    if not isinstance(plan, dict):
        raise bad("is not a JSON object")
    nodes = plan.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        raise bad("has no 'nodes' list")
    if plan.get("target_type") not in TARGET_TYPES:
        raise bad(f"has target type {_shown(str(plan.get('target_type')))}, not one of {', '.join(TARGET_TYPES)}")
    labels = plan.get("class_labels")
    if labels is not None and not (isinstance(labels, list) and all(isinstance(x, (str, int, float, bool)) for x in labels)):
        raise bad("has class labels that are not a list of labels")
    names: list[str] = []
    for node in nodes:
        if not isinstance(node, dict):
            raise bad("has a node that is not a JSON object")
        name = node.get("name")
        if not isinstance(name, str) or not NODE_NAME.fullmatch(name):
            raise bad(f"names node {_shown(str(name))}, which is not a plain name (letters, digits and '_', "
                      "at most 100 characters)")
        if name in names:
            raise bad(f"names node {name!r} twice")
        env = node.get("env", LOCAL_ENV)
        if not isinstance(env, str) or not ENV_REF.fullmatch(env):
            raise bad(f"gives node {name!r} the environment {_shown(str(env))}, which is not an environment name")
        if node.get("kind") not in KINDS:
            raise bad(f"gives node {name!r} the kind {_shown(str(node.get('kind')))}, not transform or estimator")
        if not isinstance(node.get("task_ref"), str):
            raise bad(f"gives node {name!r} no task reference")
        channels = node.get("channels")
        if not isinstance(channels, dict) or not all(
                isinstance(k, str) and isinstance(v, list) and all(isinstance(c, str) for c in v) for k, v in channels.items()):
            raise bad(f"gives node {name!r} channels that are not lists of column names")
        inputs = node.get("inputs")
        if not isinstance(inputs, list) or not inputs or not all(isinstance(s, str) for s in inputs):
            raise bad(f"gives node {name!r} no list of inputs")
        unknown = [s for s in inputs if s not in channels and s not in names]
        if unknown:
            raise bad(f"feeds node {name!r} from {_shown(unknown[0])}, neither a channel nor an earlier node")
        for key, kind in (("params", dict), ("output_requirements", list)):
            if node.get(key) is not None and not isinstance(node[key], kind):
                raise bad(f"gives node {name!r} {key} that are not a JSON {'object' if kind is dict else 'list'}")
        names.append(name)
    if plan.get("final") not in names:
        raise bad(f"names final node {_shown(str(plan.get('final')))}, which is not one of its nodes")
    return plan


def _matches(folder: Path, checked: _Checked) -> bool:
    """True when `folder` holds exactly the package's files (same sizes and sha256), complete, with no links or extras."""
    if not (folder / COMPLETE).is_file():
        return False
    expected = {**{n: (e["size"], e["sha256"]) for n, e in checked.files.items()},
                MANIFEST: (len(checked.manifest_bytes), _sha256(checked.manifest_bytes)), COMPLETE: (0, _sha256(b""))}
    found = set()
    try:
        for base, dirs, names in os.walk(folder):
            for name in dirs + names:
                path = os.path.join(base, name)
                if os.path.islink(path):
                    return False
            for name in names:
                path = os.path.join(base, name)
                rel = os.path.relpath(path, folder).replace(os.sep, "/")
                if rel not in expected or not stat.S_ISREG(os.lstat(path).st_mode):
                    return False
                size, digest = expected[rel]
                if os.path.getsize(path) != size or _file_digest(Path(path)) != digest:
                    return False
                found.add(rel)
    except OSError:
        return False
    return found == set(expected)


def _extract(package: Path, zf: zipfile.ZipFile, checked: _Checked, folder: Path, max_bytes: int) -> None:
    """Unpack into a temporary folder beside `folder`, counting and hashing every byte, then rename it into place."""
    parent = folder.parent
    parent.mkdir(parents=True, exist_ok=True)
    need = sum(e["size"] for e in checked.files.values())
    free = shutil.disk_usage(parent).free
    if need > free:
        raise TaskbenchError(f"the disk holding {parent} has {_size(free)} free, and package {package} unpacks to "
                             f"{_size(need)}; free some space and score again.")
    tmp = parent / f".{folder.name}.tmp-{os.getpid()}"
    stale = parent / f".{folder.name}.stale-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        total = 0
        for name, expected in sorted(checked.files.items()):
            total = _unpack_member(package, zf, checked.infos[name], expected, tmp / name, total, max_bytes)
        for node in checked.plan["nodes"]:  # a node that wrote no artifacts still has its folder
            (tmp / "nodes" / node["name"]).mkdir(parents=True, exist_ok=True)
            (tmp / "tasks" / node["name"]).mkdir(parents=True, exist_ok=True)
        (tmp / MANIFEST).write_bytes(checked.manifest_bytes)
        (tmp / COMPLETE).touch()
        if folder.exists() or folder.is_symlink():
            if _matches(folder, checked):  # another process unpacked it meanwhile, and may be scoring from it
                return
            os.rename(folder, stale)
        try:
            os.rename(tmp, folder)
        except OSError:
            if not _matches(folder, checked):  # another process unpacked it first
                raise
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            free = shutil.disk_usage(parent).free
            raise TaskbenchError(f"the disk holding {parent} is full ({_size(free)} free) while unpacking package "
                                 f"{package}; nothing was kept; free some space and score again.") from None
        raise TaskbenchError(f"package {package} could not be unpacked into {parent}: {exc.strerror or exc}.") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if stale.exists() or stale.is_symlink():
            if stale.is_symlink():
                stale.unlink()
            else:
                shutil.rmtree(stale, ignore_errors=True)


def _unpack_member(package: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, expected: dict, target: Path,
                   total: int, max_bytes: int) -> int:
    """Stream one member to `target`; refuse it the moment it outgrows its header or the limit, or if its digest differs."""
    name = info.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    written = 0
    with open(target, "xb") as dst:
        try:
            src = zf.open(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, ValueError) as exc:
            raise _refuse(package, f"the data of {_shown(name)} is damaged ({exc}).") from None
        with src:
            while True:
                try:
                    block = src.read(BLOCK)
                except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, ValueError) as exc:
                    raise _refuse(package, f"the data of {_shown(name)} is damaged ({exc}).") from None
                if not block:
                    break
                written += len(block)
                total += len(block)
                if written > info.file_size or written > expected["size"]:
                    raise _refuse(package, f"member {_shown(name)} unpacks to more bytes than its header says.")
                if total > max_bytes:
                    raise _refuse(package, f"it unpacks to more than the limit of {_size(max_bytes)} ({MAX_BYTES_ENV}).")
                digest.update(block)
                dst.write(block)
    if written != expected["size"]:
        raise _refuse(package, f"the data of {_shown(name)} is shorter than the manifest says.")
    if digest.hexdigest() != expected["sha256"]:
        raise _refuse(package, f"file {_shown(name)} does not match the manifest's sha256 (it was changed after export).")
    return total


def in_docker(store, source: ModelSource, env: str | None) -> ModelSource:
    """`source` with every node scoring in a container: all in `env` (a registered Docker environment), or, with no
    `env`, each node in the Docker environment it was trained in and python-local nodes in python-sklearn (an R
    node's in r-base, which has R)."""
    from ..environments import R_BASE
    from ..runtime.taskcode import task_language
    from ..environments.versions import get_environment_version
    from ..runtime.contract import is_local

    if env is not None:
        if is_local(env):
            raise UsageError(f"--env {env} runs the package's code on this machine, not in a container; "
                             "name a Docker environment (`taskbench env list`), or drop --env.")
        env = get_environment_version(store, env).ref  # an unknown name is a usage error before Docker is asked
    plan = json.loads(json.dumps(source.plan))
    plan["untrusted_code"] = True  # read back only Parquet from its containers (serving.WorkerSegment)
    for node in plan["nodes"]:
        if env is not None:
            node["env"] = env
        elif is_local(node.get("env")):
            node["env"] = R_BASE if task_language(node["task_dir"]) == "r" else DOCKER_DEFAULT
    return replace(source, plan=plan)


__all__ = ["export_model", "import_package", "in_docker", "environment_description", "package_limits"]
