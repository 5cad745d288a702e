"""bench/_load.py, the client of bench/serve_vs_drum.py: its multipart X and CSV requests get taskbench serve's
answers (the same prediction each way), and its load generator counts answered requests, with no DRUM needed."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.cli.test_serve_code_dir import FolderServer, fit_output
from tests.conftest import DATA, REPO

sys.path.insert(0, str(REPO / "bench"))
from _load import Connection, csv_body, get_request, multipart_x, post_request  # noqa: E402


def test_the_bench_requests_are_answered_by_serve_code_dir(taskbench, home, tmp_path):
    folder = fit_output(taskbench, tmp_path, "1_python_regression", DATA / "juniors_3_year_stats_regression.csv",
                        "regression", "Grade 2014")
    lines = (DATA / "juniors_3_year_stats_regression_inference.csv").read_bytes().splitlines()
    csv = lines[0] + b"\n" + lines[1] + b"\n"
    server = FolderServer(home, folder)
    try:
        conn = Connection(server.port, timeout=30)
        answers = []
        for build in (multipart_x, csv_body, multipart_x):  # three on one keep-alive connection
            status, body = conn.request(post_request(server.port, "/predict/", *build(csv)))
            assert status == 200, body
            answers.append(json.loads(body)["predictions"])
        assert len(answers[0]) == 1 and answers[0] == answers[1] == answers[2]
        assert conn.request(get_request(server.port, "/ping"))[0] == 200
        conn.close()

        request = tmp_path / "request.bin"
        request.write_bytes(post_request(server.port, "/predict/", *csv_body(csv)))
        out = subprocess.run([sys.executable, REPO / "bench" / "_load.py", str(server.port), request, "--clients",
                              "2", "--warmup", "0.2", "--seconds", "0.5"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout)
        assert result["requests"] > 0 and result["errors"] == 0
    finally:
        server.stop()
