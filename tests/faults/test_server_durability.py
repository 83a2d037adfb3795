"""What the server keeps on disk: private to its owner (folders 0700, files 0600, an older,
looser data directory tightened at start) and, on SQLite, on disk before it is acknowledged
(``synchronous=FULL`` unless the operator opts out)."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from .conftest import ServerProcess, unique

pytest.importorskip("trackwell_server.app", reason="the trackwell server (server-lite) is not installed")

from trackwell_server.app import config_to_env, open_server
from trackwell_server.cli import server_command
from trackwell_server.config import ServerConfig

#: what a server's data directory holds that must be its owner's only
PRIVATE_FILES = ("trackwell.db", "trackwell.db-wal", "trackwell.db-shm", "admin-key", "session-secret",
                 "migrate.lock")  # fmt: skip


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common 022 umask, under which a plain mkdir/open gives 0755/0644: what the server must not rely on."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def put_file(server: ServerProcess, key: str, entity: str) -> None:
    """A run with one uploaded file: a blob in the store."""
    base = f"{server.url}/api/v1/runs/{entity}/p/r1"
    for url, data, ctype in ((base, json.dumps({"name": "r1"}).encode(), "application/json"),
                             (f"{base}/files/notes.txt", b"private notes", "application/octet-stream")):  # fmt: skip
        req = urllib.request.Request(url, data=data, method="PUT")
        req.add_header("Authorization", f"Bearer {key}")
        req.add_header("Content-Type", ctype)
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status in (200, 201)


def test_the_data_directory_and_its_files_are_the_owners_only(tmp_path: Path, loose_umask: None) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data, None)  # a real `python -m trackwell_server`, SQLite in data/
    try:
        entity = unique("u")
        put_file(server, server.create_user(entity), entity)
        assert mode(data) == 0o700
        for name in PRIVATE_FILES:
            assert mode(data / name) == 0o600, name
        blobs = [p for p in (data / "blobs").rglob("*") if p.is_file()]
        assert blobs
        for path in blobs:
            assert mode(path) == 0o600, path
            for folder in path.relative_to(data).parents:
                assert mode(data / folder) == 0o700, folder
    finally:
        server.kill()


def test_an_older_looser_data_directory_is_tightened_at_start(tmp_path: Path, loose_umask: None) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data, None)
    server.stop()
    os.chmod(data, 0o755)  # as versions before this one left it
    for name in PRIVATE_FILES:
        if (data / name).exists():
            os.chmod(data / name, 0o644)
    server.start()
    try:
        assert mode(data) == 0o700
        for name in PRIVATE_FILES:
            if (data / name).exists():
                assert mode(data / name) == 0o600, name
    finally:
        server.kill()


def synchronous_of(config: ServerConfig) -> int:
    """The ``PRAGMA synchronous`` of the connections a server opened with ``config`` uses."""
    srv, _ = open_server(config)
    try:
        with srv.engine.connect() as conn:
            value: int = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
            return value
    finally:
        srv.engine.dispose()


def test_sqlite_acknowledges_only_what_is_on_disk_unless_told_otherwise(tmp_path: Path) -> None:
    full, normal = 2, 1  # SQLite's numbers for FULL and NORMAL
    assert synchronous_of(ServerConfig(data_dir=tmp_path / "a")) == full
    opted_out = ServerConfig(data_dir=tmp_path / "b", sqlite_synchronous="normal")
    assert synchronous_of(opted_out) == normal
    # workers get the setting through the environment, as `--workers N` hands it over
    assert json.loads(config_to_env(opted_out))["sqlite_synchronous"] == "normal"
    # journal mode stays WAL: FULL then costs one fsync of the WAL per commit, not per page
    with sqlite3.connect(tmp_path / "a" / "trackwell.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_opt_out_flag_is_a_choice_of_two(tmp_path: Path) -> None:
    result = CliRunner().invoke(server_command, ["--sqlite-synchronous", "off", "--data", str(tmp_path)])
    assert result.exit_code == 2 and "full" in result.output and "normal" in result.output
    help_text = CliRunner().invoke(server_command, ["--help"]).output
    assert "--sqlite-synchronous" in help_text and "power loss" in help_text
