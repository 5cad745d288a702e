"""Blueprint exports (SPEC §7): JSON, DOT, Mermaid, and the ASCII drawing for terminals."""

from __future__ import annotations

import json

import pytest

from core.blueprints.export import draw_ascii, to_dot, to_json, to_mermaid
from core.blueprints.syntax import parse_blueprint
from core.blueprints.templates import templates_for

STACKED = """\
# blueprint: stacked    target: binary
num   = impute_median(NUM)
scale = standardize(num)
parts = pca(num)
cat   = one_hot(CAT)
lr    = logistic_regression(scale, cat, C=0.5)
gbm   = gbm_classifier(parts, NUM, cat)
model = logistic_regression(lr, gbm, num)
"""


def test_json_lists_nodes_edges_and_channels():
    data = to_json(parse_blueprint(STACKED))
    json.dumps(data)
    assert data["name"] == "stacked" and data["target_type"] == "binary" and data["final"] == "model"
    assert data["channels"] == ["NUM", "CAT"]
    lr = next(n for n in data["nodes"] if n["name"] == "lr")
    assert lr == {"name": "lr", "task": "logistic_regression", "version": None, "inputs": ["scale", "cat"],
                  "parameters": {"C": 0.5}, "line": 6}
    assert {"from": "NUM", "to": "gbm"} in data["edges"] and {"from": "gbm", "to": "model"} in data["edges"]
    assert len(data["edges"]) == 12


def test_json_with_pins_records_exact_tasks():
    pins = {"model": {"task": "my_est", "version": 2, "builtin": False, "sha256": "ab"}}
    data = to_json(parse_blueprint("model = my_est(NUM, alpha=[1, 2])\n"), pins)
    assert data["nodes"][0]["resolved"] == pins["model"]
    assert data["nodes"][0]["parameters"] == {"alpha": [1, 2]}


def test_dot_and_mermaid_have_every_edge():
    bp = parse_blueprint(STACKED)
    dot = to_dot(bp)
    assert dot.startswith('digraph "stacked" {') and dot.rstrip().endswith("}")
    assert '"channel:NUM" -> "node:num";' in dot and '"node:gbm" -> "node:model";' in dot
    assert '"node:model" [label="model\\nlogistic_regression", peripheries=2];' in dot
    mermaid = to_mermaid(bp)
    assert mermaid.startswith("flowchart TD\n")
    assert "    ch_CAT --> n_cat\n" in mermaid and "    n_lr --> n_model\n" in mermaid
    assert "    class n_model final\n" in mermaid
    assert dot.count("->") == mermaid.count("-->") == 12


def test_labels_are_quoted_safely():
    bp = parse_blueprint("# blueprint: a\"b\nmodel = my-task.v2@3(NUM)\n")
    assert 'digraph "a\\"b" {' in to_dot(bp)
    assert 'n_model["model: my-task.v2@3"]' in to_mermaid(bp)


def _check_drawing(drawing: str, width: int) -> list[str]:
    lines = drawing.rstrip("\n").splitlines()
    assert all(len(line) <= width for line in lines), drawing
    assert all(line == line.rstrip() for line in lines)
    assert drawing.isascii()
    return lines


@pytest.mark.parametrize("template", templates_for(), ids=lambda t: f"{t.target_type}-{t.name}")
def test_templates_draw_within_80_columns_with_every_node(template):
    bp = parse_blueprint(template.text)
    drawing = draw_ascii(bp, width=80)
    _check_drawing(drawing, 80)
    for node in bp.nodes:
        assert f"[{node.name}: {node.task_ref}]" in drawing
    for channel in {c for n in bp.nodes for c in n.channels()}:
        assert f"({channel})" in drawing
    assert drawing.splitlines()[-1].strip() == f"[{bp.final.name}: {bp.final.task_ref}]"


@pytest.mark.parametrize("template", templates_for(), ids=lambda t: f"{t.target_type}-{t.name}")
@pytest.mark.parametrize("width", [60, 40, 30])
def test_templates_draw_within_narrow_widths(template, width):
    _check_drawing(draw_ascii(parse_blueprint(template.text), width=width), width)


def test_a_merge_is_drawn_as_a_bus():
    drawing = draw_ascii(parse_blueprint("a = impute_median(NUM)\nb = one_hot(CAT)\nmodel = ridge(a, b)\n"))
    assert drawing == (
        "       (NUM)            (CAT)\n"
        "         |                |\n"
        "[a: impute_median]  [b: one_hot]\n"
        "         |                |\n"
        "         \\-------+--------/\n"
        "                 |\n"
        "          [model: ridge]\n"
    )


def test_a_chain_is_a_straight_line():
    drawing = draw_ascii(parse_blueprint("a = impute_median(NUM)\nmodel = ridge(a)\n"))
    assert drawing == "       (NUM)\n         |\n[a: impute_median]\n         |\n  [model: ridge]\n"


def test_stacking_and_long_edges_stay_readable():
    lines = _check_drawing(draw_ascii(parse_blueprint(STACKED)), 80)
    text = "\n".join(lines)
    for label in ("[lr: logistic_regression]", "[gbm: gbm_classifier]", "[model: logistic_regression]"):
        assert label in text
    assert lines[0].split() == ["(NUM)", "(CAT)"]


def test_cycles_and_unknown_inputs_still_draw():
    drawing = draw_ascii(parse_blueprint("a = t(b)\nb = t(a)\nmodel = x(a, nowhere, ALL)\n"))
    assert "[model: x]" in drawing and "[a: t]" in drawing and "[b: t]" in drawing


def test_a_graph_too_wide_to_draw_falls_back_to_a_listing():
    text = "".join(f"n{i} = some_long_task_name_{i}(NUM)\n" for i in range(12))
    text += "model = ridge(" + ", ".join(f"n{i}" for i in range(12)) + ")\n"
    drawing = draw_ascii(parse_blueprint(text), width=40)
    lines = _check_drawing(drawing, 40)
    assert lines[0] == "n0 = some_long_task_name_0(NUM)"
