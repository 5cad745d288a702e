"""Uvicorn's h11 protocol with the guards it lacks: a header timeout, a timeout on bodies nobody reads, a connection cap.

Uvicorn closes idle keep-alive connections, but a connection that never sends
complete headers (slowloris), or trickles a body after its answer has left,
stays open for good; and `limit_concurrency` answers plain text. Here a
connection must send its request headers within `header_timeout` seconds
(else a 408, or a silent close when it sent nothing); a body still arriving
after the answer has left must end within `body_timeout` seconds; connections beyond
`max_connections` get a 503 with one sentence. The application itself times
out the bodies it reads (see `server.read_body`).
A small POST /predict/ (or /predictions/, /invocations) that arrives whole in one read, plainly formed (`fast_request`), is answered here through
the application's `fast` without h11, ASGI and Starlette (~0.25 ms less per request); anything else goes the
usual way.
"""

from __future__ import annotations

import asyncio
import json
import re

import h11
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol


class Limits:
    """What one server process allows its connections (`taskbench serve` options)."""

    def __init__(self, header_timeout: float = 10.0, body_timeout: float = 30.0, max_connections: int = 256):
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.max_connections = max_connections


DEFAULT_LIMITS = Limits()


def _find(app, attribute: str):
    """The first application in a middleware chain (`app.app.app…`) that has `attribute`."""
    for _ in range(8):
        if app is None or hasattr(app, attribute):
            return app
        app = getattr(app, "app", None)
    return None


def raw_reply(status: int, reason: str, message: str) -> bytes:
    """A complete HTTP/1.1 answer with a JSON `message` that closes the connection (for states h11 cannot answer in)."""
    body = json.dumps({"message": message}).encode()
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"connection: close\r\n\r\n").encode() + body


class Coalesced:
    """A transport whose writes within one turn of the event loop leave in one send: Uvicorn writes an answer's
    headers and body apart, which costs a second packet, and the client a second wake-up, per request."""

    def __init__(self, transport, loop):
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)

    def flush(self) -> None:
        if self._held:
            data = b"".join(self._held) if len(self._held) > 1 else self._held[0]
            self._held = []
            if not self._transport.is_closing():
                self._transport.write(data)

    def write_now(self, data: bytes) -> None:
        """Write `data` at once, after anything held (a whole answer needs no coalescing)."""
        self.flush()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = []
        self._transport.abort()

    def __getattr__(self, name):
        return getattr(self._transport, name)


class GuardedProtocol(H11Protocol):
    """H11Protocol plus the header timeout, the unread-body timeout and the connection cap (see the module), its
    answers written in one piece (`Coalesced`)."""

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = Coalesced(transport, self.loop)
        if isinstance(self.loop, BalancedLoop):
            self.loop.connections = self.connections
        self._guard = None
        self._guard_kind = ""
        self._counted = _find(self.app, "limits")
        self.limits: Limits = self._counted.limits if self._counted is not None else DEFAULT_LIMITS
        self._fast = getattr(self._counted, "fast", None)
        if len(self.connections) > self.limits.max_connections:
            self.app = self._busy
            self._fast = None
            self._event("refused")
        self._arm(self.limits.header_timeout, self._header_timed_out)

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if (self._fast is not None and self.conn.their_state is h11.IDLE and self.conn.our_state is h11.IDLE
                and not self.conn.trailing_data[0] and self._answer_fast(data)):
            return
        super().data_received(data)
        their = self.conn.their_state
        if their is h11.IDLE:  # request headers incomplete: their clock runs from the first byte
            if self._guard is None and not self.transport.is_closing():
                self._arm(self.limits.header_timeout, self._header_timed_out)
        elif their is h11.SEND_BODY and self.conn.our_state is not h11.SEND_RESPONSE:
            # the answer left before the body ended (a 401, a 413, a route that reads no body): nobody reads the
            # rest, so it must all arrive within body_timeout of the first piece seen after the answer
            if self._guard is not None and self._guard_kind != "body":
                self._disarm()
            self._arm(self.limits.body_timeout, self._body_timed_out, "body")
        elif self._guard is not None:
            self._disarm()

    # -------------------------------------------------------------- the fast path

    def _answer_fast(self, data: bytes) -> bool:
        """Answer `data` here when it is exactly one small POST /predict/ (`FAST_*`), plainly formed (see
        `fast_request`), and the application's `fast` takes it; False leaves it to h11 and the application as usual.
        The connection then stands as after any answer: idle, its keep-alive clock running."""
        request = fast_request(data)
        if request is None:
            return False
        path, headers, body = request
        self._unset_keepalive_if_required()
        got = self._fast(path, headers.get(b"authorization", b"").decode("latin-1"),
                         headers.get(b"content-type", b"").decode("latin-1"), body)
        if got is None:
            return False
        self._disarm()
        status, answer, close = got
        if answer is None:
            answer, kind = b"Internal Server Error", b"text/plain; charset=utf-8"
        else:
            kind = b"application/json"
        out = [b"HTTP/1.1 %d %s\r\n" % (status, STATUS_PHRASES[status])]
        out.extend(b"%s: %s\r\n" % pair for pair in self.server_state.default_headers)
        out.append(b"content-length: %d\r\ncontent-type: %s\r\n%s\r\n" % (len(answer), kind,
                                                                               b"connection: close\r\n" if close else b""))
        out.append(answer)
        self.transport.write_now(b"".join(out))
        self.server_state.total_requests += 1
        if close:
            self.transport.close()
        elif not self.transport.is_closing():
            self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)
        return True

    # -------------------------------------------------------------- the guard timer

    def _arm(self, seconds: float, handler, kind: str = "header") -> None:
        if self._guard is None:
            self._guard = self.loop.call_later(seconds, handler)
            self._guard_kind = kind

    def _disarm(self) -> None:
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None

    def _header_timed_out(self) -> None:
        self._guard = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.trailing_data[0]:  # part of a request came: say why it ends, as Apache does
            self.transport.write(raw_reply(408, "Request Timeout", f"the request headers did not arrive within "
                                           f"{self.limits.header_timeout:g} s; send the whole request at once."))
        self._event("timeouts")
        self._close()

    def _body_timed_out(self) -> None:
        self._guard = None
        if not self.transport.is_closing():
            self._event("timeouts")
            self._close()

    def _close(self) -> None:
        self._unset_keepalive_if_required()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()

    def _event(self, name: str) -> None:
        if self._counted is not None:
            self._counted.event(name)

    async def _busy(self, scope, receive, send) -> None:
        body = json.dumps({"message": f"the server already holds its limit of {self.limits.max_connections} connections; "
                                      "retry shortly, or start it with a higher --max-connections."}).encode()
        await send({"type": "http.response.start", "status": 503,
                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


# POST /predict/ and DRUM's other names for it (/predictions/, /invocations), with or without the slash as routed
FAST_TARGETS = {b"/predict/": "/predict/", b"/predict": "/predict", b"/predictions/": "/predictions/",
                b"/predictions": "/predictions", b"/invocations": "/invocations"}
FAST_BYTES = 64 * 1024  # larger requests take the usual path (their body seldom comes with the headers anyway)
_FAST_START = (b"POST /predict", b"POST /invocations")
_FAST_LINE = re.compile(rb"POST (/predict(?:ions)?/?|/invocations) HTTP/1\.1")
_FAST_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?[ \t]*")
_FAST_LEAVE = (b"transfer-encoding", b"expect", b"upgrade")


def fast_request(data: bytes) -> tuple[str, dict, bytes] | None:
    """(path, headers by lower-case name, body) when `data` is exactly one whole HTTP/1.1 POST to /predict/ (or one
    of `FAST_TARGETS`): printable ASCII headers each given once, Host, a Content-Length its body matches, no
    Transfer-Encoding, Expect or Upgrade, no Connection but keep-alive; else None (h11 reads it, and says what is
    wrong with it)."""
    if len(data) > FAST_BYTES or not data.startswith(_FAST_START):
        return None
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = data[:end].split(b"\r\n")
    line = _FAST_LINE.fullmatch(lines[0])
    if line is None:
        return None
    headers: dict = {}
    for raw in lines[1:]:
        field = _FAST_HEADER.fullmatch(raw)
        if field is None:
            return None
        name = field[1].lower()
        if name in headers or name in _FAST_LEAVE:
            return None
        headers[name] = field[2] or b""
    length = headers.get(b"content-length")
    if (b"host" not in headers or length is None or not length.isdigit() or int(length) != len(data) - end - 4
            or headers.get(b"connection", b"keep-alive").lower() != b"keep-alive"):
        return None
    return FAST_TARGETS[line[1]], headers, data[end + 4:]


class BalancedLoop(asyncio.SelectorEventLoop):
    """The event loop of each of several worker processes that share one listening socket (`serve --workers N`).

    asyncio accepts every waiting connection at once, so a burst of keep-alive clients all land on whichever worker
    wakes first. Here a worker accepts one connection at a time, and one already holding connections first stands
    aside for a millisecond per connection it holds (at most 10 ms), so the sibling holding fewest takes it.
    """

    connections: set = set()  # this process's open connections; GuardedProtocol points it at Uvicorn's set
    STEP = 0.001
    MOST = 10

    def _accept_connection(self, protocol_factory, sock, *args):
        fd = sock.fileno()
        held = len(self.connections)
        resumed = getattr(self, "_resumed", {}).pop(fd, None)
        if held and (resumed is None or self.time() - resumed > 0.002):  # else: still waiting after standing aside
            self.remove_reader(fd)
            self.call_later(min(held, self.MOST) * self.STEP, self._resume, protocol_factory, sock, args)
            return None
        return super()._accept_connection(protocol_factory, sock, *args[:2], 1, *args[3:])

    def _resume(self, protocol_factory, sock, args) -> None:
        if sock.fileno() == -1:  # the server closed meanwhile
            return
        if not hasattr(self, "_resumed"):
            self._resumed = {}
        self._resumed[sock.fileno()] = self.time()
        self.add_reader(sock.fileno(), self._accept_connection, protocol_factory, sock, *args)
