"""`train --cluster` at an address where no Dask scheduler answers: one sentence within the announced 10 s, exit 2,
nothing from Dask's teardown on screen, and no job or model row left behind (real `taskbench` processes)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import pytest

from tests.conftest import DATA

pytest.importorskip("distributed")

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
HTTP_400 = b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 22\r\n\r\n<html>bad request</html>"


def serve(answer: bytes | None):
    """A local TCP server that accepts and then holds the connection silent (None) or answers `answer`."""
    server = socket.create_server(("127.0.0.1", 0))
    held = []

    def loop():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            if answer is None:
                held.append(conn)
            else:
                conn.recv(65536)
                conn.sendall(answer)
                conn.close()

    threading.Thread(target=loop, daemon=True).start()
    return server, f"tcp://127.0.0.1:{server.getsockname()[1]}"


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{probe.getsockname()[1]}"  # bound, never listened on, then released: refused


def cli(*args, env):
    return subprocess.run([sys.executable, "-m", "tui.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.fixture
def workspace(tmp_path):
    env = {**os.environ, "TASKBENCH_HOME": str(tmp_path / "ws"), "COLUMNS": "200"}
    assert cli("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "jr", env=env).returncode == 0
    (tmp_path / "ridge.bp").write_text("num = impute_median(NUM)\nmodel = ridge(num)\n")
    return env, tmp_path / "ridge.bp"


@pytest.mark.parametrize("kind", ["silent", "http-400", "refused"])
def test_an_address_that_is_no_dask_scheduler_is_one_sentence_and_leaves_nothing(kind, workspace):
    env, blueprint = workspace
    server = None
    if kind == "refused":
        address = closed_port()
    else:
        server, address = serve(None if kind == "silent" else HTTP_400)
    try:
        done = cli("train", "jr", blueprint, "--cluster", address, env=env)  # hung forever before (silent)
    finally:
        if server:
            server.close()
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2, said
    assert f"cannot reach the Dask scheduler at {address}: it did not answer as a Dask scheduler within 10 s" in said
    assert "check the address, or drop --cluster." in said
    for noise in ("Traceback", "Exception ignored", "MemoryError", "internal error", "distributed."):
        assert noise not in said
    jobs = cli("jobs", "--json", env=env)
    assert jobs.returncode == 0 and "train" not in jobs.stdout, jobs.stdout
    assert cli("leaderboard", "jr", "--json", env=env).stdout.strip() in ("[]", "")
