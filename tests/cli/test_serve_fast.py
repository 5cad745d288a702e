"""The server's fast path (issue 15) end to end: single rows answer exactly what batch `predict` writes, in every
body form, and `--workers 2` spreads keep-alive clients over both workers."""

from __future__ import annotations

import os
import socket
import time

import pandas as pd
import pytest
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


def raw_post(path: str, body: bytes, content_type: str = "text/csv") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def exchange(port: int, request: bytes, split: bool) -> bytes:
    """The answer to `request` on a fresh connection, without its date line: sent in one piece (the protocol's own
    answer), or its headers first and its body 0.2 s later (what h11 and the application answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        if split:
            at = request.index(b"\r\n\r\n") + 4
            sock.sendall(request[:at])
            time.sleep(0.2)
            sock.sendall(request[at:])
        else:
            sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
        while len(body) < length:
            body += sock.recv(65536)
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"date:")]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def test_a_small_request_read_whole_by_the_protocol_gets_the_application_answer_byte_for_byte(taskbench, tmp_path, home):
    from core.deploy.protocol import fast_request

    model = trained(taskbench, tmp_path, JUNIORS, "Grade 2014", "juniors", BLUEPRINT)
    assert taskbench("deploy", model, "--name", "whole").exit_code == 0
    frame = pd.read_csv(INFERENCE).head(3)
    body = frame.head(1).to_csv(index=False).encode()
    header = ",".join(frame.columns).encode()
    holes = frame.astype(object)
    holes.iloc[0, 1], holes.iloc[1, 4], holes.iloc[2, 5] = None, "lots", "inf"
    boundary = "b0undary"
    multipart = (f'--{boundary}\r\nContent-Disposition: form-data; name="X"; filename="X.csv"\r\n\r\n'.encode() + body
                 + f"\r\n--{boundary}--\r\n".encode())
    requests_ = {
        "csv": raw_post("/predict/", body),
        "no slash": raw_post("/predict", body),
        "three rows": raw_post("/predict/", frame.to_csv(index=False).encode()),
        "missing, text, inf": raw_post("/predict/", holes.head(2).to_csv(index=False).encode()),
        "inf": raw_post("/predict/", holes.iloc[[2]].to_csv(index=False).encode()),
        "multipart X": raw_post("/predict/", multipart, f"multipart/form-data; boundary={boundary}"),
        "multipart without X": raw_post("/predict/", multipart.replace(b'name="X"', b'name="Y"'),
                                        f"multipart/form-data; boundary={boundary}"),
        "json": raw_post("/predict/", frame.head(1).to_json(orient="records").encode(), "application/json"),
        "ragged": raw_post("/predict/", header + b"\n1,2,3\n"),
        "lacking a column": raw_post("/predict/", frame.drop(columns=["AVG_fr"]).to_csv(index=False).encode()),
        "empty": raw_post("/predict/", b""),
        "header only": raw_post("/predict/", header + b"\n"),
        "unknown charset": raw_post("/predict/", body, "text/csv; charset=nope"),
        "not utf-8": raw_post("/predict/", header + b"\n\xff\n"),
    }
    taken = {name for name, request in requests_.items() if fast_request(request) is not None}
    assert taken == set(requests_)  # every one of them is the protocol's to answer when it comes in one piece
    assert all(fast_request(r[:r.index(b"\r\n\r\n") + 4]) is None for r in requests_.values() if not r.endswith(b"\r\n\r\n"))
    server = Server(home, "whole")
    try:
        for name, request in requests_.items():
            whole, split = exchange(server.port, request, False), exchange(server.port, request, True)
            assert whole == split, (name, whole, split)
            assert whole.startswith(b"HTTP/1.1 200" if name in ("csv", "no slash", "three rows", "missing, text, inf",
                                                                "multipart X", "json") else b"HTTP/1.1 4"), (name, whole)
        stats = requests.get(f"{server.url}/stats/").json()
        assert stats["routes"]["/predict/"]["requests"] == 2 * len(requests_)
        assert stats["routes"]["/predict/"]["4xx"] == 2 * (len(requests_) - 6)
    finally:
        server.stop()


@pytest.mark.parametrize("request_", [
    b"POST /predict/ HTTP/1.0\r\nHost: x\r\nContent-Length: 4\r\n\r\na\n1\n",  # HTTP/1.0
    b"POST /predict/?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\na\n1\n",  # a query
    b"POST /transform/ HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\na\n1\n",  # another route
    b"POST /predict/ HTTP/1.1\r\nContent-Length: 4\r\n\r\na\n1\n",  # no Host
    b"POST /predict/ HTTP/1.1\r\nHost: x\r\n\r\na\n1\n",  # no Content-Length
    b"POST /predict/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\na\n1\n",  # the body not all here
    b"POST /predict/ HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\na\n1\n",  # more than the body (pipelined)
    b"POST /predict/ HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\na\n1\n",  # given twice
    b"POST /predict/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\na\n1\n",
    b"POST /predict/ HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\na\n1\n",
    b"POST /predict/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 4\r\n\r\na\n1\n",
    b"POST /predict/ HTTP/1.1\r\nHost: x\r\n folded: value\r\nContent-Length: 4\r\n\r\na\n1\n",  # obsolete folding
    b"POST /predict/ HTTP/1.1\r\nHost: \xe9\r\nContent-Length: 4\r\n\r\na\n1\n",  # not ASCII
    b"POST /predict/ HTTP/1.1\r\nHost : x\r\nContent-Length: 4\r\n\r\na\n1\n",  # a space before the colon
    b"POST /predict/ HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\na\n1\n",
])
def test_anything_but_a_plain_whole_post_is_left_to_h11(request_):
    from core.deploy.protocol import fast_request

    assert fast_request(request_) is None
    assert fast_request(b"POST /predict/ HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\na\n1\n") is not None


def test_a_chain_of_built_in_nodes_scores_in_numpy_bit_for_bit_as_their_hooks(taskbench, tmp_path, home):
    import numpy as np

    from core.deploy.server import Served, ServeConfig

    model = trained(taskbench, tmp_path, JUNIORS, "Grade 2014", "juniors", BLUEPRINT)
    assert taskbench("deploy", model, "--name", "chain").exit_code == 0
    served = Served(ServeConfig(home=str(home), deployment="chain"))
    try:
        segment = served.scorer._segments[0]
        chain = segment._chain
        assert chain is not None
        frame = pd.read_csv(INFERENCE)
        frame.iloc[::7, 3] = np.nan  # missing values go through the imputer
        frame = frame[list(served.features)]
        for rows in (frame, frame.head(1), frame.iloc[[5, 2, 9]].reset_index(drop=True)):
            assert chain(rows) is not None
            fast = served.scorer.score(rows)
            segment._chain = None
            usual = served.scorer.score(rows)
            segment._chain = chain
            assert fast.columns.tolist() == usual.columns.tolist() == ["Predictions"]
            assert fast.to_numpy().tobytes() == usual.to_numpy().tobytes()
        infinite = frame.head(2).astype("float64")
        infinite.iloc[1, 0] = np.inf
        text = frame.head(2).astype({frame.columns[0]: object})
        for declined in (infinite, text):
            assert chain(declined) is None  # the usual path answers, with its own sentence
    finally:
        served.close()
