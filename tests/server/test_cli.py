"""``trackwell server``: the plugin command, its start banner, first-start key offer, refusals."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner

from trackwell.cli import server_hint
from trackwell.settings import read_settings_file
from trackwell_server.cli import server_command
from trackwell_server.db.engine import make_engine, migrate
from trackwell_server.db.schema import metadata
from trackwell_server.testing import START_TIMEOUT, start_server_process, wait_healthy

from .conftest import free_port

TRACKWELL = str(Path(sys.executable).with_name("trackwell"))


def test_server_command_comes_from_the_plugin() -> None:
    out = subprocess.run(
        [TRACKWELL, "server", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    for option in (
        "--host",
        "--port",
        "--data",
        "--db",
        "--blob-store",
        "--no-auth",
        "--workers",
        "--heartbeat-timeout",
    ):
        assert option in out.stdout


def test_hint_without_the_package() -> None:
    group = click.Group()
    server_hint.register(group)
    for args in (["server", "--port", "1"], ["ui", "."], ["demo"]):
        result = CliRunner().invoke(group, args)
        assert result.exit_code == 1
        assert "pip install -e server-lite" in result.output, result.output
        assert f"`trackwell {args[0]}`" in result.output


def test_no_auth_needs_a_loopback_address(tmp_path: Path) -> None:
    result = CliRunner().invoke(server_command, ["--no-auth", "--host", "0.0.0.0", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "loopback" in result.output


def test_first_start_offers_the_key_to_the_sdk(tmp_path: Path) -> None:
    config_dir, data, port = tmp_path / "config", tmp_path / "data", free_port()
    env = {**os.environ, "TRACKWELL_CONFIG_DIR": str(config_dir)}
    log = tmp_path / "out.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([TRACKWELL, "server", "--port", str(port), "--data", str(data)], env=env,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_healthy(f"http://127.0.0.1:{port}", time.monotonic() + START_TIMEOUT, proc)
        settings = config_dir / "settings"
        saved = read_settings_file(settings)
        key = (data / "admin-key").read_text().strip()
        assert saved == {"base_url": f"http://127.0.0.1:{port}", "api_key": key, "entity": "local"}
        assert stat.S_IMODE(settings.stat().st_mode) == 0o600
        viewer = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/viewer", headers={"Authorization": f"Bearer {key}"}
        )
        assert viewer.json()["user"] == "local"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text()
    assert f"http://127.0.0.1:{port}" in text and str(settings) in text
    assert "trackwell login" not in text  # it saved the key itself: nothing asks the user to log in
    # a second server start finds a key there already: it only says how to log in
    port2 = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen([TRACKWELL, "server", "--port", str(port2), "--data", str(tmp_path / "data2")],
                                env=env, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_healthy(f"http://127.0.0.1:{port2}", time.monotonic() + START_TIMEOUT, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert read_settings_file(settings)["api_key"] == key
    assert f"trackwell login --host http://127.0.0.1:{port2}" in log.read_text()


def test_migrations_match_the_schema(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine, tmp_path)
    migrate(engine, tmp_path)  # a second start is a no-op
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


def test_several_workers_serve_one_database(tmp_path: Path) -> None:
    handle, _proc = start_server_process(tmp_path / "data", extra_args=["--workers", "2"])
    try:
        headers = {"Authorization": f"Bearer {handle.admin_key}"}
        with httpx.Client(base_url=handle.api_url, headers=headers, timeout=30) as client:
            assert client.put("/runs/local/p/r", json={}).status_code == 201
            for i in range(6):  # new connections: the workers take turns
                with httpx.Client(base_url=handle.api_url, headers=headers, timeout=30) as fresh:
                    body = {
                        "stream": "s",
                        "first_seq": i,
                        "records": [["history", i, {"_step": i, "x": float(i)}]],
                    }
                    assert fresh.post("/runs/local/p/r/ingest", json=body).json() == {"last_seq": i}
            assert client.get("/runs/local/p/r/history/columns").json()["x"] == [float(i) for i in range(6)]
    finally:
        handle.stop()
