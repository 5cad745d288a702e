"""`taskbench blueprint …` (SPEC §7, §11): compiler-style check output and exit codes, fmt, add/show/list,
export, from-task and templates."""

from __future__ import annotations

import json
import re

import pytest

from core.blueprints.templates import templates_for
from tests.conftest import DATA, make_task

GOOD = """\
# blueprint: baseline    target: binary
num   = impute_median(NUM)
scale = standardize(num)
model = logistic_regression(scale, C=0.5)
"""

BROKEN = """\
num   = impute_median(NUMS)
extra = pca(num)
model = logistic_regression(num, Cee=2)
"""

MESSAGE = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning): (?P<text>.+)$")


@pytest.fixture
def files(tmp_path):
    def write(name: str, text: str):
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def test_check_prints_compiler_style_messages_and_exits_1_on_errors(taskbench, files):
    path = files("broken.bp", BROKEN)
    result = taskbench("blueprint", "check", path, "--target-type", "binary")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    parsed = [MESSAGE.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m["file"], m["line"], m["column"], m["severity"]) for m in parsed] == [
        (str(path), "1", "23", "error"),
        (str(path), "2", "1", "warning"),
        (str(path), "3", "34", "error"),
    ]
    assert "unknown input 'NUMS'; did you mean 'NUM'?" in parsed[0]["text"]


def test_check_of_a_good_blueprint_says_ok(taskbench, files):
    path = files("good.bp", GOOD)
    result = taskbench("blueprint", "check", path)
    assert result.exit_code == 0 and result.stdout == f"{path}: ok\n"
    result = taskbench("blueprint", "check", path, "--target-type", "regression")
    assert result.exit_code == 1
    assert f"{path}:4:9: error: 'logistic_regression' is a binary/multiclass estimator" in result.stdout


def test_warnings_alone_exit_0(taskbench, files):
    path = files("warn.bp", "num   = impute_median(NUM)\nextra = pca(num)\nmodel = ridge(num)\n")
    result = taskbench("blueprint", "check", path, "--target-type", "regression")
    assert result.exit_code == 0
    assert result.stdout == f"{path}:2:1: warning: node 'extra' is not used by the final node 'model'; " \
                            "it will not be trained\n"


def test_check_json(taskbench, files):
    result = taskbench("blueprint", "check", files("broken.bp", BROKEN), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["messages"][0] == {
        "severity": "error", "line": 1, "column": 23,
        "text": "unknown input 'NUMS'; did you mean 'NUM'? (inputs are the channels NUM, CAT, TXT, DATE, ALL "
                "or names of nodes defined in this blueprint)",
    }


def test_check_syntax_errors_use_the_same_form(taskbench, files):
    path = files("syntax.bp", 'model = ridge(NUM, s="open)\nx y\n')
    result = taskbench("blueprint", "check", path)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}:1:22: error: this string is not closed; end it with \" on the same line",
        f"{path}:2:3: error: expected '=' after the node name 'x', not 'y'; a node reads `name = task(inputs…)`",
    ]


def test_check_against_a_project(taskbench, files):
    created = taskbench("project", "create", DATA / "iris_binary_training.csv", "--target", "Species", "--name", "iris")
    assert created.exit_code == 0, created.output
    path = files("p.bp", "scale = standardize(NUM)\nwords = tfidf(TXT)\nmodel = ridge(scale, words)\n")
    result = taskbench("blueprint", "check", path, "--project", "iris")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}:2:15: warning: the data has no TXT columns, so TXT feeds nothing here",
        f"{path}:3:9: error: 'ridge' is a regression estimator, but the target type is binary; "
        "use a binary estimator such as logistic_regression",
    ]


def test_check_usage_errors_exit_2(taskbench, files, tmp_path):
    path = files("good.bp", GOOD)
    both = taskbench("blueprint", "check", path, "--project", "p", "--target-type", "binary")
    assert both.exit_code == 2 and "not both" in both.stderr
    assert taskbench("blueprint", "check", path, "--target-type", "binery").exit_code == 2
    missing = taskbench("blueprint", "check", tmp_path / "nope.bp")
    assert missing.exit_code == 2 and "is not a file" in missing.stderr
    project = taskbench("blueprint", "check", path, "--project", "nope")
    assert project.exit_code == 2 and "no project named 'nope'" in project.stderr


def test_fmt_prints_checks_and_writes(taskbench, files):
    path = files("messy.bp", "# blueprint: m\nnum=impute_median( NUM )\nmodel = logistic_regression(num,max_iter=50, C=1)\n")
    printed = taskbench("blueprint", "fmt", path)
    assert printed.exit_code == 0
    assert printed.stdout == (
        "# blueprint: m\nnum   = impute_median(NUM)\nmodel = logistic_regression(num, C=1, max_iter=50)\n"
    )
    check = taskbench("blueprint", "fmt", path, "--check")
    assert check.exit_code == 1 and "would be reformatted" in check.stdout
    assert taskbench("blueprint", "fmt", path, "--write").stdout == f"Formatted {path}.\n"
    assert path.read_text() == printed.stdout
    assert taskbench("blueprint", "fmt", path, "--check").exit_code == 0
    again = taskbench("blueprint", "fmt", path, "--write")
    assert again.stdout == f"{path} is already formatted.\n" and path.read_text() == printed.stdout


def test_fmt_is_idempotent_on_every_template(taskbench, files):
    for template in templates_for():
        path = files("t.bp", template.text)
        assert taskbench("blueprint", "fmt", path).stdout == template.text


def test_fmt_refuses_text_that_does_not_parse(taskbench, files):
    path = files("bad.bp", "model = ridge(NUM\nother = ridge(NUM)\n")
    result = taskbench("blueprint", "fmt", path, "--write")
    assert result.exit_code == 1
    assert result.stdout == f"{path}:1:14: error: '(' is never closed; add ')' to finish this node\n"
    assert path.read_text() == "model = ridge(NUM\nother = ridge(NUM)\n"
    assert taskbench("blueprint", "fmt", path, "--check", "--write").exit_code == 2


def test_add_show_list(taskbench, files):
    path = files("good.bp", GOOD)
    added = taskbench("blueprint", "add", path)
    assert added.exit_code == 0
    assert added.stdout.startswith("Saved baseline@1 (3 nodes; tasks: impute_median, logistic_regression, standardize)")
    again = taskbench("blueprint", "add", path)
    assert again.stdout == "baseline@1 already has this content; no new version was made.\n"
    files("good.bp", GOOD.replace("C=0.5", "C=0.25"))
    second = taskbench("blueprint", "add", path, "--json")
    data = json.loads(second.stdout)
    assert (data["ref"], data["created"]) == ("baseline@2", True)
    assert data["resolved"]["nodes"]["model"]["parameters"]["C"] == 0.25
    renamed = taskbench("blueprint", "add", path, "--name", "other")
    assert renamed.stdout.startswith("Saved other@1")

    shown = taskbench("blueprint", "show", "baseline@1")
    assert shown.exit_code == 0
    assert "baseline@1 · version 1 of 2 · binary" in shown.stdout
    assert "  model = logistic_regression(scale, C=0.5)" in shown.stdout
    assert "[model: logistic_regression]" in shown.stdout
    assert "logistic_regression (built-in)" in shown.stdout
    latest = json.loads(taskbench("blueprint", "show", "baseline", "--json").stdout)
    assert latest["version"] == 2 and latest["version_count"] == 2
    assert latest["graph"]["nodes"][-1]["resolved"]["builtin"] is True

    listed = json.loads(taskbench("blueprint", "list", "--json").stdout)
    assert [(b["name"], b["latest_version"], b["versions"]) for b in listed] == [("baseline", 2, 2), ("other", 1, 1)]
    table = taskbench("blueprint", "list").stdout
    assert "baseline" in table and "v2" in table


def test_add_refuses_a_broken_blueprint(taskbench, files):
    path = files("broken.bp", BROKEN)
    result = taskbench("blueprint", "add", path)
    assert result.exit_code == 1
    assert f"{path}:1:23: error: unknown input 'NUMS'" in result.stderr
    assert "has 2 errors; it was not saved" in result.stderr
    assert json.loads(taskbench("blueprint", "list", "--json").stdout) == []


def test_add_needs_a_valid_name(taskbench, files):
    path = files("x y.bp", "model = ridge(NUM)\n".replace("NUM", "num") + "num = impute_median(NUM)\n")
    result = taskbench("blueprint", "add", path)
    assert result.exit_code == 2 and "blueprint name 'x y' is not valid" in result.stderr


def test_show_unknown_blueprint(taskbench, files):
    taskbench("blueprint", "add", files("good.bp", GOOD))
    unknown = taskbench("blueprint", "show", "baselin")
    assert unknown.exit_code == 2 and "did you mean 'baseline'?" in unknown.stderr
    version = taskbench("blueprint", "show", "baseline@5")
    assert version.exit_code == 2 and "has no version 5; it has only version 1" in version.stderr



def test_show_of_a_file_says_show_takes_a_saved_name(taskbench, files):
    path = files("mine.bp", GOOD)
    result = taskbench("blueprint", "show", str(path))
    said = " ".join(result.stderr.split())
    assert result.exit_code == 2 and "is a file; `blueprint show` shows a saved blueprint by NAME[@N]" in said
    assert f"taskbench blueprint check {path}" in said

def test_export_saved_and_file(taskbench, files):
    path = files("good.bp", GOOD)
    taskbench("blueprint", "add", path)
    data = json.loads(taskbench("blueprint", "export", "baseline", "--format", "json").stdout)
    assert data["final"] == "model" and data["nodes"][0]["resolved"]["task"] == "impute_median"
    dot = taskbench("blueprint", "export", "baseline@1", "--format", "dot").stdout
    assert '"node:num" -> "node:scale";' in dot
    mermaid = taskbench("blueprint", "export", path, "--format", "mermaid").stdout
    assert mermaid.startswith("flowchart TD") and "n_scale --> n_model" in mermaid
    out = path.with_suffix(".json")
    assert taskbench("blueprint", "export", path, "-o", out).exit_code == 0
    assert "resolved" not in json.loads(out.read_text())["nodes"][0]
    assert taskbench("blueprint", "export", path, "--format", "png").exit_code == 2
    assert taskbench("blueprint", "export", "nothing-here").exit_code == 2


def test_from_task(taskbench, tmp_path):
    builtin = taskbench("blueprint", "from-task", "logistic_regression")
    assert builtin.exit_code == 0
    assert builtin.stdout.splitlines()[2:] == ["num   = impute_median(NUM)", "model = logistic_regression(num)"]
    gbm = taskbench("blueprint", "from-task", "gbm_regressor").stdout
    assert gbm.splitlines()[0] == "# blueprint: gbm-regressor-single    target: regression"
    assert gbm.splitlines()[-1] == "model = gbm_regressor(NUM)"

    folder = make_task(tmp_path, {
        "custom.py": "def fit(X, y, output_dir, **kwargs):\n    pass\n",
        "model-metadata.yaml": "name: text_est\ntargetType: binary\ntypeSchema:\n  input_requirements:\n"
                               "    - field: data_types\n      condition: IN\n      value: [NUM, TXT]\n",
    }, "text_est")
    assert taskbench("task", "add", folder).exit_code == 0
    registered = taskbench("blueprint", "from-task", "text_est@1", "-o", tmp_path / "single.bp")
    assert registered.exit_code == 0
    text = (tmp_path / "single.bp").read_text()
    assert text.splitlines()[-1] == "model = text_est@1(NUM, TXT)"
    assert taskbench("blueprint", "check", tmp_path / "single.bp").exit_code == 0

    transform = taskbench("blueprint", "from-task", "standardize")
    assert transform.exit_code == 2 and "is a transform" in transform.stderr
    assert taskbench("blueprint", "from-task", "no_such_task").exit_code == 2


def test_templates(taskbench, files):
    everything = taskbench("blueprint", "templates")
    assert everything.exit_code == 0
    assert everything.stdout.count("# blueprint: ") == len(templates_for())
    anomaly = taskbench("blueprint", "templates", "--target-type", "anomaly").stdout
    assert anomaly.count("# blueprint: ") == 2 and "target: anomaly" in anomaly
    data = json.loads(taskbench("blueprint", "templates", "--target-type", "regression", "--json").stdout)
    assert len(data) >= 3 and all(t["target_type"] == "regression" for t in data)
    assert taskbench("blueprint", "templates", "--target-type", "ranking").exit_code == 2


@pytest.mark.parametrize("target", ["binary", "multiclass", "regression", "anomaly"])
def test_every_template_checks_clean_for_its_target_type(taskbench, files, target):
    found = templates_for(target)
    assert len(found) >= (2 if target == "anomaly" else 3)
    for template in found:
        assert template.text.startswith(f"# blueprint: {template.name}    target: {target}\n")
        path = files(f"{template.name}.bp", template.text)
        result = taskbench("blueprint", "check", path, "--target-type", target)
        assert (result.exit_code, result.stdout) == (0, f"{path}: ok for target type {target}\n")


def test_add_prints_warnings_and_saves(taskbench, files):
    path = files("warn.bp", "# blueprint: w\nnum   = impute_median(NUM)\nextra = pca(num)\nmodel = ridge(num)\n")
    result = taskbench("blueprint", "add", path)
    assert result.exit_code == 0
    assert result.stderr == f"{path}:3:1: warning: node 'extra' is not used by the final node 'model'; " \
                            "it will not be trained\n"
    assert result.stdout.startswith("Saved w@1 (3 nodes; tasks: impute_median, pca, ridge)")


def test_a_file_that_is_not_a_blueprint_shows_twenty_errors_and_counts_the_rest(taskbench, tmp_path):
    prose = tmp_path / "notes.md"
    prose.write_text("".join(f"Line {i}: some-words (not a 'blueprint\n" for i in range(200)))
    checked = taskbench("blueprint", "check", prose)
    assert checked.exit_code == 1
    lines = checked.stdout.splitlines()
    assert len(lines) == 21
    assert all(MESSAGE.match(line) for line in lines[:20])
    total = len(json.loads(taskbench("blueprint", "check", prose, "--json").stdout)["messages"])
    assert total > 40
    assert lines[-1] == f"… and {total - 20} more errors (--json lists them all)"
    formatted = taskbench("blueprint", "fmt", prose)
    assert formatted.exit_code == 1
    assert len(formatted.stdout.splitlines()) == 21
    assert formatted.stdout.splitlines()[-1].startswith("… and ")
