"""An engine bug in a command is one sentence on screen and its traceback in the workspace's logs/cli.log."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BROKEN_JOBS = """
import sys
import core.store.store as store
def broken(self, *args, **kwargs):
    raise ZeroDivisionError("division by zero")
store.Store.list_jobs = broken
import tui.cli.main as main
sys.argv = ["taskbench", "--home", sys.argv[1], "jobs"]
main.run()
"""


def test_an_engine_bug_is_one_sentence_and_its_traceback_goes_to_the_log(tmp_path):
    home = tmp_path / "ws"
    out = subprocess.run([sys.executable, "-c", BROKEN_JOBS, str(home)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and "File " not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "internal error (ZeroDivisionError: division by zero)" in lines[0]
    log = home / "logs" / "cli.log"
    assert str(log) in lines[0]
    text = log.read_text()
    assert "Traceback" in text and "ZeroDivisionError" in text and "jobs" in text


def test_a_user_error_raised_outside_a_workspace_stays_its_sentence(tmp_path):
    code = (
        "import sys\nfrom core.errors import UsageError\nimport tui.cli.main as main\n"
        "def bad(*a, **k):\n    raise UsageError('the thing is wrong; fix it.')\n"
        "main.app = bad\nsys.argv = ['taskbench', 'jobs']\nmain.run()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**__import__("os").environ, "TASKBENCH_HOME": str(tmp_path / "ws")})
    assert out.returncode == 2
    assert out.stderr.strip() == "error: the thing is wrong; fix it."
