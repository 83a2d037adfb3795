"""The server's own plugin manager: a real plugin adds a blob store, an auth back end and an action.

The plugin below is registered the way a test or an application registers one
(``load_plugins(extra=...)``), and once more as an installed distribution (a
``*.dist-info`` with an entry point in the ``trackwell_server`` group, found by a
real ``trackwell-server --list-plugins`` process).
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from starlette.requests import Request

from trackwell_server import hookspecs
from trackwell_server.app import create_app, open_server
from trackwell_server.auth import Authenticator
from trackwell_server.config import ServerConfig
from trackwell_server.dashboard.session import Sessions
from trackwell_server.errors import ApiError
from trackwell_server.plugin_manager import (
    DuplicateRegistration,
    UnknownName,
    blob_scheme,
    hookimpl,
    load_plugins,
)
from trackwell_server.storage.blobs import BlobStore, LocalBlobStore


class HeaderAuth(Authenticator):
    """Trusts an ``X-Test-User`` header, as a back end behind an authenticating proxy would."""

    def identify(self, request: Request) -> tuple[str, bool]:
        user = request.headers.get("x-test-user")
        if not user:
            raise ApiError(401, "no X-Test-User header")
        return user, user == "boss"


class BoxPlugin:
    """A plugin object: ``testbox://NAME`` blobs in ``<data_dir>/boxes/NAME``, header auth, one action."""

    def __init__(self) -> None:
        self.events: list[Mapping[str, Any]] = []

    @staticmethod
    def box(spec: str, data_dir: Path, endpoint_url: str | None) -> BlobStore:
        return LocalBlobStore(data_dir / "boxes" / spec.split("://", 1)[1])

    @staticmethod
    def header_auth(engine: Engine, config: ServerConfig, sessions: Sessions | None) -> Authenticator:
        return HeaderAuth(engine, config.auth, sessions)

    @hookimpl
    def register_blob_stores(self, register: Callable[[str, Any], None]) -> None:
        register("testbox", self.box)

    @hookimpl
    def register_auth_backends(self, register: Callable[[str, Any], None]) -> None:
        register("header", self.header_auth)

    @hookimpl
    def register_automation_actions(self, register: Callable[[str, Any], None]) -> None:
        register("remember", self.events.append)


class ClaimsS3:
    @hookimpl
    def register_blob_stores(self, register: Callable[[str, Any], None]) -> None:
        register("s3", BoxPlugin.box)


def test_the_built_in_stores_and_auth_are_default_plugins() -> None:
    plugins = load_plugins(load_entry_points=False)
    assert plugins.blob_stores.names() == ["file", "s3"]
    assert plugins.blob_stores.provider("s3") == "blob_stores"
    assert plugins.auth_backends.provider("api_keys") == "auth"
    assert plugins.automation_actions.names() == []


def test_a_plugin_serves_blobs_auth_and_actions(tmp_path: Path) -> None:
    plugin = BoxPlugin()
    plugins = load_plugins(extra=[("testplug", plugin)], load_entry_points=False)
    config = ServerConfig(data_dir=tmp_path, blob_store="testbox://mine", auth_backend="header", freeze_gc=False)
    srv, _ = open_server(config, plugins)
    try:
        digest = srv.blobs.put(b"hello")
        assert (tmp_path / "boxes" / "mine" / digest[:2] / digest[2:4] / digest).read_bytes() == b"hello"
        with TestClient(create_app(config, srv)) as client:
            assert client.get("/api/v1/viewer").status_code == 401
            viewer = client.get("/api/v1/viewer", headers={"X-Test-User": "boss"}).json()
            assert (viewer["user"], viewer["admin"]) == ("boss", True)
    finally:
        srv.engine.dispose()
    plugins.automation_actions.get("remember")({"trigger": "test"})
    assert plugin.events == [{"trigger": "test"}]
    info = {p["name"]: p["registered"] for p in plugins.info()}
    assert info["testplug"] == ["blob store testbox", "auth back end header", "automation action remember"]


def test_a_name_registered_twice_names_both_plugins() -> None:
    with pytest.raises(DuplicateRegistration, match=r"'s3' is registered by two plugins: 'blob_stores' and 'greedy'"):
        load_plugins(extra=[("greedy", ClaimsS3())], load_entry_points=False)


def test_an_unknown_scheme_or_back_end_says_what_is_registered(tmp_path: Path) -> None:
    plugins = load_plugins(load_entry_points=False)
    with pytest.raises(UnknownName, match=r"no blob store named 'gs' \(registered: file, s3\)"):
        plugins.open_blob_store("gs://bucket/x", tmp_path)
    with pytest.raises(UnknownName, match="no auth back end named 'ldap'"):
        plugins.authenticator(None, ServerConfig(data_dir=tmp_path, auth_backend="ldap"), None)  # type: ignore[arg-type]


def test_blob_scheme() -> None:
    assert blob_scheme(None) == "file"
    assert blob_scheme("/srv/blobs") == "file"
    assert blob_scheme("relative/dir") == "file"
    assert blob_scheme("S3://bucket/p") == "s3"
    assert blob_scheme("file:///srv/blobs") == "file"


def test_an_installed_plugin_is_found_by_its_entry_point(tmp_path: Path) -> None:
    (tmp_path / "twtestplug.py").write_text(textwrap.dedent("""
        from trackwell_server.plugin_manager import hookimpl

        @hookimpl
        def register_automation_actions(register):
            register("notify", print)
    """))
    meta = tmp_path / "twtestplug-1.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: twtestplug\nVersion: 1.0\n")
    (meta / "entry_points.txt").write_text("[trackwell_server]\ntwtestplug = twtestplug\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-m", "trackwell_server", "--list-plugins"], env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout  # fmt: skip
    assert "twtestplug: automation action notify" in out.splitlines()
    assert "blob_stores: blob store file, blob store s3" in out.splitlines()


def test_every_hook_is_documented() -> None:
    """docs/server-plugins.md names every hook of trackwell_server.hookspecs (and no other)."""
    hooks = {name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("register_")}
    doc = (Path(__file__).resolve().parents[2] / "docs" / "server-plugins.md").read_text(encoding="utf-8")
    assert set(re.findall(r"^\| `(register_\w+)` \|", doc, re.MULTILINE)) == hooks
