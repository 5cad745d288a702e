"""`task add` and `blueprint check` warn, before any fit, when a custom.py certainly fails every fit: it does not
parse, or it lacks `fit` (or a transform's `transform`), with a near-miss name offered (a trial finding)."""

from __future__ import annotations

from tests.conftest import make_task

TYPO_TRANSFORM = {
    "custom.py": """
        def fit(X, y, output_dir, **kwargs):
            pass


        def tranform(X, transformer):
            return X
    """,
    "model-metadata.yaml": "name: typo\ntype: training\ntargetType: transform\n",
}
NO_FIT = {
    "custom.py": """
        def fitt(X, y, output_dir, **kwargs):
            pass


        def predict(X, model, **kwargs):
            return X
    """,
    "model-metadata.yaml": "name: nofit\ntype: training\ntargetType: regression\n",
}
BROKEN = {
    "custom.py": "def fit(X, y, output_dir, **kwargs)\n    pass\n",
    "model-metadata.yaml": "name: broken\ntype: training\ntargetType: regression\n",
}
CLASS_TASK = {
    "custom.py": """
        class CustomTask:
            def fit(self, X, y, **kwargs):
                pass

            def transform(self, X):
                return X
    """,
    "model-metadata.yaml": "name: classy\ntype: training\ntargetType: transform\n",
}


def flat(result):
    return " ".join(result.output.split())


def test_task_add_warns_of_a_missing_hook_with_a_near_miss_and_its_line(taskbench, tmp_path):
    typo = taskbench("task", "add", make_task(tmp_path, TYPO_TRANSFORM, name="typo"))
    assert typo.exit_code == 0
    assert ("custom.py defines no transform hook, so every fit of this task fails; line 5 defines 'tranform': "
            "did you mean 'transform'?") in flat(typo)
    nofit = flat(taskbench("task", "add", make_task(tmp_path, NO_FIT, name="nofit")))
    assert "custom.py defines no fit hook, so every fit of this task fails; line 1 defines 'fitt'" in nofit
    broken = flat(taskbench("task", "add", make_task(tmp_path, BROKEN, name="broken")))
    assert "custom.py does not parse (line 1, column 36: expected ':'), so every fit of this task fails" in broken
    classy = flat(taskbench("task", "add", make_task(tmp_path, CLASS_TASK, name="classy")))
    assert "warn" not in classy and "Added classy@1" in classy


def test_blueprint_check_warns_at_the_node_of_a_task_that_cannot_fit(taskbench, tmp_path):
    assert taskbench("task", "add", make_task(tmp_path, TYPO_TRANSFORM, name="typo")).exit_code == 0
    bp = tmp_path / "a.bp"
    bp.write_text("x = typo(NUM)\nmodel = ridge(x)\n")
    checked = taskbench("blueprint", "check", bp, "--target-type", "regression")
    assert checked.exit_code == 0
    assert f"{bp}:1:5: warning: task 'typo@1': custom.py defines no transform hook" in flat(checked)
