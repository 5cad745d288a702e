"""Rights on models (SPEC §10) as real Unix users: reading a project gives execute on its models (insights,
predictions, deployments, training logs), which stops at a task's code and fitted artifact.

Reuses test_team_workspace's fixture: a group with members a and b, an outsider c, and a `taskbench` each can run
(skipped with the reason when not root).
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLES
from tests.cli.test_team_workspace import _not_shared, _ok, _one_sentence_refusal, team  # noqa: F401 - team: a fixture

TASK = "ridge_probe"
DATA = REPO / "sample_tasks" / "data" / "juniors_3_year_stats_regression.csv"
BLUEPRINT = f"# blueprint: a-ridge    target: regression\nnum = impute_median(NUM)\nmodel = {TASK}(num)\n"
PROBE = '''

def score_probe():
    """Where scoring runs (the scratch folder in the workspace): the mode of a file it creates there."""
    import os
    try:
        with open("probe-file.txt", "w") as fh:
            fh.write("probe")
        print(f"probe mode {os.stat('probe-file.txt').st_mode & 0o777:o}")
    except OSError:
        pass


_plain_predict = predict


def predict(X, model, **kwargs):
    score_probe()
    return _plain_predict(X, model, **kwargs)
'''


def _task_folder(team) -> Path:
    """a's task: the sample ridge regression, renamed, whose predict reports the mode of a file it writes."""
    folder = team.root / "ridge-probe-task"
    if not folder.exists():
        shutil.copytree(SAMPLES / "11_regression_ridge", folder)
        meta = folder / "model-metadata.yaml"
        meta.write_text(meta.read_text().replace("name: regression_ridge", f"name: {TASK}"))
        (folder / "custom.py").write_text((folder / "custom.py").read_text() + PROBE)
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


def _trained(team, name: str, umask: str = "022") -> tuple[Path, int]:
    """A shared workspace where a registered a task, made the project `grades` and trained a's blueprint on it
    (model 1); nothing is shared yet."""
    home = team.folder(name) / "ws"
    blueprint = team.root / f"{name}.bp"
    blueprint.write_text(BLUEPRINT)
    blueprint.chmod(0o644)
    _ok(team.run(team.a, "workspace", "init", home, "--group", team.group, umask=umask))
    _ok(team.run(team.a, "task", "add", _task_folder(team), home=home, umask=umask))
    _ok(team.run(team.a, "project", "create", DATA, "--target", "Grade 2014", "--name", "grades", home=home,
                 umask=umask))
    _ok(team.run(team.a, "blueprint", "add", blueprint, home=home, umask=umask))
    _ok(team.run(team.a, "train", "grades", "a-ridge", home=home, umask=umask))
    jobs = json.loads(_ok(team.run(team.a, "jobs", "--json", home=home, umask=umask)))
    return home, next(job["id"] for job in jobs if job["kind"] == "train")


def _secrets(team, home: Path) -> list[str]:
    """What must never reach b's screen: the task's code lines and the readable runs of its fitted artifact."""
    code = (_task_folder(team) / "custom.py").read_text()
    lines = [line.strip() for line in code.splitlines() if len(line.strip()) > 12]
    artifact = next((home / "models").rglob("nodes/model/artifact.pkl")).read_bytes()
    runs = [run.decode() for run in re.findall(rb"[\x20-\x7e]{12,}", artifact) if b"sklearn" in run]
    assert lines and runs
    return lines + runs


def _no_leak(secrets: list[str], *outputs: subprocess.CompletedProcess) -> None:
    text = "".join(done.stdout + done.stderr for done in outputs)
    leaked = [secret for secret in secrets if secret in text]
    assert leaked == [], leaked


@pytest.mark.parametrize("umask", ["022", "002"])
def test_reading_a_project_gives_execute_on_its_models_but_not_a_tasks_artifact(team, umask):
    home, train_job = _trained(team, f"model-rights-{umask}", umask)
    secrets = _secrets(team, home)
    b = lambda *args: team.run(team.b, *args, home=home, umask=umask)  # noqa: E731 - b's commands, read as such
    out = team.folder(f"out-{umask}")  # where the members may write their predictions, copies and packages

    refusals = []
    for args in (["insights", "1"], ["predict", "1", "--input", DATA, "--output", out / f"no-{umask}.csv"],
                 ["deploy", "1", "--name", f"never-{umask}"], ["export", "1", "--to", out / f"no-{umask}.zip"],
                 ["artifacts", "1"], ["artifacts", "1", "--to", out / f"no-{umask}"], ["logs", str(train_job)]):
        refused = b(*args)
        sentence = _one_sentence_refusal(refused)
        assert team.a in sentence and "'grades'" in sentence and "--role read" in sentence, args
        refusals.append(refused)
    assert not list(out.glob(f"no-{umask}*"))
    refused = team.run(team.c, "insights", "1", home=home, umask=umask)
    assert f"group {team.group}" in _one_sentence_refusal(refused)
    _no_leak(secrets, *refusals, refused)

    _ok(team.run(team.a, "share", "project", "grades", team.b, "--role", "read", home=home, umask=umask))
    insights = b("insights", "1")
    assert "feature impact" in _ok(insights).lower()
    assert "node 'model'" in insights.stdout and team.a in insights.stdout
    preds = out / f"b-preds-{umask}.csv"
    predicted = b("predict", "1", "--input", DATA, "--output", preds)
    _ok(predicted)
    assert len(preds.read_text().splitlines()) == len(DATA.read_text().splitlines())
    mask = int(umask, 8)  # what b writes outside the workspace follows b's umask, not the workspace's 007
    assert stat.S_IMODE(preds.stat().st_mode) == 0o666 & ~mask
    predict_job = json.loads(_ok(b("jobs", "--json")))[0]
    assert predict_job["kind"] == "predict" and predict_job["created_by"] == team.b
    scored = b("logs", str(predict_job["id"]))
    assert "probe mode 660" in _ok(scored)  # the prestarted scoring process writes with the workspace's umask
    training_log = b("logs", str(train_job))
    assert "training R^2" in _ok(training_log)
    deployed = b("deploy", "1", "--name", f"b-{umask}")
    assert f"b-{umask}" in _ok(deployed)
    listed = {row["name"]: row for row in json.loads(_ok(b("deployments", "--json")))}
    assert listed[f"b-{umask}"]["owner"] == team.b

    listing = b("artifacts", "1")
    assert "num/artifact.pkl" in _ok(listing) and "model/" not in listing.stdout.replace("node 'model'", "")
    assert team.a in listing.stdout and f"share task {TASK} {team.b}" in listing.stdout
    copy = out / f"b-artifacts-{umask}"
    copied = b("artifacts", "1", "--to", copy)
    _ok(copied)
    assert sorted(p.name for p in copy.iterdir()) == ["README.txt", "num"] and (copy / "num" / "artifact.pkl").is_file()
    assert "Left out" in copied.stdout and team.a in copied.stdout
    assert [stat.S_IMODE(p.stat().st_mode) for p in (copy, copy / "README.txt", copy / "num" / "artifact.pkl")] == [
        0o777 & ~mask, 0o666 & ~mask, 0o444 & ~mask]  # the artifact a read-only copy of the frozen model's
    node = b("artifacts", "1", "--node", "model", "--to", out / f"b-node-{umask}")
    assert team.a in _one_sentence_refusal(node) and "download the artifact of node 'model'" in node.stderr
    assert not (out / f"b-node-{umask}").exists()
    _ok(b("artifacts", "1", "--node", "num"))
    package = out / f"b-{umask}.zip"
    exported = b("export", "1", "--to", package)
    assert team.a in _one_sentence_refusal(exported) and "export model 1" in exported.stderr
    assert not package.exists()
    shown = b("task", "show", TASK)
    assert team.a in _one_sentence_refusal(shown)
    _no_leak(secrets, insights, predicted, training_log, deployed, listing, copied, node, exported, shown)
    assert not [line for line in (copy / "README.txt").read_text().splitlines() if line.strip() in secrets]

    _ok(team.run(team.a, "artifacts", "1", "--node", "model", home=home, umask=umask))  # the owner takes it all
    _ok(team.run(team.a, "export", "1", "--to", out / f"a-{umask}.zip", home=home, umask=umask))
    assert stat.S_IMODE((out / f"a-{umask}.zip").stat().st_mode) == 0o666 & ~mask
    assert _not_shared(home) == []


def _serve(team, user: str, home: Path, deployment: str) -> tuple[subprocess.Popen, str]:
    """`taskbench serve DEPLOYMENT --port 0` as `user`; the process and its address once it answers."""
    command = ["runuser", "-u", user, "--", "env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", f"HOME=/home/{user}",
               "LANG=C.UTF-8", f"TASKBENCH_HOME={home}", str(team.taskbench), "serve", deployment, "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=team.root)
    for line in server.stdout:
        found = re.search(r"on (http://\S+?:\d+)", line)
        if found:
            return server, found.group(1)
    server.wait(5)
    raise AssertionError(f"the server did not start: {server.stderr.read()}")


def _post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(f"{url}/predict/", data=body, headers={"Content-Type": "text/csv"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_server_stops_scoring_once_the_deployment_share_is_taken_back(team):
    """b serves a's deployment through a deployment share alone (no share of the project or the task); once a
    takes the share back, the running server answers 403 with one sentence within about a second. A fit check's
    log is for readers of its task."""
    home, _ = _trained(team, "model-serve")
    _ok(team.run(team.a, "fit", "--task", TASK, "--input", DATA, "--target-type", "regression", "--target",
                 "Grade 2014", home=home))
    fit_job = next(job["id"] for job in json.loads(_ok(team.run(team.b, "jobs", "--json", home=home)))
                   if job["kind"] == "fit")
    refused = team.run(team.b, "logs", str(fit_job), home=home)
    assert team.a in _one_sentence_refusal(refused) and f"task '{TASK}'" in refused.stderr
    _no_leak(_secrets(team, home), refused)
    _ok(team.run(team.a, "share", "task", TASK, team.b, "--role", "read", home=home))
    assert "training R^2" in _ok(team.run(team.b, "logs", str(fit_job), home=home))
    _ok(team.run(team.a, "unshare", "task", TASK, team.b, home=home))
    _ok(team.run(team.a, "deploy", "1", "--name", "a-dep", home=home))
    refused = _one_sentence_refusal(team.run(team.b, "serve", "a-dep", "--port", "0", home=home))
    assert team.a in refused and "deployment 'a-dep'" in refused
    _ok(team.run(team.a, "share", "deployment", "a-dep", team.b, "--role", "read", home=home))
    refused = _one_sentence_refusal(team.run(team.b, "undeploy", "a-dep", home=home))  # refused before any question
    assert refused == f"error: only the owner of the deployment 'a-dep', {team.a}, can delete it."
    rows = "\n".join(DATA.read_text().splitlines()[:3]).encode() + b"\n"
    server, url = _serve(team, team.b, home, "a-dep")
    try:
        status, answer = _post(url, rows)
        assert status == 200 and len(answer["predictions"]) == 2, answer
        _ok(team.run(team.a, "unshare", "deployment", "a-dep", team.b, home=home))
        deadline = time.monotonic() + 30
        while status == 200 and time.monotonic() < deadline:
            time.sleep(0.3)
            status, answer = _post(url, rows)
        assert status == 403 and team.a in answer["message"] and "'a-dep'" in answer["message"], answer
        assert "predictions" not in answer and answer["message"].count(". ") == 0
    finally:
        server.terminate()
        server.wait(30)
    assert stat.S_IMODE((home / "taskbench.db").stat().st_mode) == 0o660

    def listed(user):
        return {row["name"]: row for row in json.loads(_ok(team.run(user, "deployments", "--json", home=home)))}

    assert listed(team.a)["a-dep"]["monitor"]["requests"] >= 2  # the numbers b's server recorded, for its owner
    assert listed(team.b)["a-dep"]["monitor"] is None and listed(team.b)["a-dep"]["access"] == "none"
