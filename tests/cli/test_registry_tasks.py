"""The task registry through `taskbench task …` and its service functions: versions, identity, diff, download."""

from __future__ import annotations

import json
import shutil

import pytest

from core.errors import UsageError
from core.tasks import versions as tasks
from core.store import open_store
from tests.conftest import SAMPLES, make_task, tree_digest

PIPELINE = SAMPLES / "09_binary_text_pipeline"


@pytest.fixture
def store(home):
    with open_store(home) as s:
        yield s


@pytest.fixture
def pipeline(tmp_path):
    """A copy of the sample task whose custom.py imports a helper module."""
    folder = tmp_path / "text_pipeline"
    shutil.copytree(PIPELINE, folder)
    return folder


def test_editing_a_helper_file_makes_version_2_and_diff_shows_it(taskbench, pipeline):
    first = taskbench("task", "add", pipeline, "--name", "textlr")
    assert first.exit_code == 0, first.output
    assert "Added textlr@1" in first.output

    helper = pipeline / "create_pipeline.py"
    helper.write_text(helper.read_text().replace("max_iter=2000", "max_iter=500"))
    second = taskbench("task", "add", pipeline, "--name", "textlr")
    assert second.exit_code == 0, second.output
    assert "Added textlr@2" in second.output

    diff = taskbench("task", "diff", "textlr@1", "textlr@2")
    assert diff.exit_code == 0, diff.output
    assert "--- textlr@1/create_pipeline.py" in diff.output
    assert "+++ textlr@2/create_pipeline.py" in diff.output
    assert "-        (\"model\", LogisticRegression(C=C, max_iter=2000))," in diff.output
    assert "+        (\"model\", LogisticRegression(C=C, max_iter=500))," in diff.output
    assert "custom.py" not in diff.output  # unchanged files are not listed

    versions = json.loads(taskbench("task", "versions", "textlr", "--json").stdout)
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["sha256"] != versions[1]["sha256"]


def test_identical_upload_says_so_and_makes_no_version(taskbench, pipeline, store):
    assert taskbench("task", "add", pipeline, "--name", "same").exit_code == 0
    (pipeline / "__pycache__").mkdir()
    (pipeline / "__pycache__" / "custom.cpython-311.pyc").write_bytes(b"\0cache")  # caches are not content
    again = taskbench("task", "add", pipeline, "--name", "same")
    assert again.exit_code == 0, again.output
    assert "same@1 already has this content" in again.output
    assert "no new version was made" in again.output
    assert [v.version for v in tasks.task_versions(store, "same")] == [1]

    # Identical to an older version (not the latest) is found too.
    (pipeline / "notes.txt").write_text("v2\n")
    assert "Added same@2" in taskbench("task", "add", pipeline, "--name", "same").output
    (pipeline / "notes.txt").unlink()
    version, created = tasks.add_task(store, pipeline, name="same")
    assert (version.version, created) == (1, False)
    assert [v.version for v in tasks.task_versions(store, "same")] == [1, 2]


def test_download_round_trips_byte_for_byte(taskbench, pipeline, tmp_path):
    (pipeline / "data").mkdir()
    (pipeline / "data" / "weights.bin").write_bytes(bytes(range(256)) * 40)
    assert taskbench("task", "add", pipeline, "--name", "rt").exit_code == 0
    target = tmp_path / "out"
    result = taskbench("task", "download", "rt@1", "--to", target)
    assert result.exit_code == 0, result.output
    assert tree_digest(target) == tree_digest(pipeline)

    refused = taskbench("task", "download", "rt", "--to", target)
    assert refused.exit_code == 2
    assert "is not empty" in refused.output
    empty = tmp_path / "empty"
    empty.mkdir()
    assert taskbench("task", "download", "rt", "--to", empty).exit_code == 0
    assert tree_digest(empty) == tree_digest(pipeline)


def test_old_versions_stay_intact_after_new_uploads(store, pipeline, tmp_path):
    v1, _ = tasks.add_task(store, pipeline, name="keep")
    before = tree_digest(v1.path)
    (pipeline / "custom.py").write_text((pipeline / "custom.py").read_text() + "\n# v2\n")
    v2, created = tasks.add_task(store, pipeline, name="keep")
    assert created and v2.version == 2
    assert tree_digest(tasks.get_task_version(store, "keep@1").path) == before
    assert tasks.get_task_version(store, "keep").version == 2


def test_binary_and_added_files_in_diff(store, pipeline):
    tasks.add_task(store, pipeline, name="bin")
    (pipeline / "blob.bin").write_bytes(b"\0\1\2")
    tasks.add_task(store, pipeline, name="bin")
    (pipeline / "blob.bin").write_bytes(b"\0\1\3")
    (pipeline / "README.md").write_text("hello\n")
    tasks.add_task(store, pipeline, name="bin")
    text = tasks.diff_versions(store, "bin@2", "bin@3")
    assert "Binary files bin@2/blob.bin and bin@3/blob.bin differ" in text
    assert "--- /dev/null\n+++ bin@3/README.md" in text
    assert "+hello" in text
    assert tasks.diff_versions(store, "bin@1", "bin@1") == ""


def test_name_defaults_to_metadata_then_folder(store, tmp_path):
    named = make_task(tmp_path, {"custom.py": "def fit(X, y, output_dir, **kw): pass\n",
                                 "model-metadata.yaml": "name: from-metadata\ntargetType: regression\n"}, "folder_a")
    unnamed = make_task(tmp_path, {"custom.py": "def fit(X, y, output_dir, **kw): pass\n"}, "folder_b")
    assert tasks.add_task(store, named)[0].task == "from-metadata"
    version = tasks.add_task(store, unnamed)[0]
    assert version.task == "folder_b"
    assert version.kind is None and version.target_type is None
    assert tasks.add_task(store, unnamed, name="explicit")[0].ref == "explicit@1"


@pytest.mark.parametrize(
    "files, message",
    [
        ({"helper.py": "x = 1\n"}, "has no custom.py or custom.R; a task folder needs exactly one"),
        ({"custom.py": "", "sub/custom.py": ""}, "has 2 task files (custom.py, sub/custom.py); keep exactly one custom.py or custom.R"),
        ({"custom.py": "", "model-metadata.yaml": "targetType: regresion\n"}, "model-metadata.yaml:1:13: targetType"),
    ],
)
def test_invalid_folders_are_one_sentence_exit_2(taskbench, tmp_path, files, message):
    folder = make_task(tmp_path, files, "bad")
    result = taskbench("task", "add", folder)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_version_errors_name_what_exists(taskbench, store, pipeline):
    for _ in range(3):
        tasks.add_task(store, pipeline, name="x")
        tasks.add_task(store, pipeline, name="logreg")
        (pipeline / "custom.py").write_text((pipeline / "custom.py").read_text() + "\n#")
    with pytest.raises(UsageError, match="task 'x' has no version 7; it has 1–3"):
        tasks.get_task_version(store, "x@7")
    result = taskbench("task", "show", "x@7")
    assert result.exit_code == 2
    assert "task 'x' has no version 7; it has 1–3" in result.output
    assert "there is no task named 'lgoreg'; did you mean 'logreg'?" in taskbench("task", "versions", "lgoreg").output
    assert "is not a task reference" in taskbench("task", "show", "x@latest").output


def test_list_show_and_versions_json(taskbench, tmp_path):
    folder = make_task(
        tmp_path,
        {
            "custom.py": "def fit(X, y, output_dir, **kw): pass\n",
            "model-metadata.yaml": """
                name: imputer
                type: training
                targetType: transform
                environmentID: 5e8c889607389fe0f466c72d
                hyperparameters:
                  - name: strategy
                    type: select
                    values: [median, mean]
                    default: median
                shinyNewKey: 1
            """,
        },
        "imputer",
    )
    added = taskbench("task", "add", folder)
    assert added.exit_code == 0, added.output
    assert "unknown key 'shinyNewKey'" in added.output
    assert "DataRobot platform id" in added.output

    listing = json.loads(taskbench("task", "list", "--json").stdout)
    assert listing == [
        {
            "name": "imputer",
            "owner": listing[0]["owner"],
            "created_at": listing[0]["created_at"],
            "versions": 1,
            "latest_version": 1,
            "kind": "transform",
            "target_type": "transform",
            "env": None,
            "updated_at": listing[0]["updated_at"],
            "language": "python",
        }
    ]
    shown = json.loads(taskbench("task", "show", "imputer", "--json").stdout)
    assert [f["path"] for f in shown["files"]] == ["custom.py", "model-metadata.yaml"]
    assert shown["metadata"]["hyperparameters"] == [
        {"name": "strategy", "type": "select", "default": "median", "values": ["median", "mean"]}
    ]
    assert shown["default_schema"].startswith("No typeSchema is declared, so the default applies")
    human = taskbench("task", "show", "imputer@1")
    assert human.exit_code == 0
    text = " ".join(human.output.split())
    assert "the output must be numeric and dense with no missing values" in text
    assert "strategy select 'median' median, mean" in text
    assert "python-local (default)" in text
    assert "imputer v1     transform transform python-local" in taskbench("task", "list").output


def test_env_option_must_name_an_environment(taskbench, pipeline):
    bad = taskbench("task", "add", pipeline, "--env", "no-such-env")
    assert bad.exit_code == 2
    assert "there is no environment named 'no-such-env'" in bad.output
    good = taskbench("task", "add", pipeline, "--name", "dockered", "--env", "python-sklearn")
    assert good.exit_code == 0, good.output
    assert json.loads(taskbench("task", "show", "dockered", "--json").stdout)["env"] == "python-sklearn"
    # The same files with another environment are a new version.
    assert "Added dockered@2" in taskbench("task", "add", pipeline, "--name", "dockered").output
    # python-local is the default, so naming it is the same version.
    assert "dockered@2 already has this content" in taskbench(
        "task", "add", pipeline, "--name", "dockered", "--env", "python-local"
    ).output


def test_created_by_is_the_taskbench_user(monkeypatch, store, pipeline):
    monkeypatch.setenv("TASKBENCH_USER", "alice")
    version, _ = tasks.add_task(store, pipeline, name="owned")
    monkeypatch.setenv("TASKBENCH_USER", "bob")
    (pipeline / "custom.py").write_text((pipeline / "custom.py").read_text() + "\n#")
    second, _ = tasks.add_task(store, pipeline, name="owned")
    assert (version.created_by, second.created_by) == ("alice", "bob")
    assert tasks.list_tasks(store)[0].created_by == "alice"  # the task's owner is its first uploader


def test_fit_check_of_a_pinned_version_runs_that_version(taskbench, tmp_path):
    """Version 1 prints its own marker after version 2 exists; `fit --task NAME@1` checks version 1."""
    task = make_task(
        tmp_path,
        {
            "custom.py": """
            import pickle
            import pandas as pd
            from marker import MARK

            def fit(X, y, output_dir, **kwargs):
                print("running", MARK)
                pickle.dump(float(y.mean()), open(f"{output_dir}/m.pkl", "wb"))

            def predict(X, model, **kwargs):
                return pd.DataFrame({"Predictions": [model] * len(X)})
            """,
            "marker.py": "MARK = 'version-one'\n",
            "model-metadata.yaml": "name: marked\ntype: training\ntargetType: regression\n",
        },
    )
    assert taskbench("task", "add", task).exit_code == 0
    (task / "marker.py").write_text("MARK = 'version-two'\n")
    assert "Added marked@2" in taskbench("task", "add", task).output
    data = SAMPLES / "data" / "juniors_3_year_stats_regression.csv"
    one = taskbench("fit", "--task", "marked@1", "--input", data, "--target", "Grade 2014")
    assert one.exit_code == 0, one.output
    assert "running version-one" in one.output
    latest = taskbench("fit", "--task", "marked", "--input", data, "--target", "Grade 2014")
    assert "running version-two" in latest.output
    missing = taskbench("fit", "--task", "marked@9", "--input", data, "--target", "Grade 2014")
    assert missing.exit_code == 2 and "has no version 9" in " ".join(missing.output.split())


def test_a_folder_without_metadata_is_added_with_a_warning(tmp_path, taskbench):
    folder = make_task(tmp_path, {"custom.py": "def fit(X, y, output_dir, **kwargs):\n    pass\n"}, name="bare")
    result = taskbench("task", "add", folder)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "warn the folder has no model-metadata.yaml" in text and "Added bare@1" in text


def test_diff_with_one_name_compares_the_last_two_versions_or_says_why_it_cannot(taskbench, pipeline):
    assert taskbench("task", "add", pipeline, "--name", "textlr").exit_code == 0
    alone = taskbench("task", "diff", "textlr")
    assert alone.exit_code == 2
    assert "task textlr has only version 1; diff needs two (upload another with task add)." in " ".join(alone.output.split())
    helper = pipeline / "create_pipeline.py"
    for iterations in ("500", "700"):
        helper.write_text(helper.read_text().replace("max_iter=2000", f"max_iter={iterations}").replace("max_iter=500", f"max_iter={iterations}"))
        assert taskbench("task", "add", pipeline, "--name", "textlr").exit_code == 0
    last_two = taskbench("task", "diff", "textlr")
    assert last_two.exit_code == 0, last_two.output
    assert "--- textlr@2/create_pipeline.py" in last_two.output and "+++ textlr@3/create_pipeline.py" in last_two.output
    against_latest = taskbench("task", "diff", "textlr@1")
    assert "--- textlr@1/create_pipeline.py" in against_latest.output and "+++ textlr@3/" in against_latest.output
    latest = taskbench("task", "diff", "textlr@3")
    assert latest.exit_code == 2 and "textlr@3 is the latest version" in latest.output
