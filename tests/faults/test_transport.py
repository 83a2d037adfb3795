"""The SDK's one HTTP client (``trackwell._pipeline.transport``) against servers that misbehave.

What is retried where (``trackwell._pipeline.httpclient``): a 4xx other than 408/429 never; a
429 for any method, honouring a short ``Retry-After`` and handing a long one to the
caller; 408/502/503/504 and a dropped answer only for idempotent methods; a 500
never inline (the sender's loop backs off). The API key goes to the configured
server's origin only, every request has a connect and a read timeout, and a
download that stalls fails within its timeout too. The crafted servers are real
``http.server`` servers on 127.0.0.1 that answer from a script, counting what they
get; the plain cases run against a real trackwell server process.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from trackwell._pipeline.transport import Transport, run_path
from trackwell.artifacts.client import ArtifactClient
from trackwell.errors import CommError, NotFoundError

from .conftest import ServerProcess, free_port

Answer = tuple[int, dict[str, str], bytes]
#: An answer in a script: (status, headers, body), or what to do instead of answering.
CLOSE = "close"  # close the connection without a word
HANG = "hang"  # say nothing until the test ends
STALL = "stall"  # 200 with a long body, send part of it, then say nothing


class Crafted:
    """A real HTTP server on 127.0.0.1 answering from ``script``, then 200 ``{"ok": true}``."""

    def __init__(self, script: list[Answer | str], host: str = "127.0.0.1") -> None:
        self.script = list(script)
        self.seen: list[tuple[str, str, dict[str, str]]] = []  # method, path, headers
        self.released = threading.Event()
        crafted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                crafted.seen.append(
                    (self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                )
                step = crafted.script.pop(0) if crafted.script else (200, {}, b'{"ok": true}')
                if step == CLOSE:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if step == HANG:
                    crafted.released.wait(30)
                    self.close_connection = True
                    return
                if step == STALL:
                    self.send_response(200)
                    self.send_header("Content-Length", str(1 << 20))
                    self.end_headers()
                    self.wfile.write(b"x" * 1000)
                    self.wfile.flush()
                    crafted.released.wait(30)
                    self.close_connection = True
                    return
                assert not isinstance(step, str)
                status, headers, body = step
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def crafted() -> Iterator[Any]:
    started: list[Crafted] = []

    def start(script: list[Answer | str], host: str = "127.0.0.1") -> Crafted:
        started.append(Crafted(script, host))
        return started[-1]

    yield start
    for one in started:
        one.stop()


def error(status: int, code: str = "bad", retry_after: str | None = None) -> Answer:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return status, headers, b'{"error": {"code": "%s", "message": "crafted"}}' % code.encode()


# -- what is retried -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 403, 409, 413, 422])
@pytest.mark.parametrize("method", ["GET", "PUT", "POST"])
def test_a_4xx_is_never_retried(crafted: Any, status: int, method: str) -> None:
    server = crafted([error(status)])
    with pytest.raises(CommError) as caught:
        Transport(server.url, "k").request(method, "/x", data=b"{}")
    assert caught.value.status == status and caught.value.code == "bad"
    assert not caught.value.retryable
    assert len(server.seen) == 1


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_408_429_and_5xx_are_retryable(crafted: Any, status: int) -> None:
    server = crafted([error(status)] * 5)
    with pytest.raises(CommError) as caught:
        Transport(server.url, "k", retries=0).request("POST", "/x", data=b"{}")
    assert caught.value.status == status and caught.value.retryable


def test_a_503_is_retried_with_backoff_for_idempotent_requests_only(crafted: Any) -> None:
    server = crafted([error(503), error(503)])
    start = time.monotonic()
    assert Transport(server.url, "k").get("/x") == {"ok": True}
    assert len(server.seen) == 3
    assert time.monotonic() - start >= 0.5  # the second retry waits BACKOFF * 2 (plus jitter)
    server = crafted([error(503)])
    with pytest.raises(CommError) as caught:
        Transport(server.url, "k").request("POST", "/ingest", data=b"{}")  # may have been carried out
    assert caught.value.status == 503 and len(server.seen) == 1


def test_a_500_is_left_to_the_caller(crafted: Any) -> None:
    server = crafted([error(500)])
    with pytest.raises(CommError) as caught:
        Transport(server.url, "k").get("/x")
    assert caught.value.retryable and len(server.seen) == 1  # the sender's loop backs off, not this


def test_a_dropped_connection_is_retried_for_get_not_for_post(crafted: Any) -> None:
    server = crafted([CLOSE])
    assert Transport(server.url, "k").get("/x") == {"ok": True}
    assert len(server.seen) == 2
    server = crafted([CLOSE])
    with pytest.raises(CommError) as caught:
        Transport(server.url, "k").request("POST", "/keys", data=b"{}")  # not idempotent: never twice
    assert caught.value.status is None and caught.value.retryable
    assert len(server.seen) == 1


def test_a_refused_connection_fails_fast_after_a_few_quick_tries() -> None:
    """Inline retries ride out a blip; a server that is down is the sender's loop's to wait for."""
    start = time.monotonic()
    with pytest.raises(CommError) as caught:
        Transport(f"http://127.0.0.1:{free_port()}", "k").get("/x")
    elapsed = time.monotonic() - start
    assert "connection refused" in caught.value.message
    assert caught.value.status is None and caught.value.retryable
    assert 0.25 <= elapsed < 3  # retried with backoff, and not for long


def test_retry_after_is_honoured_for_any_method(crafted: Any) -> None:
    server = crafted([error(429, "rate_limited", retry_after="1")])
    start = time.monotonic()
    assert Transport(server.url, "k").request("POST", "/ingest", data=b"{}").body == {"ok": True}
    assert time.monotonic() - start >= 0.95
    assert len(server.seen) == 2


def test_a_long_retry_after_is_handed_to_the_caller(crafted: Any) -> None:
    """The sender waits it out in its own loop, where finish() can cut the wait short."""
    server = crafted([error(429, "rate_limited", retry_after="60")])
    start = time.monotonic()
    with pytest.raises(CommError) as caught:
        Transport(server.url, "k").get("/x")
    assert time.monotonic() - start < 5
    assert caught.value.status == 429 and caught.value.retry_after == 60.0 and caught.value.retryable
    assert len(server.seen) == 1


# -- the key goes to its own server only ---------------------------------------------------------


def test_a_redirect_to_another_host_is_not_followed_and_never_carries_the_key(crafted: Any) -> None:
    elsewhere = crafted([], host="127.0.0.2")
    for status in (301, 302, 307, 308):
        server = crafted([(status, {"Location": f"{elsewhere.url}/api/v1/x"}, b"")])
        with pytest.raises(CommError) as caught:
            Transport(server.url, "tw_secret").request("POST", "/x", data=b"{}")
        assert caught.value.status == status and not caught.value.retryable
        assert "redirect" in caught.value.message and elsewhere.url in caught.value.message
        assert server.seen[0][2]["authorization"] == "Bearer tw_secret"
    assert elsewhere.seen == []


def test_a_redirect_to_another_port_of_the_same_host_is_not_followed(crafted: Any) -> None:
    other = crafted([])
    server = crafted([(307, {"Location": f"{other.url}/api/v1/x"}, b"")])
    with pytest.raises(CommError, match="redirect"):
        Transport(server.url, "tw_secret").get("/x")
    assert other.seen == []


def test_a_redirect_within_the_server_is_followed_with_the_key(crafted: Any) -> None:
    server = crafted([(307, {"Location": "/api/v1/moved"}, b"")])
    assert Transport(server.url, "tw_secret").get("/x") == {"ok": True}
    assert [(m, p) for m, p, _ in server.seen] == [("GET", "/api/v1/x"), ("GET", "/api/v1/moved")]
    assert all(h["authorization"] == "Bearer tw_secret" for _, _, h in server.seen)


def test_no_cookie_is_kept(crafted: Any) -> None:
    server = crafted([(200, {"Set-Cookie": "tw_session=abc; Path=/"}, b"{}")])
    t = Transport(server.url, "k")
    t.get("/x")
    t.get("/y")
    assert "cookie" not in server.seen[1][2]


# -- timeouts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_server_that_never_answers_times_out(crafted: Any, method: str) -> None:
    server = crafted([HANG, HANG])
    t = Transport(server.url, "k", timeout=0.5)
    start = time.monotonic()
    with pytest.raises(CommError) as caught:
        t.request(method, "/x", data=b"{}")
    elapsed = time.monotonic() - start
    assert "timed out" in caught.value.message and caught.value.retryable
    # a GET may be sent once more (idempotent), a POST never
    assert len(server.seen) == (2 if method == "GET" else 1)
    assert elapsed < 0.5 * len(server.seen) + 1.5


def test_a_per_request_timeout_overrides_the_transports(crafted: Any) -> None:
    server = crafted([HANG])
    start = time.monotonic()
    with pytest.raises(CommError, match="timed out"):
        Transport(server.url, "k", timeout=30).post_msgpack("/ingest", b"\x80", timeout=0.3)
    assert time.monotonic() - start < 2


def test_a_listener_that_never_accepts_times_out() -> None:
    """A stopped (SIGSTOPped) server: the kernel completes the handshake, nobody reads."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        t = Transport(f"http://127.0.0.1:{sock.getsockname()[1]}", "k", timeout=0.4, retries=0)
        start = time.monotonic()
        with pytest.raises(CommError, match="timed out"):
            t.request("POST", "/ingest", data=b"{}")
        assert time.monotonic() - start < 2


def test_a_download_that_stalls_midway_fails_within_its_timeout(crafted: Any, tmp_path: Path) -> None:
    server = crafted([STALL] * 6)
    client = ArtifactClient(server.url, "k", timeout=0.4)
    start = time.monotonic()
    with pytest.raises(CommError, match="broke off"):
        client.download("e", "p", "0" * 64, tmp_path / "blob", 1 << 20)
    assert time.monotonic() - start < 10  # five attempts, each resuming, each timing out


# -- against a real server -----------------------------------------------------------------------


def test_a_real_servers_4xx_answers_map_to_errors_that_are_not_retried(server: ServerProcess) -> None:
    t = Transport(server.url, server.admin_key)
    with pytest.raises(NotFoundError) as missing:
        t.get(run_path("nobody", "p", "r1"))
    assert missing.value.status == 404 and not missing.value.retryable
    with pytest.raises(CommError) as bad:
        t.post_msgpack(run_path("local", "p", "r1", "ingest"), b"not msgpack")
    assert bad.value.status is not None and 400 <= bad.value.status < 500 and not bad.value.retryable
    assert t.get("/viewer")["admin"] is True  # the same transport goes on working
