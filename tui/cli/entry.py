"""The console-script entry point: starts `train`'s workers (or `predict`'s scoring process) before the CLI
libraries even load.

A worker needs about a second to import pandas and scikit-learn; starting it
first lets that overlap everything else the command does.
"""

from __future__ import annotations

import sys


def _option(argv: list[str], *names: str) -> str | None:
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def _command(argv: list[str]) -> str | None:
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--home":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _early_start(argv: list[str]) -> None:
    if {"-h", "--help"} & set(argv):
        return
    if _command(argv) == "predict":
        from core.deploy.prestart import prestart_scoring

        prestart_scoring()
        return
    if _command(argv) != "train" or _option(argv, "--cluster"):
        return
    try:
        jobs = max(1, int(_option(argv, "--jobs", "-j") or 1))
    except ValueError:
        return  # the CLI reports the bad value
    from core import workspace
    from core.errors import TaskbenchError
    from core.training.engine import prestart_workers

    root = workspace.home(_option(argv, "--home"))
    try:
        workspace.enter(root)  # a shared workspace's umask, inherited by the workers
    except TaskbenchError:
        return  # the command says why when it opens the workspace
    prestart_workers(root, jobs)


def run() -> None:
    """Run the `taskbench` command."""
    import gc

    _early_start(sys.argv[1:])
    gc.disable()  # the CLI's libraries (typer, pydantic, rich) leave no garbage for collections to find (~25 ms)
    from .main import run as main

    gc.freeze()  # loaded for good: later collections need not look at it again
    gc.enable()
    try:
        main()
    finally:
        gc.freeze()  # the command is over: exit without the collector's last pass over all it loaded (~25 ms)
