"""A small HTTP proxy that injects network faults in front of a real server (cf. toxiproxy).

The server's logic is never faked: the proxy forwards each request unchanged and the
answer back, and between the two does what a hostile network or a gateway does to
them (an error answer from the gateway, a lost response, a transfer cut halfway, a hung
upstream). It records every exchange, so a test can assert what the client sent.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Exchange:
    """One request the proxy saw: what was asked and what the client got (0: nothing)."""

    method: str
    path: str  # with the query string, without /api/v1
    status: int
    body: Any  # the request's JSON body, else None
    at: float  # time.monotonic() when the request arrived
    headers: dict[str, str]  # the answer's headers (lower-case names)
    reply: Any = None  # the answer's JSON body, if it had one


class FaultProxy:
    """A small HTTP proxy in front of a real server that injects network faults (cf. toxiproxy).

    It forwards each request unchanged to ``upstream`` (a fresh upstream connection
    per request) and the answer back, and records every exchange in ``log``. Faults:

    - ``fail(n, status, retry_after)``: the next ``n`` requests (``n=None``: all, until
      ``heal()``) are answered by the proxy itself with ``status`` (503 ``unavailable``
      or 429 ``rate_limited``, with ``Retry-After`` if given), as a gateway in front
      of an unavailable server does; the server never sees them.
    - ``lose_responses(n, path_part)``: the next ``n`` requests whose path contains
      ``path_part`` are forwarded and processed by the server, then the client's
      connection is dropped before any answer: the response is lost.
    - ``cut(path_part, after)``: the next ``after`` requests whose path contains
      ``path_part`` pass; every later one is answered 503 until ``heal()`` (a transfer
      interrupted halfway, e.g. a multi-part upload).
    - ``stall(n, path_part, seconds)``: the next ``n`` requests whose path contains
      ``path_part`` are held before they are forwarded, for ``seconds`` (None: until
      ``heal()``), as a hung upstream holds them: the client's read timeout is what ends it.
    - an upstream that refuses connections (stopped) is answered 503, as a load balancer does.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.log: list[Exchange] = []
        self._lock = threading.Lock()
        self._fail: list[tuple[int, str | None]] = []
        self._fail_all: tuple[int, str | None] | None = None
        self._lose: list[str] = []
        self._cut: list[Any] = []  # [path_part, requests still let through]
        self._stall: list[tuple[str, float | None]] = []
        self._healed = threading.Event()  # set by heal(): held requests go on
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler(self))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def fail(self, n: int | None, status: int = 503, retry_after: str | None = None) -> None:
        with self._lock:
            if n is None:
                self._fail_all = (status, retry_after)
            else:
                self._fail += [(status, retry_after)] * n

    def heal(self) -> None:
        with self._lock:
            self._fail_all = None
            self._fail.clear()
            self._lose.clear()
            self._cut.clear()
            self._stall.clear()
            healed, self._healed = self._healed, threading.Event()
        healed.set()

    def cut(self, path_part: str, after: int) -> None:
        with self._lock:
            self._cut = [path_part, after]

    def lose_responses(self, n: int, path_part: str) -> None:
        with self._lock:
            self._lose += [path_part] * n

    def stall(self, n: int, path_part: str, seconds: float | None = None) -> None:
        with self._lock:
            self._stall += [(path_part, seconds)] * n

    def requests(self, method: str | None = None, contains: str = "") -> list[Exchange]:
        with self._lock:
            return [e for e in self.log if (method in (None, e.method)) and contains in e.path]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- used by the handler ---------------------------------------------------------------
    def _fault_for(self, path: str) -> tuple[str, int, str | None] | None:
        with self._lock:
            if self._fail_all is not None:
                return ("answer", *self._fail_all)
            if self._fail:
                return ("answer", *self._fail.pop(0))
            if self._cut and self._cut[0] in path:
                if self._cut[1] <= 0:
                    return ("answer", 503, None)
                self._cut[1] -= 1
            for i, part in enumerate(self._lose):
                if part in path:
                    del self._lose[i]
                    return ("lose", 0, None)
        return None

    def _hold(self, path: str) -> None:
        """Hold a request that a ``stall`` matches (in its handler's thread) before it goes on."""
        with self._lock:
            matches = [i for i, (part, _) in enumerate(self._stall) if part in path]
            if not matches:
                return
            _, seconds = self._stall.pop(matches[0])
            healed = self._healed
        healed.wait(seconds)

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self.log.append(exchange)


def _json_or_none(data: bytes, content_type: str) -> Any:
    if not data or not content_type.startswith("application/json"):
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def _proxy_handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, headers: dict[str, str], data: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self) -> None:
            at = time.monotonic()
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.removeprefix("/api/v1")
            body = _json_or_none(data, self.headers.get("Content-Type") or "")
            proxy._hold(path)
            fault = proxy._fault_for(path)
            if fault is not None and fault[0] == "answer":
                _, status, retry_after = fault
                code = "rate_limited" if status == 429 else "unavailable"
                headers = {"Content-Type": "application/json"}
                if retry_after:
                    headers["Retry-After"] = retry_after
                error = {"error": {"code": code, "message": f"injected {status} (proxy)"}}
                proxy._record(Exchange(self.command, path, status, body, at,
                                       {k.lower(): v for k, v in headers.items()}, error))  # fmt: skip
                self._answer(status, headers, json.dumps(error).encode())
                return
            upstream = urlsplit(proxy.upstream)
            conn = http.client.HTTPConnection(upstream.hostname or "", upstream.port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                conn.request(self.command, self.path, body=data if data or self.command != "GET" else None,
                             headers=headers)  # fmt: skip
                resp = conn.getresponse()
                answer, status = resp.read(), resp.status
                reply = {k: v for k, v in resp.getheaders()}
            except (OSError, http.client.HTTPException) as exc:  # the server is down: a gateway's answer
                status = 503 if isinstance(exc, ConnectionRefusedError) else 502
                error = {"error": {"code": "unavailable", "message": f"upstream: {exc} (proxy)"}}
                answer, reply = json.dumps(error).encode(), {"Content-Type": "application/json"}
            finally:
                conn.close()
            if fault is not None:  # "lose": the server did the work, the client never hears of it
                proxy._record(Exchange(self.command, path, 0, body, at, {}))
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            lower = {k.lower(): v for k, v in reply.items()}
            reply_json = _json_or_none(answer, lower.get("content-type", ""))
            proxy._record(Exchange(self.command, path, status, body, at, lower, reply_json))
            self._answer(status, reply, answer)

        do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _serve

    return Handler
