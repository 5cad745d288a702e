"""Parse and validate a task folder's ``model-metadata.yaml`` (SPEC §2.4–2.5, DRUM-compatible).

Every problem is reported as ``FILE:LINE:COL: sentence`` pointing at the offending key or value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import yaml

from ..errors import UsageError
from ..runtime.contract import TARGET_TYPES, TRANSFORM
from ..runtime.typeschema import (
    DATA_TYPES,
    DEFAULT_INPUT,
    DEFAULT_TRANSFORM_OUTPUT,
    FIELDS,
    LIST_CONDITIONS,
    SCHEMA_SIDES,
    ZERO_COLUMNS_CONDITIONS,
)
from .yamlsyntax import describe_syntax_error

HYPERPARAMETER_TYPES = ("int", "float", "string", "select", "multi")
METADATA_FILENAMES = ("model-metadata.yaml", "model-metadata.yml")

KNOWN_KEYS = ("name", "type", "targetType", "environmentID", "hyperparameters", "typeSchema", "network")
DRUM_KEYS = frozenset(
    {
        "inferenceModel",
        "trainingModel",
        "majorVersion",
        "runtimeParameterDefinitions",
        "validation",
        "description",
        "modelID",
        "userCredentialSpecifications",
        "environmentId",
        "customPredictor",
        "lazyLoading",
    }
)

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z_]*[A-Za-z]$|^[A-Za-z]$")
MAX_NAME_LENGTH = 64
MAX_SELECT_VALUES = 24


_HP_KEYS = {
    "int": ("name", "type", "min", "max", "default"),
    "float": ("name", "type", "min", "max", "default"),
    "string": ("name", "type", "default"),
    "select": ("name", "type", "values", "default"),
    "multi": ("name", "type", "values", "default", "int", "float", "select"),
}
_MULTI_PARTS = ("int", "float", "select")

_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_FLOAT_TAG = "tag:yaml.org,2002:float"


class MetadataError(UsageError):
    """An invalid model-metadata.yaml, the user's to fix (exit 2); str() and `message` are 'FILE:LINE:COL: sentence'
    (1-based), `problem` the sentence alone. A file with several errors is one MetadataError: path, line, column and
    problem are the first's, `others` the rest as (line, column, problem), and the message says each on its own
    line, in the order of the file."""

    def __init__(self, path: str, line: int | None, column: int | None, message: str,
                 others: tuple[tuple[int | None, int | None, str], ...] = ()):
        self.path = path
        self.line = line
        self.column = column
        self.problem = message
        self.others = tuple(others)
        super().__init__("\n".join(_located(path, *at) for at in ((line, column, message), *self.others)))

    def __reduce__(self):
        return type(self), (self.path, self.line, self.column, self.problem, self.others)


def _located(path: str, line: int | None, column: int | None, message: str) -> str:
    """'FILE:LINE:COL: sentence' (LINE and COL left out when not known)."""
    where = path
    if line is not None:
        where += f":{line}"
        if column is not None:
            where += f":{column}"
    return f"{where}: {message}"


def _did_you_mean(word: object, options: Iterable[object]) -> str:
    """'; did you mean 'X'?' for the option closest to a misspelled `word` (difflib), or ''."""
    from difflib import get_close_matches

    if not isinstance(word, str) or not word:
        return ""
    texts = {str(option).upper() if word.isupper() else str(option): option for option in options
             if isinstance(option, str)}
    close = get_close_matches(word, list(texts), n=1, cutoff=0.6)
    return f"; did you mean {_show(texts[close[0]])}?" if close else ""


class ParameterError(UsageError, ValueError):
    """A parameter value does not fit its declaration, the user's to fix (exit 2); str() is one plain sentence."""

    def __init__(self, message: str, parameter: str | None = None):
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class Hyperparameter:
    """One declared hyperparameter; ``line`` is where its entry starts in the file."""

    name: str
    type: str
    default: object
    min: float | int | None = None
    max: float | int | None = None
    values: tuple = ()
    multi: dict | None = None
    line: int | None = None


@dataclass(frozen=True)
class Requirement:
    """One typeSchema condition with its value normalised (tuple of type names, int, tuple of ints or str)."""

    field: str
    condition: str
    value: object
    line: int | None = None


@dataclass(frozen=True)
class TypeSchema:
    """Input and output requirements; ``declared`` is False when the defaults were applied."""

    input_requirements: tuple[Requirement, ...]
    output_requirements: tuple[Requirement, ...]
    declared: bool


@dataclass(frozen=True)
class TaskMetadata:
    """The validated content of ``model-metadata.yaml`` (or the defaults when there is none)."""

    path: str | None
    name: str | None
    target_type: str | None
    environment_id: str | None
    network: bool
    hyperparameters: tuple[Hyperparameter, ...]
    type_schema: TypeSchema
    warnings: tuple[str, ...] = field(default=())
    # Every target type the task serves; a taskbench extension lets `targetType` be a list
    # (a classifier for [binary, multiclass]). `target_type` is then the first of them.
    target_types: tuple[str, ...] = field(default=())

    @property
    def kind(self) -> str | None:
        """'transform', 'estimator', or None when the file names no target type."""
        if self.target_type is None:
            return None
        return "transform" if self.target_type == TRANSFORM else "estimator"


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 scalars: only true/false are booleans and ``1e-3`` is a float."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL_TAG, _FLOAT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(
    _FLOAT_TAG,
    re.compile(
        r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
            |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
            |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


class _Mismatch(Exception):
    """A value does not fit a declaration; the message is a phrase such as 'is above its maximum 10'."""


def _show(value: object) -> str:
    """Render a value the way a user would write it in a message."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _kind_of(value: object) -> str:
    """Plain-English name of a value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def _join_or(items: Iterable[object]) -> str:
    """'a, b or c'."""
    shown = [str(item) for item in items]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _same_choice(choice: object, value: object) -> bool:
    """True when ``value`` names the select ``choice``; text '3' matches 3, booleans only match booleans."""
    if isinstance(choice, bool) or isinstance(value, bool):
        return choice is value
    if type(choice) is type(value) or (isinstance(choice, (int, float)) and isinstance(value, (int, float))):
        return choice == value
    return str(choice) == str(value)


def _as_int(value: object) -> int:
    """Return ``value`` as an int or raise _Mismatch; whole floats are accepted, booleans and text are not."""
    if isinstance(value, bool):
        raise _Mismatch("is a boolean, not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise _Mismatch("is not a whole number")
    if isinstance(value, str):
        raise _Mismatch("is a string, not an integer; write the number without quotes")
    raise _Mismatch(f"is a {_kind_of(value)}, not an integer")


def _as_float(value: object) -> float:
    """Return ``value`` as a float or raise _Mismatch; ints are accepted, booleans, text and NaN are not."""
    if isinstance(value, bool):
        raise _Mismatch("is a boolean, not a number")
    if isinstance(value, (int, float)):
        result = float(value)
        if math.isnan(result):
            raise _Mismatch("is not a number")
        return result
    if isinstance(value, str):
        raise _Mismatch("is a string, not a number; write the number without quotes")
    raise _Mismatch(f"is a {_kind_of(value)}, not a number")


def _in_range(value: int | float, low: int | float | None, high: int | float | None) -> int | float:
    """Return ``value`` when it lies within [low, high], else raise _Mismatch."""
    if low is not None and value < low:
        raise _Mismatch(f"is below its minimum {low}")
    if high is not None and value > high:
        raise _Mismatch(f"is above its maximum {high}")
    return value


def _pick(choices: Iterable[object], value: object) -> object:
    """Return the declared choice that ``value`` names, else raise _Mismatch."""
    choices = tuple(choices)
    for choice in choices:
        if _same_choice(choice, value):
            return choice
    raise _Mismatch(f"is not one of {', '.join(_show(c) for c in choices)}{_did_you_mean(value, choices)}")


def _describe_multi(multi: Mapping[str, Mapping[str, Any]]) -> str:
    """'an integer from -1 to 1, a number from -1.0 to 1.0 or one of 'up', 'down''."""
    forms = []
    if "int" in multi:
        forms.append(f"an integer from {multi['int']['min']} to {multi['int']['max']}")
    if "float" in multi:
        forms.append(f"a number from {multi['float']['min']} to {multi['float']['max']}")
    if "select" in multi:
        forms.append("one of " + ", ".join(_show(v) for v in multi["select"]["values"]))
    return _join_or(forms)


def _conform(hp: Hyperparameter, value: object) -> object:
    """Check ``value`` against ``hp`` and return it coerced (int, float, str or the declared choice)."""
    if hp.type == "int":
        return _in_range(_as_int(value), hp.min, hp.max)
    if hp.type == "float":
        return _in_range(_as_float(value), hp.min, hp.max)
    if hp.type == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise _Mismatch(f"is a {_kind_of(value)}, not a string")
    if hp.type == "select":
        return _pick(hp.values, value)
    multi = hp.multi or {}
    if "int" in multi and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return _in_range(_as_int(value), multi["int"]["min"], multi["int"]["max"])
        except _Mismatch:
            pass
    if "float" in multi and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return _in_range(_as_float(value), multi["float"]["min"], multi["float"]["max"])
        except _Mismatch:
            pass
    if "select" in multi:
        try:
            return _pick(multi["select"]["values"], value)
        except _Mismatch:
            pass
    raise _Mismatch(f"fits none of its forms; give {_describe_multi(multi)}")


def _fail(exc: Exception) -> None:
    """Raise `exc` (for a problem found outside a check, handed to `recover`-like keepers)."""
    raise exc


class _Parser:
    """Walks the composed YAML node tree, collecting warnings and raising MetadataError at the offending node."""

    def __init__(self, text: str, path: str):
        self.source = text
        self.path = path
        self.warnings: list[str] = []
        self.errors: list[MetadataError] = []  # what `recover` caught; parse raises them together at the end
        self.loader: _Loader | None = None

    def recover(self, check: Callable[[], Any], fallback: Any = None) -> Any:
        """Run one independent check (a section, a hyperparameter, a schema entry); its MetadataError is kept for
        the end and `fallback` stands in, so one run reports every such error of the file."""
        try:
            return check()
        except MetadataError as exc:
            self.errors.append(exc)
            return fallback

    def raise_collected(self) -> None:
        """Raise every error `recover` kept, as one MetadataError in the order of the file."""
        if not self.errors:
            return
        raise self.combined(self.errors)

    def combined(self, errors: list[MetadataError]) -> MetadataError:
        """One MetadataError saying every sentence of `errors` (and of their `others`) in the order of the file."""
        at = [(e.line, e.column, e.problem) for e in errors] + [other for e in errors for other in e.others]
        at.sort(key=lambda a: (a[0] is None, a[0] or 0, a[1] or 0))
        first, *others = at
        return MetadataError(self.path, *first, others=tuple(others))

    def error(self, node: yaml.Node | None, message: str) -> MetadataError:
        """Build the error for ``node`` (its start position, 1-based)."""
        if node is None:
            return MetadataError(self.path, None, None, message)
        mark = node.start_mark
        return MetadataError(self.path, mark.line + 1, mark.column + 1, message)

    def warn(self, node: yaml.Node, message: str) -> None:
        """Record a warning in the same FILE:LINE:COL form as errors."""
        self.warnings.append(str(self.error(node, message)))

    def compose(self) -> yaml.Node | None:
        """Compose the single YAML document, turning syntax errors into MetadataError."""
        loader = None
        try:
            loader = _Loader(self.source)
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            if loader is not None:
                loader.dispose()
            line, column, problem = describe_syntax_error(exc, self.source)
            raise MetadataError(self.path, line, column, f"the file is not valid YAML: {problem}") from None
        self.loader = loader
        return root

    @staticmethod
    def is_null(node: yaml.Node) -> bool:
        """True for an empty value or an explicit null."""
        return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG

    def mapping(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """Return ``{key: (key_node, value_node)}`` for a mapping node, rejecting other shapes and repeated keys."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping of 'key: value' lines, not a {self.shape(node)}")
        try:
            self.loader.flatten_mapping(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or node.start_mark
            raise MetadataError(
                self.path, mark.line + 1, mark.column + 1, f"a '<<' merge key in {what} is invalid ({exc.problem})"
            ) from None
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.error(key_node, f"keys in {what} must be plain words, not a {self.shape(key_node)}")
            key = key_node.value
            if key in entries:
                first = entries[key][0].start_mark.line + 1
                raise self.error(key_node, f"key '{key}' appears twice in {what} (first on line {first}); keep one")
            entries[key] = (key_node, value_node)
        return entries

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        """Return the items of a list node; null counts as an empty list."""
        if self.is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"{what} must be a list of '- ' items, not a {self.shape(node)}")
        return list(node.value)

    def scalar(self, node: yaml.Node, what: str) -> object:
        """Return the Python value of a scalar node (None for null); dates and other tags stay as written."""
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, f"{what} must be a single value, not a {self.shape(node)}")
        try:
            value = self.loader.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError):
            return node.value
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        return node.value

    def text(self, node: yaml.Node, what: str) -> str | None:
        """Return a scalar exactly as written (None for null), as DRUM reads strings."""
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, f"{what} must be a single line of text, not a {self.shape(node)}")
        if self.is_null(node):
            return None
        return node.value

    @staticmethod
    def shape(node: yaml.Node) -> str:
        """'mapping', 'list' or 'single value'."""
        if isinstance(node, yaml.MappingNode):
            return "mapping"
        if isinstance(node, yaml.SequenceNode):
            return "list"
        return "single value"

    def parse(self) -> TaskMetadata:
        """Validate the whole document and build the TaskMetadata."""
        root = self.compose()
        if root is None or self.is_null(root):
            self.warnings.append(f"{self.path}:1:1: the file is empty; defaults apply")
            return TaskMetadata(self.path, None, None, None, False, (), default_type_schema(None), tuple(self.warnings))
        entries = self.mapping(root, "the top level of the file")
        values: dict[str, Any] = {}
        for key, (key_node, value_node) in entries.items():
            if key in KNOWN_KEYS:
                values[key] = value_node
            elif key not in DRUM_KEYS:
                self.warn(key_node, f"unknown key '{key}' is ignored; known keys are {', '.join(KNOWN_KEYS)}")

        recover = self.recover
        name = recover(lambda: self.text(values["name"], "name")) if "name" in values else None
        if "type" in values:
            recover(lambda: self.text(values["type"], "type"))
        target_types = recover(lambda: self.target_types(values.get("targetType")), ())
        target_type = target_types[0] if target_types else None
        environment_id = (recover(lambda: self.text(values["environmentID"], "environmentID"))
                          if "environmentID" in values else None)
        network = recover(lambda: self.network(values.get("network")), False)
        hyperparameters = recover(lambda: self.hyperparameters(values.get("hyperparameters")), ())
        schema_node = values.get("typeSchema")
        if schema_node is None or self.is_null(schema_node):
            type_schema = default_type_schema(target_type)
        else:
            type_schema = recover(lambda: self.type_schema(schema_node))
        self.raise_collected()
        return TaskMetadata(
            path=self.path,
            name=name,
            target_type=target_type,
            environment_id=environment_id,
            network=network,
            hyperparameters=hyperparameters,
            type_schema=type_schema,
            warnings=tuple(self.warnings),
            target_types=target_types,
        )

    def target_types(self, node: yaml.Node | None) -> tuple[str, ...]:
        """``targetType`` as a tuple: one type, or (an extension) a list of estimator types."""
        if node is None or self.is_null(node):
            return ()
        if isinstance(node, yaml.SequenceNode):
            types = tuple(dict.fromkeys(self.target_type(item) for item in node.value))
            if not types:
                raise self.error(node, "targetType is an empty list; name at least one target type")
            if TRANSFORM in types and len(types) > 1:
                raise self.error(node, "targetType lists transform with estimator types; a task is one kind or the other")
            return types
        value = self.target_type(node)
        return (value,) if value else ()

    def target_type(self, node: yaml.Node | None) -> str | None:
        """Validate ``targetType`` against TARGET_TYPES (case-insensitive)."""
        if node is None:
            return None
        value = self.text(node, "targetType")
        if value is None:
            return None
        if value.strip().lower() not in TARGET_TYPES:
            raise self.error(node, f"targetType '{value}' is not supported; use one of {', '.join(TARGET_TYPES)}")
        return value.strip().lower()

    def network(self, node: yaml.Node | None) -> bool:
        """Validate the ``network`` flag (true or false)."""
        if node is None or self.is_null(node):
            return False
        value = self.scalar(node, "network")
        if not isinstance(value, bool):
            raise self.error(node, f"network must be true or false, not {_show(value)}")
        return value

    def hyperparameters(self, node: yaml.Node | None) -> tuple[Hyperparameter, ...]:
        """Validate the ``hyperparameters`` list; names must be unique."""
        if node is None:
            return ()
        result: list[Hyperparameter] = []
        seen: dict[str, int] = {}
        for item in self.sequence(node, "hyperparameters"):
            hp = self.recover(lambda: self.hyperparameter(item))
            if hp is None:
                continue
            if hp.name in seen:
                raise self.error(
                    item, f"hyperparameter '{hp.name}' is declared twice (first on line {seen[hp.name]}); rename one"
                )
            seen[hp.name] = hp.line
            result.append(hp)
        return tuple(result)

    def hyperparameter(self, node: yaml.Node) -> Hyperparameter:
        """Validate one hyperparameter entry; its independent problems (name, type, keys, bounds or values, default)
        are all reported, as one MetadataError in the order of the file."""
        problems: list[MetadataError] = []

        def keep(check: Callable[[], Any], fallback: Any = None) -> Any:
            try:
                return check()
            except MetadataError as exc:
                problems.append(exc)
                return fallback

        try:
            hp = self._hyperparameter(node, keep)
        except MetadataError as exc:
            problems.append(exc)
        if problems:
            raise self.combined(problems)
        return hp

    def _hyperparameter(self, node: yaml.Node, keep: Callable[..., Any]) -> Hyperparameter:
        """`hyperparameter`'s checks: a problem the rest can go on after is passed to `keep`, one they cannot is
        raised."""
        entries = self.mapping(node, "each hyperparameter")
        line = node.start_mark.line + 1
        if "name" not in entries:
            raise self.error(node, "this hyperparameter has no name; add 'name: <identifier>'")
        name_node = entries["name"][1]
        name = self.text(name_node, "a hyperparameter name")

        def check_name() -> None:
            if not name or not NAME_PATTERN.match(name):
                raise self.error(
                    name_node,
                    f"hyperparameter name {_show(name)} is invalid; use only letters and underscores, "
                    "starting and ending with a letter",
                )
            if len(name) > MAX_NAME_LENGTH:
                raise self.error(name_node, f"hyperparameter name '{name}' is longer than {MAX_NAME_LENGTH} characters")

        keep(check_name)
        label = f"hyperparameter '{name}'"
        if "type" not in entries:
            raise self.error(node, f"{label} has no type; add 'type:' with one of {', '.join(HYPERPARAMETER_TYPES)}")
        type_node = entries["type"][1]
        kind = self.text(type_node, f"the type of {label}")
        if kind not in HYPERPARAMETER_TYPES:
            problem = self.error(
                type_node, f"{label} has type {_show(kind)}; use one of {', '.join(HYPERPARAMETER_TYPES)}"
            )
            from difflib import get_close_matches

            meant = get_close_matches(kind, HYPERPARAMETER_TYPES, n=1, cutoff=0.6) if isinstance(kind, str) else []
            if not meant:
                raise problem
            keep(lambda: _fail(problem))
            kind = meant[0]  # a misspelled type: the rest of the entry is checked as the type it is close to
        for key, (key_node, _) in entries.items():
            if key not in _HP_KEYS[kind]:
                allowed = ", ".join(_HP_KEYS[kind])
                keep(lambda: _fail(self.error(
                    key_node, f"{label} has an unknown key '{key}'; {kind} hyperparameters take {allowed}")))

        hp = Hyperparameter(name=name, type=kind, default=None, line=line)
        declared = True  # False when what the default is checked against could not be read
        if kind in ("int", "float"):
            low, high = self.bounds(node, entries, kind, label, keep)
            hp = replace(hp, min=low, max=high)
        elif kind == "select":
            if "values" not in entries:
                raise self.error(node, f"{label} is a select without values; add 'values: [a, b, ...]'")
            values = keep(lambda: self.choices(entries["values"][1], label))
            declared = values is not None
            hp = replace(hp, values=values or ())
        elif kind == "multi":
            multi = keep(lambda: self.multi(node, entries, label))
            declared = multi is not None
            hp = replace(hp, multi=multi)

        default_node = entries.get("default", (None, None))[1]
        if default_node is None or self.is_null(default_node):
            return hp
        if kind == "string":
            return replace(hp, default=self.text(default_node, f"the default of {label}"))
        default = self.scalar(default_node, f"the default of {label}")
        if not declared:
            return hp
        try:
            return replace(hp, default=_conform(hp, default))
        except _Mismatch as exc:
            hint = "" if ";" in str(exc) else "; change the default to fit the declaration"
            raise self.error(default_node, f"{label} has default {_show(default)}, which {exc}{hint}") from None

    def bounds(self, node: yaml.Node, entries: dict, kind: str, label: str,
               keep: Callable[..., Any] | None = None) -> tuple[int | float | None, int | float | None]:
        """Validate the ``min`` and ``max`` of an int or float declaration. With `keep` (a hyperparameter's own
        bounds) each problem goes to it and the check goes on: a bound that cannot be read is None, and a max below
        the min is reported and the two swapped, so the default is checked against what the fix will declare."""
        if keep is None:
            def keep(check: Callable[[], Any], fallback: Any = None) -> Any:
                return check()
        found: list[int | float | None] = []
        for key in ("min", "max"):
            found.append(keep(lambda: self.bound(node, entries, kind, label, key)))
        low, high = found
        if low is not None and high is not None and low > high:
            keep(lambda: _fail(self.error(entries["max"][1], f"{label} has max {high} below its min {low}; swap them")))
            low, high = high, low
        return low, high

    def bound(self, node: yaml.Node, entries: dict, kind: str, label: str, key: str) -> int | float:
        """The ``min`` or ``max`` (`key`) of an int or float declaration."""
        if key not in entries:
            raise self.error(node, f"{label} has no {key}; {kind} hyperparameters need both min and max")
        value_node = entries[key][1]
        value = self.scalar(value_node, f"the {key} of {label}")
        try:
            return _as_int(value) if kind == "int" else _as_float(value)
        except _Mismatch as exc:
            raise self.error(value_node, f"{label} has {key} {_show(value)}, which {exc}") from None

    def choices(self, node: yaml.Node, label: str) -> tuple:
        """Validate a select's ``values``: 1 to 24 distinct single values."""
        items = self.sequence(node, f"the values of {label}")
        if not items:
            raise self.error(node, f"{label} has no values; list between 1 and {MAX_SELECT_VALUES}")
        if len(items) > MAX_SELECT_VALUES:
            raise self.error(node, f"{label} has {len(items)} values; at most {MAX_SELECT_VALUES} are allowed")
        result: list[object] = []
        for item in items:
            value = self.scalar(item, f"each value of {label}")
            if value is None:
                raise self.error(item, f"{label} has an empty value; remove it or write it out")
            if any(type(seen) is type(value) and seen == value for seen in result):
                raise self.error(item, f"{label} lists {_show(value)} twice; values must be distinct")
            result.append(value)
        return tuple(result)

    def multi(self, node: yaml.Node, entries: dict, label: str) -> dict:
        """Validate a multi declaration: int/float/select parts under ``values:`` or on the entry itself."""
        inline = [key for key in _MULTI_PARTS if key in entries]
        if "values" in entries:
            if inline:
                raise self.error(
                    entries[inline[0]][0], f"{label} has '{inline[0]}' both here and under values; keep one"
                )
            parts_node = entries["values"][1]
            parts = self.mapping(parts_node, f"the values of {label}")
        else:
            parts_node = node
            parts = {key: entries[key] for key in inline}
        if not parts:
            raise self.error(parts_node, f"{label} is a multi without parts; add values with int, float or select")
        result: dict[str, dict] = {}
        for part, (key_node, value_node) in parts.items():
            if part not in _MULTI_PARTS:
                raise self.error(key_node, f"{label} has a multi part '{part}'; use int, float or select")
            part_label = f"the {part} part of {label}"
            part_entries = self.mapping(value_node, part_label)
            allowed = ("values",) if part == "select" else ("min", "max")
            for key, (sub_key_node, _) in part_entries.items():
                if key not in allowed:
                    raise self.error(
                        sub_key_node, f"{part_label} has an unknown key '{key}'; use {' and '.join(allowed)}"
                    )
            if part == "select":
                if "values" not in part_entries:
                    raise self.error(value_node, f"{part_label} has no values; add 'values: [a, b, ...]'")
                result[part] = {"values": list(self.choices(part_entries["values"][1], label))}
            else:
                low, high = self.bounds(value_node, part_entries, part, part_label)
                result[part] = {"min": low, "max": high}
        return result

    def type_schema(self, node: yaml.Node) -> TypeSchema:
        """Validate ``typeSchema`` and its two requirement lists."""
        entries = self.mapping(node, "typeSchema")
        for key, (key_node, _) in entries.items():
            if key not in SCHEMA_SIDES:
                raise self.error(key_node, f"typeSchema has an unknown key '{key}'; use {' and '.join(SCHEMA_SIDES)}")
        sides = {}
        for side in SCHEMA_SIDES:
            items = self.sequence(entries[side][1], f"typeSchema {side}") if side in entries else []
            requirements: list[Requirement] = []
            seen: dict[str, int] = {}
            for item in items:
                requirement = self.recover(lambda: self.requirement(item, side))
                if requirement is None:
                    continue
                if requirement.field in seen:
                    raise self.error(
                        item,
                        f"field '{requirement.field}' appears twice in {side} "
                        f"(first on line {seen[requirement.field]}); keep one",
                    )
                seen[requirement.field] = requirement.line
                requirements.append(requirement)
            sides[side] = tuple(requirements)
        return TypeSchema(sides["input_requirements"], sides["output_requirements"], declared=True)

    def requirement(self, node: yaml.Node, side: str) -> Requirement:
        """Validate one {field, condition, value} entry of ``side``."""
        entries = self.mapping(node, f"each entry of {side}")
        for key, (key_node, _) in entries.items():
            if key not in ("field", "condition", "value"):
                raise self.error(key_node, f"{side} entry has an unknown key '{key}'; use field, condition and value")
        for key in ("field", "condition", "value"):
            if key not in entries:
                raise self.error(node, f"this {side} entry has no {key}; each entry needs field, condition and value")
        field_node, condition_node, value_node = (entries[key][1] for key in ("field", "condition", "value"))
        name = (self.text(field_node, "field") or "").strip().lower()
        if name not in FIELDS:
            guess = _did_you_mean(name, FIELDS)
            raise self.error(
                field_node, f"field {_show(field_node.value)} is unknown"
                + (f"{guess} (use one of {', '.join(FIELDS)})" if guess else f"; use one of {', '.join(FIELDS)}")
            )
        conditions, input_values, output_values = FIELDS[name]
        condition = (self.text(condition_node, "condition") or "").strip().upper()
        if condition not in conditions:
            guess = _did_you_mean(condition, conditions)
            raise self.error(
                condition_node,
                f"field '{name}' does not take condition {_show(condition_node.value)}"
                + (f"{guess} (it takes {_join_or(conditions)})" if guess else f"; use {_join_or(conditions)}"),
            )
        if self.is_null(value_node):
            raise self.error(value_node, f"field '{name}' has an empty value; give a value")
        if isinstance(value_node, yaml.SequenceNode):
            items = list(value_node.value)
            if not items:
                raise self.error(value_node, f"field '{name}' has an empty list of values; give at least one")
        else:
            items = [value_node]
        if condition not in LIST_CONDITIONS and len(items) > 1:
            raise self.error(
                value_node, f"condition {condition} takes a single value, not {len(items)}; use IN for a list"
            )
        line = node.start_mark.line + 1
        if name == "number_of_columns":
            counts = tuple(self.column_count(item, condition) for item in items)
            value: object = counts if condition in LIST_CONDITIONS else counts[0]
            return Requirement(name, condition, value, line)
        allowed = input_values if side == "input_requirements" else output_values
        words = []
        for item in items:
            word = (self.text(item, f"the value of field '{name}'") or "").strip().upper()
            if word not in allowed:
                guess = _did_you_mean(word, allowed)
                raise self.error(
                    item, f"{_show(item.value)} is not a valid {name} value in {side}"
                    + (f"{guess} (use one of {', '.join(allowed)})" if guess else f"; use one of {', '.join(allowed)}")
                )
            if word not in words:
                words.append(word)
        if name == "data_types":
            return Requirement(name, condition, tuple(words), line)
        return Requirement(name, condition, words[0], line)

    def column_count(self, node: yaml.Node, condition: str) -> int:
        """Validate one number_of_columns value: a whole number ≥ 0 (0 only with conditions DRUM allows)."""
        value = self.scalar(node, "a number_of_columns value")
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(node, f"number_of_columns needs a whole number of 0 or more, not {_show(value)}")
        if value == 0 and condition not in ZERO_COLUMNS_CONDITIONS:
            raise self.error(
                node, f"number_of_columns 0 cannot be used with {condition}; use {_join_or(ZERO_COLUMNS_CONDITIONS)}"
            )
        return value


def parse_metadata(text: str, path: str) -> TaskMetadata:
    """Parse the text of a ``model-metadata.yaml``; ``path`` is used in messages and stored."""
    parser = _Parser(text, str(path))
    try:
        return parser.parse()
    finally:
        if parser.loader is not None:
            parser.loader.dispose()


def find_metadata_file(code_dir: str | Path) -> Path | None:
    """Return the folder's ``model-metadata.yaml`` (or ``.yml``), or None."""
    for filename in METADATA_FILENAMES:
        candidate = Path(code_dir) / filename
        if candidate.is_file():
            return candidate
    return None


def load_metadata(code_dir: str | Path) -> TaskMetadata:
    """Read and validate ``code_dir``'s metadata file; without one, return the defaults."""
    path = find_metadata_file(code_dir)
    if path is None:
        return TaskMetadata(
            path=None,
            name=None,
            target_type=None,
            environment_id=None,
            network=False,
            hyperparameters=(),
            type_schema=default_type_schema(None),
            warnings=(),
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"the file is not UTF-8 text ({exc.reason}); save it as UTF-8"
        raise MetadataError(str(path), None, None, message) from None
    except OSError as exc:
        raise MetadataError(str(path), None, None, f"the file cannot be read ({exc.strerror})") from None
    return parse_metadata(text, str(path))


_DEFAULT_INPUT = tuple(Requirement(*rule) for rule in DEFAULT_INPUT)
_DEFAULT_TRANSFORM_OUTPUT = tuple(Requirement(*rule) for rule in DEFAULT_TRANSFORM_OUTPUT)


def default_type_schema(target_type: str | None) -> TypeSchema:
    """The schema used without a typeSchema (SPEC §2.5); only transforms promise anything about their output."""
    output = _DEFAULT_TRANSFORM_OUTPUT if target_type == TRANSFORM else ()
    return TypeSchema(_DEFAULT_INPUT, output, declared=False)


def describe_default_schema(target_type: str | None) -> str:
    """One sentence stating the default schema for ``taskbench task show``."""
    sentence = (
        "No typeSchema is declared, so the default applies: input may hold NUM, CAT, TXT and DATE columns, "
        "dense or sparse, with missing values"
    )
    if target_type == TRANSFORM:
        return sentence + ", and the output must be numeric and dense with no missing values."
    return sentence + "."


def resolve_parameters(
    hyperparameters: Iterable[Hyperparameter] | TaskMetadata,
    given: Mapping[str, object] | None,
    source: str = "parameters",
) -> dict:
    """Merge declared defaults with ``given`` values, validating and coercing each; None counts as not given.

    ``source`` names where the values came from (e.g. a parameter file) and prefixes messages when not the default.
    """
    if isinstance(hyperparameters, TaskMetadata):
        hyperparameters = hyperparameters.hyperparameters
    declared = {hp.name: hp for hp in hyperparameters}
    prefix = "" if source == "parameters" else f"{source}: "
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise ParameterError(f"{prefix}parameters must be a mapping of names to values, not a {_kind_of(given)}")
    for name in given:
        if name not in declared:
            listing = ", ".join(declared) if declared else "none"
            raise ParameterError(
                f"{prefix}parameter {_show(name)} is not declared in model-metadata.yaml; "
                f"declared parameters: {listing}",
                parameter=str(name),
            )
    result: dict[str, object] = {}
    for name, hp in declared.items():
        value = given.get(name)
        if value is None:
            if hp.default is not None:
                result[name] = hp.default
            continue
        try:
            result[name] = _conform(hp, value)
        except _Mismatch as exc:
            where = f" (model-metadata.yaml line {hp.line})" if hp.line is not None else ""
            raise ParameterError(f"{prefix}parameter '{name}' = {_show(value)} {exc}{where}", parameter=name) from None
    return result
