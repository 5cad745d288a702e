"""Hostile and broken packages for `taskbench predict --package`: each is crafted here from a real export.

Every refusal is exit 2 with one sentence naming the package, runs no task code
and leaves nothing unpacked in the workspace.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import DATA

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
INFERENCE = DATA / "juniors_3_year_stats_regression_inference.csv"


def flat(text):
    return " ".join(text.split())


def run(*args):
    from tui.cli.main import app, normalize_argv

    return CliRunner().invoke(app, normalize_argv([str(a) for a in args]), catch_exceptions=False)


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    """A ridge model trained and exported in a workspace of its own: (package, its predictions of INFERENCE)."""
    root = tmp_path_factory.mktemp("origin")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TASKBENCH_HOME", str(root / "workspace"))
        mp.setenv("COLUMNS", "200")
        assert run("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "jr").exit_code == 0
        (root / "ridge.bp").write_text("num = impute_median(NUM)\nmodel = ridge(num)\n")
        assert run("train", "jr", root / "ridge.bp").exit_code == 0
        exported = run("export", "1", "--to", root / "model.zip")
        assert exported.exit_code == 0, exported.output
        local = run("predict", "1", "--input", INFERENCE, "--output", root / "local.csv")
        assert local.exit_code == 0, local.output
        assert "not exported from this workspace" not in flat(local.output)
        own = run("predict", "--package", root / "model.zip", "--input", INFERENCE, "--output", root / "own.csv")
        assert own.exit_code == 0 and "not exported from this workspace" not in flat(own.output), own.output
    return root / "model.zip", pd.read_csv(root / "local.csv")


def members(package: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(package) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def build(target: Path, files: dict[str, bytes], *, edit_manifest=None, compression=zipfile.ZIP_DEFLATED) -> Path:
    """A package of `files` with a manifest that lists them truthfully, then passed through `edit_manifest`."""
    files = {n: d for n, d in files.items() if n != "manifest.json"}
    manifest = json.loads(files.pop("__manifest__", b"{}")) or {"format": "taskbench-model-package", "version": 1, "model": {}}
    manifest["files"] = {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in files.items()}
    if edit_manifest:
        edit_manifest(manifest)
    with zipfile.ZipFile(target, "w", compression=compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr("manifest.json", json.dumps(manifest))
    return target


def with_plan(package: Path, change) -> dict[str, bytes]:
    """The package's members with plan.json passed through `change(plan)`."""
    files = members(package)
    plan = json.loads(files["plan.json"])
    change(plan)
    files["plan.json"] = json.dumps(plan).encode()
    return files


def central_entry(data: bytes, name: str) -> int:
    """Offset of `name`'s record in the zip's central directory."""
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        length = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46:pos + 46 + length] == name.encode():
            return pos
        pos = data.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(f"{name} not in the central directory")


def patch(path: Path, edit) -> Path:
    data = bytearray(path.read_bytes())
    edit(data)
    path.write_bytes(bytes(data))
    return path


def nothing_unpacked(home: Path) -> bool:
    """No package folder, temporary folder or file of any kind under the workspace's packages/."""
    folder = home / "packages"
    return not folder.exists() or not any(folder.rglob("*"))


def predict_package(package, tmp_path, *extra):
    return run("predict", "--package", package, "--input", INFERENCE, "--output", tmp_path / "out.csv", *extra)


def assert_refused(result, package, *phrases):
    text = flat(result.output)
    assert result.exit_code == 2, result.output
    assert f"error: package {package} is refused:" in text, text
    assert "Traceback" not in result.output
    for phrase in phrases:
        assert phrase in text, text


# --- names and paths -------------------------------------------------------------------------------------------------


def test_a_node_named_outside_the_package_is_refused_before_its_code_runs(origin, taskbench, home, tmp_path):
    package, _ = origin
    marker = tmp_path / "marker"
    outside = tmp_path / "elsewhere" / "x"  # packages/<digest>/tasks/../../../../elsewhere/x from the workspace
    outside.mkdir(parents=True)
    (outside / "custom.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    evil = "../../../../elsewhere/x"

    def rename(plan):
        plan["nodes"][-1]["name"] = evil
        plan["final"] = evil

    crafted = build(tmp_path / "escape.zip", with_plan(package, rename))
    result = predict_package(crafted, tmp_path)
    assert_refused(result, crafted, "names node '../../../../elsewhere/x', which is not a plain name")
    assert not marker.exists()
    assert nothing_unpacked(home)
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("field, value, phrase", [
    ("final", "../model", "names final node '../model'"),
    ("env", "../../python-sklearn", "the environment '../../python-sklearn', which is not an environment name"),
    ("inputs", ["../num"], "feeds node 'model' from '../num'"),
])
def test_other_names_in_the_plan_are_checked_too(origin, taskbench, home, tmp_path, field, value, phrase):
    package, _ = origin

    def change(plan):
        (plan if field == "final" else plan["nodes"][-1])[field] = value

    crafted = build(tmp_path / "names.zip", with_plan(package, change))
    assert_refused(predict_package(crafted, tmp_path), crafted, phrase)
    assert nothing_unpacked(home)


# --- the unpacked copy -----------------------------------------------------------------------------------------------


def test_an_edited_unpacked_copy_is_not_run_but_unpacked_afresh(origin, taskbench, home, tmp_path):
    package, local = origin
    first = predict_package(package, tmp_path)
    assert first.exit_code == 0, first.output
    (folder,) = [p for p in (home / "packages").iterdir() if not p.name.startswith(".")]
    custom = folder / "tasks" / "model" / "custom.py"
    original = custom.read_bytes()
    marker = tmp_path / "edited-code-ran"
    custom.write_text(f"open({str(marker)!r}, 'w').write('ran')\n" + original.decode())
    (folder / "tasks" / "model" / "sitecustomize.py").write_text("raise SystemExit('planted')\n")

    again = predict_package(package, tmp_path)
    assert again.exit_code == 0, again.output
    assert not marker.exists()
    assert f"the unpacked copy of package {package} in {folder} had been changed; it was unpacked afresh." in flat(again.stderr)
    assert custom.read_bytes() == original
    assert not (folder / "tasks" / "model" / "sitecustomize.py").exists()
    assert pd.read_csv(tmp_path / "out.csv").equals(local)
    assert sorted(p.name for p in (home / "packages").iterdir()) == [".seen", folder.name]  # no temporary folders left

    third = predict_package(package, tmp_path)
    assert third.exit_code == 0 and "unpacked afresh" not in flat(third.output), third.output


# --- sizes -----------------------------------------------------------------------------------------------------------


def big_member(package: Path, size: int) -> dict[str, bytes]:
    files = members(package)
    files["nodes/model/padding.bin"] = bytes(size)
    return files


def test_a_package_over_the_configured_size_is_refused_before_writing(origin, taskbench, home, tmp_path, monkeypatch):
    package, _ = origin
    monkeypatch.setenv("TASKBENCH_PACKAGE_MAX_BYTES", "1m")
    crafted = build(tmp_path / "big.zip", big_member(package, 3 << 20))
    assert crafted.stat().st_size < 100_000
    assert_refused(predict_package(crafted, tmp_path), crafted,
                   "it unpacks to 3.0 MB, over the limit of 1.0 MB (TASKBENCH_PACKAGE_MAX_BYTES)")
    assert nothing_unpacked(home)
    monkeypatch.setenv("TASKBENCH_PACKAGE_MAX_BYTES", "4m")
    monkeypatch.setenv("TASKBENCH_PACKAGE_MAX_RATIO", "2000")
    raised = predict_package(crafted, tmp_path)
    assert raised.exit_code == 0, raised.output


def test_a_member_that_expands_too_much_is_refused(origin, taskbench, home, tmp_path, monkeypatch):
    package, _ = origin
    crafted = build(tmp_path / "bomb.zip", big_member(package, 40 << 20))
    assert crafted.stat().st_size < 200_000
    assert_refused(predict_package(crafted, tmp_path), crafted, "member 'nodes/model/padding.bin' would expand",
                   "over the limit of 100 (TASKBENCH_PACKAGE_MAX_RATIO)")
    assert nothing_unpacked(home)


def test_a_header_that_understates_a_member_does_not_pass(origin, taskbench, home, tmp_path, monkeypatch):
    package, _ = origin
    monkeypatch.setenv("TASKBENCH_PACKAGE_MAX_BYTES", "1m")
    declared = 300_000  # under the limit and under the ratio's grace size; the data holds 3 MB
    files = big_member(package, 3 << 20)
    real = files["nodes/model/padding.bin"]

    def understate(manifest):
        manifest["files"]["nodes/model/padding.bin"] = {"sha256": hashlib.sha256(real[:declared]).hexdigest(),
                                                        "size": declared}

    crafted = build(tmp_path / "liar.zip", files, edit_manifest=understate)
    patch(crafted, lambda data: struct.pack_into("<I", data, central_entry(data, "nodes/model/padding.bin") + 24, declared))
    assert_refused(predict_package(crafted, tmp_path), crafted, "'nodes/model/padding.bin'")
    assert nothing_unpacked(home)


# --- malformed packages ----------------------------------------------------------------------------------------------


def _corrupt_deflate(path: Path) -> None:
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("tasks/model/builtin_helpers.py")
    data = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length
    for i in range(start + 20, start + info.compress_size - 20, 7):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def _set_encrypted(path: Path) -> None:
    def edit(data):
        pos = central_entry(data, "plan.json")
        struct.pack_into("<H", data, pos + 8, struct.unpack_from("<H", data, pos + 8)[0] | 0x1)
    patch(path, edit)


def _set(key, value):
    return lambda manifest: manifest.__setitem__(key, value(manifest) if callable(value) else value)


def _plan(data: bytes):
    return lambda files: {**files, "plan.json": data}


MALFORMED = {
    "files-a-list": (dict(edit_manifest=_set("files", lambda m: list(m["files"]))), None,
                     "its manifest's 'files' is not a table of file names to digests."),
    "entry-a-string": (dict(edit_manifest=lambda m: m["files"].__setitem__("plan.json", "0" * 64)), None,
                       "its manifest's entry for 'plan.json' is not a table with 'sha256' and 'size'."),
    "entry-without-sha256": (dict(edit_manifest=lambda m: m["files"]["plan.json"].pop("sha256")), None,
                             "its manifest's entry for 'plan.json' has no sha256 digest."),
    "plan-not-json": ({}, _plan(b"{'nodes': ["), "its plan.json is not valid JSON."),
    "plan-without-nodes": ({}, _plan(b'{"target_type": "regression", "final": "model"}'),
                           "its plan.json has no 'nodes' list."),
    "300-character-name": ({}, lambda files: {**files, "tasks/model/" + "a" * 300: b"x"},
                           "has a name of 312 characters; names over 255 characters"),
    "file-and-folder": ({}, lambda files: {**files, "tasks/model/custom.py/inner.py": b"x"},
                        "'tasks/model/custom.py' is both a file and a folder."),
    "corrupted-deflate": ({}, None, "the data of 'tasks/model/builtin_helpers.py' is damaged"),
    "encryption-flag": ({}, None, "member 'plan.json' is encrypted; taskbench packages are never encrypted."),
    "truncated": ({}, None, "it is not a readable zip file"),
}
AFTER = {"corrupted-deflate": _corrupt_deflate, "encryption-flag": _set_encrypted,
         "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_packages_are_refused_in_one_sentence(origin, taskbench, home, tmp_path, case):
    package, _ = origin
    options, change_files, phrase = MALFORMED[case]
    files = members(package)
    if change_files:
        files = change_files(files)
    crafted = build(tmp_path / f"{case}.zip", files, **options)
    if case in AFTER:
        AFTER[case](crafted)
    result = predict_package(crafted, tmp_path)
    assert_refused(result, crafted, phrase)
    assert len(result.output.strip().splitlines()) <= 3  # one sentence, wrapped at most at 200 columns
    assert nothing_unpacked(home)
    assert not (tmp_path / "out.csv").exists()


# --- trust ------------------------------------------------------------------------------------------------------------


def test_help_says_package_code_runs_with_your_rights(taskbench):
    shown = flat(taskbench("predict", "--help").output)
    assert "runs with your rights" in shown or "run with your rights" in shown
    assert "--docker" in shown and "--env" in shown and "TASKBENCH_PACKAGE_MAX_BYTES" in shown


def test_first_use_of_a_foreign_package_warns_once_per_workspace(origin, taskbench, home, tmp_path, monkeypatch):
    package, _ = origin
    warning = f"warn package {package} was not exported from this workspace: its task code runs with your rights"
    first = predict_package(package, tmp_path)
    assert first.exit_code == 0, first.output
    assert warning in flat(first.stderr) and warning not in flat(first.stdout)
    second = predict_package(package, tmp_path)
    assert second.exit_code == 0 and "not exported from this workspace" not in flat(second.output)
    monkeypatch.setenv("TASKBENCH_HOME", str(tmp_path / "third"))
    third = predict_package(package, tmp_path)
    assert third.exit_code == 0 and warning in flat(third.stderr)



def test_a_package_scored_in_containers_is_not_told_to_use_containers(origin, tmp_path):
    """`predict --package --docker` (or --env) already isolates the code: no advice to add --docker; the first
    use outside a container still warns."""
    from core.deploy.package import import_package

    package, _ = origin
    root = tmp_path / "elsewhere"
    notes: list[str] = []
    import_package(root, package, on_note=notes.append, contained=True)
    assert not [n for n in notes if "not exported from this workspace" in n], notes
    import_package(root, package, on_note=notes.append)
    assert [n for n in notes if "not exported from this workspace" in n], notes

@pytest.mark.parametrize("args, message", [
    (("1", "--docker"), "--docker and --env apply to --package"),
    (("--package", "P", "--docker", "--env", "python-sklearn"), "give --docker or --env NAME, not both."),
    (("--package", "P", "--env", "python-local"), "--env python-local runs the package's code on this machine"),
    (("--package", "P", "--env", "nosuch"), "there is no environment named 'nosuch'"),
])
def test_docker_options_are_checked(origin, taskbench, home, tmp_path, args, message):
    package, _ = origin
    args = [package if a == "P" else a for a in args]
    result = taskbench("predict", *args, "--input", INFERENCE, "--output", tmp_path / "o.csv")
    assert result.exit_code == 2, result.output
    assert message in flat(result.output)
    assert not (tmp_path / "o.csv").exists()




def test_a_late_unpacker_keeps_the_copy_another_command_scores_from(origin, home):
    """Two commands that both found no copy unpack at once: the second to finish keeps the first one's folder."""
    import os

    from core.deploy.package import _check_archive, _extract, import_package, package_limits

    package, _ = origin
    source = import_package(home, package)
    before = os.stat(source.model_dir).st_ino
    with zipfile.ZipFile(package) as zf:  # the second command, which checked before the first had finished
        checked = _check_archive(package, zf, *package_limits())
        _extract(package, zf, checked, source.model_dir, package_limits()[0])
    assert os.stat(source.model_dir).st_ino == before
    assert sorted(p.name for p in (home / "packages").iterdir()) == [".seen", source.model_dir.name]
