"""The typeSchema vocabulary and its one evaluation: fields, conditions, data types, values and sentences.

Metadata parsing (what a rule may say), the fit check (does real data meet it) and
blueprint validation (does a project's data flow meet it) all read rules here, so
a rule means the same thing everywhere. Standard library only: it runs inside worker processes.
"""

# ---------------------------------------------------------------- vocabulary

NUM, CAT, TXT, DATE = "NUM", "CAT", "TXT", "DATE"
DATA_TYPES = (NUM, CAT, TXT, DATE, "DATE_DURATION", "IMG", "COUNT_DICT", "GEO")  # every type DRUM names
COLUMN_TYPES = (NUM, CAT, TXT, DATE)  # the types a column is inferred as, and the blueprint channels of data

CONDITIONS = (
    "EQUALS",
    "NOT_EQUALS",
    "IN",
    "NOT_IN",
    "GREATER_THAN",
    "LESS_THAN",
    "NOT_GREATER_THAN",
    "NOT_LESS_THAN",
)
TYPE_CONDITIONS = CONDITIONS[:4]
LIST_CONDITIONS = ("IN", "NOT_IN")
ZERO_COLUMNS_CONDITIONS = ("NOT_IN", "NOT_EQUALS", "NOT_LESS_THAN", "GREATER_THAN")

DATA_TYPES_FIELD = "data_types"
SPARSE_FIELD = "sparse"
COLUMNS_FIELD = "number_of_columns"
MISSING_FIELD = "contains_missing"
# field -> (conditions, values on the input side, values on the output side); None: a column count
FIELDS = {
    DATA_TYPES_FIELD: (TYPE_CONDITIONS, DATA_TYPES, DATA_TYPES),
    SPARSE_FIELD: (("EQUALS",), ("FORBIDDEN", "SUPPORTED", "REQUIRED"), ("NEVER", "DYNAMIC", "ALWAYS", "IDENTITY")),
    COLUMNS_FIELD: (CONDITIONS, None, None),
    MISSING_FIELD: (("EQUALS",), ("FORBIDDEN", "SUPPORTED"), ("NEVER", "DYNAMIC")),
}
SCHEMA_SIDES = ("input_requirements", "output_requirements")

# The schema that applies when a task declares none (SPEC §2.5), as (field, condition, value).
DEFAULT_INPUT = (
    (DATA_TYPES_FIELD, "IN", COLUMN_TYPES),
    (SPARSE_FIELD, "EQUALS", "SUPPORTED"),
    (MISSING_FIELD, "EQUALS", "SUPPORTED"),
)
DEFAULT_TRANSFORM_OUTPUT = (
    (DATA_TYPES_FIELD, "EQUALS", (NUM,)),
    (SPARSE_FIELD, "EQUALS", "NEVER"),
    (MISSING_FIELD, "EQUALS", "NEVER"),
)


def forbids(value):
    """Whether a `sparse`/`contains_missing` value rules the property out (FORBIDDEN on input, NEVER on output)."""
    return value in ("FORBIDDEN", "NEVER")


def requires(value):
    """Whether a `sparse` value demands the property (REQUIRED on input, ALWAYS on output)."""
    return value in ("REQUIRED", "ALWAYS")


# ---------------------------------------------------------------- evaluation


def same_kind(data_type, text_is_cat):
    """DRUM reads TXT and CAT as one kind at run time ("Treat Cat and TXT as equivalent")."""
    return CAT if text_is_cat and data_type == TXT else data_type


def rejected_types(condition, allowed, present, text_is_cat=False):
    """The data types in `present` that a `data_types` condition rejects (empty when it holds).

    With `text_is_cat`, TXT and CAT count as one kind on both sides, as DRUM's runtime
    check does; without it (blueprint validation against a project), they differ.
    """
    allowed = {same_kind(t, text_is_cat) for t in ([allowed] if isinstance(allowed, str) else allowed)}
    kinds = {t: same_kind(t, text_is_cat) for t in present}
    if condition in ("EQUALS", "IN"):
        return [t for t in present if kinds[t] not in allowed]
    if condition in ("NOT_EQUALS", "NOT_IN"):
        return [t for t in present if kinds[t] in allowed]
    return []


def count_holds(condition, value, count):
    """Whether a column count meets a `number_of_columns` condition."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    return {
        "EQUALS": lambda: count == values[0],
        "NOT_EQUALS": lambda: count != values[0],
        "IN": lambda: count in values,
        "NOT_IN": lambda: count not in values,
        "GREATER_THAN": lambda: count > values[0],
        "LESS_THAN": lambda: count < values[0],
        "NOT_GREATER_THAN": lambda: count <= values[0],
        "NOT_LESS_THAN": lambda: count >= values[0],
    }.get(condition, lambda: True)()


def sparse_holds(value, sparse, input_sparse=None):
    """Whether data that is (or is not) `sparse` meets a `sparse` value; IDENTITY compares with the input."""
    if forbids(value) and sparse:
        return False
    if requires(value) and not sparse:
        return False
    return not (value == "IDENTITY" and input_sparse is not None and sparse != input_sparse)


def column_phrase(condition, value):
    """A `number_of_columns` condition in words: 'exactly 3', 'at least 1', 'one of 2, 3'."""
    shown = ", ".join(str(v) for v in value) if isinstance(value, tuple) else str(value)
    return {
        "EQUALS": f"exactly {shown}",
        "NOT_EQUALS": f"other than {shown}",
        "IN": f"one of {shown}",
        "NOT_IN": f"none of {shown}",
        "GREATER_THAN": f"more than {shown}",
        "LESS_THAN": f"fewer than {shown}",
        "NOT_GREATER_THAN": f"at most {shown}",
        "NOT_LESS_THAN": f"at least {shown}",
    }[condition]


def text_read_as_cat(requirements, present):
    """The TXT columns a `data_types` rule accepts only because TXT counts as CAT (for a warning).

    `requirements` are {field, condition, value} mappings; `present` maps column -> data type.
    """
    text = [c for c, t in present.items() if t == TXT]
    if not text:
        return []
    for req in requirements:
        if req["field"] != DATA_TYPES_FIELD:
            continue
        if rejected_types(req["condition"], req["value"], [TXT]) and not rejected_types(
            req["condition"], req["value"], [TXT], text_is_cat=True
        ):
            return text
    return []


def schema_problems(facts, requirements, where, text_is_cat=True):
    """Every typeSchema requirement `facts` break, as (rule, sentence) pairs; `where` names whose data it is.

    `facts` maps "types" (column -> data type), "columns" (a count), "missing",
    "sparse" and "input_sparse" (bools, None when unknown) to values or to
    functions computing them, so costly facts are found only when a rule needs them.
    """
    known = {}

    def fact(name):
        if name not in known:
            value = facts.get(name)
            known[name] = value() if callable(value) else value
        return known[name]

    problems = []
    for req in requirements:
        field, cond, value = req["field"], req["condition"], req["value"]
        line = f" (model-metadata.yaml line {req['line']})" if req.get("line") else ""
        if field == DATA_TYPES_FIELD:
            types = fact("types")
            if types is None:
                continue
            allowed = [value] if isinstance(value, str) else list(value)
            bad = rejected_types(cond, allowed, sorted(set(types.values())), text_is_cat)
            if bad:
                present = sorted(set(types.values()))
                listed = "; ".join(_columns_of(types, t) for t in bad)
                problems.append((
                    f"data_types {cond}",
                    f"{where} breaks the schema rule data_types {cond} {allowed}{line}: it has {listed} "
                    f"(the data has {', '.join(present) or 'no columns'}).",
                ))
        elif field == MISSING_FIELD:
            if forbids(value) and fact("missing"):
                columns = fact("missing_columns") or []
                named = f" (columns {', '.join(columns[:5])})" if columns else ""
                problems.append((
                    MISSING_FIELD,
                    f"{where} contains missing values{named} but the schema says "
                    f"contains_missing {value}{line}; impute them first or declare SUPPORTED/DYNAMIC.",
                ))
        elif field == SPARSE_FIELD:
            sparse = fact("sparse")
            if sparse is None:
                continue
            if not sparse_holds(value, sparse, fact("input_sparse")):
                state = "sparse" if sparse else "dense"
                problems.append((SPARSE_FIELD, f"{where} is {state} but the schema says sparse {value}{line}."))
        elif field == COLUMNS_FIELD:
            count = fact("columns")
            if count is not None and not count_holds(cond, value, count):
                problems.append((
                    COLUMNS_FIELD,
                    f"{where} has {count} columns but the schema says number_of_columns {cond} {value}{line}.",
                ))
    return problems


def _columns_of(types, data_type):
    names = [c for c, t in types.items() if t == data_type]
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return f"{data_type} column(s) {', '.join(map(repr, names[:3]))}{more}"
