"""The one typeSchema evaluation (core.runtime.contract) the fit check and blueprint validation share."""

import pytest

from core.runtime.typeschema import count_holds, rejected_types, schema_problems, text_read_as_cat


@pytest.mark.parametrize(
    "condition, allowed, present, text_is_cat, rejected",
    [
        ("IN", ["NUM", "CAT"], ["NUM", "CAT", "TXT"], True, []),  # DRUM: "Treat Cat and TXT as equivalent"
        ("IN", ["NUM", "CAT"], ["NUM", "CAT", "TXT"], False, ["TXT"]),
        ("IN", ["NUM", "TXT"], ["CAT"], True, []),  # both sides remapped
        ("IN", ["NUM"], ["NUM", "TXT"], True, ["TXT"]),
        ("EQUALS", ["NUM"], ["NUM", "DATE"], True, ["DATE"]),
        ("NOT_IN", ["CAT"], ["NUM", "TXT"], True, ["TXT"]),
        ("NOT_IN", ["CAT"], ["NUM", "TXT"], False, []),
        ("NOT_EQUALS", ["TXT"], ["NUM", "CAT"], False, []),
    ],
)
def test_rejected_types(condition, allowed, present, text_is_cat, rejected):
    assert rejected_types(condition, allowed, present, text_is_cat) == rejected


@pytest.mark.parametrize(
    "condition, value, count, holds",
    [
        ("EQUALS", 1, 1, True), ("EQUALS", 1, 33, False), ("NOT_EQUALS", 0, 3, True),
        ("IN", (1, 2), 2, True), ("NOT_IN", (1, 2), 2, False), ("GREATER_THAN", 1, 1, False),
        ("LESS_THAN", 10, 9, True), ("NOT_GREATER_THAN", 3, 3, True), ("NOT_LESS_THAN", 3, 2, False),
    ],
)
def test_count_holds(condition, value, count, holds):
    assert count_holds(condition, value, count) is holds


def test_schema_problems_computes_only_the_facts_a_rule_needs():
    asked = []

    def types():
        asked.append("types")
        return {"a": "NUM"}

    reqs = [{"field": "number_of_columns", "condition": "EQUALS", "value": 1, "line": 7}]
    assert schema_problems({"types": types, "columns": 1}, reqs, "the input data") == []
    assert asked == []
    problems = schema_problems({"types": types, "columns": 2}, reqs, "the input data")
    assert problems == [("number_of_columns", "the input data has 2 columns but the schema says number_of_columns "
                                              "EQUALS 1 (model-metadata.yaml line 7).")]


def test_text_read_as_cat_names_the_text_columns_only_when_the_rule_needed_it():
    types = {"age": "NUM", "race": "CAT", "diag_1_desc": "TXT"}
    in_num_cat = [{"field": "data_types", "condition": "IN", "value": ["NUM", "CAT"]}]
    assert text_read_as_cat(in_num_cat, types) == ["diag_1_desc"]
    assert text_read_as_cat([{"field": "data_types", "condition": "IN", "value": ["NUM", "CAT", "TXT"]}], types) == []
    assert text_read_as_cat([], types) == []
