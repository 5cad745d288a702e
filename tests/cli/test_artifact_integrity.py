"""Fitted artifacts are code too (SPEC §10): a trained model and a cached fitted step are read-only, a model's files
are verified against the sha256 recorded when it was trained, and a cache entry another member planted is not reused.

Real Unix users through test_team_workspace's fixture (skipped with the reason when not root). The planted pickles
write a marker file when unpickled, so any load of them shows.
"""

from __future__ import annotations

import json
import pickle
import pwd
import re
import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO, SAMPLES
from tests.cli.test_team_workspace import _ok, _one_sentence_refusal, team  # noqa: F401 - team: a fixture

DATA = REPO / "sample_tasks" / "data" / "juniors_3_year_stats_regression.csv"
BLUEPRINT = "# blueprint: a-ridge    target: regression\nnum = impute_median(NUM)\nmodel = ridge(num)\n"


class _Planted:
    """Unpickling it writes the unpickling user's name into `marker`: code run with that user's rights."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"import getpass, pathlib; pathlib.Path({self.marker!r}).write_text(getpass.getuser())",)


def _setup(team, name: str) -> tuple[Path, Path]:
    """A shared workspace where a trained `a-ridge` (model 1) on project `grades`, and a marker folder anyone may
    write; returns (home, marker)."""
    home = team.folder(name) / "ws"
    blueprint = team.root / f"{name}.bp"
    blueprint.write_text(BLUEPRINT)
    blueprint.chmod(0o644)
    _ok(team.run(team.a, "workspace", "init", home, "--group", team.group))
    _ok(team.run(team.a, "task", "add", SAMPLES / "11_regression_ridge", "--name", "ridge", home=home))
    _ok(team.run(team.a, "project", "create", DATA, "--target", "Grade 2014", "--name", "grades", home=home))
    _ok(team.run(team.a, "blueprint", "add", blueprint, home=home))
    _ok(team.run(team.a, "train", "grades", "a-ridge", home=home))
    markers = team.root / f"{name}-markers"
    markers.mkdir()
    markers.chmod(0o1777)
    return home, markers / "planted-code-ran-as"


def _planted_file(team, marker: Path) -> Path:
    path = marker.parent / "planted.pkl"
    path.write_bytes(pickle.dumps(_Planted(marker)))
    path.chmod(0o644)
    return path


def _as_b(team, script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", team.b, "--", "sh", "-c", script], capture_output=True, text=True)


def test_a_model_artifact_another_member_replaced_is_refused_before_it_is_unpickled(team):
    """b's shell cannot overwrite a's fitted artifact; when it is replaced anyway (root plays a member who got past
    the modes), a's predict, insights and serve refuse model 1 in one sentence, and the planted pickle never runs."""
    home, marker = _setup(team, "artifact-swap")
    _ok(team.run(team.a, "deploy", "1", "--name", "a-dep", home=home))
    artifact = home / "models" / "1" / "nodes" / "model" / "artifact.pkl"
    assert artifact.is_file() and not artifact.stat().st_mode & 0o222
    assert not (home / "models" / "1").stat().st_mode & 0o222 and (home / "models" / "1").stat().st_mode & 0o2040
    planted = _planted_file(team, marker)

    for attack in (f"cat {planted} > {artifact}", f"cp {planted} {artifact.parent}/.swap && mv -f "
                   f"{artifact.parent}/.swap {artifact}", f"mv {artifact.parent} {artifact.parent}.gone"):
        by_b = _as_b(team, attack)
        assert by_b.returncode != 0 and "Permission denied" in by_b.stderr, attack
    subprocess.run(["sh", "-c", f"cp {planted} {artifact}.swap && mv -f {artifact}.swap {artifact}"], check=True)
    shutil.chown(artifact, user=team.b)

    for args in (("predict", "1", "--input", DATA, "--output", team.root / "swap-p.csv"),
                 ("insights", "1", "--json"), ("serve", "a-dep", "--port", "0")):
        sentence = " ".join(_one_sentence_refusal(team.run(team.a, *args, home=home)).split())
        assert "model 1 was changed after training (nodes/model/artifact.pkl changed)" in sentence, args
        assert "retrain it with `taskbench train grades --retrain 1`" in sentence, args
    assert not marker.exists(), f"the planted pickle ran as {marker.read_text()}"
    assert not (team.root / "swap-p.csv").exists()


def test_a_cache_entry_another_member_planted_is_not_reused(team):
    """b cannot write into a's cached fitted step, but may rename it away and put an entry of b's own under its
    key (the cache folder is the group's); a's next training fits the step afresh and never unpickles b's."""
    home, marker = _setup(team, "cache-plant")
    entries = [p for p in (home / "cache").glob("*/*") if p.is_dir() and re.fullmatch(r"[0-9a-f]+", p.name)]
    assert len(entries) == 1, entries
    entry = entries[0]
    planted = _planted_file(team, marker)
    refused = _as_b(team, f"cp {planted} {entry}/outputs.pkl")
    assert refused.returncode != 0 and "Permission denied" in refused.stderr
    plant = (f"mv {entry} {entry}.gone && mkdir {entry} && cp -r {entry}.gone/artifacts {entry}/artifacts && "
             f"cp {entry}.gone/groups {entry}.gone/complete {entry}/ && cp {planted} {entry}/outputs.pkl && "
             f"chmod -R u+w {entry} && "
             f"for f in {entry}/artifacts/*/*.pkl {entry}/artifacts/*.pkl; do [ -f $f ] && cp {planted} $f; done; true")
    by_b = _as_b(team, plant)
    print(f"b's plant: exit {by_b.returncode} {by_b.stderr.strip()}")
    if not (entry / "outputs.pkl").is_file() or (entry / "outputs.pkl").stat().st_uid != pwd.getpwnam(team.b).pw_uid:
        subprocess.run(["sh", "-c", plant.replace(f"mv {entry} {entry}.gone", f"rm -rf {entry}.gone; mv {entry} "
                                                  f"{entry}.gone")], check=True)
        subprocess.run(["chown", "-R", team.b, str(entry)], check=True)

    _ok(team.run(team.a, "train", "grades", "a-ridge", home=home))
    assert not marker.exists(), f"the planted pickle ran as {marker.read_text()}"
    jobs = json.loads(_ok(team.run(team.a, "jobs", "--json", home=home)))
    log = _ok(team.run(team.a, "logs", str(next(j["id"] for j in jobs if j["kind"] == "train")), home=home))
    assert "is not all owned by this user, so it is not reused; fitting afresh" in " ".join(log.split())
    _ok(team.run(team.a, "predict", "2", "--input", DATA, "--output", marker.parent / "cache-p.csv", home=home))
    assert not marker.exists()
