"""requirements.txt is installed once per (environment, requirements) and reused (SPEC §2.6)."""

from __future__ import annotations

from tests.conftest import DATA, make_task

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"

TASK = '''
import pickle
import pandas as pd
import tomli_w


def fit(X, y, output_dir, **kwargs):
    print("tomli_w says", tomli_w.dumps({"rows": len(X)}).strip())
    pickle.dump(float(y.mean()), open(f"{output_dir}/mean.pkl", "wb"))


def predict(X, model, **kwargs):
    return pd.DataFrame({"Predictions": [model] * len(X)})
'''


def flat(result):
    return " ".join(result.output.split())


def test_missing_package_is_installed_once_then_reused(tmp_path, taskbench, home):
    task = make_task(tmp_path, {"custom.py": TASK, "requirements.txt": "tomli-w  # small, pure Python\n"})
    args = ["fit", "--code-dir", task, "--input", JUNIORS, "--target-type", "regression", "--target", "Grade 2014", "--verbose"]
    first = taskbench(*args)
    assert first.exit_code == 0, first.output
    assert "installing 1 requirement(s) into a new cached environment" in flat(first)
    assert 'tomli_w says rows = 1477' in flat(first)
    second = taskbench(*args)
    assert second.exit_code == 0, second.output
    assert "reused the cached environment" in flat(second)
    assert "installing" not in flat(second)
    assert len(list((home / "venvs").iterdir())) == 1


def test_uninstallable_requirement_fails_before_task_code_runs(tmp_path, taskbench, home):
    marker = tmp_path / "ran"
    body = TASK.replace("import tomli_w\n", f"open({str(marker)!r}, 'w').write('x')\n")
    task = make_task(tmp_path, {"custom.py": body, "requirements.txt": "this-package-does-not-exist-taskbench==9.9.9\n"})
    result = taskbench("fit", "--code-dir", task, "--input", JUNIORS, "--target-type", "regression", "--target", "Grade 2014")
    assert result.exit_code == 1, result.output
    assert "requirements.txt could not be installed" in flat(result)
    assert "this-package-does-not-exist-taskbench" in flat(result)
    assert not marker.exists()
    venvs = home / "venvs"
    assert not venvs.exists() or list(venvs.iterdir()) == [], "a failed install must leave no environment behind"


def test_a_requirement_pip_cannot_find_is_shown_once(tmp_path, taskbench, home, monkeypatch):
    """`score --code-dir` on a fitted folder whose requirements.txt pins a version no index has: pip's output (with
    its whole version list) is shown live once, not again under the error, which stays one sentence (a trial
    finding: joblib==0.0.1 printed pip's version list twice)."""
    links = tmp_path / "links"
    links.mkdir()
    for version in ("1.0", "1.1", "2.0"):
        (links / f"taskbenchprobe-{version}.tar.gz").write_bytes(b"")  # pip reads versions from the names
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    folder = make_task(tmp_path, {"custom.py": TASK.replace("import tomli_w\n", ""),
                                  "requirements.txt": "taskbenchprobe==0.0.1\n"})
    import pickle

    (folder / "mean.pkl").write_bytes(pickle.dumps(1.0))
    result = taskbench("score", "--code-dir", folder, "--input", JUNIORS, "--target-type", "regression")
    assert result.exit_code == 1, result.output
    text = flat(result)
    assert text.count("(from versions: 1.0, 1.1, 2.0)") == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "requirements.txt could not be installed" in errors[0], result.output
    assert result.output.rstrip().splitlines()[-1] == errors[0], "nothing follows the error's sentence"
