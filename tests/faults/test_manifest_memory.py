"""An artifact version with a huge manifest is read, checked and stored as it streams in: the
server's memory (RSS, peak and after) grows by a bounded amount, not by the manifest's object
graph, and the stored manifest is the canonical one, entries in path order."""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.error
import urllib.request
from typing import Any

from .conftest import ServerProcess, unique

ENTRIES = 200_000
BLOBS = 20
#: what the server may keep or peak at for the version above its RSS before it (MB). The
#: whole-document parse it replaces grew by ~110 MB per 200,000 entries, and kept it.
PEAK_MB = 60.0
KEPT_MB = 40.0


def call(server: ServerProcess, key: str, method: str, path: str, data: bytes | None,
         ctype: str = "application/json") -> Any:  # fmt: skip
    req = urllib.request.Request(f"{server.url}/api/v1{path}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {key}")
    req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=300) as resp:
        return json.loads(resp.read() or b"null")


class PeakRss:
    """Polls the server's RSS on a thread until stopped; ``peak`` is the highest seen (MB)."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.peak = server.rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.server.rss_mb())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def test_a_200k_entry_manifest_keeps_the_servers_memory_flat(server: ServerProcess) -> None:
    entity = unique("u")
    key = server.create_user(entity)
    blobs = [f"blob {i}".encode() for i in range(BLOBS)]
    digests = [hashlib.sha256(b).hexdigest() for b in blobs]
    for data, digest in zip(blobs, digests, strict=True):
        call(server, key, "PUT", f"/artifacts/{entity}/p/blobs/{digest}", data, "application/octet-stream")
    # half the entries name uploaded blobs, half are references; sent in no particular order
    entries = {}
    for i in reversed(range(ENTRIES)):
        if i % 2:
            entries[f"data/{i:07d}.bin"] = {"digest": digests[i % BLOBS], "size": len(blobs[i % BLOBS]),
                                            "ref": None, "etag": None, "extra": None}  # fmt: skip
        else:
            entries[f"refs/{i:07d}"] = {"digest": None, "size": 10, "ref": f"s3://bucket/key/{i}",
                                        "etag": f"e{i}", "extra": {"n": i}}  # fmt: skip
    small = json.dumps({"name": "warm", "type": "dataset", "digest": "d0",
                        "manifest": {"version": 1, "entries": {"a": entries["data/0000001.bin"]}}}).encode()  # fmt: skip
    call(server, key, "POST", f"/artifacts/{entity}/p", small)  # the route's own first-use costs
    body = json.dumps({"name": "big", "type": "dataset", "digest": "d1",
                       "manifest": {"version": 1, "entries": entries}}).encode()  # fmt: skip
    before = server.rss_mb()
    watch = PeakRss(server)
    try:
        info = call(server, key, "POST", f"/artifacts/{entity}/p", body)
    finally:
        watch.stop()
    after = server.rss_mb()
    assert info["file_count"] == ENTRIES
    assert info["size"] == sum(e["size"] for e in entries.values())
    assert watch.peak - before < PEAK_MB, f"RSS {before:.0f} -> peak {watch.peak:.0f} MB"
    assert after - before < KEPT_MB, f"RSS {before:.0f} -> {after:.0f} MB after the request"
    # stored canonical: what json.dumps(sort_keys=True) makes of the same manifest
    req = urllib.request.Request(f"{server.url}/api/v1/artifacts/{entity}/p/big/v0/manifest")
    req.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(req, timeout=300) as resp:
        stored = resp.read()
    canonical = json.dumps({"version": 1, "entries": entries}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False).encode()  # fmt: skip
    assert stored == canonical


def test_a_bad_entry_deep_in_a_streamed_manifest_is_a_422_naming_it(server: ServerProcess) -> None:
    entity = unique("u")
    key = server.create_user(entity)
    entries: dict[str, Any] = {f"refs/{i}": {"ref": f"s3://b/{i}", "size": 1} for i in range(10_000)}
    entries["refs/9000"] = {"ref": "s3://b/x", "size": -5}
    body = json.dumps({"name": "bad", "type": "dataset", "digest": "d",
                       "manifest": {"version": 1, "entries": entries}}).encode()  # fmt: skip
    try:
        call(server, key, "POST", f"/artifacts/{entity}/p", body)
    except urllib.error.HTTPError as exc:
        assert exc.code == 422
        assert "refs/9000" in exc.read().decode()
    else:
        raise AssertionError("a negative size was accepted")
    for broken in (b'{"name": "x", "type": "t", "digest": "d", "manifest": {"entries": {"a": ',
                   b'{"name": "x", "manifest": []}', b"[]", b""):  # fmt: skip
        try:
            call(server, key, "POST", f"/artifacts/{entity}/p", broken)
        except urllib.error.HTTPError as exc:
            assert exc.code == 422, broken
        else:
            raise AssertionError(f"{broken!r} was accepted")
