"""`taskbench deploy` and `serve`: a real server process answering DRUM's routes, its errors, token, load and stats."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest
import requests

from tests.conftest import DATA, REPO

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
INFERENCE = DATA / "juniors_3_year_stats_regression_inference.csv"
IRIS = DATA / "iris_binary_training.csv"
LOAD_SECONDS = float(os.environ.get("TASKBENCH_SERVE_LOAD_SECONDS", "10"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def trained(taskbench, tmp_path, data, target, name, blueprint):
    assert taskbench("project", "create", data, "--target", target, "--name", name).exit_code == 0
    bp = tmp_path / f"{name}.bp"
    bp.write_text(blueprint)
    result = taskbench("train", name, bp)
    assert result.exit_code == 0, result.output
    return json.loads(taskbench("leaderboard", name, "--json").output)[0]["model"]


class Server:
    """`taskbench serve` as a real subprocess on a free port."""

    def __init__(self, home, deployment, *extra):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, TASKBENCH_HOME=str(home), TASKBENCH_MONITOR_SECONDS="0.5")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", "serve", deployment, "--port", str(self.port), *extra],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the server exited: {self.proc.stdout.read()}")
            try:
                if requests.get(f"{self.url}/ping", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        pytest.fail("the server did not answer /ping within 60 s")

    def stop(self) -> str:
        """Stop the server; returns what it printed."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.stdout.read()


@pytest.fixture
def juniors_server(taskbench, tmp_path, home):
    model = trained(taskbench, tmp_path, JUNIORS, "Grade 2014", "juniors", "num = impute_median(NUM)\nmodel = ridge(num)\n")
    deployed = taskbench("deploy", model, "--name", "jr")
    assert deployed.exit_code == 0, deployed.output
    server = Server(home, "jr")
    yield server
    server.stop()


def rows(n):
    return pd.read_csv(INFERENCE).iloc[:n]


def test_drum_client_shapes_errors_and_exact_stats(juniors_server, taskbench):
    url = juniors_server.url
    frame = rows(5)
    body = frame.to_csv(index=False)
    csv_reply = requests.post(f"{url}/predict/", data=body, headers={"Content-Type": "text/csv"})
    assert csv_reply.status_code == 200, csv_reply.text
    expected = csv_reply.json()["predictions"]
    assert len(expected) == 5 and all(isinstance(v, float) for v in expected)
    plain = requests.post(f"{url}/predict/", data=body.encode(), headers={"Content-Type": "text/plain; charset=UTF-8"})
    multipart = requests.post(f"{url}/predict/", files={"X": ("X.csv", io.BytesIO(body.encode()))})
    split = requests.post(f"{url}/predict/", json={"columns": list(frame.columns), "data": frame.values.tolist()})
    records = requests.post(f"{url}/predict/", json=frame.to_dict(orient="records"))
    for reply in (plain, multipart, split, records):
        assert reply.status_code == 200, reply.text
        assert reply.json()["predictions"] == pytest.approx(expected, rel=1e-12)
    as_text = requests.post(f"{url}/predict/", json={"columns": list(frame.columns), "data": frame.astype(str).values.tolist()})
    assert as_text.json()["predictions"] == pytest.approx(expected, rel=1e-12) and "warnings" not in as_text.json()
    words = frame.astype(object)
    words.loc[0, "AVG_fr"] = "lots"
    warned = requests.post(f"{url}/predict/", json=words.to_dict(orient="records")).json()
    assert warned["warnings"] == ["column 'AVG_fr': 1 value(s) are not numbers (like 'lots'); they were scored as missing."]
    assert warned["predictions"][1:] == pytest.approx(expected[1:], rel=1e-12)
    big = requests.post(f"{url}/predict/", data=rows(1000).to_csv(index=False), headers={"Content-Type": "text/csv"})
    assert big.status_code == 200 and big.json()["predictions"][:5] == pytest.approx(expected, rel=1e-12)

    info = requests.get(f"{url}/info/").json()
    assert info["target_type"] == "regression" and info["blueprint"] == "juniors" and "AVG_fr" in info["features"]
    for path in ("/ping", "/ping/", "/health/"):
        assert requests.get(url + path).status_code == 200

    header = ",".join(frame.columns)
    bad = {
        "ragged": requests.post(f"{url}/predict/", data=header + "\n1,2,3\n", headers={"Content-Type": "text/csv"}),
        "missing": requests.post(f"{url}/predict/", data=frame.drop(columns=["AVG_fr"]).to_csv(index=False)),
        "empty": requests.post(f"{url}/predict/", data=b""),
        "header only": requests.post(f"{url}/predict/", data=header + "\n"),
        "no X": requests.post(f"{url}/predict/", files={"Y": ("Y.csv", io.BytesIO(body.encode()))}),
        "bad json": requests.post(f"{url}/predict/", data=b"{nope", headers={"Content-Type": "application/json"}),
        "transform": requests.post(f"{url}/transform/", data=body),
    }
    for what, reply in bad.items():
        assert 400 <= reply.status_code < 500, (what, reply.status_code, reply.text)
        message = reply.json()["message"]
        assert message.endswith(".") and "\n" not in message, (what, message)
    assert "AVG_fr" in bad["missing"].json()["message"] and bad["missing"].status_code == 422

    # A body over 50 MB is refused with a sentence: a client that sends it all reads the 413 (no reset), and one
    # that waits for "100 Continue" is answered at once, before it sends anything.
    over = header.encode() + b"\n" + b"1," * ((50 << 20) // 2 + 10)
    large = requests.post(f"{url}/predict/", data=over, headers={"Content-Type": "text/csv"})
    assert large.status_code == 413 and "over the limit of 50 MB" in large.json()["message"]
    with socket.create_connection(("127.0.0.1", juniors_server.port), timeout=10) as sock:
        sock.sendall(f"POST /predict/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nExpect: 100-continue\r\n"
                     f"Content-Length: {60 << 20}\r\n\r\n".encode())
        answer = sock.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 413"), answer

    stats = requests.get(f"{url}/stats/").json()
    predict = stats["routes"]["/predict/"]
    assert predict["requests"] == 6 + 2 + 6 + 2 and predict["4xx"] == 6 + 2
    assert stats["routes"]["/transform/"] == {"requests": 1, "errors": 1, "4xx": 1}
    assert set(stats["latency_ms"]) == {"p50", "p95", "p99"}
    assert stats["rows_scored"] == 5 * 7 + 1000
    assert stats["drift"]["features"]["AVG_fr"]["kind"] == "numeric"
    assert stats["drift"]["features"]["AVG_fr"]["psi"] is not None

    time.sleep(1.2)  # the monitor is written to the workspace every 0.5 s here
    listed = json.loads(taskbench("deployments", "--json").output)
    assert listed[0]["name"] == "jr" and listed[0]["monitor"]["routes"]["/predict/"]["requests"] == 16

    # A wrong method or path is one JSON sentence too, not Starlette's plain text (a trial finding).
    wrong = requests.get(f"{url}/predict/")
    assert wrong.status_code == 405 and "POST" in wrong.headers["allow"]
    assert wrong.json()["message"] == "GET is not allowed on /predict/; it answers POST."
    nowhere = requests.get(f"{url}/nope")
    assert nowhere.status_code == 404 and nowhere.json()["message"].startswith("there is no route /nope; ")


def test_eight_concurrent_clients_get_no_5xx_and_every_request_is_counted(juniors_server):
    url = juniors_server.url
    body = rows(3).to_csv(index=False)
    counts = [0] * 8
    failures = []
    stop = time.time() + LOAD_SECONDS

    def client(i):
        session = requests.Session()
        while time.time() < stop:
            reply = session.post(f"{url}/predict/", data=body, headers={"Content-Type": "text/csv"})
            counts[i] += 1
            if reply.status_code != 200:
                failures.append(reply.status_code)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    stats = requests.get(f"{url}/stats/").json()
    assert stats["routes"]["/predict/"]["requests"] == sum(counts) > 8
    assert stats["errors"] == 0


def test_stats_of_several_worker_processes_count_every_request(taskbench, tmp_path, home):
    """With --workers 2 each process keeps its counters where the other can read them: any /stats/ sums both."""
    model = trained(taskbench, tmp_path, JUNIORS, "Grade 2014", "juniors", "num = impute_median(NUM)\nmodel = ridge(num)\n")
    assert taskbench("deploy", model, "--name", "jr2").exit_code == 0
    server = Server(home, "jr2", "--workers", "2")
    try:
        body = rows(2).to_csv(index=False)
        counts = [0] * 4
        stop = time.time() + 3

        def client(i):
            session = requests.Session()
            while time.time() < stop:
                reply = session.post(f"{server.url}/predict/", data=body, headers={"Content-Type": "text/csv"})
                assert reply.status_code == 200
                counts[i] += 1
            session.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for _ in range(6):  # fresh connections land on either process
            answer = requests.get(f"{server.url}/stats/", headers={"Connection": "close"})
            assert answer.status_code == 200, answer.text
            stats = answer.json()
            assert stats["workers"] == 2
            assert stats["routes"]["/predict/"]["requests"] == sum(counts) > 4
            assert stats["rows_scored"] == 2 * sum(counts) and stats["errors"] == 0
            assert set(stats["latency_ms"]) == {"p50", "p95", "p99"} and 0 < stats["latency_ms"]["p50"] < 1000
        time.sleep(1.2)
        listed = json.loads(taskbench("deployments", "--json").output)
        assert listed[0]["monitor"]["routes"]["/predict/"]["requests"] == sum(counts)
        assert len([n for n in os.listdir(home / "tmp") if n.startswith("serve-counts-")]) == 1
    finally:
        server.stop()
    assert not any(name.startswith("serve-counts-") for name in os.listdir(home / "tmp"))


def test_undeploy_refuses_while_served_then_deletes(juniors_server, taskbench):
    assert requests.post(f"{juniors_server.url}/predict/", data=rows(2).to_csv(index=False)).status_code == 200
    time.sleep(1.2)  # the monitor (with the server's pid) is written every 0.5 s here
    busy = taskbench("undeploy", "jr", "--yes")
    assert busy.exit_code == 2 and "is being served by process" in busy.output and "stop `taskbench serve jr` first" in busy.output
    juniors_server.stop()
    kept = taskbench("undeploy", "jr", input="n\n")
    assert kept.exit_code == 1 and "Nothing deleted." in kept.output
    gone = taskbench("undeploy", "jr", input="y\n")
    assert gone.exit_code == 0 and "Deleted deployment jr; model 1 is still on its leaderboard" in " ".join(gone.output.split())
    assert json.loads(taskbench("deployments", "--json").output) == []
    assert taskbench("undeploy", "jr", "--yes").exit_code == 2
    assert taskbench("deploy", "1", "--name", "jr").exit_code == 0  # the name is free again


def test_serve_names_the_port_it_bound_and_refuses_a_busy_one_in_a_sentence(juniors_server, home):
    env = dict(os.environ, TASKBENCH_HOME=str(home))
    busy = subprocess.run([sys.executable, "-m", "tui.cli", "serve", "jr", "--port", str(juniors_server.port)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert busy.returncode == 2, busy.stderr
    text = " ".join(busy.stderr.split())
    assert f"error: port {juniors_server.port} on 127.0.0.1 is already in use; choose another --port" in text
    assert "Traceback" not in busy.stderr + busy.stdout and "ERROR:" not in busy.stderr
    unknown = subprocess.run([sys.executable, "-m", "tui.cli", "serve", "jr", "--host", "no-such-host.invalid", "--token", "t"],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "is not an address or a known host name" in unknown.stderr
    for extra in ([], ["--workers", "2"]):
        proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "serve", "jr", "--port", "0", *extra], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            loading = proc.stdout.readline()
            assert loading.startswith("Loading model 1 of deployment jr"), loading
            line = proc.stdout.readline()
            assert line.startswith("Serving jr (model 1) on http://127.0.0.1:"), line
            port = int(line.split("http://127.0.0.1:")[1].split()[0])
            assert port != 0 and ("with 2 worker processes" in line) == bool(extra)
            # printed only once the server answers: a client connecting right after it is answered at once
            assert requests.get(f"http://127.0.0.1:{port}/ping", timeout=5).ok
        finally:
            proc.terminate()
            proc.wait(20)


def test_token_and_classification_shape(taskbench, tmp_path, home):
    model = trained(taskbench, tmp_path, IRIS, "Species", "iris", "num = impute_median(NUM)\nmodel = logistic_regression(num)\n")
    assert taskbench("deploy", model, "--name", "iris", "--token", "s3cret").exit_code == 0
    server = Server(home, "iris")
    try:
        frame = pd.read_csv(IRIS).drop(columns=["Species"]).iloc[:4]
        body = frame.to_csv(index=False)
        assert requests.post(f"{server.url}/predict/", data=body).status_code == 401
        wrong = requests.post(f"{server.url}/predict/", data=body, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "the bearer token is wrong" in wrong.json()["message"]
        assert requests.get(f"{server.url}/ping").status_code == 200
        reply = requests.post(f"{server.url}/predict/", data=body, headers={"Authorization": "Bearer s3cret"})
        assert reply.status_code == 200, reply.text
        predictions = reply.json()["predictions"]
        info = requests.get(f"{server.url}/info/", headers={"Authorization": "Bearer s3cret"}).json()
        labels = info["class_labels"]
        assert all(isinstance(c, str) for c in labels)
        assert len(predictions) == 4 and all(sorted(p) == sorted(labels) for p in predictions)
        assert all(abs(sum(p.values()) - 1) < 1e-9 for p in predictions)
    finally:
        server.stop()
