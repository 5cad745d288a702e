"""Small HTTP load tools for the serving benchmarks: request builders, a keep-alive raw-socket client, and a
concurrent load generator (raw sockets on one epoll loop) run as its own process so its CPU is apart from the
bench's and measurable.

Run as a script it is the load generator: python bench/_load.py PORT REQUEST_FILE [--clients 8] [--seconds 5]
[--client auto|wrk|python] prints one JSON line (requests, seconds, requests_per_s, errors, median_ms, client_cpu_s,
client). With `wrk` on PATH (Debian/Ubuntu: apt install wrk) `auto` uses it: written in C, it takes about a fifth of
the CPU per request of the Python loop, which matters when the client shares two cores with the servers it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

BOUNDARY = "taskbench-bench-3f6c1e0a9b"


def multipart_x(csv: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with the CSV as file field "X", as DRUM's clients send (requests' `files=`)."""
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="X"; filename="X.csv"\r\n\r\n'.encode()
        + csv
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def csv_body(csv: bytes) -> tuple[bytes, str]:
    """The CSV itself as the body."""
    return csv, "text/csv"


def post_request(port: int, path: str, body: bytes, content_type: str) -> bytes:
    """The bytes of one HTTP/1.1 keep-alive POST."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: taskbench-bench\r\nAccept: */*\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def get_request(port: int, path: str) -> bytes:
    """The bytes of one HTTP/1.1 GET."""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode("ascii")


def _head(raw: bytes) -> tuple[int, dict]:
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return status, headers


class Connection:
    """One keep-alive client connection on raw sockets; reconnects when the server closed it (DRUM's gunicorn
    sync worker closes after every answer, so its reconnect is part of its time)."""

    def __init__(self, port: int, timeout: float = 30.0):
        self.port, self.timeout, self.sock, self.buf = port, timeout, None, b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buf = None, b""

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("the server closed the connection")
        return chunk

    def _read_response(self) -> tuple[int, dict, bytes]:
        while b"\r\n\r\n" not in self.buf:
            self.buf += self._recv()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status, headers = _head(head)
        if "content-length" in headers:
            size = int(headers["content-length"])
            while len(self.buf) < size:
                self.buf += self._recv()
            body, self.buf = self.buf[:size], self.buf[size:]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self.buf += self._recv()
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    self.buf += self._recv()
                body, self.buf = body + self.buf[:size], self.buf[size + 2:]
                if size == 0:
                    break
        else:
            try:
                while True:
                    self.buf += self._recv()
            except ConnectionResetError:
                pass
            body, self.buf = self.buf, b""
            headers["connection"] = "close"
        return status, headers, body

    def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one request and return (status, body); retries once on a fresh connection if a reused one died."""
        for attempt in (0, 1):
            fresh = self.sock is None
            if fresh:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.sock.sendall(raw)
                status, headers, body = self._read_response()
            except (ConnectionError, BrokenPipeError):
                self.close()
                if fresh or attempt:
                    raise
                continue
            if headers.get("connection", "").lower() == "close":
                self.close()
            return status, body
        raise AssertionError("unreachable")


class _Client:
    """One keep-alive client of the load generator: a non-blocking socket that sends `raw`, waits for the whole
    answer (its status and Content-Length read, its body skipped) and sends it again."""

    def __init__(self, port: int):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buf = b""
        self.began = 0.0

    def answer(self, data: bytes) -> tuple[bytes, bool] | None:
        """(status, the server closes) once `data` completes an answer, else None (more to come)."""
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self.buf[:end].lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            raise ValueError(f"an answer without Content-Length: {head[:200]!r}")
        line_end = head.find(b"\r\n", at + 17)
        length = int(head[at + 17:line_end if line_end > 0 else len(head)])
        if len(self.buf) < end + 4 + length:
            return None
        status, self.buf = self.buf[9:12], self.buf[end + 4 + length:]
        return status, b"\r\nconnection: close" in head


def _load(port: int, raw: bytes, clients: int, warmup: float, seconds: float) -> dict:
    """`clients` keep-alive clients on one epoll loop (no asyncio: ~3x less CPU per request, which matters when the
    generator shares two cores with the servers it measures), each sending `raw` again once answered."""
    import select

    poll = select.epoll()
    by_fd = {}

    def connect() -> _Client:
        client = _Client(port)
        by_fd[client.sock.fileno()] = client
        poll.register(client.sock.fileno(), select.EPOLLIN)
        client.began = time.perf_counter()
        client.sock.send(raw)
        return client

    start = time.perf_counter() + warmup
    stop = start + seconds
    done: list = []
    errors: list = []
    cpu = None
    for _ in range(clients):
        connect()
    while by_fd:
        now = time.perf_counter()
        if cpu is None and now >= start:
            cpu = time.process_time()
        for fd, _ in poll.poll(1.0):
            client = by_fd[fd]
            try:
                data = client.sock.recv(65536)
            except ConnectionError:
                data = b""
            got = client.answer(data) if data else (b"000", True)
            if got is None:
                continue
            ended = time.perf_counter()
            status, close = got
            if start <= client.began and ended <= stop:
                (done if status == b"200" else errors).append(ended - client.began)
            if close or ended >= stop:
                poll.unregister(fd)
                del by_fd[fd]
                client.sock.close()
                if ended < stop:
                    connect()
                continue
            client.began = ended
            client.sock.send(raw)
    poll.close()
    return {
        "requests": len(done), "seconds": seconds, "requests_per_s": len(done) / seconds, "errors": len(errors),
        "median_ms": statistics.median(done) * 1000 if done else float("nan"),
        "client_cpu_s": time.process_time() - (cpu or 0.0),
    }


WRK_SCRIPT = """
wrk.method = "POST"
wrk.path = %(path)s
%(headers)s
local f = assert(io.open(%(body)s, "rb"))
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %%d, "duration_us": %%d, "status_errors": %%d, "socket_errors": %%d, '
    .. '"median_us": %%.1f}\\n', summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50)))
end
"""


def _lua(text: str) -> str:
    """A Lua string literal of `text` (latin-1 bytes as decimal escapes where they are not plain ASCII)."""
    return '"' + "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else f"\\{ord(c):03d}" for c in text) + '"'


def _wrk_load(port: int, raw: bytes, clients: int, warmup: float, seconds: float) -> dict:
    """The same measurement by wrk (one thread, `clients` keep-alive connections): `raw`'s method line, headers
    and body are handed to wrk's Lua script, so both clients send the same request; client CPU from rusage."""
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    if method != "POST":
        raise ValueError("the wrk client sends POST requests only")
    headers = [line.split(":", 1) for line in lines[1:]]
    skip = {"host", "content-length"}  # wrk writes both itself
    with tempfile.TemporaryDirectory(prefix="taskbench-wrk-") as tmp:
        body_file, script = os.path.join(tmp, "body"), os.path.join(tmp, "post.lua")
        with open(body_file, "wb") as fh:
            fh.write(body)
        with open(script, "w") as fh:
            fh.write(WRK_SCRIPT % {
                "path": _lua(path), "body": _lua(body_file),
                "headers": "\n".join(f"wrk.headers[{_lua(n.strip())}] = {_lua(v.strip())}"
                                     for n, v in headers if n.strip().lower() not in skip)})
        url = f"http://127.0.0.1:{port}"

        def wrk(duration: float) -> tuple[dict, float]:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            out = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(duration))}s", "-s", script, url],
                                 capture_output=True, text=True, timeout=duration + 60)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if out.returncode:
                raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            return json.loads(out.stdout.strip().splitlines()[-1]), cpu

        if warmup > 0:
            wrk(warmup)
        got, cpu = wrk(seconds)
    took = got["duration_us"] / 1e6
    return {
        "requests": got["requests"], "seconds": took, "requests_per_s": got["requests"] / took,
        "errors": got["status_errors"] + got["socket_errors"], "median_ms": got["median_us"] / 1000,
        "client_cpu_s": cpu, "client": "wrk",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("request_file", help="the raw bytes of the request every client sends, again and again")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto",
                        help="wrk when on PATH (auto), or the Python epoll loop")
    args = parser.parse_args()
    with open(args.request_file, "rb") as fh:
        raw = fh.read()
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    if client == "wrk":
        got = _wrk_load(args.port, raw, args.clients, args.warmup, args.seconds)
    else:
        got = dict(_load(args.port, raw, args.clients, args.warmup, args.seconds), client="python")
    print(json.dumps(got))


if __name__ == "__main__":
    main()
