"""Load a task's `custom.py` and call its hooks, turning the task's exceptions into readable failures.

Runs inside the worker's child process. A task's traceback is trimmed to the
frames of its own folder, since that is the code its author can fix.
"""

import importlib.util
import inspect
import os
import pickle
import sys
import traceback

from . import contract
from .contract import Hooks
from .errors import StepFailure, TaskCrash

SHIM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "drum_shim")


def find_custom_files(code_dir):
    """Every `custom.py` or `custom.R` under `code_dir`, relative paths, sorted (hidden folders and caches skipped)."""
    found = []
    for root, dirs, files in os.walk(code_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in contract.CUSTOM_FILES:
            if name in files:
                found.append(os.path.relpath(os.path.join(root, name), code_dir))
    return sorted(found)


def task_language(code_dir):
    """"python" for a folder with a custom.py, "r" for one with a custom.R (DRUM's R tasks), else None."""
    found = find_custom_files(code_dir)
    if not found:
        return None
    return "python" if os.path.basename(found[0]) == contract.CUSTOM_FILE else "r"


def ensure_drum_interfaces():
    """Make `datarobot_drum.custom_task_interfaces` importable, using the shim when DRUM is absent."""
    if importlib.util.find_spec("datarobot_drum") is None and SHIM_DIR not in sys.path:
        sys.path.append(SHIM_DIR)


class TaskCode:
    """A loaded `custom.py`: its module, its `CustomTask` class if any, and its hooks."""

    def __init__(self, code_dir, module):
        self.code_dir = code_dir
        self.module = module
        cls = getattr(module, contract.CUSTOM_TASK_CLASS, None)
        self.task_class = cls if inspect.isclass(cls) else None
        self.hooks = {
            name: getattr(module, name)
            for name in Hooks.ALL
            if callable(getattr(module, name, None)) and not inspect.isclass(getattr(module, name))
        }

    @property
    def uses_class(self):
        return self.task_class is not None

    def has(self, hook):
        return hook in self.hooks

    def call(self, hook, /, *args, **kwargs):
        """Call a module hook by name, reporting a raise as the task's own crash."""
        return call_task(hook, self.code_dir, self.hooks[hook], *args, **kwargs)


def load_task(code_dir):
    """Import the task's `custom.py` as its own module, with its folder first on `sys.path`; a `custom.R` is
    loaded into the R bridge instead (rtask.RTaskCode, the same interface)."""
    code_dir = os.path.realpath(code_dir)
    found = find_custom_files(code_dir)
    if not found:
        raise StepFailure(f"{code_dir} has no custom.py or custom.R; a task folder needs exactly one.")
    if len(found) > 1:
        raise StepFailure(
            f"{code_dir} has {len(found)} task files ({', '.join(found)}); keep exactly one custom.py or custom.R."
        )
    if os.path.basename(found[0]) != contract.CUSTOM_FILE:
        from .rtask import RTaskCode

        where = os.path.join(code_dir, found[0])
        return RTaskCode(os.path.dirname(where), os.path.basename(where))
    path = os.path.join(code_dir, found[0])
    task_dir = os.path.dirname(path)
    ensure_drum_interfaces()
    forget_modules_from_other_tasks(task_dir)
    sys.path[:] = [task_dir] + [p for p in sys.path if p != task_dir and p not in _TASK_DIRS]
    # Registered as `custom`, as DRUM does, so pickled task classes load wherever the task runs.
    name = "custom"
    sys.dont_write_bytecode = True  # a stored version stays exactly its recorded files (a root process could write)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - the task's import may raise anything
        del sys.modules[name]
        raise import_failure(exc, task_dir) from None
    return TaskCode(task_dir, module)


_TASK_DIRS = set()


def forget_modules_from_other_tasks(task_dir):
    """Drop `custom` and the helper modules that other task folders loaded, so this task sees its own."""
    sys.modules.pop("custom", None)
    others = [d for d in _TASK_DIRS if d != task_dir]
    _TASK_DIRS.add(task_dir)
    if not others:
        return
    # Task folders are put on sys.path as real paths, so their modules' __file__ start with them: a string test
    # suffices (a realpath per module cost 0.14 s in a process that had imported scikit-learn).
    prefixes = tuple(d + os.sep for d in others)
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and path.startswith(prefixes):
            del sys.modules[name]


def import_failure(exc, code_dir):
    """Describe why `custom.py` (or a helper it imports) could not be imported."""
    if isinstance(exc, SyntaxError) and not isinstance(exc, ImportError):
        where = _relative(exc.filename or "custom.py", code_dir)
        text = (exc.text or "").rstrip("\n")
        details = None
        if text:
            caret = " " * max((exc.offset or 1) - 1, 0) + "^"
            details = f'  File "{exc.filename}", line {exc.lineno}\n    {text}\n    {caret}\n{type(exc).__name__}: {exc.msg}'
        return TaskCrash(
            f"{where} line {exc.lineno}, column {exc.offset or 1}: {type(exc).__name__}: {exc.msg}.",
            details=details,
            rule="import",
        )
    tb_text, location = task_traceback(exc, code_dir)
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        top = exc.name.split(".")[0]
        at = f"{location} " if location else "custom.py "
        return TaskCrash(
            f"{at}imports '{exc.name}', which is not installed in this environment; "
            f"add '{top}' to the task's requirements.txt or pick an environment that has it.",
            details=tb_text,
            rule="import",
        )
    return TaskCrash(
        f"importing custom.py raised {type(exc).__name__}: {_exc_message(exc)}"
        + (f" ({location})" if location else "")
        + ".",
        details=tb_text,
        rule="import",
    )


def call_task(hook, code_dir, fn, /, *args, **kwargs):
    """Call task code; any exception becomes a TaskCrash naming the hook and the task's line."""
    try:
        return fn(*args, **kwargs)
    except StepFailure:
        raise
    except BaseException as exc:  # noqa: BLE001 - user code may raise anything, even SystemExit
        tb_text, location = task_traceback(exc, code_dir)
        if isinstance(exc, SystemExit):
            msg = f"{hook} called sys.exit({exc.code!r})"
        elif isinstance(exc, MemoryError):
            msg = f"{hook} ran out of memory (MemoryError)"
        else:
            msg = f"{hook} raised {type(exc).__name__}: {_exc_message(exc)}"
        if location:
            msg += f" ({location})"
        raise TaskCrash(msg + ".", details=tb_text, rule="crash") from None


def accepted_kwargs(fn, kwargs):
    """The subset of `kwargs` that `fn` accepts; all of them when it takes `**kwargs`."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return kwargs
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in params}


def positional_count(fn):
    """How many positional parameters `fn` takes (None when it takes *args or cannot be inspected)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return None
    return sum(
        p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        for p in params
    )


def task_traceback(exc, code_dir):
    """The traceback of `exc` cut to frames inside `code_dir`, and 'file line N' of the deepest one."""
    frames = traceback.extract_tb(exc.__traceback__)
    root = os.path.realpath(code_dir) + os.sep
    own = [f for f in frames if os.path.realpath(f.filename).startswith(root)]
    location = None
    if own:
        last = own[-1]
        location = f"{_relative(last.filename, code_dir)} line {last.lineno}"
    lines = ["Traceback (most recent call last, the task's own frames):"]
    lines += [line.rstrip("\n") for line in traceback.format_list(own)]
    hidden = len(frames) - len(own)
    if hidden and own:
        lines.append(f"  ... {hidden} frame(s) outside the task folder hidden")
    lines += [line.rstrip("\n") for line in traceback.format_exception_only(type(exc), exc)]
    if not own:
        lines = [line.rstrip("\n") for line in traceback.format_exception(type(exc), exc, exc.__traceback__)][-6:]
    return "\n".join(lines), location


def _relative(path, code_dir):
    try:
        rel = os.path.relpath(os.path.realpath(path), os.path.realpath(code_dir))
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _exc_message(exc):
    text = str(exc).strip().splitlines()
    text = text[0] if text else ""
    return (text[:300] + "…") if len(text) > 300 else (text or "(no message)")


def load_pickle(path):
    """Load a pickle or joblib file the way DRUM does for native artifacts."""
    if path.endswith(".joblib"):
        try:
            import joblib
        except ImportError:
            pass
        else:
            return joblib.load(path)
    with open(path, "rb") as fh:
        return pickle.load(fh)


def load_native(path):
    """Load a native artifact by its extension (.pkl, .joblib, .pth, .h5)."""
    if path.endswith((".pkl", ".joblib")):
        return load_pickle(path)
    if path.endswith(".pth"):
        import torch

        return torch.load(path, weights_only=False)
    if path.endswith(".h5"):
        from tensorflow import keras

        return keras.models.load_model(path)
    raise ValueError(f"not a native artifact: {path}")
