"""Reading a task's custom.py or custom.R without running it, to say before a fit what would only fail after it.

A classification task is scored with `predict_proba` (or DRUM's `score`), or a
`CustomTask` class's `predict_proba`; without one, the fit runs to the end and
scoring then fails. An R task (DRUM's R contract) needs a top-level `fit`; its
transform and scoring have defaults (a recipe's `bake`, `predict(model, type =
"prob")`). Only what the source shows for certain is reported: a file that binds
names in ways a reader cannot follow (a star import, `exec`, `globals()`, a base
class from elsewhere; R's `source`, `assign`, `eval`) gets no warning.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

from ..runtime import contract
from ..runtime.taskcode import find_custom_files

# DRUM's interface base classes (and the shim's): they define no usable predict_proba.
_DRUM_BASES = frozenset({
    "object", "CustomTaskInterface", "EstimatorInterface", "BinaryEstimatorInterface",
    "MulticlassEstimatorInterface", "RegressionEstimatorInterface", "AnomalyEstimatorInterface",
    "TransformerInterface",
})
_OPAQUE_CALLS = frozenset({"exec", "eval", "globals", "setattr", "__import__", "vars", "locals"})
_SCORING = (contract.Hooks.PREDICT_PROBA, contract.Hooks.SCORE)


def missing_scoring_hook(code_dir: str | Path, target_type: str | None) -> str | None:
    """The warning for a classification task whose custom.py certainly has no way to score, or for an R task (any
    target type) whose custom.R certainly has no fit; else None."""
    r_file = r_custom_file(code_dir)
    if r_file is not None:
        return missing_r_hook(r_file)
    if target_type not in contract.CLASSIFICATION_TYPES:
        return None
    found = _custom_py(code_dir)
    if found is None:
        return None
    gap = _scoring_gap(*found)
    if gap == "module":
        return (f"custom.py defines neither predict_proba nor score, so this {target_type} task fails when it is "
                f"scored, after the whole fit; add predict_proba(X, model, **kwargs) returning one probability "
                f"column per class (DRUM would fall back to a pickled model's own predict_proba; taskbench does not).")
    if gap == "class":
        return (f"class {contract.CUSTOM_TASK_CLASS} has no predict_proba method, so this {target_type} task fails "
                f"when it is scored, after the whole fit (in DRUM too); add predict_proba(self, X, **kwargs) "
                f"returning one probability column per class.")
    return None


def python_hook_gap(code_dir: str | Path, kind: str | None) -> str | None:
    """The warning for a custom.py that certainly fails every fit: it does not parse, or it defines no `fit` (nor a
    CustomTask class), or, for a transform (`kind` "transform"), no `transform`; a near-miss name is offered
    ("did you mean"), with its line. None when the file is not Python or may bind the hook in ways not read here."""
    if r_custom_file(code_dir) is not None:
        return None
    found = _custom_py(code_dir)
    return None if found is None else _python_gap(*found, kind == contract.TRANSFORM)


def _custom_py(code_dir: str | Path) -> tuple[str, int] | None:
    """custom.py's path and modification stamp (the cache key of what was read from it), or None without one."""
    path = Path(code_dir) / contract.CUSTOM_FILE
    try:
        return str(path), path.stat().st_mtime_ns
    except OSError:
        return None


@lru_cache(maxsize=256)
def _python_gap(path: str, _stamp: int, transform: bool) -> str | None:
    import difflib

    name = Path(path).name
    try:
        tree = ast.parse(Path(path).read_bytes(), path)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "") if exc.lineno else "it"
        return f"{name} does not parse ({where}: {exc.msg}), so every fit of this task fails; fix the syntax."
    except (ValueError, OSError):
        return None
    if any(_opaque(node) for node in ast.walk(tree)):
        return None
    bound, task_class = _top_level(tree.body)
    if task_class is not None or contract.CUSTOM_TASK_CLASS in bound:
        return None  # the class's methods are DRUM's interface, checked when it runs
    wanted = [contract.Hooks.FIT] + ([contract.Hooks.TRANSFORM] if transform else [])
    missing = [hook for hook in wanted if hook not in bound]
    if not missing:
        return None
    hook = missing[0]
    lines = {stmt.name: stmt.lineno for stmt in tree.body if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))}
    near = difflib.get_close_matches(hook, [n for n in lines if n not in contract.Hooks.ALL], n=1, cutoff=0.75)
    guess = f"; line {lines[near[0]]} defines '{near[0]}': did you mean '{hook}'?" if near else ""
    shape = ("fit(X, y, output_dir, **kwargs)" if hook == contract.Hooks.FIT
             else "transform(X, transformer) returning the transformed frame")
    return f"{name} defines no {hook} hook, so every fit of this task fails{guess or f'; add {shape}.'}"


def _module_names(path: str):
    """(names custom.py binds at top level, its CustomTask class or None), read without running it; None when it does
    not parse or may bind names in ways not read here. Callers cache by (path, stamp)."""
    try:
        tree = ast.parse(Path(path).read_bytes(), path)
    except (SyntaxError, ValueError, OSError):
        return None
    if any(_opaque(node) for node in ast.walk(tree)):
        return None
    return _top_level(tree.body)


def may_define(code_dir: str | Path, hook: str) -> bool:
    """False when the task's custom.py or custom.R certainly defines no top-level `hook` that DRUM would call (a
    CustomTask class's module is not searched for hooks), so scoring can take its usual path without loading the
    task; True when it does, or may in ways not read here (then the loaded task decides)."""
    if r_custom_file(code_dir) is not None:
        defined = r_hooks(code_dir)
        return defined is None or hook in defined
    found = _custom_py(code_dir)
    return True if found is None else _may_bind(*found, hook)


@lru_cache(maxsize=256)
def _may_bind(path: str, _stamp: int, hook: str) -> bool:
    read = _module_names(path)
    if read is None:
        return True  # loading the task says what is wrong, or decides
    bound, task_class = read
    return hook in bound and (task_class is None or contract.CUSTOM_TASK_CLASS in bound)


def default_loader(code_dir: str | Path) -> str | None:
    """How scoring certainly loads the task's fitted model when custom.py says nothing else: "class" when its
    CustomTask class keeps the DRUM interface's own load (unpickling drum_artifact.pkl), "module" when it is a
    module of hooks with no load_model (one native artifact file); None for an R task, or when custom.py has its
    own loader or may bind one in ways not read here."""
    found = _custom_py(code_dir) if r_custom_file(code_dir) is None else None
    return None if found is None else _default_loader(*found)


@lru_cache(maxsize=256)
def _default_loader(path: str, _stamp: int) -> str | None:
    read = _module_names(path)
    if read is None:
        return None
    bound, task_class = read
    if task_class is None:
        return None if contract.Hooks.LOAD_MODEL in bound or contract.CUSTOM_TASK_CLASS in bound else "module"
    if contract.CUSTOM_TASK_CLASS in bound:
        return None
    members = _class_members(task_class)
    if members is None or members & {"load", "load_task", "default_artifact_filename", "__getattr__",
                                     "__getattribute__"}:
        return None
    return "class"


def first_classification_type(target_types) -> str | None:
    """The first classification type among a task's declared target types, the one a warning names."""
    return next((t for t in target_types or () if t in contract.CLASSIFICATION_TYPES), None)


@lru_cache(maxsize=256)
def _scoring_gap(path: str, _stamp: int) -> str | None:
    """'module' or 'class' when the file certainly lacks a scoring hook there; None when it has one or may."""
    read = _module_names(path)
    if read is None:
        return None  # the fit check reports a file that does not parse
    bound, task_class = read
    if contract.CUSTOM_TASK_CLASS in bound:
        return None  # bound by an import or assignment: not readable here
    if task_class is not None:
        return _class_gap(task_class)
    return None if bound & set(_SCORING) else "module"


def _opaque(node: ast.AST) -> bool:
    """Whether `node` can bind module names in ways this reader does not follow (so nothing is certain)."""
    if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
        return True
    if isinstance(node, (ast.Global, ast.Match, getattr(ast, "TryStar", ast.Match))):
        return True
    return isinstance(node, ast.Name) and node.id in _OPAQUE_CALLS


def _top_level(body: list[ast.stmt]) -> tuple[set[str], ast.ClassDef | None]:
    """Names bound at module level (into if/try/with blocks, not functions), and the CustomTask class if defined."""
    bound: set[str] = set()
    task_class = None
    for stmt in body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == contract.CUSTOM_TASK_CLASS:
            if task_class is not None:
                bound.add(stmt.name)  # defined twice: which one wins is not for a reader to guess
            task_class = stmt
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in stmt.names)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
            bound.update(n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
        for block in ("body", "orelse", "finalbody", "handlers"):
            if isinstance(stmt, (ast.If, ast.Try, ast.With, ast.AsyncWith, ast.For, ast.While)) and hasattr(stmt, block):
                inner_bound, inner_class = _top_level(_statements(getattr(stmt, block)))
                bound |= inner_bound
                if inner_class is not None:
                    bound.add(contract.CUSTOM_TASK_CLASS)  # a conditional class: not certain
    return bound, task_class


def _statements(items) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for item in items:
        out.extend(item.body if isinstance(item, ast.ExceptHandler) else [item])
    return out


def _class_gap(cls: ast.ClassDef) -> str | None:
    """'class' when the class body has no predict_proba and its bases are only DRUM's interfaces."""
    members = _class_members(cls)
    if members is None or members & {contract.Hooks.PREDICT_PROBA, "__getattr__", "__getattribute__"}:
        return None
    return "class"


def _class_members(cls: ast.ClassDef) -> set[str] | None:
    """The names a class body binds, when they are all it has: None when it has keywords or decorators, a base
    other than DRUM's interfaces, or conditional or computed members."""
    if cls.keywords or cls.decorator_list:
        return None
    for base in cls.bases:
        name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else None
        if name not in _DRUM_BASES:
            return None
    names: set[str] = set()
    for stmt in cls.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            names.update(n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
        elif not isinstance(stmt, (ast.Expr, ast.Pass)):
            return None  # conditional or computed members
    return names


def blueprint_scoring_gaps(tasks: dict, target_type: str | None) -> list[tuple[str, str]]:
    """(node name, warning) for each estimator node of a blueprint whose task could not score the target type (or,
    with none known, the classification type the task declares), and each R node without a fit. A
    task that does not serve the target type at all has its own error, so no warning adds to it."""
    out = []
    for name, task in tasks.items():
        gap = python_hook_gap(task.path, task.kind)
        if gap:
            out.append((name, f"task '{task.ref}': {gap}"))
            continue
        if task.kind == "transform":
            if r_custom_file(task.path) is None:
                continue
            scored_as = None  # an R transform: only its fit is looked for
        elif target_type and task.target_types and target_type not in task.target_types:
            continue
        else:
            scored_as = target_type or first_classification_type(task.target_types)
        text = missing_scoring_hook(task.path, scored_as)
        if text:
            out.append((name, f"task '{task.ref}': {text}"))
    return out


# ------------------------------------------------------------------ R (custom.R)

# The hooks DRUM's R runner looks up in custom.R (fit.R and score.R), in the order they run.
R_HOOKS = ("init", "read_input_data", "fit", "load_model", "transform", "score", "post_process")
# Calls that bind names a reader cannot see: with any of them, nothing about custom.R's hooks is certain.
_R_OPAQUE = frozenset({"source", "sys.source", "assign", "eval", "evalq", "attach", "load", "list2env",
                       "makeActiveBinding", "delayedAssign", "sys.function", "environment"})
_R_TOKENS = re.compile(r"""
    (?P<comment>\#[^\n]*)
  | (?P<raw>[rR]["'](?P<dashes>-*)(?P<open>[(\[{]))
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>`(?:[^`\\]|\\.)*`|[A-Za-z.][A-Za-z0-9._]*)
  | (?P<assign><<-|<-|=(?!=))
  | (?P<open_>[({\[])
  | (?P<close>[)}\]])
  | (?P<lambda>\\(?=\s*\())
  | (?P<other>[^\s])
""", re.X | re.S)
_RAW_CLOSE = {"(": ")", "[": "]", "{": "}"}


def r_custom_file(code_dir: str | Path) -> Path | None:
    """The custom.R of an R task folder (its one task file, as the runtime finds it), or None for any other folder."""
    found = find_custom_files(str(code_dir))
    if len(found) != 1 or Path(found[0]).name == contract.CUSTOM_FILE:
        return None
    return Path(code_dir) / found[0]


def r_hooks(code_dir: str | Path) -> frozenset[str] | None:
    """DRUM's R hooks that custom.R defines at top level (`fit <- function(...)`, `fit = function(...)`), or None
    when there is no custom.R or it binds names in ways a reader cannot follow."""
    path = r_custom_file(code_dir)
    if path is None:
        return None
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    defined = _r_functions(str(path), stamp)
    return None if defined is None else frozenset(defined) & frozenset(R_HOOKS)


def missing_r_hook(path: Path) -> str | None:
    """The warning for a custom.R certainly without a top-level `fit` (DRUM's R runner needs one for every task),
    or None. A missing `transform` or `score` is no gap: DRUM bakes a recipe and calls `predict` by default."""
    try:
        defined = _r_functions(str(path), path.stat().st_mtime_ns)
    except OSError:
        return None
    if defined is None or "fit" in defined:
        return None
    return (f"{path.name} defines no top-level fit function, so every fit of this task fails at once (DRUM says "
            f"'No Fit method provided'); add fit <- function(X, y, output_dir, ...) that saves the model as an .rds "
            f"file in output_dir.")


@lru_cache(maxsize=256)
def _r_functions(path: str, _stamp: int) -> frozenset[str] | None:
    """Names bound to a function at the top level of an R file, or None when the file binds names opaquely."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return r_functions(text)


def r_functions(text: str) -> frozenset[str] | None:
    """Names bound to `function(...)` or `\\(...)` at depth 0 of R source `text` (`name <- function`, `name =
    function`, `name <<- function`), or None when a call like `source()` or `assign()` may bind others."""
    tokens: list[tuple[str, str, int]] = []  # (kind, text, bracket depth before it)
    depth = 0
    pos = 0
    while pos < len(text):
        match = _R_TOKENS.search(text, pos)
        if match is None:
            break
        kind = match.lastgroup  # the outermost group: "raw", never its inner "dashes" or "open"
        pos = match.end()
        if kind == "comment":
            continue
        if kind == "raw":  # r"(...)", r"-[...]-": ends at the matching close, quote and dashes
            quote = match.group("raw")[1]
            end = text.find(_RAW_CLOSE[match.group("open")] + match.group("dashes") + quote, pos)
            pos = len(text) if end < 0 else end + len(match.group("dashes")) + 2
            tokens.append(("string", "", depth))
            continue
        if kind == "open_":
            tokens.append((kind, match.group(), depth))
            depth += 1
            continue
        if kind == "close":
            depth = max(0, depth - 1)
        value = match.group()
        if kind == "name" and value.startswith("`"):
            value = value[1:-1]
        tokens.append((kind, value, depth))
    found: set[str] = set()
    for i, (kind, value, level) in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else ("", "", 0)
        if kind == "name" and value in _R_OPAQUE and following[:2] == ("open_", "("):
            return None
        if level or kind != "name" or i + 3 >= len(tokens):
            continue
        if tokens[i + 1][0] == "assign" and (tokens[i + 2][1] == "function" or tokens[i + 2][0] == "lambda") \
                and tokens[i + 3][:2] == ("open_", "("):
            found.add(value)
    return frozenset(found)
