"""`taskbench serve` against clients that err, leave or stall: a real server process, raw sockets and raw HTTP.

Client mistakes get a 4xx with one sentence (never a 500), a client that leaves mid-body is counted apart
(`aborted`) with one log line, idle and partial connections are closed within the configured timeouts,
connections over the limit get a 503 sentence, large bodies score in chunks to the same predictions, and the
ready line is printed only once the server answers.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import DATA, REPO

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
INFERENCE = DATA / "juniors_3_year_stats_regression_inference.csv"
TIMEOUT = 1.0  # header, body and keep-alive timeouts of the shared server, in seconds
SLACK = 4.0  # a closed connection must be seen by TIMEOUT + SLACK


def cli(home: Path, *args, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, TASKBENCH_HOME=str(home))
    done = subprocess.run([sys.executable, "-m", "tui.cli", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


class Server:
    """`taskbench serve DEPLOYMENT --port 0 …` as a real subprocess; its output goes to a log file."""

    def __init__(self, home: Path, deployment: str, *extra, log: Path):
        env = dict(os.environ, TASKBENCH_HOME=str(home), TASKBENCH_MONITOR_SECONDS="0.5")
        self.log = log
        self.out = open(log, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "serve", deployment, "--port", "0", *map(str, extra)],
                                     cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=self.out, text=True)
        self.lines = [self.proc.stdout.readline(), self.proc.stdout.readline()]
        self.ready_at = time.monotonic()
        if not self.lines[1].startswith("Serving"):
            self.stop()
            pytest.fail(f"the server did not start: {self.lines} {log.read_text()}")
        self.port = int(self.lines[1].split("http://127.0.0.1:")[1].split()[0])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.out.close()

    def stats(self) -> dict:
        return json.loads(http(self.port, "GET", "/stats/")[2])


def http(port: int, method: str, path: str, body: bytes = b"", headers: dict | None = None, timeout: float = 60):
    """One raw HTTP/1.1 request on a fresh connection: (status, headers text, body text)."""
    head = f"{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
    for name, value in (headers or {}).items():
        head += f"{name}: {value}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        answer = read_all(sock)
    top, _, text = answer.partition(b"\r\n\r\n")
    status = int(top.split(b" ")[1])
    return status, top.decode("latin-1"), text.decode()


def read_all(sock) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def closed_within(sock, seconds: float) -> tuple[float, bytes]:
    """Read until the server closes `sock`: (seconds it took, what it sent); fails past `seconds`."""
    began = time.monotonic()
    sock.settimeout(seconds)
    try:
        data = read_all(sock)
    except socket.timeout:
        pytest.fail(f"the server kept the connection open for more than {seconds} s")
    except ConnectionResetError:
        data = b""
    return time.monotonic() - began, data


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A workspace with the juniors ridge model trained and deployed as `jr` (built once for this module)."""
    root = tmp_path_factory.mktemp("serve-hardening")
    home = root / "ws"
    cli(home, "project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors")
    bp = root / "ridge.bp"
    bp.write_text("num = impute_median(NUM)\nmodel = ridge(num)\n")
    cli(home, "train", "juniors", bp)
    cli(home, "deploy", "1", "--name", "jr")
    return home


@pytest.fixture(scope="module")
def server(workspace, tmp_path_factory):
    """`serve jr` with one-second header, body and keep-alive timeouts."""
    running = Server(workspace, "jr", "--header-timeout", TIMEOUT, "--body-timeout", TIMEOUT, "--keep-alive", TIMEOUT,
                     log=tmp_path_factory.mktemp("log") / "serve.log")
    yield running
    running.stop()


def rows(n: int) -> pd.DataFrame:
    return pd.read_csv(INFERENCE).iloc[:n]


def one_sentence(status: int, text: str) -> str:
    assert 400 <= status < 500, (status, text)
    message = json.loads(text)["message"]
    assert message.endswith(".") and "\n" not in message and "Traceback" not in message, message
    return message


def test_client_mistakes_get_a_4xx_with_one_sentence_never_a_500(server):
    frame = rows(3)
    records = frame.to_dict(orient="records")
    as_json = {"Content-Type": "application/json"}
    as_csv = {"Content-Type": "text/csv"}
    before = server.stats()

    status, _, text = http(server.port, "POST", "/predict/", b"[" * 100_000 + b"]" * 100_000, as_json)
    assert "nested too deeply" in one_sentence(status, text) and status == 400

    huge = json.dumps(records).replace(json.dumps(records[0]["AVG_fr"]), "1" + "0" * 400, 1)
    status, _, text = http(server.port, "POST", "/predict/", huge.encode(), as_json)
    message = one_sentence(status, text)
    assert status == 422 and "column 'AVG_fr'" in message and "too large for a 64-bit float" in message and "row 1" in message

    for value in ("inf", "-inf", "1e309", "9" * 400):
        text_frame = frame.astype(object)
        text_frame.loc[1, "OBP_fr"] = value
        status, _, text = http(server.port, "POST", "/predict/", text_frame.to_csv(index=False).encode(), as_csv)
        message = one_sentence(status, text)
        assert status == 422 and "column 'OBP_fr'" in message and "row 2" in message, (value, message)
    as_text = json.dumps(records).replace(json.dumps(records[2]["SLG_fr"]), "Infinity", 1)
    status, _, text = http(server.port, "POST", "/predict/", as_text.encode(), as_json)
    assert "column 'SLG_fr'" in one_sentence(status, text) and "row 3" in one_sentence(status, text)

    columns = list(frame.columns) + ["AVG_fr"]
    split = {"columns": columns, "data": [row + [0.3] for row in frame.values.tolist()]}
    status, _, text = http(server.port, "POST", "/predict/", json.dumps(split).encode(), as_json)
    assert "names 'AVG_fr' more than once" in one_sentence(status, text)
    twice = json.dumps(records[:1])[:-2] + ', "OBP_fr": 0.3}]'
    status, _, text = http(server.port, "POST", "/predict/", twice.encode(), as_json)
    assert "names 'OBP_fr' more than once" in one_sentence(status, text)
    lines = frame.to_csv(index=False).splitlines()
    doubled = "\n".join([lines[0] + ",AVG_fr"] + [line + ",0.3" for line in lines[1:]]) + "\n"
    status, _, text = http(server.port, "POST", "/predict/", doubled.encode(), as_csv)
    assert "the CSV header names 'AVG_fr' more than once" in one_sentence(status, text)
    big_doubled = "\n".join([lines[0] + ",AVG_fr"] + [line + ",0.3" for line in lines[1:]] * 20_000) + "\n"
    status, _, text = http(server.port, "POST", "/predict/", big_doubled.encode(), as_csv)
    assert "the CSV header names 'AVG_fr' more than once" in one_sentence(status, text)

    status, _, text = http(server.port, "POST", "/predict/", json.dumps({"columns": ["a"], "data": [[[1, 2]]]}).encode(), as_json)
    assert "holds a JSON list" in one_sentence(status, text)

    latin = frame.assign(name="Zoë").to_csv(index=False).encode("latin-1")
    status, _, text = http(server.port, "POST", "/predict/", latin, as_csv)
    assert "not UTF-8 text" in one_sentence(status, text) and "charset=latin-1" in one_sentence(status, text)
    status, _, text = http(server.port, "POST", "/predict/", latin, {"Content-Type": "text/csv; charset=latin-1"})
    assert status == 200, text
    expected = json.loads(text)["predictions"]
    status, _, text = http(server.port, "POST", "/predict/", frame.to_csv(index=False).encode("utf-16"), as_csv)
    assert status == 200 and json.loads(text)["predictions"] == pytest.approx(expected, rel=1e-12)
    status, _, text = http(server.port, "POST", "/predict/", latin, {"Content-Type": "text/csv; charset=no-such"})
    assert "not a known encoding" in one_sentence(status, text)
    wide = frame.to_csv(index=False).encode("utf-16-le")  # no byte order mark: its NULs were read as part of the text
    status, _, text = http(server.port, "POST", "/predict/", wide, as_csv)
    assert status == 400 and "NUL byte at offset 1" in one_sentence(status, text) and "charset=utf-16-le" in text
    status, _, text = http(server.port, "POST", "/predict/", wide, {"Content-Type": "text/csv; charset=utf-16-le"})
    assert status == 200 and json.loads(text)["predictions"] == pytest.approx(expected, rel=1e-12)

    after = server.stats()
    predict = after["routes"]["/predict/"]
    assert predict.get("5xx", 0) == before["routes"].get("/predict/", {}).get("5xx", 0) == 0
    assert predict["4xx"] - before["routes"].get("/predict/", {}).get("4xx", 0) == 15
    assert "Traceback" not in server.log.read_text()


def test_drum_route_names_capabilities_info_keys_and_a_422_without_field_x(server):
    """As DRUM's prediction server: POST /predictions/ and /invocations answer as /predict/ (counted with it),
    GET /capabilities/ says the payload formats, /info/ names DRUM's camelCase keys beside taskbench's, and a multipart
    body without field X is a 422 (trial findings)."""
    body = rows(3).to_csv(index=False).encode()
    as_csv = {"Content-Type": "text/csv"}
    before = server.stats()["routes"]["/predict/"]["requests"]
    status, _, text = http(server.port, "POST", "/predict/", body, as_csv)
    assert status == 200, text
    expected = json.loads(text)
    big = rows(1).to_csv(index=False).encode() + rows(1).to_csv(index=False, header=False).encode() * 3000
    for path in ("/predictions/", "/predictions", "/invocations"):
        status, _, text = http(server.port, "POST", path, body, as_csv)  # one send: the protocol's fast path
        assert (status, json.loads(text)) == (200, expected), (path, text)
        status, _, text = http(server.port, "POST", path, big, as_csv)  # past the fast path: the application
        assert status == 200 and len(json.loads(text)["predictions"]) == 3001, (path, text)
    assert server.stats()["routes"]["/predict/"]["requests"] - before == 7

    for path in ("/capabilities/", "/capabilities"):
        status, _, text = http(server.port, "GET", path)
        assert (status, json.loads(text)) == (200, {"supported_payload_formats": {"csv": None},
                                                    "supported_methods": {"chat": False}})
    status, _, text = http(server.port, "GET", "/info/")
    info = json.loads(text)
    assert info["targetType"] == info["target_type"] == "regression" and info["language"] == "python"
    assert Path(info["codeDir"], "custom.py").is_file() and info["modelMetadata"]["targetType"] == "regression"
    assert info["drumVersion"].startswith("0.0.0+taskbench.") and info["drumServer"] and "AVG_fr" in info["features"]

    boundary = "b0undary"
    no_x = (f'--{boundary}\r\nContent-Disposition: form-data; name="Y"; filename="Y.csv"\r\n\r\n'.encode() + body
            + f"\r\n--{boundary}--\r\n".encode())
    status, _, text = http(server.port, "POST", "/predict/", no_x, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 422
    assert one_sentence(status, text) == "the multipart body has no file field X; send the rows as field X, as DRUM clients do."


def test_a_client_that_leaves_mid_body_is_counted_aborted_with_one_log_line(server):
    body = rows(200).to_csv(index=False).encode()
    before = server.stats()
    log_before = server.log.stat().st_size
    leaving = 30
    for _ in range(leaving):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(f"POST /predict/ HTTP/1.1\r\nHost: test\r\nContent-Type: text/csv\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:len(body) // 2])
            time.sleep(0.05)  # the server is reading the body when the client leaves
    deadline, polls = time.monotonic() + 30, 0
    while (stats := server.stats())["aborted"] - before["aborted"] < leaving and time.monotonic() < deadline:
        polls += 1
        time.sleep(0.2)
    assert stats["aborted"] - before["aborted"] == leaving
    assert stats["routes"]["/predict/"]["aborted"] - before["routes"].get("/predict/", {}).get("aborted", 0) == leaving
    assert stats["errors"] == before["errors"] and stats["routes"]["/predict/"].get("5xx", 0) == 0
    assert stats["requests"] - before["requests"] == 1 + polls  # the /stats/ calls; an abort is no answered request
    logged = server.log.read_text()[log_before:]
    assert "Traceback" not in logged and "ClientDisconnect" not in logged
    lines = logged.splitlines()
    assert len(lines) == leaving and all("counted as aborted" in line for line in lines), logged[:2000]
    assert server.log.stat().st_size - log_before < leaving * 200


def test_idle_and_partial_connections_are_closed_within_the_timeouts(server):
    before = server.stats()["timeouts"]
    with socket.create_connection(("127.0.0.1", server.port)) as idle:
        took, data = closed_within(idle, TIMEOUT + SLACK)
    assert data == b""  # sent nothing: closed without an answer

    with socket.create_connection(("127.0.0.1", server.port)) as partial:
        partial.sendall(b"POST /predict/ HTTP/1.1\r\nHost: test\r\n")
        took, data = closed_within(partial, TIMEOUT + SLACK)
    assert data.startswith(b"HTTP/1.1 408 ") and b"request headers did not arrive within 1 s" in data

    with socket.create_connection(("127.0.0.1", server.port)) as slowloris:  # a byte at a time: the clock still runs
        began = time.monotonic()
        try:
            for byte in b"GET /ping HTTP/1.1\r\nHost: test\r\nX-Padding: " + b"a" * 200:
                slowloris.sendall(bytes([byte]))
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass
        closed_within(slowloris, TIMEOUT + SLACK)
        assert time.monotonic() - began < TIMEOUT + SLACK

    with socket.create_connection(("127.0.0.1", server.port)) as stalled:
        stalled.sendall(b"POST /predict/ HTTP/1.1\r\nHost: test\r\nContent-Type: text/csv\r\nContent-Length: 5000\r\n\r\na,b\n")
        took, data = closed_within(stalled, TIMEOUT + SLACK)
    assert data.startswith(b"HTTP/1.1 408 ") and b"the request body stopped arriving for 1 s" in data

    with socket.create_connection(("127.0.0.1", server.port)) as unread:  # answered at once; its body then trickles
        unread.sendall(b"GET /ping HTTP/1.1\r\nHost: test\r\nContent-Length: 5000\r\n\r\nabc")
        began = time.monotonic()
        answer = unread.recv(65536)
        try:
            while time.monotonic() - began < TIMEOUT + SLACK:
                unread.sendall(b"x")
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        took, data = closed_within(unread, TIMEOUT + SLACK)
    assert answer.startswith(b"HTTP/1.1 200 ") and time.monotonic() - began < TIMEOUT + SLACK + 1

    with socket.create_connection(("127.0.0.1", server.port)) as kept:
        kept.sendall(b"GET /ping HTTP/1.1\r\nHost: test\r\n\r\n")
        took, data = closed_within(kept, TIMEOUT + SLACK)
    assert data.startswith(b"HTTP/1.1 200 ")  # answered, then closed once idle for the keep-alive time

    stats = server.stats()
    assert stats["timeouts"] - before == 5
    assert stats["routes"]["/predict/"].get("5xx", 0) == 0


def test_connections_over_the_limit_get_a_503_sentence(workspace, tmp_path):
    limited = Server(workspace, "jr", "--max-connections", 3, log=tmp_path / "serve.log")
    held = []
    try:
        held = [socket.create_connection(("127.0.0.1", limited.port)) for _ in range(3)]
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", limited.port), timeout=30) as extra:
            extra.sendall(b"GET /ping HTTP/1.1\r\nHost: test\r\n\r\n")
            answer = read_all(extra)
        assert answer.startswith(b"HTTP/1.1 503 ") and b"limit of 3 connections" in answer, answer
        for sock in held:
            sock.close()
        held = []
        time.sleep(0.3)
        stats = limited.stats()  # a free slot again
        assert stats["refused"] == 1
    finally:
        for sock in held:
            sock.close()
        limited.stop()


def test_large_bodies_score_in_chunks_to_the_same_predictions_and_leave_no_files(server, workspace):
    base = pd.read_csv(INFERENCE)
    frame = pd.concat([base] * 8, ignore_index=True)  # about 5 MB of CSV: kept in a file, parsed in chunks
    body = frame.to_csv(index=False).encode()
    assert len(body) > 4 << 20
    status, _, text = http(server.port, "POST", "/predict/", body, {"Content-Type": "text/csv"})
    assert status == 200, text
    predictions = json.loads(text)["predictions"]
    status, _, small = http(server.port, "POST", "/predict/", base.to_csv(index=False).encode(), {"Content-Type": "text/csv"})
    assert len(predictions) == len(frame) and predictions == pytest.approx(json.loads(small)["predictions"] * 8, rel=1e-12)

    import requests

    multipart = requests.post(f"http://127.0.0.1:{server.port}/predict/", files={"X": ("X.csv", io.BytesIO(body))})
    assert multipart.status_code == 200 and multipart.json()["predictions"] == pytest.approx(predictions, rel=1e-12)
    words = frame.astype(object)
    words.loc[len(frame) - 1, "AVG_fr"] = "lots"
    warned = requests.post(f"http://127.0.0.1:{server.port}/predict/", data=words.to_csv(index=False).encode()).json()
    assert warned["warnings"] == ["column 'AVG_fr': 1 value(s) are not numbers (like 'lots'); they were scored as missing."]
    infinite = frame.astype(object)
    infinite.loc[len(frame) - 2, "AVG_fr"] = "inf"
    refused = requests.post(f"http://127.0.0.1:{server.port}/predict/", data=infinite.to_csv(index=False).encode())
    assert refused.status_code == 422 and f"row {len(frame) - 1:,}" in refused.json()["message"]
    scratch = [p for p in (workspace / "tmp").glob("serve-*") if p.is_dir()]
    assert scratch and all(not any(p.rglob("body-*")) for p in scratch)


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc/PID/clear_refs to reset peak RSS")
def test_a_large_body_costs_the_server_a_small_multiple_of_its_size(server):
    """Peak RSS growth of the server while it scores a 24 MB CSV body stays under 3x the body (it was 8-10x)."""
    base = pd.read_csv(INFERENCE)
    body = pd.concat([base] * 40, ignore_index=True).to_csv(index=False).encode()
    pid = server.proc.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # peak RSS := RSS now
    before = _status_kb(pid, "VmRSS")
    status, _, text = http(server.port, "POST", "/predict/", body, {"Content-Type": "text/csv"})
    assert status == 200 and len(json.loads(text)["predictions"]) == len(base) * 40
    growth = (_status_kb(pid, "VmHWM") - before) * 1024
    assert growth < 3 * len(body), f"peak RSS grew {growth / len(body):.1f}x the body"


def test_the_ready_line_is_printed_once_the_server_answers(workspace, tmp_path):
    for extra in ([], ["--workers", "2"]):
        started = Server(workspace, "jr", *extra, log=tmp_path / "serve.log")
        try:
            assert started.lines[0].startswith("Loading model 1 of deployment jr"), started.lines
            assert ("with 2 worker processes" in started.lines[1]) == bool(extra)
            with socket.create_connection(("127.0.0.1", started.port), timeout=10) as sock:
                sock.sendall(b"GET /ping HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
                answer = read_all(sock)
            assert answer.startswith(b"HTTP/1.1 200 ")
            assert time.monotonic() - started.ready_at < 2, "the ready line came before the server could answer"
        finally:
            started.stop()


ENV_PROBE = '''
import json
import os
import pickle


def fit(X, y, output_dir, **kwargs):
    with open(os.path.join(output_dir, "model.pkl"), "wb") as fh:
        pickle.dump(float(y.mean()), fh)


def predict(X, model, **kwargs):
    import pandas as pd
    if os.environ.get("ENV_DUMP"):
        with open(os.environ["ENV_DUMP"], "w") as fh:
            json.dump(dict(os.environ), fh)
    return pd.DataFrame({"Predictions": [model] * len(X)})
'''


def test_task_code_in_the_server_finds_no_token_or_workspace_in_its_environment(tmp_path):
    """The server loads local task code into its own process: taskbench's variables (the token given by
    TASKBENCH_SERVE_TOKEN, the workspace path, the worker processes' config) are gone from os.environ first."""
    home = tmp_path / "ws"
    task = tmp_path / "probe"
    task.mkdir()
    (task / "custom.py").write_text(ENV_PROBE)
    (task / "model-metadata.yaml").write_text("name: probe\ntype: training\ntargetType: regression\n")
    cli(home, "project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors")
    cli(home, "task", "add", task)
    bp = tmp_path / "probe.bp"
    bp.write_text("model = probe(NUM)\n")
    cli(home, "train", "juniors", bp)
    cli(home, "deploy", "1", "--name", "probe")
    dump = tmp_path / "env.json"
    body = rows(2).to_csv(index=False).encode()
    for extra in ([], ["--workers", "2"]):
        os.environ.update(TASKBENCH_SERVE_TOKEN="s3cret-token", ENV_DUMP=str(dump))
        try:
            started = Server(home, "probe", *extra, log=tmp_path / "serve.log")
        finally:
            del os.environ["TASKBENCH_SERVE_TOKEN"], os.environ["ENV_DUMP"]
        try:
            assert http(started.port, "POST", "/predict/", body)[0] == 401
            status, _, text = http(started.port, "POST", "/predict/", body, {"Authorization": "Bearer s3cret-token"})
            assert status == 200, text
            seen = json.loads(dump.read_text())
            assert [name for name in seen if name.startswith("TASKBENCH_")] == [], extra
            assert "s3cret-token" not in json.dumps(seen) and str(home) not in json.dumps(seen)
        finally:
            started.stop()
            dump.unlink(missing_ok=True)
