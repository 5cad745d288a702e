"""Cached virtual environments for a task's requirements.txt in subprocess mode (SPEC §2.6).

One venv per (base Python, requirements content), layered over the
environment's Python and its packages so only what is missing gets installed, built under a temporary name and renamed into place, and reused
by every later run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

from .. import settings, workspace
from ..errors import TaskbenchError


def normalized_requirements(text: str) -> str:
    """Requirements without comments, blank lines or surrounding spaces: what decides the cache key."""
    lines = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return "\n".join(lines)


def pip_environment() -> dict[str, str]:
    """Environment for pip (which runs the requirements' build code): taskbench's own variables removed,
    the extra CA bundle setting, when given, as PIP_CERT, and the wheelhouse added to PIP_FIND_LINKS."""
    env = settings.task_environment(os.environ)
    bundle = settings.CA_BUNDLE.get()
    if bundle and Path(bundle).is_file():
        env["PIP_CERT"] = bundle
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    from .pipconfig import venv_environment

    return venv_environment(env)


def _python_facts(python: str) -> dict:
    code = (
        "import json, site, sys, sysconfig; print(json.dumps({'id': sys.executable + ' ' + sys.version, "
        "'sites': site.getsitepackages(), 'purelib': sysconfig.get_path('purelib', vars={'base': '{B}'})}))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def requirements_python(
    root: Path, requirements: str, on_log: Callable[[str], None], base_python: str | None = None
) -> str:
    """The Python of a venv holding `requirements` over `base_python`; builds it once, then reuses it."""
    base_python = base_python or sys.executable
    wanted = normalized_requirements(requirements)
    facts = _python_facts(base_python)
    key = hashlib.sha256(f"{facts['id']}\n{facts['sites']}\n{wanted}".encode()).hexdigest()[:16]
    venvs = root / workspace.VENVS
    final = venvs / key
    python = final / "bin" / "python"
    if (final / ".complete").exists():
        on_log(f"requirements.txt: reused the cached environment {final.name} ({_count(wanted)} requirement(s))")
        return str(python)
    venvs.mkdir(parents=True, exist_ok=True)
    building = venvs / f"tmp-{key}-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    on_log(f"requirements.txt: installing {_count(wanted)} requirement(s) into a new cached environment {key}")
    from .pipconfig import looked_in, pip_sources, wheelhouse

    sources = pip_sources()
    folder = wheelhouse()
    on_log(f"requirements.txt: pip installs from {sources.removeprefix('the index ')}"
           + (f" and the wheelhouse {folder}" if folder else ""))
    try:
        subprocess.run(
            [base_python, "-m", "venv", "--without-pip", str(building)], check=True, capture_output=True, text=True
        )
        # Layer over the environment's own packages (even when it is itself a venv): its
        # site-packages come after ours on sys.path, so pip installs only what is missing.
        site_dir = Path(facts["purelib"].replace("{B}", str(building)))
        site_dir.mkdir(parents=True, exist_ok=True)
        (site_dir / "_taskbench_parent.pth").write_text("\n".join(facts["sites"]) + "\n")
        req_file = building / "requirements.txt"
        req_file.write_text(wanted + "\n")
        proc = subprocess.Popen(
            [str(building / "bin" / "python"), "-m", "pip", "install", "--no-input", "-r", str(req_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=pip_environment(),
        )
        tail: list[str] = []
        for line in proc.stdout:
            on_log(line.rstrip("\n"))
            tail = (tail + [line.rstrip("\n")])[-15:]
            looked = looked_in(line)
            if looked and any(url not in sources for url in looked):  # pip's own word, when it differs from ours
                sources = f"the indexes pip looked in ({', '.join(looked)})"
        if proc.wait() != 0:
            errors = [line for line in tail if "ERROR" in line] or tail[-3:]
            # One sentence: pip's every line went to on_log already (the terminal, the job's log), so no details
            # that would print its output (a version list) a second time under the error.
            raise TaskbenchError(
                f"requirements.txt could not be installed from {sources}: "
                f"{errors[-1].strip() if errors else 'pip failed'}"
            )
        (building / ".complete").write_text(wanted + "\n")
        try:
            os.rename(building, final)
        except OSError:
            shutil.rmtree(building, ignore_errors=True)  # another process finished the same venv first
            if not (final / ".complete").exists():
                raise
        on_log(f"requirements.txt: installed; the environment {key} will be reused")
        return str(python)
    except subprocess.CalledProcessError as exc:
        raise TaskbenchError(f"could not create a virtual environment: {exc.stderr.strip() or exc}") from None
    finally:
        shutil.rmtree(building, ignore_errors=True)


def _count(requirements: str) -> int:
    return len(requirements.splitlines()) if requirements else 0
