"""The fault suite's shared fixtures: real SDK processes, real server processes, SQLite and PostgreSQL.

Every test in ``tests/faults/`` exercises what a hostile world does to a run, so
nothing in it is simulated:

- the SDK runs in a child process (``Client.spawn``), so a kill -9 is a real
  SIGKILL that leaves whatever the writer put on disk, and nothing else;
- the server is ``python -m trackwell_server`` in a process of its own
  (``ServerProcess``), so it too can be killed with SIGKILL, kept down (connections
  are refused, as with a crashed host) and started again on the same port over the
  same data directory and database, which is what an operator's restart does;
- every test that involves the server runs twice, on SQLite and on PostgreSQL
  (``backend``); the PostgreSQL variant gets a fresh schema per server on the local
  cluster (127.0.0.1:5432, trust auth, database ``test``) and is skipped, saying why,
  when no PostgreSQL answers;
- results are read back the way a user reads them: the server's rows through the
  Public API (``trackwell.Api``), the local log through ``trackwell._pipeline.runlog.read_log``.

Waits poll with deadlines (``trackwell.testing.wait_until``); nothing sleeps a fixed time to wait for
a thread. Tests here must stay quick (each well under ~15 s): the long, random
version is ``benchmarks/soak.py``, run by hand.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from trackwell._pipeline.runlog import Kind, Record, read_log
from trackwell.testing import free_port as free_port  # re-exported: the tests import the helpers from here
from trackwell.testing import wait_until as wait_until

pytest.importorskip("trackwell_server.testing", reason="the trackwell server (server-lite) is not installed")

from trackwell_server.testing import (
    ServerHandle,
    kill_tree,
    postgres_unreachable,
    rss_mb,
    start_server_process,
)

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
#: Longest any one child (a script, a sync) may take: generous, CI machines are small and shared.
TIMEOUT = 120.0


def unique(prefix: str) -> str:
    """A name no other test uses (users, projects): servers of one module may be shared."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


# -- databases -----------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """``"sqlite"`` or ``"postgresql"``: every server-side fault must hold on both.

    Module-scoped so a module may share one server per backend; the PostgreSQL run
    is skipped (with the reason) when no PostgreSQL answers on 127.0.0.1:5432.
    """
    if request.param == "postgresql":
        why = postgres_unreachable(PG_ADMIN_URL)
        if why is not None:
            pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({why})")
    name: str = request.param
    return name


class Databases:
    """Fresh databases for servers: SQLite lives in the data directory (None), PostgreSQL in a new
    schema per server, so a restarted server finds exactly its own data and nobody else's."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self._schemas: list[str] = []

    def new(self) -> str | None:
        if self.backend == "sqlite":
            return None
        import psycopg

        schema = f"tw_faults_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        self._schemas.append(schema)
        return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"

    def drop_all(self) -> None:
        if not self._schemas:
            return
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            for schema in self._schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self._schemas.clear()


# -- servers -------------------------------------------------------------------------------------


class ServerProcess:
    """``python -m trackwell_server`` in a process of its own, on one port and data directory for life.

    ``kill()`` is a real SIGKILL (of the workers too, with ``workers > 1``: an orphaned
    worker would keep answering on the port); ``start()`` after it (or after
    ``stop()``) is an operator's restart: same port, same data directory, same
    database, so the SDK's URL stays valid and meanwhile connections are refused.
    """

    def __init__(self, data_dir: Path, db_url: str | None, workers: int = 1,
                 extra_args: list[str] | None = None) -> None:  # fmt: skip
        self.data_dir = data_dir
        self.db_url = db_url
        self.workers = workers
        self.extra_args = extra_args or []  # more `trackwell server` options, kept for every restart
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.handle: ServerHandle | None = None
        self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def admin_key(self) -> str | None:
        return self.handle.admin_key if self.handle else None

    def start(self) -> None:
        """Start serving (first start, or restart after ``kill``/``stop``); returns once /health answers."""
        assert not self.running, "the server is already running"
        extra = (["--workers", str(self.workers)] if self.workers > 1 else []) + self.extra_args
        self.handle, self.proc = start_server_process(self.data_dir, db_url=self.db_url, port=self.port,
                                                      extra_args=extra)  # fmt: skip

    def kill(self) -> None:
        """kill -9 the server and its workers, as a crash or the OOM killer would; wait until gone."""
        if self.proc is not None:
            kill_tree(self.proc)

    def rss_mb(self) -> float:
        """Resident memory of the server and its workers, in MB (0 when it is not running)."""
        return rss_mb(self.proc) if self.proc is not None else 0.0

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), as ``systemctl stop`` does."""
        if self.handle is not None and self.running:
            self.handle.stop()

    def create_user(self, name: str) -> str:
        """A new user of this server; returns its API key."""
        assert self.handle is not None
        return self.handle.create_user(name)


@pytest.fixture
def start_server(backend: str, tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """``start_server(workers=1, extra_args=None)``: a fresh ``ServerProcess`` on ``backend``, killed
    at teardown (``extra_args``: more ``trackwell server`` options, e.g. ``["--rate-limit", "5"]``).

    Per test, because fault tests kill and restart it; each gets its own data
    directory and (on PostgreSQL) its own schema.
    """
    databases = Databases(backend)
    started: list[ServerProcess] = []

    def start(workers: int = 1, extra_args: list[str] | None = None) -> ServerProcess:
        server = ServerProcess(tmp_path / f"server-{len(started)}", databases.new(), workers, extra_args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()
    databases.drop_all()


@pytest.fixture
def server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    """A fresh server process of this test's own (it may kill and restart it)."""
    return start_server()


@pytest.fixture(scope="module")
def shared_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server process per module and backend, for tests that never kill it (users keep apart)."""
    databases = Databases(backend)
    server = ServerProcess(tmp_path_factory.mktemp("shared-server"), databases.new())
    yield server
    server.kill()
    databases.drop_all()


# -- SDK clients in child processes --------------------------------------------------------------


class Client:
    """A user of a server and a directory of their own, where SDK scripts run as child processes.

    The children's environment holds nothing of the test process's ``TRACKWELL_*``
    settings: only the server's URL, this user's API key and an isolated config
    directory, so a run cannot reach another server or pick up a developer's login.
    """

    def __init__(self, server: ServerProcess, cwd: Path, entity: str | None = None) -> None:
        self.server = server
        self.cwd = cwd
        cwd.mkdir(parents=True, exist_ok=True)
        self.entity = entity or unique("u")
        self.key = server.create_user(self.entity)

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of this client's children; ``extra`` adds ``TRACKWELL_*`` settings and such."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKWELL_", "WANDB_"))}
        env.update(
            TRACKWELL_DIR=str(self.cwd), TRACKWELL_BASE_URL=self.server.url, TRACKWELL_API_KEY=self.key,
            TRACKWELL_SILENT="true", TRACKWELL_X_DISABLE_STATS="true",
            TRACKWELL_CONFIG_DIR=str(self.cwd / ".config"), PYTHONUNBUFFERED="1",
        )  # fmt: skip
        env.update(extra)
        return env

    def spawn(self, source: str, *args: str, name: str = "script.py", **env: str) -> subprocess.Popen[str]:
        """Start ``source`` (dedented) as a Python script in this client's directory; stdout/stderr piped."""
        script = self.cwd / name
        script.write_text(textwrap.dedent(source), encoding="utf-8")
        return subprocess.Popen(
            [sys.executable, str(script), *args], cwd=self.cwd, env=self.env(**env),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def run(self, source: str, *args: str, **env: str) -> str:
        """Run a script to its end; return its stdout, failing with its stderr if it exited non-zero."""
        return finish(self.spawn(source, *args, **env))

    def sync(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``trackwell sync ARGS`` in this client's directory (a real CLI process)."""
        return subprocess.run(
            [sys.executable, "-m", "trackwell", "sync", *args], cwd=self.cwd, env=self.env(),
            capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip

    def the_log(self) -> Path:
        """The run log of this client's one run (online runs live in trackwell/run-*)."""
        (log,) = (self.cwd / "trackwell").glob("*run-*/run-*.twlog")
        return log

    def run_path(self, project: str, run_id: str) -> str:
        return f"{self.entity}/{project}/{run_id}"

    def server_run(self, project: str, run_id: str) -> dict[str, Any]:
        """The run object as the server holds it (state, last_step, streams): one plain GET."""
        req = urllib.request.Request(f"{self.server.url}/api/v1/runs/{self.run_path(project, run_id)}")
        req.add_header("Authorization", f"Bearer {self.key}")
        with urllib.request.urlopen(req, timeout=30) as resp:
            info: dict[str, Any] = json.loads(resp.read())
            return info

    def server_rows(self, project: str, run_id: str) -> list[dict[str, Any]]:
        """Every history row the server holds for the run, in step order, through the Public API."""
        import trackwell

        api = trackwell.Api(overrides={"base_url": self.server.url}, api_key=self.key, timeout=60)
        return list(api.run(self.run_path(project, run_id)).scan_history(page_size=5000))


@pytest.fixture
def client(server: ServerProcess, tmp_path: Path) -> Client:
    """A user of this test's own ``server``, with a directory of its own for scripts and run logs."""
    return Client(server, tmp_path / "client")


def finish(proc: subprocess.Popen[str]) -> str:
    """Wait for a child; return its stdout, failing with its stderr unless it exited 0."""
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{err}"
    return out


def kill_9(proc: subprocess.Popen[str]) -> None:
    """SIGKILL a child and reap it (its pipes closed), asserting the kill is what ended it."""
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGKILL, f"the child had already exited ({proc.returncode})"


def log_records(log: Path) -> tuple[list[Record], int]:
    """The records a run log holds and how many torn bytes its tail had (read as sync reads it)."""
    result = read_log(log)
    return result.records, result.torn_bytes


def history_rows(records: list[Record]) -> list[dict[str, Any]]:
    return [r.body for r in records if r.kind == Kind.HISTORY]
