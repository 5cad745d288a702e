"""Blueprint validation (SPEC §7): every rule, each message at the line and column of the offending name or value.

`check` resolves every node's task and parameters as it validates, so the
training engine gets, from the same call, the exact tasks and validated
parameters it will run; `validate` returns only the messages. Errors block
training and saving; warnings do not.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

from .. import sharing
from ..errors import EXIT_TASK_FAILED, EXIT_USAGE, TaskbenchError, UsageError
from ..store.integrity import IntegrityError
from ..runtime.contract import ANOMALY, BINARY, ESTIMATOR_TYPES, MULTICLASS, REGRESSION
from ..runtime.typeschema import COLUMN_TYPES, DATA_TYPES, column_phrase, count_holds, forbids, rejected_types, requires
from ..tasks.metadata import ParameterError, Requirement, resolve_parameters
from ..tasks.catalog import TaskInfo, TaskNotFound, VersionNotFound, is_builtin, resolve_task
from ..tasks.hookscan import blueprint_scoring_gaps
from .model import CHANNELS, Blueprint, Node, Position
from .syntax import BlueprintSyntaxError, parse_blueprint

CHANNEL_TYPES = {t: (t,) for t in COLUMN_TYPES}
SUGGESTED_ESTIMATOR = {
    BINARY: "logistic_regression",
    MULTICLASS: "logistic_regression",
    REGRESSION: "ridge",
    ANOMALY: "isolation_forest",
}
_ENCODE_HINT = {
    "CAT": "encode them first, e.g. one_hot(CAT)",
    "TXT": "vectorize them first, e.g. tfidf(TXT)",
}

DataFacts = Mapping[str, Mapping[str, object]]  # channel -> {"present": bool, "missing": bool, "columns": int}


def project_facts(channels: Mapping[str, list], missing: Mapping[str, bool]) -> dict[str, dict[str, object]]:
    """`data_facts` for a project: every channel, present when it has columns, how many, and whether any is missing.

    Naming absent channels too (present False) is what lets validation warn about
    a blueprint that feeds TXT to a project without text; the counts let it check
    `number_of_columns` along the edges.
    """
    return {
        c: {"present": bool(channels.get(c)), "missing": bool(missing.get(c, False)), "columns": len(channels.get(c) or ())}
        for c in COLUMN_TYPES
    }


@dataclass(frozen=True)
class Message:
    """One validation finding at a 1-based line and column."""

    severity: str  # "error" or "warning"
    line: int
    column: int
    text: str
    refusal: bool = False  # a refusal (SPEC §10): a task the user may not run, or a changed stored version (exit 2)

    def format(self, path: str) -> str:
        """`FILE:LINE:COL: error: sentence`, the way compilers print, so editors can jump to it."""
        return f"{path}:{self.line}:{self.column}: {self.severity}: {self.text}"

    def to_json(self) -> dict:
        return {"severity": self.severity, "line": self.line, "column": self.column, "text": self.text}


@dataclass(frozen=True)
class ResolvedNode:
    """A node with its exact task and its parameters: the declared defaults merged with the node's values."""

    node: Node
    task: TaskInfo
    parameters: dict

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.node.inputs


@dataclass(frozen=True)
class CheckedBlueprint:
    """What `check` found: the messages, and every node whose task and parameters resolved."""

    blueprint: Blueprint | None
    messages: tuple[Message, ...]
    nodes: dict[str, ResolvedNode] = field(default_factory=dict)
    target_type: str | None = None

    @property
    def errors(self) -> list[Message]:
        return [m for m in self.messages if m.severity == "error"]

    @property
    def warnings(self) -> list[Message]:
        return [m for m in self.messages if m.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def refused(self) -> bool:
        """Whether an error is a sharing refusal, which makes a command exit 2 rather than 1."""
        return refused(self.messages)

    def needed(self) -> list[ResolvedNode]:
        """The nodes the final estimator depends on, itself last, in an order where inputs come first."""
        return [self.nodes[node.name] for node in self.blueprint.needed()]

    @property
    def final(self) -> ResolvedNode:
        return self.nodes[self.blueprint.final.name]

    def pins(self) -> dict[str, dict]:
        """Node name -> the exact task it runs (what a saved blueprint records)."""
        return {name: resolved.task.pin() for name, resolved in self.nodes.items()}


def refused(messages) -> bool:
    """Whether any of `messages` is a refusal (SPEC §10: a task the user may not run or a changed stored version
    exits 2, other blueprint errors 1)."""
    return any(m.refusal for m in messages if m.severity == "error")


def exit_code(messages) -> int:
    """How a command that found these errors exits: 2 when one is a sharing refusal, else 1."""
    return EXIT_USAGE if refused(messages) else EXIT_TASK_FAILED


class BlueprintInvalid(TaskbenchError):
    """A blueprint with errors was about to be saved or trained; `messages` holds every finding."""

    def __init__(self, path: str, messages: list[Message]):
        self.path = path
        self.messages = list(messages)
        errors = [m for m in messages if m.severity == "error"]
        first = errors[0].format(path) if errors else path
        more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
        super().__init__(f"{first}{more}; `taskbench blueprint check` lists them all", exit_code=exit_code(errors))

    @property
    def refused(self) -> bool:
        return refused(self.messages)


class BlueprintRefused(UsageError):
    """A blueprint uses a task the user may not run (a sharing refusal, exit 2), said at the node's line:col."""


@dataclass(frozen=True)
class _Flow:
    """What travels along an edge: data types, missing values, sparsity and column count (None: unknown)."""

    types: frozenset | None
    missing: str | None  # "may" (a raw channel), "dynamic" (a node says so), "never", None
    sparse: str | None  # "never", "always", "dynamic", None
    columns: int | None
    source: str  # how a message names the origin: "the NUM channel", "node 'log'"


_UNKNOWN = _Flow(None, None, None, None, "")

Resolver = Callable[[Node], TaskInfo]


def validate(
    bp: Blueprint | str,
    store,
    *,
    target_type: str | None = None,
    data_facts: DataFacts | None = None,
    path: str = "<blueprint>",
    name: str | None = None,
) -> list[Message]:
    """Every error and warning for a blueprint (or its text), sorted by position (`name`: as for `check`)."""
    return list(check(bp, store, target_type=target_type, data_facts=data_facts, path=path, name=name).messages)


def resolve_blueprint(
    bp: Blueprint | str,
    store,
    *,
    target_type: str | None = None,
    data_facts: DataFacts | None = None,
    path: str = "<blueprint>",
) -> CheckedBlueprint:
    """Check a blueprint and return its resolved nodes; raise BlueprintInvalid when it has errors."""
    checked = check(bp, store, target_type=target_type, data_facts=data_facts, path=path)
    if not checked.ok:
        raise BlueprintInvalid(path, list(checked.messages))
    return checked


def check(
    bp: Blueprint | str,
    store,
    *,
    target_type: str | None = None,
    data_facts: DataFacts | None = None,
    path: str = "<blueprint>",
    resolver: Resolver | None = None,
    name: str | None = None,
) -> CheckedBlueprint:
    """Validate and resolve. `resolver` maps a node to its TaskInfo (default: built-in, else latest registered).

    `name` is the saved blueprint the text is for (default: its `# blueprint:` header): when that is the user's
    clone, its nodes may run the task versions its origins pinned, and a task named there without a version
    means the pinned one (sharing.inherited_pins), since its latest may not be the user's to run."""
    if isinstance(bp, str):
        try:
            bp = parse_blueprint(bp, path)
        except BlueprintSyntaxError as exc:
            messages = tuple(Message("error", e.line, e.column, e.message) for e in exc.errors)
            return CheckedBlueprint(None, messages)
    inherited = sharing.inherited_pins(store, name or bp.name) if resolver is None else {}
    checker = _Checker(bp, store, target_type, data_facts, resolver or _inheriting_resolver(store, inherited))
    checker.run()
    if resolver is None:  # a saved blueprint's pinned tasks (resolve_saved) run by execute, unread
        for at, text in sharing.unreadable_tasks(store, checker.resolved.values(), inherited):
            checker.error(at, text, refusal=True)
    messages = sorted(set(checker.messages), key=lambda m: (m.line, m.column, m.severity, m.text))
    return CheckedBlueprint(bp, tuple(messages), checker.resolved, checker.target_type)


def _inheriting_resolver(store, inherited: dict[str, list[int]]) -> Resolver:
    """Built-in, else the registered version: the one named, else the nearest origin's pin, else the latest."""

    def resolve(node: Node) -> TaskInfo:
        pinned = inherited.get(node.task)
        if node.version is None and pinned and not is_builtin(node.task):
            return resolve_task(store, node.task, pinned[0])
        return resolve_task(store, node.task, node.version)

    return resolve


class _Checker:
    def __init__(self, bp: Blueprint, store, target_type, data_facts, resolver):
        self.bp = bp
        self.store = store
        self.given_target = target_type
        self.target_type: str | None = None
        self.facts = {k.upper(): dict(v) for k, v in (data_facts or {}).items()}
        self.resolver = resolver or (lambda node: resolve_task(store, node.task, node.version))
        self.messages: list[Message] = []
        self.by_name: dict[str, Node] = {}
        self.tasks: dict[str, TaskInfo] = {}  # first definition of each name -> its task, when it resolved
        self.resolved: dict[str, ResolvedNode] = {}
        self.in_cycle: set[str] = set()
        self.flows: dict[str, _Flow] = {}

    def error(self, at: Position, text: str, *, refusal: bool = False) -> None:
        self.messages.append(Message("error", at.line, at.column, text.rstrip("."), refusal))

    def warning(self, at: Position, text: str) -> None:
        self.messages.append(Message("warning", at.line, at.column, text.rstrip(".")))

    def run(self) -> None:
        self.check_header()
        self.check_names()
        self.check_inputs()
        self.check_cycles()
        self.check_tasks()
        self.check_ending()
        self.check_unused()
        self.check_edges()
        if not any(m.severity == "error" for m in self.messages):  # it would train: say what then fails after the fit
            for name, text in blueprint_scoring_gaps(self.tasks, self.target_type):
                self.warning(self.by_name[name].task_position, text)

    # ------------------------------------------------------------------ header

    def check_header(self) -> None:
        header = self.bp.target_type
        where = self.header_position()
        if header is not None and header not in ESTIMATOR_TYPES:
            self.warning(where, f"the header names target type '{header}', which is not one of "
                                f"{', '.join(ESTIMATOR_TYPES)}; it is ignored")
            header = None
        given = self.given_target
        if given is not None and given not in ESTIMATOR_TYPES:
            raise UsageError(f"target type '{given}' is not one of {', '.join(ESTIMATOR_TYPES)}.")
        if given is not None and header is not None and given != header:
            self.warning(where, f"the header says target {header}, but the target type here is {given}; "
                                f"{given} is checked")
        self.target_type = given or header

    def header_position(self) -> Position:
        for line, text in self.bp.comments:
            match = re.search(r"target:\s*(\S+)", text, re.IGNORECASE)
            if match:
                source_line = self.bp.source.splitlines()[line - 1] if self.bp.source else text
                offset = source_line.find(text) if text in source_line else 0
                return Position(line, offset + match.start(1) + 1)
        return Position(1, 1)

    # ------------------------------------------------------------------ names and inputs

    def check_names(self) -> None:
        for node in self.bp.nodes:
            if node.name in CHANNELS:
                self.error(node.position, f"'{node.name}' is a channel name and cannot name a node; "
                                          "choose another name")
                continue
            first = self.by_name.get(node.name)
            if first is not None:
                self.error(node.position, f"node '{node.name}' is defined twice (first on line "
                                          f"{first.position.line}); rename one")
                continue
            self.by_name[node.name] = node

    def absent_channels(self) -> set[str]:
        """Channels the data facts say have no columns (ALL, when none has any)."""
        absent = {c for c in COLUMN_TYPES if self.facts.get(c, {}).get("present") is False}
        if self.facts and all(self.facts.get(c, {}).get("present") is False for c in COLUMN_TYPES):
            absent.add("ALL")
        return absent

    def starved_message(self, channel: str, final: str) -> str:
        present = [c for c in COLUMN_TYPES if self.facts.get(c, {}).get("present")]
        if not present:
            return (f"the project has no feature columns, so {channel} is empty and the final node '{final}' gets "
                    "no input; create the project again from data with columns besides the target")
        return (f"the data has no {channel} columns, so the final node '{final}' gets no input; "
                f"feed it a channel the data has ({', '.join(present)})")

    def check_inputs(self) -> None:
        absent = self.absent_channels()
        final = self.bp.final.name
        fatal: set[str] = set()
        if absent:
            starved = self.bp.starved(absent)
            if final in starved:  # the estimator would be left with nothing to learn from
                fatal = starved & {node.name for node in self.bp.needed()}
        for node in self.bp.nodes:
            if not node.inputs:
                self.error(node.task_position, f"node '{node.name}' has no inputs; give a channel such as NUM "
                                               "or another node's name")
            seen: set[str] = set()
            for name, at in zip(node.inputs, node.input_positions):
                if name in seen:
                    self.warning(at, f"input '{name}' is given twice to node '{node.name}'; once is enough")
                seen.add(name)
                if name in CHANNELS:
                    if name not in absent:
                        continue
                    if node.name in fatal:
                        self.error(at, self.starved_message(name, final))
                    else:
                        self.warning(at, f"the data has no {name} columns, so {name} feeds nothing here")
                    continue
                if name in self.by_name:
                    continue
                self.error(at, self.unknown_input(name))

    def unknown_input(self, name: str) -> str:
        if name.upper() in CHANNELS:
            return f"unknown input '{name}'; channel names are uppercase: write '{name.upper()}'"
        candidates = list(self.by_name) + list(CHANNELS)
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
        if not close:
            close = [c for c in CHANNELS if name.upper().startswith(c) or c.startswith(name.upper())][:1]
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return (f"unknown input '{name}'{hint} (inputs are the channels {', '.join(CHANNELS)} "
                "or names of nodes defined in this blueprint)")

    def check_cycles(self) -> None:
        state: dict[str, int] = {}  # 1 visiting, 2 done
        stack: list[str] = []

        def visit(name: str) -> None:
            state[name] = 1
            stack.append(name)
            node = self.by_name[name]
            for upstream, at in zip(node.inputs, node.input_positions):
                if upstream not in self.by_name or upstream in CHANNELS:
                    continue
                if state.get(upstream) == 1:
                    loop = stack[stack.index(upstream):]
                    self.in_cycle.update(loop)
                    if upstream == name:
                        self.error(at, f"node '{name}' takes its own output as input; a blueprint must not loop")
                    else:
                        flow = [upstream] + list(reversed(loop[1:])) + [upstream]
                        self.error(at, f"cycle: {' → '.join(flow)}; a blueprint must not feed a node "
                                       "its own output")
                elif upstream not in state:
                    visit(upstream)
            stack.pop()
            state[name] = 2

        for name in self.by_name:
            if name not in state:
                visit(name)

    # ------------------------------------------------------------------ tasks and parameters

    def check_tasks(self) -> None:
        cache: dict[tuple[str, int | None], TaskInfo | TaskbenchError] = {}
        for node in self.bp.nodes:
            key = (node.task, node.version)
            if key not in cache:
                try:
                    cache[key] = self.resolver(node)
                except (TaskNotFound, VersionNotFound) as exc:
                    cache[key] = exc
                except TaskbenchError as exc:
                    cache[key] = exc
            found = cache[key]
            if isinstance(found, VersionNotFound):
                self.error(node.version_position or node.task_position, found.message)
                continue
            if isinstance(found, TaskbenchError):  # a refusal (a changed stored version) exits 2, as elsewhere
                self.error(node.task_position, found.message, refusal=isinstance(found, IntegrityError))
                continue
            parameters = self.check_parameters(node, found)
            if self.by_name.get(node.name) is node:
                self.tasks[node.name] = found
                if parameters is not None:
                    self.resolved[node.name] = ResolvedNode(node, found, parameters)

    def check_parameters(self, node: Node, task: TaskInfo) -> dict | None:
        """Each parameter against its declaration; the merged parameters, or None when one is wrong."""
        declared = {hp.name: hp for hp in task.metadata.hyperparameters}
        ok = True
        for param in node.params:
            if param.name not in declared:
                ok = False
                lowered = {name.lower(): name for name in declared}
                close = difflib.get_close_matches(param.name.lower(), list(lowered), n=1, cutoff=0.5)
                hint = f"did you mean '{lowered[close[0]]}'? " if close else ""
                listing = ", ".join(declared) if declared else "none"
                self.error(param.position, f"task '{task.ref}' has no parameter '{param.name}'; {hint}"
                                           f"it declares: {listing}")
                continue
            value = list(param.value) if isinstance(param.value, tuple) else param.value
            try:
                resolve_parameters([declared[param.name]], {param.name: value})
            except ParameterError as exc:
                ok = False
                self.error(param.value_position, exc.message)
        if not ok:
            return None
        given = {p.name: (list(p.value) if isinstance(p.value, tuple) else p.value) for p in node.params}
        return resolve_parameters(task.metadata, given)

    # ------------------------------------------------------------------ the final estimator

    def check_ending(self) -> None:
        final = self.bp.final
        task = self.tasks.get(final.name) if self.by_name.get(final.name) is final else None
        target = self.target_type
        if task is not None:
            if task.kind == "transform":
                estimators = [n for n, t in self.tasks.items() if t.kind != "transform"]
                if not estimators:
                    self.error(final.task_position, f"the blueprint has no estimator: its final node '{final.name}' "
                                                    f"runs transform '{task.ref}'; end with an estimator such as "
                                                    f"{SUGGESTED_ESTIMATOR.get(target or 'binary')}")
                else:
                    self.error(final.task_position, f"the final node '{final.name}' runs transform '{task.ref}'; "
                                                    "a blueprint ends in an estimator (the last line, or the node "
                                                    "named model)")
            elif task.kind is None:
                self.warning(final.task_position, f"task '{task.ref}' declares no targetType, so it is taken "
                                                  "as an estimator for any target type")
            elif target is not None and target not in task.target_types:
                self.error(final.task_position, f"'{task.ref}' is {_kind_phrase(task)}, but the target type is "
                                                f"{target}; use a {target} estimator such as "
                                                f"{SUGGESTED_ESTIMATOR[target]}")
        if target is None:
            return
        for name, other in self.tasks.items():
            node = self.by_name[name]
            if node is final or other.kind != "estimator":
                continue
            if target not in other.target_types and ANOMALY not in other.target_types:
                self.error(node.task_position, f"'{other.ref}' is {_kind_phrase(other)}, but the target type is "
                                               f"{target}; a stacked estimator is trained on the same target")

    def check_unused(self) -> None:
        if self.by_name.get(self.bp.final.name) is not self.bp.final:
            return
        needed = {node.name for node in self.bp.needed()}
        for name, node in self.by_name.items():
            if name not in needed:
                self.warning(node.position, f"node '{name}' is not used by the final node "
                                            f"'{self.bp.final.name}'; it will not be trained")

    # ------------------------------------------------------------------ type checks along edges

    def channel_flow(self, channel: str) -> _Flow:
        if channel == "ALL":
            present = [c for c in COLUMN_TYPES if self.facts.get(c, {}).get("present", True) is not False]
            missing = any(self.facts.get(c, {}).get("missing", True) is not False for c in present)
            counts = [self.facts.get(c, {}).get("columns") for c in present]
            columns = None if any(n is None for n in counts) else sum(counts)
            return _Flow(frozenset(present), "may" if missing else "never", "never", columns, "the ALL channel")
        fact = self.facts.get(channel, {})
        missing = "never" if fact.get("missing", True) is False else "may"
        return _Flow(frozenset(CHANNEL_TYPES[channel]), missing, "never", fact.get("columns"), f"the {channel} channel")

    def node_flow(self, name: str) -> _Flow:
        """What node `name` outputs, from its task's output_requirements and what flows into it."""
        if name in self.flows:
            return self.flows[name]
        self.flows[name] = _UNKNOWN  # guards against loops; cycles are reported elsewhere
        task = self.tasks.get(name)
        if task is None or name in self.in_cycle:
            return _UNKNOWN
        source = f"node '{name}'"
        if task.kind == "estimator":
            columns = 1 if task.target_types and task.target_types[0] in (REGRESSION, ANOMALY) else None
            flow = _Flow(frozenset({"NUM"}), "never", "never", columns, source)
        else:
            incoming = self.incoming(self.by_name[name])
            flow = _output_flow(task.metadata.type_schema.output_requirements, _combine(incoming), source)
        self.flows[name] = flow
        return flow

    def incoming(self, node: Node) -> list[tuple[str, Position, _Flow]]:
        found = []
        for name, at in zip(node.inputs, node.input_positions):
            if name in CHANNELS:
                flow = self.channel_flow(name)
            elif name in self.by_name:
                flow = self.node_flow(name)
            else:
                flow = _UNKNOWN
            found.append((name, at, flow))
        return found

    def check_edges(self) -> None:
        for name, node in self.by_name.items():
            task = self.tasks.get(name)
            if task is None or name in self.in_cycle:
                continue
            incoming = self.incoming(node)
            requirements = {r.field: r for r in task.metadata.type_schema.input_requirements}
            for _, at, flow in incoming:
                if flow is _UNKNOWN:
                    continue
                # one error per edge: wrong data types make the rest moot
                if self.check_types(task, requirements.get("data_types"), flow, at):
                    self.check_missing(task, requirements.get("contains_missing"), flow, at)
                    self.check_sparse(task, requirements.get("sparse"), flow, at)
            self.check_columns(node, task, requirements.get("number_of_columns"), incoming)

    def check_types(self, task: TaskInfo, req: Requirement | None, flow: _Flow, at: Position) -> bool:
        """False (and an error) when the edge carries data types the task does not take."""
        if req is None or flow.types is None or not flow.types:
            return True
        wanted = set(req.value)
        # TXT and CAT stay apart here: a project knows its column types (the fit check reads them as one, like DRUM)
        bad = sorted(rejected_types(req.condition, req.value, flow.types), key=_type_order)
        if not bad:
            return True
        if req.condition in ("EQUALS", "IN"):
            takes = f"takes only {_join(sorted(wanted, key=_type_order))} columns"
        else:
            takes = f"does not take {_join(bad)} columns"
        also = " also" if flow.types & wanted and req.condition in ("EQUALS", "IN") else ""
        gives = "holds" if flow.source.startswith("the ") else "outputs"
        hint = next((_ENCODE_HINT[t] for t in bad if t in _ENCODE_HINT and "NUM" in wanted), None)
        self.error(at, f"'{task.ref}' {takes}, but {flow.source}{also} {gives} {_join(bad)} columns"
                       + (f"; {hint}" if hint else ""))
        return False

    def check_missing(self, task: TaskInfo, req: Requirement | None, flow: _Flow, at: Position) -> None:
        if req is None or not forbids(req.value) or flow.missing not in ("may", "dynamic"):
            return
        if flow.missing == "may":
            channel = flow.source.split()[1]
            example = "impute_median(NUM)" if channel in ("NUM", "ALL") else f"impute_most_frequent({channel})"
            self.error(at, f"'{task.ref}' does not accept missing values, but {flow.source} may contain them; "
                           f"impute first, e.g. {example}")
        else:
            upstream = flow.source.split("'")[1]
            self.error(at, f"'{task.ref}' does not accept missing values, but {flow.source} may output them "
                           f"(its task '{self.tasks[upstream].ref}' says contains_missing DYNAMIC); "
                           f"impute after it, e.g. impute_median({upstream})")

    def check_sparse(self, task: TaskInfo, req: Requirement | None, flow: _Flow, at: Position) -> None:
        if req is None:
            return
        if forbids(req.value) and flow.sparse == "always":
            self.error(at, f"'{task.ref}' does not accept sparse input, but {flow.source} outputs sparse data; "
                           "reduce it to dense columns first, e.g. with svd")
        elif requires(req.value) and flow.sparse == "never":
            self.error(at, f"'{task.ref}' needs sparse input, but {flow.source} gives dense data")

    def check_columns(self, node: Node, task: TaskInfo, req: Requirement | None, incoming: list) -> None:
        if req is None or not incoming or any(flow.columns is None for _, _, flow in incoming):
            return
        total = sum(flow.columns for _, _, flow in incoming)
        if not count_holds(req.condition, req.value, total):
            sources = ", ".join(f"{flow.columns} from {flow.source}" for _, _, flow in incoming)
            one = req.value == 1 and req.condition in ("EQUALS", "NOT_EQUALS", "NOT_GREATER_THAN", "NOT_LESS_THAN")
            self.error(node.task_position, f"'{task.ref}' needs {column_phrase(req.condition, req.value)} input "
                                           f"column{'' if one else 's'}, but its inputs give {total} ({sources}; its typeSchema says "
                                           f"number_of_columns {req.condition} {_shown(req.value)})")


def _kind_phrase(task: TaskInfo) -> str:
    types = task.target_types
    if not types:
        return "an estimator of no declared target type"
    article = "an" if types[0][0] in "aeiou" else "a"
    return f"{article} {'/'.join(types)} estimator"


def _type_order(name: str) -> int:
    return DATA_TYPES.index(name) if name in DATA_TYPES else len(DATA_TYPES)


def _join(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _combine(incoming: list[tuple[str, Position, _Flow]]) -> _Flow:
    """The union of what several inputs give (a node sees its inputs side by side)."""
    flows = [flow for _, _, flow in incoming]
    if not flows:
        return _UNKNOWN
    types = None if any(f.types is None for f in flows) else frozenset().union(*(f.types for f in flows))
    missing_values = [f.missing for f in flows]
    if "dynamic" in missing_values or "may" in missing_values:
        missing = "dynamic"
    elif all(m == "never" for m in missing_values):
        missing = "never"
    else:
        missing = None
    sparse_values = {f.sparse for f in flows}
    sparse = next(iter(sparse_values)) if len(sparse_values) == 1 else (None if None in sparse_values else "dynamic")
    columns = None if any(f.columns is None for f in flows) else sum(f.columns for f in flows)
    return _Flow(types, missing, sparse, columns, "")


def _output_flow(requirements: tuple[Requirement, ...], into: _Flow, source: str) -> _Flow:
    """A transform's output as its output_requirements describe it; what they leave open stays unknown."""
    reqs = {r.field: r for r in requirements}
    types = None
    if "data_types" in reqs:
        req = reqs["data_types"]
        if req.condition == "EQUALS":
            types = frozenset(req.value)
        elif req.condition == "IN":
            # a type-preserving transform (e.g. an imputer for NUM and CAT) outputs what it was given, of those
            kept = frozenset(req.value) & into.types if into.types is not None else frozenset()
            types = kept or frozenset(req.value)
        else:
            types = frozenset(DATA_TYPES) - frozenset(req.value)
    missing = None
    if "contains_missing" in reqs:
        missing = {"NEVER": "never", "DYNAMIC": "dynamic"}.get(reqs["contains_missing"].value)
    sparse = None
    if "sparse" in reqs:
        value = reqs["sparse"].value
        sparse = into.sparse if value == "IDENTITY" else {"NEVER": "never", "ALWAYS": "always"}.get(value, "dynamic")
    columns = None
    if "number_of_columns" in reqs and reqs["number_of_columns"].condition == "EQUALS":
        columns = reqs["number_of_columns"].value
    return _Flow(types, missing, sparse, columns, source)


def _shown(value) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, (tuple, list)) else str(value)
