"""The real server (server-lite) for the online tests, users of it, and a fault-injecting proxy.

Every test talks to a real server on 127.0.0.1: the session's ``trackwell_server``
(shipped in ``trackwell.testing``), each test under its own user, or a
``LocalServer`` of its own where it must stop, restart or restore one. Faults come
from real conditions where that is cheap (a stopped server refuses connections, a
tiny ``rate_limit`` answers 429, a data directory restored from a snapshot lacks
records) and otherwise from ``trackwell.testing.FaultProxy``, which sits in front
of a real server as toxiproxy or a load balancer would. The server's logic itself is never faked.
Assertions read results back from the real server with plain GETs (``Account``).
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from trackwell.testing import FaultProxy as FaultProxy  # re-exported: the tests import it from here
from trackwell.testing import free_port


def unique(prefix: str) -> str:
    """A name no other test on the shared session server uses."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


# -- reading results from the real server ------------------------------------------------------


class Account:
    """A user of a real server, and the GETs (docs/server-api.md) assertions read results with."""

    def __init__(self, url: str, name: str, key: str) -> None:
        self.url = url
        self.name = name
        self.key = key

    def with_key(self, key: str) -> Account:
        """The same entity read with another key (an admin's: not counted against this user's quota)."""
        return Account(self.url, self.name, key)

    def get_raw(self, path: str) -> bytes:
        req = urllib.request.Request(f"{self.url}/api/v1{path}")
        req.add_header("Authorization", f"Bearer {self.key}")
        with urllib.request.urlopen(req, timeout=30) as resp:
            data: bytes = resp.read()
            return data

    def get(self, path: str) -> Any:
        return json.loads(self.get_raw(path))

    def _path(self, run_id: str, project: str, entity: str | None) -> str:
        return f"/runs/{entity or self.name}/{project}/{run_id}"

    def run(self, run_id: str, project: str = "p", entity: str | None = None) -> dict[str, Any]:
        """The run object (``RunInfo``)."""
        info: dict[str, Any] = self.get(self._path(run_id, project, entity))
        return info

    def has_run(self, run_id: str, project: str = "p", entity: str | None = None) -> bool:
        try:
            self.run(run_id, project, entity)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise
        return True

    def history(self, run_id: str, project: str = "p", entity: str | None = None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = "?page_size=5000" + (f"&cursor={cursor}" if cursor else "")
            page = self.get(self._path(run_id, project, entity) + "/history" + query)
            rows += page["rows"]
            cursor = page["next_cursor"]
            if cursor is None:
                return rows

    def steps(self, run_id: str, project: str = "p", entity: str | None = None) -> list[int]:
        """The ``_step`` of every history row the server holds, in order (duplicates would show)."""
        return [row["_step"] for row in self.history(run_id, project, entity)]

    def files(self, run_id: str, project: str = "p", entity: str | None = None) -> set[str]:
        return {f["path"] for f in self.get(self._path(run_id, project, entity) + "/files")["files"]}

    def file(self, run_id: str, name: str, project: str = "p", entity: str | None = None) -> bytes:
        return self.get_raw(self._path(run_id, project, entity) + "/files/" + quote(name))

    def records_held(self, run_id: str, project: str = "p", entity: str | None = None) -> dict[str, int]:
        """Per stream, how many records the server holds (its last seq + 1)."""
        streams = self.run(run_id, project, entity)["streams"]
        return {stream: last + 1 for stream, last in streams.items()}


# -- a server a test can stop, restart and restore ---------------------------------------------


class LocalServer:
    """server-lite in this process on a fixed 127.0.0.1 port over one data directory.

    ``trackwell_server.testing.start_server`` picks a new port each start; this one
    keeps its port, so ``stop()`` then ``start()`` is a real restart at the URL the SDK
    already knows (nothing listens meanwhile: connections are refused), and
    ``snapshot()``/``restore()`` put an older copy of the data directory back, as a
    restore from a backup would. The app and storage are server-lite's own.
    """

    def __init__(self, data_dir: Path, **opts: Any) -> None:
        self.data_dir = data_dir
        self.opts = opts
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop: Callable[[], None] | None = None
        self.start()
        self.admin_key = (data_dir / "admin-key").read_text().strip()

    @property
    def running(self) -> bool:
        return self._stop is not None

    def start(self) -> None:
        import uvicorn

        from trackwell_server.app import create_app, open_server
        from trackwell_server.cli import KEEP_ALIVE_S
        from trackwell_server.config import ServerConfig
        from trackwell_server.testing import START_TIMEOUT, wait_healthy

        assert not self.running
        config = ServerConfig(data_dir=self.data_dir, public_url=self.url, **self.opts)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # rebind at once after a stop
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", self.port))
        srv, _ = open_server(config)
        server = uvicorn.Server(
            uvicorn.Config(create_app(config, srv), log_level="warning", lifespan="on",
                           access_log=False, timeout_keep_alive=KEEP_ALIVE_S)
        )  # fmt: skip
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()

        def stop() -> None:
            server.should_exit = True
            thread.join(timeout=30)
            sock.close()
            assert not thread.is_alive(), "the server did not stop"

        self._stop = stop
        wait_healthy(self.url, time.monotonic() + START_TIMEOUT)

    def stop(self) -> None:
        """Stop serving (the app's shutdown closes the database); a no-op when stopped."""
        if self._stop is not None:
            self._stop()
            self._stop = None

    def snapshot(self, dest: Path) -> None:
        """Copy the data directory (database with its WAL, blobs) while stopped."""
        assert not self.running, "snapshot a stopped server"
        shutil.copytree(self.data_dir, dest)

    def restore(self, snapshot: Path) -> None:
        """Put ``snapshot`` back as the data directory while stopped."""
        assert not self.running, "restore into a stopped server"
        shutil.rmtree(self.data_dir)
        shutil.copytree(snapshot, self.data_dir)

    def account(self, name: str) -> Account:
        """A new user of this server."""
        from trackwell_server.testing import ServerHandle

        return Account(self.url, name, ServerHandle(self.url, self.admin_key, None).create_user(name))


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def user(trackwell_dir: Path, trackwell_server: Any) -> Account:
    """A user of this test's own on the session's real server; nothing set in the environment."""
    name = unique("u")
    return Account(trackwell_server.url, name, trackwell_server.create_user(name))


@pytest.fixture
def online(trackwell_online_dir: Path, user: Account, monkeypatch: pytest.MonkeyPatch) -> Account:
    """``trackwell_online_dir`` (the session's real server) as ``user``, a user of this test's own."""
    monkeypatch.setenv("TRACKWELL_API_KEY", user.key)
    return user


@pytest.fixture
def fault_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], FaultProxy]]:
    """``fault_proxy(upstream_url)``: a ``FaultProxy`` the SDK's base URL then points at; stopped at teardown."""
    started: list[FaultProxy] = []

    def start(upstream: str) -> FaultProxy:
        started.append(FaultProxy(upstream))
        monkeypatch.setenv("TRACKWELL_BASE_URL", started[-1].url)
        return started[-1]

    yield start
    for one in started:
        one.stop()


@pytest.fixture
def proxy(online: Account, fault_proxy: Callable[[str], FaultProxy]) -> FaultProxy:
    """A ``FaultProxy`` in front of the session server (``online``'s user); the SDK goes through it."""
    return fault_proxy(online.url)


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[Callable[..., LocalServer]]:
    """Start a ``LocalServer`` of this test's own (``**opts``: ``ServerConfig`` fields); stopped at teardown."""
    pytest.importorskip(
        "trackwell_server.testing", reason="the trackwell server (server-lite) is not installed"
    )
    started: list[LocalServer] = []

    def start(**opts: Any) -> LocalServer:
        server = LocalServer(tmp_path / f"server-data-{len(started)}", **opts)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def own_online(
    trackwell_dir: Path, local_server: Callable[..., LocalServer], monkeypatch: pytest.MonkeyPatch
) -> tuple[LocalServer, Account]:
    """``trackwell_dir`` pointed at a ``LocalServer`` of this test's own, as a user of it."""
    server = local_server()
    account = server.account("tester")
    monkeypatch.setenv("TRACKWELL_BASE_URL", server.url)
    monkeypatch.setenv("TRACKWELL_API_KEY", account.key)
    return server, account
