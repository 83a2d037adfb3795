"""Finishing a multi-part run file hashes and joins its parts with no transaction open: while the
finish reads its parts (held there, mid-hash), another run's ingest goes through, on SQLite (one
write lock for the whole database) as on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Databases, unique

pytest.importorskip("trackwell_server.testing", reason="the trackwell server (server-lite) is not installed")

from trackwell_server.testing import ServerHandle, start_server

PART = 1024 * 1024
#: how long the held hash waits for the other run's ingest before it gives up (and the test fails)
WAIT = 30.0
#: an ingest slower than this while the hash is held was waiting for a lock
PROMPT = 10.0


class HeldReads:
    """The server's own blob store, with the reads of an upload's parts held until ``release`` is set.

    Hashing the parts of a run file (``digest_upload``) and joining them (``assemble``) are the
    finish's reads; the first sets ``reading``: the finish is hashing. Everything else goes
    to the real store unchanged.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.hold = False
        self.reading = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _hold(self) -> None:
        if self.hold:
            self.reading.set()
            self.release.wait(WAIT)

    def digest_upload(self, upload: str, parts: int) -> str:
        self._hold()
        digest: str = self._inner.digest_upload(upload, parts)
        return digest

    def assemble(self, upload: str, parts: int, digest: str) -> int:
        self._hold()
        size: int = self._inner.assemble(upload, parts, digest)
        return size


def call(server: ServerHandle, key: str, method: str, path: str, data: bytes, ctype: str,
         timeout: float = 60.0) -> Any:  # fmt: skip
    req = urllib.request.Request(f"{server.url}/api/v1{path}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {key}")
    req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


@pytest.fixture
def server(backend: str, tmp_path: Path) -> Iterator[ServerHandle]:
    """An in-process server (so the test can hold its blob reads) on ``backend``."""
    databases = Databases(backend)
    handle = start_server(tmp_path / "data", db_url=databases.new())
    yield handle
    handle.stop()
    databases.drop_all()


def test_another_runs_ingest_goes_through_while_a_finish_hashes(server: ServerHandle) -> None:
    assert server.server is not None
    blobs = server.server.blobs = HeldReads(server.server.blobs)
    entity = unique("u")
    key = server.create_user(entity)
    for run in ("big", "other"):
        call(server, key, "PUT", f"/runs/{entity}/p/{run}", json.dumps({"name": run}).encode(), "application/json")
    parts = [bytes([i]) * PART for i in range(3)]
    target = f"/runs/{entity}/p/big/files/model.bin"
    for i, data in enumerate(parts[:-1]):
        call(server, key, "PUT", f"{target}?part={i}&parts=3", data, "application/octet-stream")
    blobs.hold = True
    finished: list[Any] = []
    finish = threading.Thread(target=lambda: finished.append(
        call(server, key, "PUT", f"{target}?part=2&parts=3", parts[2], "application/octet-stream")))  # fmt: skip
    finish.start()
    try:
        assert blobs.reading.wait(WAIT), "the last part never started the finish's hash"
        stream = unique("s")
        batch = {"stream": stream, "first_seq": 0, "records": [
            ["run", 0, {"id": "other", "project": "p", "stream": stream}],
            ["history", 1, {"_step": 0, "loss": 0.5}],
        ]}  # fmt: skip
        # the finish is mid-hash, its parts' reads held: a write lock held now would hold this too
        answer = call(server, key, "POST", f"/runs/{entity}/p/other/ingest", json.dumps(batch).encode(),
                      "application/json", timeout=PROMPT)  # fmt: skip
        assert answer["last_seq"] == 1
        assert not finished, "the finish was expected to be still hashing"
    finally:
        blobs.release.set()
        finish.join(WAIT)
    whole = b"".join(parts)
    assert finished == [{"path": "model.bin", "size": len(whole), "sha256": hashlib.sha256(whole).hexdigest()}]
    req = urllib.request.Request(f"{server.url}/api/v1{target}", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.read() == whole
