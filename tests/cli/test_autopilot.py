"""`train --autopilot`: templates, their inner CV, tuning and blenders of the best by it; stages on screen and in the job log."""

from __future__ import annotations

import json
import re
import threading

import pytest

from tests.cli.test_training import JUNIORS, board, flat
from tests.conftest import leftovers


@pytest.fixture
def juniors(taskbench):
    result = taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors")
    assert result.exit_code == 0, result.output


@pytest.fixture
def tuned(monkeypatch):
    """tune_model stood in by a recorder that tries nothing (tune.py has its own tests)."""
    from core.training import tune

    calls = []

    def fake(store, model_id, *, deadline=None, events=None, **kwargs):
        calls.append((model_id, deadline))
        return tune.TuneResult(parent_id=model_id, best_model_id=model_id, model_ids=[])

    monkeypatch.setattr(tune, "tune_model", fake)
    return calls


def test_autopilot_trains_templates_tunes_the_best_and_blends_them(juniors, tuned, taskbench, home, tmp_path):
    result = taskbench("train", "juniors", "--autopilot", "--budget", "5m", "--jobs", "2", "--metric", "R2")
    assert result.exit_code == 0, result.output
    text = flat(result)
    for stage in ("templates", "scoring", "tuning", "blenders"):
        assert f"stage {stage} starts at" in text and f"stage {stage} took" in text, result.output
    # The opening line says what tuning does now (it ends when the blenders' time is left, no fixed share) and the
    # scoring stage, which makes no model, names the models it scored (a trial finding: 'models none').
    assert "tuning until the time kept for the blenders, then blenders" in text and "80%" not in text, text
    assert re.search(r"stage scoring took [\d.]+ s; no new model \(inner CV scored models \d+(, \d+)+, best first\)",
                     text), text
    rows = {r["blueprint"]: r for r in board(taskbench, "juniors")}
    from core.blueprints.templates import templates_for
    from core.training.autopilot import autopilot_blueprints

    from core.blueprints.syntax import parse_blueprint

    texts = {t.name: t.text for t in templates_for("regression")}
    texts.update({s.label: s.text for s in autopilot_blueprints("regression")})
    assert {"extra-trees", "slow-boosting"} <= set(texts) <= set(rows)
    jobs = json.loads(taskbench("jobs", "--json").output)
    (pilot,) = [j for j in jobs if j["kind"] == "autopilot"]
    log = (home / "logs" / f"job-{pilot['id']}.log").read_text()
    for stage in ("templates", "scoring", "tuning", "blenders"):
        assert f"stage {stage} started at" in log and f"stage {stage} took" in log, log
    # Every template is scored by inner CV on the training folds, and that score (never validation) chooses: the
    # three best by it are tuned (two searches at once with --jobs 2), each by a deadline within the budget; averages
    # (whose only choice is mean or median) are not.
    inner = [(int(m), float(v)) for m, v in re.findall(r"(\d+) (-?[\d.]+)", re.search(r"inner CV (\d+ -?[\d.]+.*)", log)[1])]
    assert sorted(m for m, _ in inner) == sorted(rows[name]["model"] for name in texts)
    assert [v for _, v in inner] == sorted((v for _, v in inner), reverse=True)  # R2: best first
    name_of = {rows[name]["model"]: name for name in texts}
    by_inner = [name_of[m] for m, _ in inner]
    searched = [name for name in by_inner if parse_blueprint(texts[name], name).final.task != "average_blend"]
    assert len(searched) < len(by_inner) and sorted(m for m, _ in tuned) == sorted(rows[n]["model"] for n in searched[:3])
    assert re.search(r"\d+ s kept for the blenders: tuning until \d+ s", log)
    # The stacked blender takes the best of each family (the same final task: ridge, hgb_regressor, ...) by inner
    # CV, five of them; the average, the members forward selection on the out-of-fold predictions chose.
    families = {}
    for name in by_inner:
        families.setdefault(parse_blueprint(texts[name], name).final.task, rows[name]["model"])
    assert len(families) < len(by_inner)  # ridge-text and impute-standardize-ridge are one family, as are the boosters
    chosen = re.search(r"average chosen on the inner CV's out-of-fold predictions: models ([\d, ]+), inner CV", log)
    averaged = sorted(int(m) for m in chosen[1].split(", "))
    assert len(averaged) >= 2 and averaged[0] in [m for m, _ in inner]
    tags = {"avg": "-".join(f"#{m}" for m in averaged),
            "stack": "-".join(f"#{m}" for m in sorted(list(families.values())[:5]))}
    for kind, tag in tags.items():
        blend = rows[f"blend-{kind}-{tag}"]
        assert blend["state"] == "trained" and blend["validation"]["R2"] > 0, blend
    best = max(rows.values(), key=lambda r: r["validation"]["R2"])
    assert f"Best model {best['model']}: validation R2" in text

    # A blender is a model like any other: it predicts and exports.
    stacked = rows[f"blend-stack-{tags['stack']}"]["model"]
    out = tmp_path / "predictions.csv"
    scored = taskbench("predict", str(stacked), "--input", JUNIORS, "--output", out)
    assert scored.exit_code == 0, scored.output
    assert out.read_text().splitlines()[0] == "Predictions" and len(out.read_text().splitlines()) == 1478
    package = tmp_path / "blend.zip"
    exported = taskbench("export", str(stacked), "--to", package)
    assert exported.exit_code == 0 and package.is_file(), exported.output
    assert leftovers(home) == []


def test_the_budget_stops_the_autopilot_cleanly_and_keeps_finished_models(juniors, tuned, home):
    """At the budget the autopilot sets its stop event (here, as the second model starts): the running training ends
    cancelled with its files removed, nothing else starts, the finished model stays and is the best."""
    from core.service import Workspace
    from core.training.autopilot import run_autopilot
    from core.training.projects import get_project

    stop = threading.Event()
    started = []

    def event(kind, data):
        if kind == "started":
            started.append(data["model"])
            if len(started) == 2:
                stop.set()

    with Workspace(home).store() as store:
        result = run_autopilot(store, "juniors", budget=300, jobs=1, on_event=event, cancel=stop)
        models = store.project_models(get_project(store, "juniors").id)
    assert sorted((m.id, m.state, m.message) for m in models) == [
        (started[0], "trained", None), (started[1], "failed", "cancelled")]
    assert [s.name for s in result.stages] == ["templates", "scoring", "tuning", "blenders"]
    assert result.stages[0].models == [started[0]] and "not trained" in result.stages[0].note
    assert {s.note for s in result.stages[1:]} == {"skipped: the budget is spent"}
    assert tuned == [] and result.best == started[0]
    assert sorted(p.name for p in (home / "models").iterdir()) == [str(started[0])]
    assert leftovers(home) == []


def test_autopilot_options_go_together(juniors, taskbench):
    alone = taskbench("train", "juniors", "--budget", "5m")
    assert alone.exit_code == 2 and "--budget and --metric go with --autopilot" in flat(alone)
    both = taskbench("train", "juniors", "--autopilot", "--templates")
    assert both.exit_code == 2 and "--autopilot picks its own blueprints" in flat(both)
    bad = taskbench("train", "juniors", "--autopilot", "--budget", "soon")
    assert bad.exit_code == 2 and "'soon' is not a duration; write it as 90s, 10m or 1h." in flat(bad)
    metric = taskbench("train", "juniors", "--autopilot", "--metric", "AUC")
    assert metric.exit_code == 2 and "metric 'AUC' does not apply to regression" in flat(metric)


def test_a_tuning_stopped_by_the_budget_keeps_its_models_and_ctrl_c_ends_the_autopilot(juniors, monkeypatch, home):
    from core.service import Workspace
    from core.training import tune
    from core.training.autopilot import run_autopilot

    stop = threading.Event()

    def budget_ends(store, model_id, *, cancel=None, **kwargs):
        cancel.set()  # the budget's timer, as the search runs
        raise tune.TuneStopped(tune.TuneResult(parent_id=model_id, best_model_id=model_id))

    monkeypatch.setattr(tune, "tune_model", budget_ends)
    with Workspace(home).store() as store:  # one search at a time: the first sets the budget's stop
        result = run_autopilot(store, "juniors", budget=300, jobs=1, cancel=stop)
    tuned, blended = result.stages[2:]
    assert tuned.note.count("not tuned: the budget is spent") == 2 and blended.note == "skipped: the budget is spent"
    assert result.best is not None

    def ctrl_c(store, model_id, **kwargs):
        raise tune.TuneStopped(tune.TuneResult(parent_id=model_id, best_model_id=model_id))

    monkeypatch.setattr(tune, "tune_model", ctrl_c)
    with Workspace(home).store() as store, pytest.raises(KeyboardInterrupt):
        run_autopilot(store, "juniors", budget=300, jobs=2)
    with Workspace(home).store() as store:
        pilots = sorted((j.id, j.state) for j in store.list_jobs() if j.kind == "autopilot")
    assert [state for _, state in pilots] == ["succeeded", "cancelled"]


def test_blenders_that_cannot_finish_within_the_budget_are_not_started(juniors, monkeypatch, home):
    import time

    from core.service import Workspace
    from core.training import tune
    from core.training.autopilot import Autopilot
    from core.training.projects import get_project

    late = [0.0]

    def tuning_takes_the_time(store, model_id, **kwargs):
        late[0] = 299.0  # the clock jumps to a second before the budget's end
        return tune.TuneResult(parent_id=model_id, best_model_id=model_id)

    monkeypatch.setattr(tune, "tune_model", tuning_takes_the_time)
    with Workspace(home).store() as store:
        project = get_project(store, "juniors")
        pilot = Autopilot(store, project, budget=300, jobs=2, clock=lambda: time.monotonic() + late[0])
        result = pilot.run()
        models = store.project_models(project.id)
    assert re.fullmatch(r"skipped: the blenders need about \d+ s and [01] s are left", result.stages[3].note)
    assert {m.state for m in models} == {"trained"} and not any(m.blueprint.startswith("blend-avg") for m in models)


def test_autopilot_and_tuning_logs_are_for_readers_of_their_project():
    """Their jobs name the project they ran on, so a member who may read it may read their logs (as a training's)."""
    from types import SimpleNamespace

    from core.jobs.queries import _log_subject

    for kind in ("train", "autopilot", "tune"):
        job = SimpleNamespace(kind=kind, subject={"project": "diabetes", "model": 3})
        assert _log_subject(None, job) == ("project", "diabetes"), kind
    assert _log_subject(None, SimpleNamespace(kind="env-build", subject={})) == ("env-build", None)


def test_an_average_feeding_a_stacker_gets_out_of_fold_predictions_of_its_members(tmp_path, juniors, taskbench, home):
    """A stacked blender over a model that averages (the blend template, blend-avg) learns from the average's
    out-of-fold predictions, so its members are fitted on inner folds too: in-sample predictions of the members
    made the stacker trust the average and scored validation R2 below 0 on juniors."""
    from tests.cli.test_training import PREFIX, job_log, write

    members = PREFIX + "forest = random_forest_regressor(scaled, n_estimators=10)\nlinear = ridge(scaled)\n"
    stacked = write(tmp_path, "stacked", members + "avg    = average_blend(forest, linear)\nmodel  = ridge(avg)\n")
    assert taskbench("train", "juniors", stacked).exit_code == 0
    assert job_log(home, 1).count("ridge: alpha=1.0, 33 columns") == 1 + 3


def test_an_average_is_not_tuned_even_when_it_ranks_first(juniors, tuned, monkeypatch, home):
    """Tuning searches the final node, and an average's only choice is mean or median: the places go to models with a
    real search (here the ridge, though the average of the ridge and a forest scores better)."""
    from core.blueprints import templates
    from core.store import open_store
    from core.training import autopilot
    from core.training.engine import BlueprintSource

    members = "num    = impute_median(NUM)\nlinear = ridge(num)\nforest = random_forest_regressor(num)\n"
    sources = [BlueprintSource("linear", "num = impute_median(NUM)\nmodel = ridge(num)\n"),
               BlueprintSource("average", members + "model  = average_blend(linear, forest)\n")]
    monkeypatch.setattr(templates, "templates_for", lambda target_type: [])
    monkeypatch.setattr(autopilot, "autopilot_blueprints", lambda target_type: sources)
    with open_store(home) as store:
        result = autopilot.run_autopilot(store, "juniors", budget=300, jobs=1, metric="R2")
        scores = {store.model(m).blueprint: store.model(m).scores["validation"]["R2"] for m in result.stages[0].models}
    assert scores["average"] > scores["linear"]  # the average ranks first ...
    assert [m for m, _ in tuned] == [result.stages[0].models[0]]  # ... and only the ridge is tuned


def test_the_stage_summaries_name_what_was_not_trained_scored_tuned_or_blended_and_why(juniors, tuned, monkeypatch, home):
    """Trial findings: '1 of 8 template(s) not trained (failed or out of time)' without the template; 'models none
    (4 of 7 model(s) not scored ...)' after a log line of three scores; 'skipped: no trained model or no time left to
    tune' at 33 s of 60; and a stacker whose member had no inner CV score, though the blenders choose by it."""
    import time

    from core.blueprints import templates
    from core.service import Workspace
    from core.training import autopilot, tune
    from core.training.engine import BlueprintSource
    from core.training.projects import get_project

    num = "num = impute_median(NUM)\n"
    sources = [BlueprintSource("linear", num + "model = ridge(num)\n"),
               BlueprintSource("boost", num + "model = hgb_regressor(num)\n"),
               BlueprintSource("forest", num + "model = random_forest_regressor(num, n_estimators=10)\n"),
               BlueprintSource("trees", num + "model = extra_trees_regressor(num, n_estimators=10)\n"),
               BlueprintSource("broken", num + "model = no_such_task(num)\n")]
    monkeypatch.setattr(templates, "templates_for", lambda target_type: [])
    monkeypatch.setattr(autopilot, "autopilot_blueprints", lambda target_type: sources)
    real = tune.inner_cv_scores

    def forest_late_trees_failing(store, ids, **kwargs):  # the forest not reached by the scoring's end
        names = {m: store.model(m).blueprint for m in ids}
        found = real(store, [m for m in ids if names[m] not in ("forest", "trees")], **kwargs)
        found.errors.update({m: "the trees fell over" for m in ids if names[m] == "trees"})
        return found

    monkeypatch.setattr(tune, "inner_cv_scores", forest_late_trees_failing)
    late = [0.0]

    def event(kind, data):  # tuning starts 15 s before the budget's end; the blenders then get their time back
        if kind == "stage-started" and data["stage"] == "tuning":
            late[0] = 285.0 - (time.monotonic() - pilot.start)
        elif kind == "stage-started" and data["stage"] == "blenders":
            late[0] = 0.0

    with Workspace(home).store() as store:
        project = get_project(store, "juniors")
        pilot = autopilot.Autopilot(store, project, budget=300, jobs=2, metric="R2", on_event=event,
                                    clock=lambda: time.monotonic() + late[0])
        result = pilot.run()
        ids = {store.model(m).blueprint: m for m in result.stages[0].models}
        log = (home / "logs" / f"job-{result.job_id}.log").read_text()
    made, scoring, tuning, blending = result.stages
    assert re.fullmatch(r"1 of 5 template\(s\) not trained: broken \(failed: [^\n]+\)", made.note), made.note
    assert "no_such_task" in made.note
    assert scoring.models == [] and re.fullmatch(
        rf"inner CV scored models ({ids['linear']}, {ids['boost']}|{ids['boost']}, {ids['linear']}), best first; "
        rf"2 of 4 not scored: {ids['trees']} \(failed: the trees fell over\), {ids['forest']} \(out of time\)",
        scoring.note), scoring.note
    assert "stage scoring took" in log and "no new model (inner CV scored models" in log
    assert re.fullmatch(r"skipped: no time left to tune: \d+ s left at 28[5-9] s until the blenders' \d+ s kept aside "
                        r"at \d+ s of 300 s; a search needs 10 s with 2 at once", tuning.note), tuning.note
    assert tuned == []
    # Only models with an inner CV score are blended; the log says which were left out and why.
    assert f"not blended, having no inner CV score on the training folds (not scored in time, failed, or a tuning " \
           f"winner without one): models {', '.join(map(str, sorted([ids['forest'], ids['trees']])))}" in log
    with Workspace(home).store() as store:
        blenders = [store.model(m).blueprint for m in blending.models]
    pair = "-".join(f"#{m}" for m in sorted([ids["linear"], ids["boost"]]))
    assert sorted(blenders) == [f"blend-avg-{pair}", f"blend-stack-{pair}"], (blenders, blending.note)


def test_inner_cv_records_the_first_line_of_the_error_of_a_model_it_could_not_score(juniors, taskbench, home,
                                                                                   monkeypatch, tmp_path):
    from core.errors import TaskbenchError
    from core.store import open_store
    from core.training import tune

    bp = tmp_path / "ridge.bp"
    bp.write_text("num = impute_median(NUM)\nmodel = ridge(num)\n")
    assert taskbench("train", "juniors", str(bp)).exit_code == 0

    def fails(self, checked, fold, name):
        raise TaskbenchError("the fold would not fit\nsecond line")

    monkeypatch.setattr(tune._Evaluator, "fit_fold", fails)
    with open_store(home) as store:
        found = tune.inner_cv_scores(store, [1], metric="R2")
    assert found.scores == {} and found.errors == {1: "the fold would not fit"}
