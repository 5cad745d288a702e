"""Blueprint validation (SPEC §7): broken blueprints, each message at the right line and column.

Built-in tasks and a few registered fixture tasks (one that may output missing
values, one with two versions, one that needs several columns, one that needs
sparse input, one that outputs text) cover every rule.
"""

from __future__ import annotations

import pytest

from core.tasks.catalog import builtin_names, resolve_task
from core.blueprints.registry import changed_builtins, get_blueprint, resolve_saved, save_blueprint
from core.blueprints.validate import BlueprintInvalid, check, project_facts, resolve_blueprint, validate
from core.tasks.versions import add_task
from tests.conftest import make_task

CUSTOM = "def fit(X, y, output_dir, **kwargs):\n    pass\n\n\ndef transform(X, transformer):\n    return X\n"


def _metadata(name: str, target: str, inputs: str = "", outputs: str = "", hyperparameters: str = "") -> str:
    text = f"name: {name}\ntargetType: {target}\n"
    if hyperparameters:
        text += "hyperparameters:\n" + hyperparameters
    if inputs or outputs:
        text += "typeSchema:\n"
        if inputs:
            text += "  input_requirements:\n" + inputs
        if outputs:
            text += "  output_requirements:\n" + outputs
    return text


def _req(field: str, condition: str, value: str) -> str:
    return f"    - field: {field}\n      condition: {condition}\n      value: {value}\n"


FIXTURES = {
    "fx_log": _metadata(
        "fx_log", "transform",
        inputs=_req("data_types", "IN", "[NUM]"),
        outputs=_req("data_types", "EQUALS", "NUM") + _req("contains_missing", "EQUALS", "DYNAMIC"),
    ),
    "fx_est": _metadata(
        "fx_est", "binary",
        inputs=_req("data_types", "IN", "[NUM]"),
        hyperparameters=(
            "  - name: alpha\n    type: float\n    min: 0\n    max: 1\n    default: 0.5\n"
            "  - name: mode\n    type: select\n    values: [fast, slow]\n    default: fast\n"
        ),
    ),
    "fx_wide": _metadata(
        "fx_wide", "transform",
        inputs=_req("number_of_columns", "GREATER_THAN", "1"),
        outputs=_req("data_types", "EQUALS", "NUM"),
    ),
    "fx_sparse": _metadata("fx_sparse", "binary", inputs=_req("sparse", "EQUALS", "REQUIRED")),
    "fx_text": _metadata(
        "fx_text", "transform", inputs=_req("data_types", "IN", "[TXT]"), outputs=_req("data_types", "EQUALS", "TXT")
    ),
}


@pytest.fixture
def store(home, tmp_path):
    from core.store import open_store

    with open_store(home) as opened:
        for name, metadata in FIXTURES.items():
            add_task(opened, make_task(tmp_path / "tasks", {"custom.py": CUSTOM, "model-metadata.yaml": metadata}, name))
        # a second version of fx_est
        add_task(opened, make_task(tmp_path / "v2", {"custom.py": CUSTOM + "# v2\n", "model-metadata.yaml": FIXTURES["fx_est"]}, "fx_est"))
        yield opened


def test_the_builtin_tasks_are_all_there():
    names = builtin_names()
    for name in ("impute_median", "impute_most_frequent", "missing_indicator", "standardize", "one_hot", "ordinal",
                 "tfidf", "pca", "svd", "logistic_regression", "ridge", "random_forest_classifier",
                 "random_forest_regressor", "gbm_classifier", "gbm_regressor", "isolation_forest", "knn_classifier",
                 "knn_regressor"):
        assert name in names


# (case id, blueprint text, target type, [(severity, line, column, phrase)]) — every message, nothing else.
BROKEN = [
    (
        "undefined-name",
        "num   = impute_median(NUM)\nmodel = logistic_regression(nmu)\n",
        "binary",
        [("warning", 1, 1, "node 'num' is not used"), ("error", 2, 29, "unknown input 'nmu'; did you mean 'num'?")],
    ),
    (
        "channel-typo",
        "num   = impute_median(NUMS)\nmodel = logistic_regression(num)\n",
        "binary",
        [("error", 1, 23, "unknown input 'NUMS'; did you mean 'NUM'?")],
    ),
    (
        "lowercase-channel",
        "model = gbm_classifier(num)\n",
        "binary",
        [("error", 1, 24, "channel names are uppercase: write 'NUM'")],
    ),
    (
        "cycle",
        "a     = impute_median(b)\nb     = standardize(a)\nmodel = logistic_regression(b)\n",
        "binary",
        [("error", 2, 21, "cycle: a → b → a")],
    ),
    (
        "self-loop",
        "a     = impute_median(NUM, a)\nmodel = logistic_regression(a)\n",
        "binary",
        [("error", 1, 28, "node 'a' takes its own output as input")],
    ),
    (
        "unknown-task",
        "num   = impute_median(NUM)\nmodel = logistic_regresion(num)\n",
        "binary",
        [("error", 2, 9, "no built-in or registered task named 'logistic_regresion'; did you mean 'logistic_regression'?")],
    ),
    (
        "unknown-version",
        "num   = impute_median(NUM)\nmodel = fx_est@7(num)\n",
        "binary",
        [("error", 2, 16, "task 'fx_est' has no version 7; it has 1–2")],
    ),
    (
        "builtin-with-version",
        "num   = impute_median(NUM)\nmodel = ridge@2(num)\n",
        "regression",
        [("error", 2, 15, "'ridge' is a built-in task, which has no versions; remove '@2'")],
    ),
    (
        "transform-at-the-end",
        "num   = impute_median(NUM)\nlr    = logistic_regression(num)\nmodel = standardize(lr)\n",
        "binary",
        [("error", 3, 9, "the final node 'model' runs transform 'standardize'; a blueprint ends in an estimator")],
    ),
    (
        "no-estimator",
        "num   = impute_median(NUM)\nscale = standardize(num)\n",
        "binary",
        [("error", 2, 9, "the blueprint has no estimator")],
    ),
    (
        "wrong-target-type",
        "# blueprint: r    target: binary\nnum   = impute_median(NUM)\nmodel = ridge(num)\n",
        "binary",
        [("error", 3, 9, "'ridge' is a regression estimator, but the target type is binary; use a binary estimator")],
    ),
    (
        "wrong-target-type-from-the-header",
        "# blueprint: r    target: regression\nnum   = impute_median(NUM)\nmodel = logistic_regression(num)\n",
        None,
        [("error", 3, 9, "'logistic_regression' is a binary/multiclass estimator, but the target type is regression")],
    ),
    (
        "stacked-estimator-of-another-target-type",
        "num   = impute_median(NUM)\nr     = ridge(num)\nmodel = logistic_regression(num, r)\n",
        "binary",
        [("error", 2, 9, "'ridge' is a regression estimator, but the target type is binary; a stacked estimator")],
    ),
    (
        "undeclared-parameter",
        "num   = impute_median(NUM)\nmodel = logistic_regression(num, Cee=1)\n",
        "binary",
        [("error", 2, 34, "task 'logistic_regression' has no parameter 'Cee'; did you mean 'C'?")],
    ),
    (
        "parameter-out-of-range",
        "num   = impute_median(NUM)\nmodel = fx_est(num, alpha=1.5)\n",
        "binary",
        [("error", 2, 27, "parameter 'alpha' = 1.5 is above its maximum 1.0")],
    ),
    (
        "parameter-of-the-wrong-type",
        "num   = impute_median(NUM)\nmodel = fx_est@1(num, alpha=\"high\", mode=\"medium\")\n",
        "binary",
        [
            ("error", 2, 29, "parameter 'alpha' = 'high' is a string, not a number"),
            ("error", 2, 42, "parameter 'mode' = 'medium' is not one of 'fast', 'slow'"),
        ],
    ),
    (
        "num-only-task-fed-cat",
        "num   = impute_median(NUM)\nmodel = logistic_regression(num, CAT)\n",
        "binary",
        [("error", 2, 34, "'logistic_regression' takes only NUM columns, but the CAT channel holds CAT columns")],
    ),
    (
        "num-only-task-fed-all",
        "model = gbm_classifier(ALL)\n",
        "binary",
        [("error", 1, 24, "'gbm_classifier' takes only NUM columns, but the ALL channel also holds CAT, TXT and DATE")],
    ),
    (
        "num-only-task-fed-a-node-that-outputs-cat",
        "cat   = impute_most_frequent(CAT)\nmodel = gbm_classifier(cat)\n",
        "binary",
        [("error", 2, 24, "'gbm_classifier' takes only NUM columns, but node 'cat' outputs CAT columns")],
    ),
    (
        "num-only-task-fed-a-node-that-outputs-text",
        "t     = fx_text(TXT)\nmodel = gbm_classifier(t)\n",
        "binary",
        [("error", 2, 24, "but node 't' outputs TXT columns; vectorize them first")],
    ),
    (
        "missing-forbidding-task-fed-a-raw-channel",
        "scale = standardize(NUM)\nmodel = logistic_regression(scale)\n",
        "binary",
        [("error", 1, 21, "'standardize' does not accept missing values, but the NUM channel may contain them")],
    ),
    (
        "missing-forbidding-task-fed-a-node-that-may-output-missing-values",
        "num   = impute_median(NUM)\nlog   = fx_log(num)\nmodel = logistic_regression(log)\n",
        "binary",
        [("error", 3, 29, "does not accept missing values, but node 'log' may output them (its task 'fx_log@1' says "
                          "contains_missing DYNAMIC)")],
    ),
    (
        "sparse-output-into-a-sparse-forbidding-task",
        "words = tfidf(TXT)\nmodel = gbm_classifier(words)\n",
        "binary",
        [("error", 2, 24, "'gbm_classifier' does not accept sparse input, but node 'words' outputs sparse data")],
    ),
    (
        "dense-input-into-a-sparse-requiring-task",
        "num   = impute_median(NUM)\nmodel = fx_sparse(num)\n",
        "binary",
        [("error", 2, 19, "'fx_sparse@1' needs sparse input, but node 'num' gives dense data")],
    ),
    (
        "too-few-columns",
        "num   = impute_median(NUM)\nr     = ridge(num)\nw     = fx_wide(r)\nmodel = ridge(w)\n",
        "regression",
        [("error", 3, 9, "'fx_wide@1' needs more than 1 input columns, but its inputs give 1")],
    ),
    (
        "duplicate-node",
        "num   = impute_median(NUM)\nnum   = impute_median(NUM)\nmodel = ridge(num)\n",
        "regression",
        [("error", 2, 1, "node 'num' is defined twice (first on line 1); rename one")],
    ),
    (
        "node-named-like-a-channel",
        "NUM   = impute_median(NUM)\nmodel = ridge(NUM)\n",
        "regression",
        [
            ("error", 1, 1, "'NUM' is a channel name and cannot name a node"),
            ("error", 2, 15, "'ridge' does not accept missing values, but the NUM channel may contain them"),
        ],
    ),
    (
        "no-inputs",
        "model = ridge()\n",
        "regression",
        [("error", 1, 9, "node 'model' has no inputs")],
    ),
    (
        "bad-syntax-with-column",
        "num   = impute_median(NUM)\nmodel = ridge(num alpha=1)\n",
        "regression",
        [("error", 2, 19, "expected ',' or ')' here, not 'alpha'")],
    ),
    (
        "unterminated-string",
        "num   = impute_median(NUM)\nmodel = fx_est(num, mode=\"fast)\n",
        "binary",
        [("error", 2, 26, "this string is not closed")],
    ),
    (
        "unused-node-is-only-a-warning",
        "num   = impute_median(NUM)\nextra = pca(num)\nmodel = ridge(num)\n",
        "regression",
        [("warning", 2, 1, "node 'extra' is not used by the final node 'model'; it will not be trained")],
    ),
    (
        "header-and-project-disagree",
        "# blueprint: r    target: binary\nnum   = impute_median(NUM)\nmodel = ridge(num)\n",
        "regression",
        [("warning", 1, 27, "the header says target binary, but the target type here is regression")],
    ),
]


@pytest.mark.parametrize("text, target_type, expected", [case[1:] for case in BROKEN], ids=[c[0] for c in BROKEN])
def test_each_broken_blueprint_gets_its_message_at_the_right_place(store, text, target_type, expected):
    messages = validate(text, store, target_type=target_type, path="case.bp")
    assert [(m.severity, m.line, m.column) for m in messages] == [(s, line, col) for s, line, col, _ in expected], \
        "\n".join(m.format("case.bp") for m in messages)
    for message, (_, _, _, phrase) in zip(messages, expected):
        assert phrase in message.text, message.format("case.bp")


def test_there_are_at_least_fifteen_broken_blueprints():
    assert sum(1 for case in BROKEN if any(s == "error" for s, *_ in case[3])) >= 15


def test_warnings_do_not_block(store):
    text = "num   = impute_median(NUM)\nextra = pca(num)\nmodel = ridge(num)\n"
    checked = resolve_blueprint(text, store, target_type="regression")
    assert checked.ok and len(checked.warnings) == 1
    assert [r.name for r in checked.needed()] == ["num", "model"]


def test_errors_block(store):
    with pytest.raises(BlueprintInvalid) as caught:
        resolve_blueprint("model = ridge(NUMS)\n", store, target_type="regression", path="x.bp")
    assert caught.value.message.startswith("x.bp:1:15: error: unknown input 'NUMS'")


def test_data_facts_decide_about_missing_values_and_absent_channels(store):
    text = "scale = standardize(NUM)\nwords = tfidf(TXT)\nmodel = logistic_regression(scale, words)\n"
    facts = project_facts({"NUM": ["a", "b"]}, {"NUM": False})
    messages = validate(text, store, target_type="binary", data_facts=facts)
    assert [(m.severity, m.line, m.column) for m in messages] == [("warning", 2, 15)]
    assert "the data has no TXT columns" in messages[0].text
    facts = project_facts({"NUM": ["a"], "TXT": ["t"]}, {"NUM": True})
    messages = validate(text, store, target_type="binary", data_facts=facts)
    assert [(m.severity, m.line, m.column) for m in messages] == [("error", 1, 21)]


def test_a_final_node_left_without_input_by_absent_channels_is_an_error_at_each_channel(store):
    from core.blueprints.syntax import parse_blueprint

    text = "words = tfidf(TXT)\ndays  = one_hot(DATE)\nboth  = svd(words, days)\nmodel = logistic_regression(both)\n"
    facts = project_facts({"NUM": ["a"], "CAT": ["c"]}, {"NUM": False})
    messages = validate(text, store, target_type="binary", data_facts=facts, path="w.bp")
    errors = [m for m in messages if "gets no input" in m.text]
    assert [(m.line, m.column) for m in errors] == [(1, 15), (2, 17)]
    assert errors[0].format("w.bp") == ("w.bp:1:15: error: the data has no TXT columns, so the final node 'model' "
                                        "gets no input; feed it a channel the data has (NUM, CAT)")
    # what train compiles: dropping the channels would drop the estimator, so the blueprint stays as written
    bp = parse_blueprint(text, "w.bp")
    assert bp.without_channels({"TXT", "DATE"}) is bp
    assert bp.starved({"TXT", "DATE"}) == {"words", "days", "both", "model"}
    kept = parse_blueprint("num = impute_median(NUM)\nwords = tfidf(TXT)\nmodel = ridge(num, words)\n", "k.bp")
    assert [n.name for n in kept.without_channels({"TXT"}).nodes] == ["num", "model"]
    # a last node not named model is the final one too: another node must not silently take its place
    other = parse_blueprint("a = logistic_regression(NUM)\nb = logistic_regression(TXT)\n", "o.bp")
    assert other.without_channels({"TXT"}) is other


def test_a_project_without_feature_columns_fails_every_channel_even_all(store):
    facts = project_facts({}, {})
    for channel in ("NUM", "ALL"):
        messages = validate(f"model = logistic_regression({channel})\n", store, target_type="binary", data_facts=facts)
        (error,) = [m for m in messages if m.severity == "error"]
        assert (error.line, error.column) == (1, 29)
        assert error.text.startswith(f"the project has no feature columns, so {channel} is empty")


def test_all_holds_only_the_channels_the_data_has(store):
    facts = project_facts({"NUM": ["a"]}, {"NUM": False})
    assert validate("model = logistic_regression(ALL)\n", store, target_type="binary", data_facts=facts) == []


def test_imputing_before_a_missing_forbidding_task_is_fine(store):
    text = "num   = impute_median(NUM)\nlog   = fx_log(num)\nfixed = impute_median(log)\nmodel = logistic_regression(fixed)\n"
    assert validate(text, store, target_type="binary") == []


def test_check_resolves_each_node_with_its_parameters(store):
    text = "num   = impute_median(NUM)\nmodel = fx_est(num, alpha=0.25)\nother = fx_est@1(num)\n"
    checked = check(text, store, target_type="binary")
    assert checked.errors == []
    model = checked.nodes["model"]
    assert (model.task.name, model.task.version, model.task.builtin) == ("fx_est", 2, False)
    assert model.parameters == {"alpha": 0.25, "mode": "fast"}
    assert checked.nodes["other"].task.version == 1
    assert checked.nodes["num"].task.builtin and checked.nodes["num"].task.version is None
    assert checked.nodes["num"].task.sha256 == resolve_task(store, "impute_median").sha256
    assert checked.pins()["model"] == {"task": "fx_est", "version": 2, "builtin": False,
                                       "sha256": model.task.sha256}


def test_a_saved_blueprint_keeps_its_pinned_versions(store, tmp_path):
    text = "# blueprint: pinned    target: binary\nnum   = impute_median(NUM)\nmodel = fx_est(num, alpha=0.1)\n"
    first, created = save_blueprint(store, text)
    assert created and first.ref == "pinned@1" and first.target_type == "binary"
    assert first.pins["model"]["version"] == 2 and first.pins["num"]["builtin"] is True
    assert first.resolved["nodes"]["model"]["parameters"] == {"alpha": 0.1, "mode": "fast"}
    assert save_blueprint(store, text) == (first, False)

    add_task(store, make_task(tmp_path / "v3", {"custom.py": CUSTOM + "# v3\n",
                                                "model-metadata.yaml": FIXTURES["fx_est"]}, "fx_est"))
    checked = resolve_saved(store, "pinned@1")
    assert checked.nodes["model"].task.version == 2
    assert changed_builtins(first, checked) == []
    second, created = save_blueprint(store, text)
    assert created and second.ref == "pinned@2" and second.pins["model"]["version"] == 3
    assert get_blueprint(store, "pinned").version == 2


def test_saving_a_broken_blueprint_is_refused(store):
    with pytest.raises(BlueprintInvalid) as caught:
        save_blueprint(store, "model = ridge(NUMS)\n", name="broken")
    assert [m.line for m in caught.value.messages] == [1]


def test_an_unknown_target_type_is_a_usage_error(store):
    from core.errors import UsageError

    with pytest.raises(UsageError, match="target type 'ranking' is not one of binary, multiclass, regression, anomaly"):
        validate("model = ridge(NUM)\n", store, target_type="ranking")
