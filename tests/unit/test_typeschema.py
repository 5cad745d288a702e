"""The one typeSchema module (core.runtime.typeschema): the vocabulary metadata parsing reads and the evaluation
the fit check and blueprint validation share."""

import pytest

from core.runtime import typeschema
from core.runtime.typeschema import count_holds, rejected_types, schema_problems, sparse_holds, text_read_as_cat


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


def test_metadata_validation_and_the_fit_check_read_one_vocabulary():
    """Each vocabulary is the typeschema module's own object, not a copy that could drift."""
    from core.blueprints import templates, validate
    from core.runtime import checks
    from core.tasks import metadata

    assert metadata.DATA_TYPES is typeschema.DATA_TYPES is validate.DATA_TYPES is templates.DATA_TYPES
    assert metadata.FIELDS is typeschema.FIELDS
    assert validate.count_holds is typeschema.count_holds and validate.rejected_types is typeschema.rejected_types
    assert checks.typeschema is typeschema
    assert [(r.field, r.condition, r.value) for r in metadata.default_type_schema("transform").output_requirements] \
        == list(typeschema.DEFAULT_TRANSFORM_OUTPUT)


@pytest.mark.parametrize(
    "value, sparse, input_sparse, holds",
    [
        ("FORBIDDEN", True, None, False), ("FORBIDDEN", False, None, True), ("NEVER", True, None, False),
        ("REQUIRED", False, None, False), ("ALWAYS", True, None, True), ("SUPPORTED", True, None, True),
        ("DYNAMIC", False, None, True), ("IDENTITY", True, False, False), ("IDENTITY", True, None, True),
    ],
)
def test_sparse_holds(value, sparse, input_sparse, holds):
    assert sparse_holds(value, sparse, input_sparse) is holds


def test_column_phrase_says_each_condition_in_words():
    assert typeschema.column_phrase("NOT_LESS_THAN", 2) == "at least 2"
    assert typeschema.column_phrase("IN", (1, 3)) == "one of 1, 3"
    assert set(typeschema.CONDITIONS) == {c for c in typeschema.CONDITIONS if typeschema.column_phrase(c, 1)}
