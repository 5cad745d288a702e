"""Environments a task runs in: the built-in ones shipped here, custom ones from a Dockerfile folder.

Only names and folders live at this level, so importing it never loads the Docker SDK.
"""

from __future__ import annotations

from pathlib import Path

from ..runtime.contract import LOCAL_ENV

BUILTIN_DIR = Path(__file__).resolve().parent

PYTHON_LOCAL = LOCAL_ENV
PYTHON_SKLEARN = "python-sklearn"
R_BASE = "r-base"

# Built-in Docker environments: name -> folder holding its Dockerfile (the build context).
BUILTIN_DOCKER_ENVIRONMENTS: dict[str, Path] = {
    PYTHON_SKLEARN: BUILTIN_DIR / PYTHON_SKLEARN,
    R_BASE: BUILTIN_DIR / R_BASE,
}

DEFAULT_BASE_IMAGE = "python:3.11-slim"
CA_BUNDLE_NAME = "taskbench-ca.crt"


def builtin_context(name: str) -> Path:
    """The build context folder of the built-in Docker environment `name`; KeyError when there is none."""
    return BUILTIN_DOCKER_ENVIRONMENTS[name]
