"""Starting `taskbench predict`'s scoring process, light enough to run before anything else the command imports.

The entry point calls `prestart_scoring` first thing: the process's imports
(pandas, scikit-learn: most of a second) then overlap the command's own start,
and every module imported here delays that start.
"""

import os
import subprocess
import sys

_PRESTARTED: list = []


def repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def scoring_command() -> list:
    return [sys.executable, "-m", "core.deploy.score_process"]


def start_scoring(cwd: str) -> subprocess.Popen:
    """A scoring process waiting for its request on stdin, in task code's environment (none of taskbench's own
    variables), with this checkout first on its path."""
    from ..settings import task_environment  # task code runs there

    env = dict(task_environment(os.environ), PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join([repo_root()] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return subprocess.Popen(scoring_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=cwd, start_new_session=True)


def prestart_scoring() -> None:
    """Start the scoring process now, so that its imports overlap the command's own start (`taskbench predict`).

    It waits for its request on stdin; if the command ends without one, the closed pipe ends it.
    """
    if not _PRESTARTED:
        import tempfile

        _PRESTARTED.append(start_scoring(tempfile.gettempdir()))


def take_scoring(cwd: str) -> subprocess.Popen:
    """The prestarted scoring process, else one started now in `cwd`."""
    return _PRESTARTED.pop() if _PRESTARTED else start_scoring(cwd)
