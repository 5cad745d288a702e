"""The server's fast path (issue 15) end to end: single rows answer exactly what batch `predict` writes, in every
body form, and `--workers 2` spreads keep-alive clients over both workers."""

from __future__ import annotations

import os
import socket
import time

import pandas as pd
import requests

from tests.cli.test_serve import INFERENCE, JUNIORS, Server, trained

BLUEPRINT = "num = impute_median(NUM)\nmodel = ridge(num)\n"


def test_single_rows_answer_what_batch_predict_writes_in_every_body_form(taskbench, tmp_path, home):
    model = trained(taskbench, tmp_path, JUNIORS, "Grade 2014", "juniors", BLUEPRINT)
    assert taskbench("deploy", model, "--name", "fast").exit_code == 0
    frame = pd.read_csv(INFERENCE).head(6)
    frame.iloc[1, 2] = None  # a missing value goes through the imputer
    source = tmp_path / "rows.csv"
    frame.to_csv(source, index=False)
    result = taskbench("predict", model, "--input", source, "--output", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    expected = pd.read_csv(tmp_path / "out.csv")["Predictions"].tolist()
    server = Server(home, "fast")
    try:
        session = requests.Session()
        for i, want in enumerate(expected):
            body = frame.iloc[[i]].to_csv(index=False)
            shuffled = frame.iloc[[i], ::-1].assign(extra="x").to_csv(index=False)  # other column order, one more
            answers = [session.post(f"{server.url}/predict/", data=body, headers={"Content-Type": "text/csv"}),
                       session.post(f"{server.url}/predict/", data=shuffled, headers={"Content-Type": "text/csv"}),
                       session.post(f"{server.url}/predict/", files={"X": ("x.csv", body)})]
            for answer in answers:
                assert answer.status_code == 200, answer.text
                assert abs(answer.json()["predictions"][0] - want) < 1e-9
        lacking = frame.iloc[[0]].drop(columns=[frame.columns[3]]).to_csv(index=False)
        answer = session.post(f"{server.url}/predict/", files={"X": ("x.csv", lacking)})
        assert answer.status_code == 422 and repr(frame.columns[3]) in answer.json()["message"]
    finally:
        server.stop()


def holders(port: int, pids: list[int]) -> dict[int, int]:
    """How many established connections to `port` each of `pids` holds (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                inodes.add(fields[9])
    held = {}
    for pid in pids:
        count = 0
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            count += target.startswith("socket:[") and target[8:-1] in inodes
        held[pid] = count
    return held


def test_two_workers_share_eight_keep_alive_clients(taskbench, tmp_path, home):
    model = trained(taskbench, tmp_path, JUNIORS, "Grade 2014", "juniors", BLUEPRINT)
    assert taskbench("deploy", model, "--name", "pair").exit_code == 0
    server = Server(home, "pair", "--workers", "2")
    try:
        deadline = time.time() + 60
        while requests.get(f"{server.url}/stats/", headers={"Connection": "close"}).json().get("workers") != 2:
            assert time.time() < deadline, "the second worker did not start within 60 s"
            time.sleep(0.5)
        time.sleep(2)  # a worker counts itself before it listens
        workers = [int(p) for p in open(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read().split()]
        workers = [p for p in workers if any(os.readlink(f"/proc/{p}/fd/{fd}").startswith("socket:")
                                             for fd in os.listdir(f"/proc/{p}/fd"))]
        body = pd.read_csv(INFERENCE).head(1).to_csv(index=False).encode()
        request = (f"POST /predict/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        clients = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(8)]
        try:
            for client in clients:
                client.sendall(request)
            for client in clients:
                assert client.recv(65536).startswith(b"HTTP/1.1 200")
            held = holders(server.port, workers)
        finally:
            for client in clients:
                client.close()
        assert sum(held.values()) == 8 and min(held.values()) >= 2, held
    finally:
        server.stop()
