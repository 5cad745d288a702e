"""Unit tests for the output rules, label normalisation, type inference and class order."""

import numpy as np
import pandas as pd
import pytest

from core.runtime.checks import (
    check_predictions,
    check_schema,
    check_transform_output,
    column_types,
    first_difference,
    normalize_label,
)
from core.runtime.data import class_order
from core.runtime.errors import BadInput as UsageError, RuleViolation, SchemaViolation


@pytest.mark.parametrize("value", [1, 1.0, "1", "1.0", True, np.int64(1), np.float32(1.0), "true"])
def test_labels_normalise_to_the_same_string(value):
    assert normalize_label(value) == "1"


def test_distinct_labels_stay_distinct():
    assert len({normalize_label(v) for v in ["a", "A", "1.5", 2, "no"]}) == 5


def test_probabilities_are_reordered_to_the_class_order():
    out = pd.DataFrame({"1": [0.2, 0.9], "0": [0.8, 0.1]})
    checked = check_predictions(out, "predict_proba", "binary", [0, 1], 2)
    assert list(checked.columns) == ["0", "1"]
    assert checked["1"].tolist() == [0.2, 0.9]


def test_tolerance_accepts_rounding_but_not_real_errors():
    ok = pd.DataFrame({"a": [1 / 3], "b": [1 / 3], "c": [1 / 3]})
    check_predictions(ok, "predict_proba", "multiclass", ["a", "b", "c"], 1)
    bad = pd.DataFrame({"a": [0.5], "b": [0.5 + 2e-6]})
    with pytest.raises(RuleViolation, match="do not sum to 1"):
        check_predictions(bad, "predict_proba", "binary", ["a", "b"], 1)


def test_probability_outside_unit_interval():
    with pytest.raises(RuleViolation, match=r"outside \[0, 1\] in 1 row\(s\); row 2"):
        check_predictions(pd.DataFrame({"a": [0.5, 1.5], "b": [0.5, -0.5]}), "predict_proba", "binary", ["a", "b"], 2)


def test_unnamed_single_column_is_renamed_but_a_wrong_name_is_an_error():
    checked = check_predictions(pd.DataFrame([[1.0], [2.0]]), "predict", "regression", None, 2)
    assert list(checked.columns) == ["Predictions"]
    with pytest.raises(RuleViolation, match="name it 'Predictions'"):
        check_predictions(pd.DataFrame({"pred": [1.0]}), "predict", "regression", None, 1)


def test_series_and_wrong_row_count_are_rejected():
    with pytest.raises(RuleViolation, match="a pandas Series"):
        check_predictions(pd.Series([1.0]), "predict", "regression", None, 1)
    with pytest.raises(RuleViolation, match="2 rows for 3 input rows"):
        check_predictions(pd.DataFrame({"Predictions": [1.0, 2.0]}), "predict", "anomaly", None, 3)


def test_sparse_transform_output_is_accepted():
    sparse = pd.DataFrame({"a": pd.arrays.SparseArray([0.0, 1.0, 0.0])})
    assert len(check_transform_output(sparse, "transform", 3)) == 3


def test_column_types():
    frame = pd.DataFrame(
        {
            "n": [1, 2, 3, 4] * 30,
            "c": ["red", "blue", "red", "green"] * 30,
            "t": [f"patient {i} reported mild pain after surgery" for i in range(120)],
            "d": ["2024-01-0%d" % (i % 9 + 1) for i in range(120)],
            "s": ["1.5", "2", "3", "4"] * 30,
        }
    )
    assert column_types(frame) == {"n": "NUM", "c": "CAT", "t": "TXT", "d": "DATE", "s": "NUM"}


def test_first_difference_names_the_input_row():
    full = pd.DataFrame({"Predictions": [1.0, 2.0, 3.0, 4.0]})
    sample = pd.DataFrame({"Predictions": [2.0, 4.5]})
    assert "input row 4" in first_difference(full, sample, np.array([1, 3]))
    assert first_difference(full, pd.DataFrame({"Predictions": [2.0, 4.0]}), np.array([1, 3])) is None


def test_schema_conditions():
    frame = pd.DataFrame({"a": [1.0, np.nan], "b": ["x", "y"]})
    with pytest.raises(SchemaViolation, match="contains missing values"):
        check_schema(frame, [{"field": "contains_missing", "condition": "EQUALS", "value": "FORBIDDEN"}], "the input")
    with pytest.raises(SchemaViolation, match="CAT column"):
        check_schema(frame, [{"field": "data_types", "condition": "NOT_IN", "value": ["CAT"]}], "the input")
    with pytest.raises(SchemaViolation, match="has 2 columns"):
        check_schema(frame, [{"field": "number_of_columns", "condition": "GREATER_THAN", "value": 2}], "the input")
    check_schema(frame, [{"field": "number_of_columns", "condition": "IN", "value": [1, 2]}], "the input")


def test_class_order_defaults_put_the_last_sorted_value_as_positive():
    assert class_order(pd.Series([1, 0, 1]), "binary", None, None, None) == [0, 1]
    assert class_order(pd.Series(["yes", "no"]), "binary", None, None, None) == ["no", "yes"]
    assert class_order(pd.Series([True, False]), "binary", None, None, None) == [False, True]
    assert class_order(pd.Series(["b", "a", "c"]), "multiclass", None, None, None) == ["a", "b", "c"]


def test_class_order_from_flags_and_labels():
    y = pd.Series(["no", "yes", "no"])
    assert class_order(y, "binary", None, "no", None) == ["yes", "no"]
    assert class_order(y, "binary", ["yes", "no"], None, None) == ["yes", "no"]
    assert class_order(pd.Series([0, 1]), "binary", ["1", "0"], None, None) == [1, 0]
    with pytest.raises(UsageError, match="exactly two classes, found 3"):
        class_order(pd.Series(["a", "b", "c"]), "binary", None, None, None)
    with pytest.raises(UsageError, match="not among --class-labels"):
        class_order(y, "binary", ["yes", "maybe"], None, None)
