"""Small HTTP load tools for the serving benchmarks: request builders, a keep-alive raw-socket client, and a
concurrent asyncio load generator run as its own process so its CPU is apart from the bench's and measurable.

Run as a script it is the load generator: python bench/_load.py PORT REQUEST_FILE [--clients 8] [--seconds 5]
prints one JSON line (requests, seconds, requests_per_s, errors, median_ms, client_cpu_s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
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


async def _read_async(reader: asyncio.StreamReader) -> tuple[int, bool]:
    status, headers = _head((await reader.readuntil(b"\r\n\r\n"))[:-4])
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.read()
        return status, True
    return status, headers.get("connection", "").lower() == "close"


async def _client(port: int, raw: bytes, start: float, stop: float, done: list, errors: list) -> None:
    reader = writer = None
    while time.perf_counter() < stop:
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        began = time.perf_counter()
        writer.write(raw)
        try:
            status, close = await _read_async(reader)
        except (ConnectionError, asyncio.IncompleteReadError):
            writer.close()
            reader = writer = None
            continue
        ended = time.perf_counter()
        if start <= began and ended <= stop:
            (done if status == 200 else errors).append(ended - began)
        if close:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def _load(port: int, raw: bytes, clients: int, warmup: float, seconds: float) -> dict:
    start = time.perf_counter() + warmup
    stop = start + seconds
    done: list = []
    errors: list = []
    cpu = [0.0]

    async def cpu_mark() -> None:
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        cpu[0] = time.process_time()

    await asyncio.gather(cpu_mark(), *(_client(port, raw, start, stop, done, errors) for _ in range(clients)))
    return {
        "requests": len(done), "seconds": seconds, "requests_per_s": len(done) / seconds, "errors": len(errors),
        "median_ms": statistics.median(done) * 1000 if done else float("nan"),
        "client_cpu_s": time.process_time() - cpu[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("request_file", help="the raw bytes of the request every client sends, again and again")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with open(args.request_file, "rb") as fh:
        raw = fh.read()
    print(json.dumps(asyncio.run(_load(args.port, raw, args.clients, args.warmup, args.seconds))))


if __name__ == "__main__":
    main()
