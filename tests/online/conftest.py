"""A small in-process stand-in for server-lite, for the sender's unit-level tests.

It speaks the parts of docs/server-api.md the SDK uses (viewer, run upsert with
resume/fork/rewind, stream positions, ingest with sequence gaps, files, heartbeats)
and can be told to fail: ``down`` answers 503, ``fail(n, status)`` fails the next n
requests. Tests of the real server use the ``trackwell_server`` fixture instead.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import msgpack
import pytest

KEY = "tw_test_0123456789abcdef0123456789abcdef"
_RUN = re.compile(r"^/api/v1/runs/([^/]+)/([^/]+)/([^/]+)(/.*)?$")


class FakeRun:
    def __init__(self, entity: str, project: str, run_id: str) -> None:
        self.info: dict[str, Any] = {"entity": entity, "project": project, "id": run_id, "state": "running"}
        self.config: dict[str, Any] = {}
        self.summary: dict[str, Any] = {}
        self.history: list[dict[str, Any]] = []
        self.streams: dict[str, dict[int, list[Any]]] = {}
        self.files: dict[str, bytes] = {}
        self.parts: dict[str, dict[int, bytes]] = {}
        self.heartbeats = 0
        self.upserts: list[dict[str, Any]] = []
        self.fork_of: dict[str, Any] | None = None

    def last_step(self) -> int | None:
        steps = [r["_step"] for r in self.history if isinstance(r.get("_step"), int)]
        return max(steps) if steps else None

    def as_json(self) -> dict[str, Any]:
        return {
            **self.info, "config": self.config, "summary": self.summary, "last_step": self.last_step(),
            "fork_of": self.fork_of,
            "streams": {s: max(recs) if recs else -1 for s, recs in self.streams.items()},
        }  # fmt: skip


class FakeServer:
    """State and fault switches; ``url`` is where it listens."""

    key = KEY

    def __init__(self) -> None:
        self.runs: dict[tuple[str, str, str], FakeRun] = {}
        self.lock = threading.Lock()
        self.down = False
        self.failures: list[int] = []
        self.retry_after: str | None = None
        self.requests: list[tuple[str, str]] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def fail(self, count: int, status: int = 503) -> None:
        self.failures.extend([status] * count)

    def run(self, run_id: str, entity: str = "tester", project: str = "p") -> FakeRun:
        return self.runs[(entity, project, run_id)]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- the API -----------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        if path == "/api/v1/health":
            return 200, {"status": "ok", "version": "fake", "auth": True}
        if path == "/api/v1/viewer" and method == "GET":
            return 200, {"user": "tester", "entity": "tester", "admin": False, "teams": []}
        m = _RUN.match(path)
        if not m:
            return 404, _err("not_found", f"no route {path}")
        key = (unquote(m.group(1)), unquote(m.group(2)), unquote(m.group(3)))
        rest = m.group(4) or ""
        run = self.runs.get(key)
        if rest == "" and method == "PUT":
            return self._upsert(key, run, body)
        if run is None:
            return 404, _err("not_found", f"run {'/'.join(key)} not found")
        if rest == "" and method == "GET":
            return 200, run.as_json()
        if rest == "" and method == "PATCH":
            run.info.update({k: v for k, v in body.items() if k != "config" and k != "summary"})
            return 200, run.as_json()
        if rest.startswith("/streams/"):
            recs = run.streams.get(unquote(rest[len("/streams/") :]), {})
            return 200, {"last_seq": max(recs) if recs else -1}
        if rest == "/ingest":
            return self._ingest(run, body)
        if rest == "/heartbeat":
            run.heartbeats += 1
            return 200, {"state": run.info["state"]}
        if rest.startswith("/files/") and method == "PUT":
            name = unquote(rest[len("/files/") :])
            if "parts" in query:
                got = run.parts.setdefault(name, {})
                got[int(query["part"][0])] = body
                if len(got) == int(query["parts"][0]):
                    run.files[name] = b"".join(got[i] for i in sorted(got))
            else:
                run.files[name] = body
            return 200, {"path": name, "size": len(body)}
        return 404, _err("not_found", f"no route {method} {path}")

    def _upsert(
        self, key: tuple[str, str, str], run: FakeRun | None, body: dict[str, Any]
    ) -> tuple[int, Any]:
        resume = body.get("resume")
        if resume == "must" and run is None:
            return 404, _err("not_found", f"run {key[2]} does not exist")
        if resume == "never" and run is not None:
            return 409, _err("conflict", f"run {key[2]} exists")
        fork = body.get("fork_from")
        if fork:
            if run is not None:
                return 409, _err("conflict", "exists")
            parent = self.runs.get((key[0], key[1], fork["run_id"]))
            if parent is None:
                return 404, _err("not_found", "no parent")
            run = self.runs[key] = FakeRun(*key)
            run.history = [dict(r) for r in parent.history if r["_step"] <= fork["step"]]
            run.config = dict(parent.config)
            run.summary = {k: v for r in run.history for k, v in r.items()}
            run.fork_of = {"run_id": fork["run_id"], "step": fork["step"]}
        rewind = body.get("resume_from")
        if rewind:
            if run is None:
                return 404, _err("not_found", "no run to rewind")
            run.history = [r for r in run.history if r["_step"] <= rewind["step"]]
            run.summary = {k: v for r in run.history for k, v in r.items()}
        status = 200 if run is not None and not fork else 201
        if run is None:
            run = self.runs[key] = FakeRun(*key)
        run.upserts.append(body)
        run.info.update(
            {k: v for k, v in body.items() if k in ("name", "group", "job_type", "tags", "notes")}
        )
        run.info["state"] = "running"
        return status, run.as_json()

    def _ingest(self, run: FakeRun, body: dict[str, Any]) -> tuple[int, Any]:
        recs = run.streams.setdefault(body["stream"], {})
        last = max(recs) if recs else -1
        if body["first_seq"] > last + 1:
            return 409, {**_err("sequence_gap", f"expected {last + 1}"), "last_seq": last}
        for kind, seq, rec_body in body["records"]:
            if seq <= last:
                continue
            recs[seq] = [kind, seq, rec_body]
            last = seq
            if kind == "history":
                run.history.append(rec_body)
                run.summary.update(rec_body)
            elif kind == "config":
                run.config.update(rec_body.get("update") or {})
            elif kind == "exit":
                run.info["state"] = rec_body["state"]
        return 200, {"last_seq": last}


def _wire(value: Any) -> Any:
    """NaN and ±Inf as strings, as the server's JSON writes them (docs/server-api.md)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def _err(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            ctype = self.headers.get("Content-Type") or ""
            body: Any = raw
            if ctype.startswith("application/x-msgpack"):
                body = msgpack.unpackb(raw, raw=False, strict_map_key=False)
            elif ctype.startswith("application/json"):
                body = json.loads(raw)
            with server.lock:
                server.requests.append((self.command, parts.path))
                headers = {}
                if parts.path == "/api/v1/health":
                    status, answer = server.handle(self.command, parts.path, parse_qs(parts.query), body)
                elif server.down or server.failures:
                    status = server.failures.pop(0) if server.failures and not server.down else 503
                    answer = _err("rate_limited" if status == 429 else "unavailable", "try later")
                    if server.retry_after:
                        headers["Retry-After"] = server.retry_after
                elif self.headers.get("Authorization") != f"Bearer {KEY}":
                    status, answer = 401, _err("unauthorized", "bad key")
                else:
                    status, answer = server.handle(self.command, parts.path, parse_qs(parts.query), body)
            data = json.dumps(_wire(answer)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_PATCH = _serve

    return Handler


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.stop()


@pytest.fixture
def fake_online(trackwell_dir: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    """``trackwell_dir`` with TRACKWELL_BASE_URL/API_KEY pointing at the fake server."""
    monkeypatch.setenv("TRACKWELL_BASE_URL", fake_server.url)
    monkeypatch.setenv("TRACKWELL_API_KEY", KEY)
    return fake_server
