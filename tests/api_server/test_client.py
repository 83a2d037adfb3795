"""The Public API's request adapter on its own: 429 waits, NaN strings, and sharing between threads.

The 429 cases run against a real HTTP server on 127.0.0.1 that answers from a script.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from trackwell.api.remote_http import ServerClient, decode_floats, encode_floats
from trackwell.errors import CommError


class Scripted:
    """A real HTTP server on 127.0.0.1 answering each request with the next (status, Retry-After)
    of ``script``, then 200; it counts what it gets and may hold each answer a moment."""

    def __init__(self, script: list[tuple[int, str | None]], hold: float = 0.0) -> None:
        self.script = list(script)
        self.seen: list[str] = []
        self.inside = 0
        self.most_inside = 0
        lock = threading.Lock()
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with lock:
                    scripted.seen.append(self.path)
                    status, retry_after = scripted.script.pop(0) if scripted.script else (200, None)
                    scripted.inside += 1
                    scripted.most_inside = max(scripted.most_inside, scripted.inside)
                threading.Event().wait(hold)  # a slow answer, so that threads overlap
                body = (
                    b'{"ok": true}' if status == 200 else b'{"error": {"code": "c", "message": "slow down"}}'
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                with lock:
                    scripted.inside -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted() -> Iterator[Callable[..., Scripted]]:
    started: list[Scripted] = []

    def start(script: list[tuple[int, str | None]], hold: float = 0.0) -> Scripted:
        started.append(Scripted(script, hold))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def test_rate_limited_requests_wait_and_retry(scripted: Callable[..., Scripted]) -> None:
    server = scripted([(429, "0"), (429, "1")])
    start = time.monotonic()
    assert ServerClient(server.url, "key").get("/viewer") == {"ok": True}
    assert len(server.seen) == 3
    assert time.monotonic() - start >= 0.95  # Retry-After: 1 waited out


def test_rate_limiting_gives_up_after_a_few_tries(scripted: Callable[..., Scripted]) -> None:
    server = scripted([(429, "0")] * 10)
    with pytest.raises(CommError, match="slow down") as caught:
        ServerClient(server.url, "key").get("/viewer")
    assert caught.value.status == 429
    assert len(server.seen) == 4


def test_a_retry_after_beyond_the_patience_is_raised_at_once(scripted: Callable[..., Scripted]) -> None:
    server = scripted([(429, "3600")])
    with pytest.raises(CommError) as caught:
        ServerClient(server.url, "key").get("/viewer")
    assert caught.value.retry_after == 120.0  # (capped) for the caller to decide
    assert len(server.seen) == 1


def test_other_errors_are_not_retried(scripted: Callable[..., Scripted]) -> None:
    server = scripted([(500, None), (400, None)])
    client = ServerClient(server.url, "key")
    with pytest.raises(CommError):
        client.get("/viewer")
    with pytest.raises(CommError):
        client.get("/viewer")
    assert len(server.seen) == 2


def test_threads_share_one_client(scripted: Callable[..., Scripted]) -> None:
    server = scripted([], hold=0.05)
    client = ServerClient(server.url, "key")
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda i=i: answers.append(client.get(f"/{i}"))) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [{"ok": True}] * 8
    assert sorted(server.seen) == sorted(f"/api/v1/{i}" for i in range(8))
    assert server.most_inside > 1  # in parallel, over the transport's pool of connections


def test_non_finite_floats_round_trip() -> None:
    values = {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "n": [1.5, {"x": math.nan}], "s": "text"}
    wire = encode_floats(values)
    assert wire == {
        "nan": "NaN",
        "inf": "Infinity",
        "ninf": "-Infinity",
        "n": [1.5, {"x": "NaN"}],
        "s": "text",
    }
    back = decode_floats(wire)
    assert math.isnan(back["nan"]) and back["inf"] == math.inf and back["ninf"] == -math.inf
    assert math.isnan(back["n"][1]["x"]) and back["s"] == "text"
