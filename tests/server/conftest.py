"""Fixtures for server tests: real servers on 127.0.0.1, on SQLite and on PostgreSQL.

PostgreSQL tests use a fresh schema per session (dropped at the end) on the local
server (127.0.0.1:5432, trust auth, database ``test``); they skip, saying why, when
no PostgreSQL answers. S3 is a real moto server on a free loopback port.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgpack
import pytest

from trackwell.testing import free_port as free_port  # re-exported: the tests import it from here
from trackwell_server.testing import ServerHandle, moto_s3, postgres_unreachable, start_server

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


class Client:
    """An httpx client for one API key, with shortcuts for the calls tests repeat."""

    def __init__(self, server: ServerHandle, key: str | None) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(base_url=server.api_url, headers=headers, timeout=60)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.put(path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(path, **kw)

    def patch(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.patch(path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.delete(path, **kw)

    def ingest(self, run_path: str, stream: str, first_seq: int, records: list[Any]) -> httpx.Response:
        body = msgpack.packb({"stream": stream, "first_seq": first_seq, "records": records})
        return self.http.post(f"/runs/{run_path}/ingest", content=body,
                              headers={"Content-Type": "application/x-msgpack"})  # fmt: skip

    def log_rows(
        self, run_path: str, rows: list[dict[str, Any]], stream: str = "s", first_seq: int = 0
    ) -> int:
        records = [["history", first_seq + i, row] for i, row in enumerate(rows)]
        resp = self.ingest(run_path, stream, first_seq, records)
        assert resp.status_code == 200, resp.text
        last: int = resp.json()["last_seq"]
        return last


def unique(prefix: str = "p") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the session."""
    why = postgres_unreachable(PG_ADMIN_URL)
    if why is not None:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({why})")
    import psycopg

    schema = f"tw_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str | None:
    """The database URL of each backend: None for SQLite (the default)."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(scope="session")
def server(backend: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    """One server per backend for the whole session; tests keep apart by unique project names."""
    with start_server(tmp_path_factory.mktemp("server"), db_url=backend) as handle:
        yield handle


@pytest.fixture(scope="session")
def admin(server: ServerHandle) -> Client:
    return Client(server, server.admin_key)


@pytest.fixture(scope="session")
def users(server: ServerHandle) -> dict[str, Client]:
    """Two ordinary users, alice and bob (named per backend session so names never collide)."""
    return {name: Client(server, server.create_user(name)) for name in ("alice", "bob")}


@pytest.fixture
def run_path(admin: Client) -> str:
    """A fresh run of the admin (entity ``local``), created with an upsert."""
    path = f"local/{unique()}/r1"
    resp = admin.put(f"/runs/{path}", json={"name": "test run", "config": {"lr": 0.1}})
    assert resp.status_code == 201, resp.text
    return path


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 API (moto's server) on a free loopback port, with dummy credentials."""
    with moto_s3() as url:
        yield url


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
