"""The custom-task contract in one place: hook names, target types, native artifact formats.

Everything that needs a hook name or a target type refers to this module, so the
contract is named once. Standard library only: it runs inside worker processes.
"""

CUSTOM_FILE = "custom.py"
R_CUSTOM_FILE = "custom.R"  # DRUM's R tasks: recognised, to say they are not supported yet
METADATA_FILES = ("model-metadata.yaml", "model-metadata.yml")
REQUIREMENTS_FILE = "requirements.txt"


class Hooks:
    """Names of the module-level hooks a `custom.py` may define."""

    INIT = "init"
    FIT = "fit"
    LOAD_MODEL = "load_model"
    TRANSFORM = "transform"
    PREDICT = "predict"
    PREDICT_PROBA = "predict_proba"
    SCORE = "score"

    ALL = (INIT, FIT, LOAD_MODEL, TRANSFORM, PREDICT, PREDICT_PROBA, SCORE)


CUSTOM_TASK_CLASS = "CustomTask"

TRANSFORM = "transform"
BINARY = "binary"
MULTICLASS = "multiclass"
REGRESSION = "regression"
ANOMALY = "anomaly"
TARGET_TYPES = (TRANSFORM, BINARY, MULTICLASS, REGRESSION, ANOMALY)
ESTIMATOR_TYPES = (BINARY, MULTICLASS, REGRESSION, ANOMALY)
CLASSIFICATION_TYPES = (BINARY, MULTICLASS)

PREDICTIONS_COLUMN = "Predictions"

# Artifacts loaded without `load_model` when exactly one is at the top of the folder.
NATIVE_EXTENSIONS = (".pkl", ".joblib", ".pth", ".h5")

# The file the engine pickles a `CustomTask` instance into when the class has no `save`.
CLASS_ARTIFACT = "artifact.pkl"

PROBABILITY_TOLERANCE = 1e-6

# ---------------------------------------------------------------- typeSchema conditions
# One evaluation of a typeSchema condition, used by the fit check on real data and by
# blueprint validation on a project's columns, so both read a rule the same way.

TYPE_CONDITIONS = ("EQUALS", "IN", "NOT_EQUALS", "NOT_IN")


def same_kind(data_type, text_is_cat):
    """DRUM reads TXT and CAT as one kind at run time ("Treat Cat and TXT as equivalent")."""
    return "CAT" if text_is_cat and data_type == "TXT" else data_type


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


def text_read_as_cat(requirements, present):
    """The TXT columns a `data_types` rule accepts only because TXT counts as CAT (for a warning).

    `requirements` are {field, condition, value} mappings; `present` maps column -> data type.
    """
    text = [c for c, t in present.items() if t == "TXT"]
    if not text:
        return []
    for req in requirements:
        if req["field"] != "data_types":
            continue
        if rejected_types(req["condition"], req["value"], ["TXT"]) and not rejected_types(
            req["condition"], req["value"], ["TXT"], text_is_cat=True
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
        if field == "data_types":
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
        elif field == "contains_missing":
            if value in ("FORBIDDEN", "NEVER") and fact("missing"):
                columns = fact("missing_columns") or []
                named = f" (columns {', '.join(columns[:5])})" if columns else ""
                problems.append((
                    "contains_missing",
                    f"{where} contains missing values{named} but the schema says "
                    f"contains_missing {value}{line}; impute them first or declare SUPPORTED/DYNAMIC.",
                ))
        elif field == "sparse":
            sparse, input_sparse = fact("sparse"), fact("input_sparse")
            if sparse is None:
                continue
            wrong = (
                (value in ("FORBIDDEN", "NEVER") and sparse)
                or (value in ("REQUIRED", "ALWAYS") and not sparse)
                or (value == "IDENTITY" and input_sparse is not None and sparse != input_sparse)
            )
            if wrong:
                state = "sparse" if sparse else "dense"
                problems.append(("sparse", f"{where} is {state} but the schema says sparse {value}{line}."))
        elif field == "number_of_columns":
            count = fact("columns")
            if count is not None and not count_holds(cond, value, count):
                problems.append((
                    "number_of_columns",
                    f"{where} has {count} columns but the schema says number_of_columns {cond} {value}{line}.",
                ))
    return problems


def _columns_of(types, data_type):
    names = [c for c, t in types.items() if t == data_type]
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return f"{data_type} column(s) {', '.join(map(repr, names[:3]))}{more}"
