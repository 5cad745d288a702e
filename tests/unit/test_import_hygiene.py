"""The engine stays headless and light: importing `core` loads no textual, rich or typer."""

import subprocess
import sys

ENGINE_MODULES = [
    "core",
    "core.errors",
    "core.workspace",
    "core.joblog",
    "core.tasks.metadata",
    "core.tasks.fitcheck",
    "core.runners.base",
    "core.runners.subprocess_runner",
    "core.runtime.contract",
]


def test_core_imports_no_front_end_library():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in ENGINE_MODULES)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'typer'))\n"
        + "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_fit_check_engine_does_not_import_pandas():
    """The engine side of the fit check leaves pandas to the worker, so the CLI starts fast."""
    code = "import sys, core.tasks.fitcheck; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_predict_command_side_does_not_import_pandas():
    """`taskbench predict` leaves pandas to its scoring process (0.2-0.3 s of a 1.2 s batch of 100,000 rows); what
    it imports to send the request (the plan with its worker keys, the job) must stay light."""
    code = ("import sys, core.deploy.batch, core.deploy.workers, core.environments.resolve, tui.cli.predict; "
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_runtime_uses_only_stdlib_and_pandas():
    """The harness also runs inside Docker images, so it may import only the stdlib, numpy and pandas."""
    import ast
    from pathlib import Path

    # joblib, torch, tensorflow and scipy are imported only when a task needs them (.joblib, .pth, .h5, .mtx);
    # sklearn only for metrics, which the engine computes itself when a worker lacks it.
    allowed = set(sys.stdlib_module_names) | {"numpy", "pandas", "joblib", "torch", "tensorflow", "scipy", "sklearn", "datarobot_drum"}
    runtime = Path(__file__).resolve().parents[2] / "core" / "runtime"
    for path in runtime.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
