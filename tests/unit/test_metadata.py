"""Tests for core.tasks.metadata: parsing, validation with file positions, defaults and parameter resolution."""

import textwrap

import pytest

from core.tasks.metadata import (
    TARGET_TYPES,
    Hyperparameter,
    MetadataError,
    ParameterError,
    Requirement,
    default_type_schema,
    describe_default_schema,
    load_metadata,
    parse_metadata,
    resolve_parameters,
)

FILE = "model-metadata.yaml"

DRUM_FILE = """\
name: drum-style-task
type: training
targetType: binary
environmentID: 5e8c889607389fe0f466c72d
majorVersion: true
inferenceModel:
  targetName: y
hyperparameters:
  - name: seed
    type: int
    min: 0
    max: 10000
    default: 64
  - name: kbins_strategy
    type: select
    values: [uniform, quantile, kmeans]
    default: quantile
  - name: all_of_types
    type: multi
    values:
      float: {min: -1.0, max: 1.0}
      int: {min: -1, max: 1}
      select: {values: [up, down]}
    default: up
  - name: text
    type: string
    default: hi
  - name: C
    type: float
    min: 1e-5
    max: 10
    default: 1
typeSchema:
  input_requirements:
    - field: data_types
      condition: IN
      value: [NUM, CAT]
    - field: number_of_columns
      condition: NOT_LESS_THAN
      value: 2
    - field: sparse
      condition: EQUALS
      value: FORBIDDEN
  output_requirements:
    - field: contains_missing
      condition: EQUALS
      value: NEVER
"""


def parse(text):
    return parse_metadata(textwrap.dedent(text), FILE)


def error_of(text):
    with pytest.raises(MetadataError) as info:
        parse(text)
    return info.value


@pytest.fixture
def drum():
    return parse_metadata(DRUM_FILE, FILE)


def test_drum_file_top_level(drum):
    assert drum.path == FILE
    assert drum.name == "drum-style-task"
    assert drum.target_type == "binary"
    assert drum.kind == "estimator"
    assert drum.environment_id == "5e8c889607389fe0f466c72d"
    assert drum.network is False
    assert drum.warnings == ()


def test_drum_file_hyperparameters(drum):
    seed, strategy, multi, text, c = drum.hyperparameters
    assert seed == Hyperparameter("seed", "int", 64, min=0, max=10000, line=9)
    assert strategy.values == ("uniform", "quantile", "kmeans") and strategy.default == "quantile"
    assert multi.multi == {
        "float": {"min": -1.0, "max": 1.0},
        "int": {"min": -1, "max": 1},
        "select": {"values": ["up", "down"]},
    }
    assert multi.default == "up" and multi.line == 18
    assert text.type == "string" and text.default == "hi"
    assert c.min == 1e-5 and c.max == 10.0 and c.default == 1.0 and isinstance(c.default, float)


def test_drum_file_type_schema(drum):
    schema = drum.type_schema
    assert schema.declared is True
    assert schema.input_requirements == (
        Requirement("data_types", "IN", ("NUM", "CAT"), line=35),
        Requirement("number_of_columns", "NOT_LESS_THAN", 2, line=38),
        Requirement("sparse", "EQUALS", "FORBIDDEN", line=41),
    )
    assert schema.output_requirements == (Requirement("contains_missing", "EQUALS", "NEVER", line=45),)


def test_spec_example_transform():
    meta = parse(
        """\
        name: median-impute
        type: training                 # DRUM files say "training"
        targetType: transform
        environmentID: python-sklearn
        hyperparameters:
          - name: strategy
            type: select
            values: [median, mean]
            default: median
        typeSchema:
          input_requirements:
            - field: data_types
              condition: IN
              value: [NUM]
            - field: contains_missing
              condition: EQUALS
              value: SUPPORTED
          output_requirements:
            - field: contains_missing
              condition: EQUALS
              value: NEVER
        """
    )
    assert meta.kind == "transform"
    assert meta.environment_id == "python-sklearn"
    assert meta.type_schema.input_requirements[0].value == ("NUM",)
    assert meta.type_schema.output_requirements[0].value == "NEVER"


def test_multi_components_directly_on_entry():
    meta = parse(
        """\
        hyperparameters:
          - name: depth
            type: multi
            int: {min: 1, max: 10}
            select: {values: [auto]}
            default: 3
        """
    )
    assert meta.hyperparameters[0].multi == {"int": {"min": 1, "max": 10}, "select": {"values": ["auto"]}}
    assert meta.hyperparameters[0].default == 3


def test_yaml_12_scalars_yes_stays_text_and_exponent_is_float():
    meta = parse(
        """\
        hyperparameters:
          - name: answer
            type: select
            values: [yes, no]
            default: no
          - name: tol
            type: float
            min: 1e-9
            max: 1e-1
        """
    )
    answer, tol = meta.hyperparameters
    assert answer.values == ("yes", "no") and answer.default == "no"
    assert tol.min == 1e-9 and tol.max == 0.1 and tol.default is None


def test_network_flag():
    assert parse("network: true\n").network is True
    err = error_of("name: x\nnetwork: yes\n")
    assert (err.line, err.column) == (2, 10)
    assert "true or false" in err.message


def test_drum_keys_ignored_without_warning():
    meta = parse(
        """\
        name: x
        trainingModel: {trainOnProject: abc}
        runtimeParameterDefinitions: [{fieldName: a, type: string}]
        validation: {input: data.csv}
        description: something
        modelID: 123
        userCredentialSpecifications: []
        environmentId: abc
        """
    )
    assert meta.warnings == ()


def test_unknown_key_warning_has_position():
    meta = parse("name: x\n\nhyperparams: []\n")
    assert len(meta.warnings) == 1
    assert meta.warnings[0].startswith(f"{FILE}:3:1: ")
    assert "'hyperparams'" in meta.warnings[0]


def test_empty_file_warns_and_uses_defaults():
    meta = parse("# nothing here\n")
    assert meta.warnings == (f"{FILE}:1:1: the file is empty; defaults apply",)
    assert meta.type_schema == default_type_schema(None)


def test_invalid_yaml_syntax_reports_line():
    err = error_of(
        """\
        name: x
        hyperparameters:
          - name: a
           type: int
        """
    )
    assert err.line == 4
    assert "not valid YAML" in err.message
    assert str(err).startswith(f"{FILE}:4:")


def test_tab_indentation_is_a_syntax_error():
    err = error_of("name: x\nhyperparameters:\n\t- name: a\n")
    assert err.line == 3 and "not valid YAML" in err.message


@pytest.mark.parametrize(
    "text, where, words",
    [
        ("name: x\n  bad: 1\n", (2, 6), "line it up with the keys above"),
        ("name: x\nhyperparameters:\n  - name: a\n   type: int\n", (4, 4), "not indented like the list"),
        ("name: x\nhyperparameters:\n\t- name: a\n", (3, 1), "use spaces"),
        ("name: [a, b\n", (1, 7), "the '[' opened here is never closed; add the matching ']'"),
        ('name: "abc\n', (1, 7), "the quote opened here is never closed"),
        ("name: 'it's'\n", (1, 11), "write a quote as two"),
        ('name: "C:\\path"\n', (1, 11), "write a backslash as '\\\\'"),
        ("name: @x\n", (1, 7), "put the whole value in quotes"),
        ("name: x\n---\ntype: training\n", (2, 1), "second YAML document"),
        ("name: *x\n", (1, 7), "'*x' refers to an anchor '&x'"),
        ("name: x\ntype\n", (2, 1), "no ':' after its key"),
        ("name: x\x07\n", (1, 8), "the character U+0007 is not allowed in YAML; delete it"),
    ],
)
def test_yaml_syntax_error_is_one_plain_sentence(text, where, words):
    err = error_of(text)
    assert (err.line, err.column) == where
    assert str(err).startswith(f"{FILE}:{where[0]}:{where[1]}: the file is not valid YAML: ")
    assert words in err.problem
    assert "\n" not in str(err)
    for jargon in ("while parsing", "while scanning", "<block end>", "<stream end>", "<unicode string>", "token"):
        assert jargon not in str(err)


def test_top_level_must_be_mapping():
    err = error_of("- a\n- b\n")
    assert (err.line, err.column) == (1, 1)
    assert "mapping" in err.message


def test_duplicate_top_level_key():
    err = error_of("name: a\nname: b\n")
    assert err.line == 2 and "appears twice" in err.message


def test_bad_target_type_lists_valid_ones():
    err = error_of("name: x\ntargetType: textgeneration\n")
    assert (err.line, err.column) == (2, 13)
    assert "textgeneration" in err.message
    for target_type in TARGET_TYPES:
        assert target_type in err.message


def test_str_format():
    err = MetadataError("f.yaml", 12, 14, "something is wrong")
    assert str(err) == "f.yaml:12:14: something is wrong"
    assert str(MetadataError("f.yaml", None, None, "bad")) == "f.yaml: bad"
    assert str(MetadataError("f.yaml", 3, None, "bad")) == "f.yaml:3: bad"


def test_bad_hyperparameter_type_message():
    err = error_of(
        """\
        name: x
        hyperparameters:
          - name: C
            type: double
        """
    )
    assert str(err) == (
        f"{FILE}:4:11: hyperparameter 'C' has type 'double'; use one of int, float, string, select, multi"
    )


@pytest.mark.parametrize("name", ["_a", "a_", "a1", "a-b", "b" * 65])
def test_bad_hyperparameter_names(name):
    err = error_of(f"hyperparameters:\n  - name: {name}\n    type: string\n")
    assert (err.line, err.column) == (2, 11)
    assert "name" in err.message


def test_duplicate_hyperparameter_name():
    err = error_of(
        """\
        hyperparameters:
          - name: a
            type: string
          - name: a
            type: string
        """
    )
    assert err.line == 4 and "declared twice" in err.message


def test_int_needs_min_and_max():
    err = error_of("hyperparameters:\n  - name: n\n    type: int\n    max: 3\n")
    assert err.line == 2 and "no min" in err.message


def test_int_default_out_of_range():
    err = error_of(
        """\
        hyperparameters:
          - name: seed
            type: int
            min: 0
            max: 10
            default: 11
        """
    )
    assert (err.line, err.column) == (6, 14)
    assert "above its maximum 10" in err.message


def test_int_default_wrong_type():
    err = error_of("hyperparameters:\n  - name: n\n    type: int\n    min: 0\n    max: 9\n    default: 2.5\n")
    assert err.line == 6 and "whole number" in err.message


def test_min_above_max():
    err = error_of("hyperparameters:\n  - name: x\n    type: float\n    min: 2\n    max: 1\n")
    assert err.line == 5 and "below its min" in err.message


def test_unknown_hyperparameter_key_is_error():
    err = error_of("hyperparameters:\n  - name: x\n    type: string\n    defualt: a\n")
    assert (err.line, err.column) == (4, 5)
    assert "'defualt'" in err.message


def test_select_default_not_in_values():
    err = error_of("hyperparameters:\n  - name: s\n    type: select\n    values: [a, b]\n    default: c\n")
    assert err.line == 5 and "not one of 'a', 'b'" in err.message


def test_select_values_limits():
    too_many = ", ".join(f"v{i}" for i in range(25))
    err = error_of(f"hyperparameters:\n  - name: s\n    type: select\n    values: [{too_many}]\n")
    assert err.line == 4 and "at most 24" in err.message
    err = error_of("hyperparameters:\n  - name: s\n    type: select\n    values: []\n")
    assert err.line == 4 and "no values" in err.message
    err = error_of("hyperparameters:\n  - name: s\n    type: select\n    values:\n      - a\n      - a\n")
    assert err.line == 6 and "twice" in err.message


def test_multi_default_must_fit_a_component():
    err = error_of(
        """\
        hyperparameters:
          - name: m
            type: multi
            values:
              int: {min: 0, max: 5}
              select: {values: [auto]}
            default: 9
        """
    )
    assert err.line == 7 and "fits none of its forms" in err.message


def test_multi_unknown_component():
    err = error_of("hyperparameters:\n  - name: m\n    type: multi\n    values:\n      str: {min: 0}\n")
    assert (err.line, err.column) == (5, 7)
    assert "'str'" in err.message


def test_type_schema_bad_condition_for_field():
    err = error_of(
        """\
        typeSchema:
          input_requirements:
            - field: sparse
              condition: IN
              value: [SUPPORTED]
        """
    )
    assert (err.line, err.column) == (4, 18)
    assert "does not take condition 'IN'" in err.message


def test_type_schema_output_value_on_input_side():
    err = error_of(
        """\
        typeSchema:
          input_requirements:
            - field: contains_missing
              condition: EQUALS
              value: NEVER
        """
    )
    assert (err.line, err.column) == (5, 14)
    assert "FORBIDDEN, SUPPORTED" in err.message


def test_type_schema_unknown_data_type_in_list_points_at_item():
    err = error_of(
        """\
        typeSchema:
          output_requirements:
            - field: data_types
              condition: NOT_IN
              value:
                - NUM
                - TEXT
        """
    )
    assert err.line == 7 and "'TEXT'" in err.message


def test_type_schema_equals_takes_one_value():
    err = error_of(
        """\
        typeSchema:
          input_requirements:
            - field: data_types
              condition: EQUALS
              value: [NUM, CAT]
        """
    )
    assert err.line == 5 and "single value" in err.message


def test_type_schema_duplicate_field_and_unknown_field():
    err = error_of(
        """\
        typeSchema:
          input_requirements:
            - field: sparse
              condition: EQUALS
              value: SUPPORTED
            - field: sparse
              condition: EQUALS
              value: REQUIRED
        """
    )
    assert err.line == 6 and "appears twice" in err.message
    err = error_of("typeSchema:\n  input_requirements:\n    - field: dtype\n      condition: IN\n      value: NUM\n")
    assert (err.line, err.column) == (3, 14) and "data_types" in err.message


def test_number_of_columns_values():
    meta = parse(
        """\
        typeSchema:
          input_requirements:
            - field: number_of_columns
              condition: IN
              value: 3
          output_requirements:
            - field: number_of_columns
              condition: EQUALS
              value: 1
        """
    )
    assert meta.type_schema.input_requirements[0].value == (3,)
    assert meta.type_schema.output_requirements[0].value == 1
    err = error_of("typeSchema:\n  input_requirements:\n    - field: number_of_columns\n"
                   "      condition: EQUALS\n      value: -1\n")
    assert err.line == 5 and "0 or more" in err.message
    err = error_of("typeSchema:\n  input_requirements:\n    - field: number_of_columns\n"
                   "      condition: LESS_THAN\n      value: 0\n")
    assert err.line == 5 and "cannot be used with LESS_THAN" in err.message


def test_requirement_missing_key():
    err = error_of("typeSchema:\n  input_requirements:\n    - field: sparse\n      condition: EQUALS\n")
    assert err.line == 3 and "no value" in err.message


def test_default_type_schema():
    estimator = default_type_schema("binary")
    transform = default_type_schema("transform")
    assert not estimator.declared and not transform.declared
    assert estimator.output_requirements == ()
    assert estimator.input_requirements == transform.input_requirements
    inputs = {r.field: r for r in transform.input_requirements}
    assert set(inputs["data_types"].value) == {"NUM", "CAT", "TXT", "DATE"}
    assert inputs["contains_missing"].value == "SUPPORTED"
    outputs = {r.field: (r.condition, r.value) for r in transform.output_requirements}
    assert outputs == {
        "data_types": ("EQUALS", ("NUM",)),
        "sparse": ("EQUALS", "NEVER"),
        "contains_missing": ("EQUALS", "NEVER"),
    }
    assert default_type_schema(None).output_requirements == ()


def test_schema_absent_uses_kind_default():
    meta = parse("targetType: transform\n")
    assert meta.type_schema == default_type_schema("transform")


def test_describe_default_schema():
    assert "no missing values" in describe_default_schema("transform")
    assert "missing values" in describe_default_schema("regression")
    assert describe_default_schema("regression").endswith(".")
    assert "output" not in describe_default_schema("regression")


def test_load_metadata_without_file(tmp_path):
    meta = load_metadata(tmp_path)
    assert meta.path is None and meta.target_type is None and meta.hyperparameters == ()
    assert meta.type_schema == default_type_schema(None)
    assert meta.type_schema.declared is False


def test_load_metadata_reads_yml_and_reports_full_path(tmp_path):
    (tmp_path / "model-metadata.yml").write_text("targetType: regression\n")
    assert load_metadata(tmp_path).target_type == "regression"
    (tmp_path / "model-metadata.yaml").write_text("name: x\ntargetType: nope\n")
    with pytest.raises(MetadataError) as info:
        load_metadata(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'model-metadata.yaml'}:2:13: ")


def test_resolve_merges_defaults(drum):
    values = resolve_parameters(drum.hyperparameters, {"seed": 3, "C": 2})
    assert values == {"seed": 3, "kbins_strategy": "quantile", "all_of_types": "up", "text": "hi", "C": 2.0}
    assert isinstance(values["C"], float)
    assert resolve_parameters(drum.hyperparameters, None)["seed"] == 64


def test_resolve_parameter_without_default_is_absent():
    hp = Hyperparameter("n", "int", None, min=0, max=5, line=2)
    assert resolve_parameters([hp], {}) == {}
    assert resolve_parameters([hp], {"n": 4.0}) == {"n": 4}


def test_resolve_out_of_range_message(drum):
    with pytest.raises(ParameterError) as info:
        resolve_parameters(drum.hyperparameters, {"C": 20})
    assert str(info.value) == "parameter 'C' = 20 is above its maximum 10.0 (model-metadata.yaml line 28)"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "given, phrase",
    [
        ({"seed": "3"}, "is a string, not an integer"),
        ({"seed": True}, "is a boolean"),
        ({"seed": 1.5}, "not a whole number"),
        ({"seed": -1}, "below its minimum 0"),
        ({"C": "big"}, "not a number"),
        ({"kbins_strategy": "median"}, "is not one of 'uniform', 'quantile', 'kmeans'"),
        ({"all_of_types": 2}, "fits none of its forms"),
        ({"all_of_types": "left"}, "fits none of its forms"),
        ({"text": ["a"]}, "not a string"),
    ],
)
def test_resolve_rejects(drum, given, phrase):
    with pytest.raises(ParameterError) as info:
        resolve_parameters(drum.hyperparameters, given)
    assert phrase in str(info.value)
    assert "model-metadata.yaml line" in str(info.value)


def test_resolve_multi_coercion(drum):
    assert resolve_parameters(drum.hyperparameters, {"all_of_types": 1})["all_of_types"] == 1
    assert resolve_parameters(drum.hyperparameters, {"all_of_types": 0.5})["all_of_types"] == 0.5
    assert resolve_parameters(drum.hyperparameters, {"all_of_types": "down"})["all_of_types"] == "down"


def test_resolve_unknown_name_lists_declared(drum):
    with pytest.raises(ParameterError) as info:
        resolve_parameters(drum.hyperparameters, {"sed": 1}, source="blueprint node 'lr'")
    message = str(info.value)
    assert message.startswith("blueprint node 'lr': ")
    assert "'sed'" in message and "seed, kbins_strategy, all_of_types, text, C" in message
    with pytest.raises(ParameterError, match="declared parameters: none"):
        resolve_parameters((), {"x": 1})


def test_target_type_list_extension():
    from core.tasks.metadata import parse_metadata

    meta = parse_metadata("name: rf\ntargetType: [binary, multiclass]\n", "model-metadata.yaml")
    assert meta.target_types == ("binary", "multiclass")
    assert meta.target_type == "binary" and meta.kind == "estimator"
    single = parse_metadata("name: rf\ntargetType: regression\n", "model-metadata.yaml")
    assert single.target_types == ("regression",)
    with pytest.raises(MetadataError, match="one kind or the other"):
        parse_metadata("targetType: [transform, binary]\n", "model-metadata.yaml")


def test_every_semantic_error_is_reported_at_once_with_a_did_you_mean():
    """A select default that is not a value and a misspelled condition, in one file: both FILE:LINE:COL sentences
    in one run, one per line in the order of the file, each offering the close spelling (a trial finding: two runs
    were needed, and NOT_LESS_THEN got no hint)."""
    err = error_of("""\
        name: t
        targetType: binary
        hyperparameters:
          - name: criterion
            type: select
            values: [gini, entropy]
            default: gin
        typeSchema:
          input_requirements:
            - field: number_of_columns
              condition: NOT_LESS_THEN
              value: 2
            - field: data_types
              condition: IN
              value: [NUMM, CAT]
        """)
    assert err.message.splitlines() == [
        f"{FILE}:7:14: hyperparameter 'criterion' has default 'gin', which is not one of 'gini', 'entropy'; "
        "did you mean 'gini'?",
        f"{FILE}:11:18: field 'number_of_columns' does not take condition 'NOT_LESS_THEN'; did you mean "
        "'NOT_LESS_THAN'? (it takes EQUALS, NOT_EQUALS, IN, NOT_IN, GREATER_THAN, LESS_THAN, NOT_GREATER_THAN or "
        "NOT_LESS_THAN)",
        f"{FILE}:15:15: 'NUMM' is not a valid data_types value in input_requirements; did you mean 'NUM'? (use one "
        "of NUM, CAT, TXT, DATE, DATE_DURATION, IMG, COUNT_DICT, GEO)",
    ]
    assert (err.line, err.column) == (7, 14) and err.problem.startswith("hyperparameter 'criterion' has default")
    assert err.exit_code == 2


def test_a_far_misspelling_gets_no_guess():
    err = error_of("""\
        hyperparameters:
          - name: criterion
            type: select
            values: [gini, entropy]
            default: zzz
        """)
    assert err.message == f"{FILE}:5:14: hyperparameter 'criterion' has default 'zzz', which is not one of 'gini', " \
                          "'entropy'; change the default to fit the declaration"


def test_every_problem_of_one_hyperparameter_is_reported_at_once():
    """Two problems inside one hyperparameter entry (a misspelled type with a default not among the values; an int
    with min > max and a default out of range even once they are swapped; two unknown keys) are each said in one
    run, in the order of the file, with the sentences a single problem gets; other entries are still checked."""
    err = error_of("""\
        hyperparameters:
          - name: criterion
            type: selct
            values: [gini, entropy]
            default: gin
          - name: depth
            type: int
            min: 10
            max: 1
            default: 50
          - name: rate
            type: float
            min: 0
            max: 1
            step: 2
            scale: log
        """)
    assert err.message.splitlines() == [
        f"{FILE}:3:11: hyperparameter 'criterion' has type 'selct'; use one of int, float, string, select, multi",
        f"{FILE}:5:14: hyperparameter 'criterion' has default 'gin', which is not one of 'gini', 'entropy'; "
        "did you mean 'gini'?",
        f"{FILE}:9:10: hyperparameter 'depth' has max 1 below its min 10; swap them",
        f"{FILE}:10:14: hyperparameter 'depth' has default 50, which is above its maximum 10; change the default to "
        "fit the declaration",
        f"{FILE}:15:5: hyperparameter 'rate' has an unknown key 'step'; float hyperparameters take name, type, min, "
        "max, default",
        f"{FILE}:16:5: hyperparameter 'rate' has an unknown key 'scale'; float hyperparameters take name, type, min, "
        "max, default",
    ]
    assert (err.line, err.column) == (3, 11)


def test_a_swapped_range_alone_is_one_problem_and_a_far_type_stops_the_entry():
    """A default inside the swapped range is not also reported; a type close to none stops that entry there."""
    err = error_of("""\
        hyperparameters:
          - name: depth
            type: int
            min: 10
            max: 1
            default: 5
          - name: criterion
            type: zzz
            default: gin
        """)
    assert err.message.splitlines() == [
        f"{FILE}:5:10: hyperparameter 'depth' has max 1 below its min 10; swap them",
        f"{FILE}:8:11: hyperparameter 'criterion' has type 'zzz'; use one of int, float, string, select, multi",
    ]
