"""A run's ``files/`` folder on the server: what changed since it was last sent, sent
in batches of small files (one request for many images) or in parts (big files).

Part of the ``Uploader``'s work (``uploader.py``), which decides when: periodically,
when the writer names new media files, and at the end.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import msgpack

from trackwell._pipeline.runlog import Record
from trackwell._pipeline.say import stderr
from trackwell._pipeline.transport import file_path
from trackwell.errors import CommError
from trackwell.records import Kind

if TYPE_CHECKING:
    from trackwell._pipeline.uploader import Uploader

#: Files above this go up in parts (``?part=N&parts=M``), each under the 25 MB limit.
FILE_PART_BYTES = 16 * 1024 * 1024
#: Files up to this size go up together, in one ``POST .../files`` per batch of at most
#: ``BATCH_FILES`` files and ``BATCH_BYTES`` bytes: for small media (an image a step)
#: the per-request cost, not the bytes, is what an upload spends.
BATCH_FILE_BYTES = 1024 * 1024
BATCH_FILES = 256
BATCH_BYTES = 16 * 1024 * 1024


class FileUploads:
    """The files of the run ``up`` uploads, and which of them the server has."""

    def __init__(self, up: Uploader) -> None:
        self.up = up
        self.dir = up.run_dir / "files"
        #: rel path -> [size, mtime_ns] as last uploaded (kept in ``sync.json``).
        self.sent: dict[str, list[int]] = {}
        self.batches = True  # the server takes file batches (an older one answers 405)
        self.uploaded = 0

    def changed(
        self, listed: list[str] | None = None, media: bool = True
    ) -> list[tuple[str, Path, list[int]]]:
        """Files under ``files/`` (or just the ``listed`` ones) not uploaded in their current state.

        ``media=False`` leaves out ``files/media/``: the writer names every media file in
        a FILES record (the uploader sends those as they pass), so the periodic round need not stat
        thousands of images again; the final round looks at everything.
        """
        out = []
        if listed is not None:
            paths = [self.dir / rel for rel in listed]
        elif not self.dir.is_dir():
            paths = []
        elif media:
            paths = sorted(self.dir.rglob("*"))
        else:
            paths = sorted(
                p
                for top in self.dir.iterdir()
                if top.name != "media"
                for p in ([top, *top.rglob("*")] if top.is_dir() else [top])
            )
        for path in paths:
            if path.name.endswith(".tmp") or not path.is_file():
                continue
            try:
                st = path.stat()
            except OSError:
                continue
            rel = path.relative_to(self.dir).as_posix()
            state = [st.st_size, st.st_mtime_ns]
            if self.sent.get(rel) != state:
                out.append((rel, path, state))
        return out

    def upload(self, listed: list[str] | None = None, media: bool = True) -> None:
        """Send what ``changed()`` finds; a file the server refuses for good is said and
        passed over, a retryable error propagates (the uploader backs off)."""
        changed = self.changed(listed, media)
        if self.batches:
            small = [c for c in changed if c[2][0] <= BATCH_FILE_BYTES]
            if len(small) > 1:
                self._upload_batches(small)
                changed = [c for c in changed if c[2][0] > BATCH_FILE_BYTES] if self.batches else changed
        for rel, path, state in changed:
            if self.sent.get(rel) == state:
                continue  # went up in a batch
            try:
                self._upload_file(rel, path)
            except CommError as exc:
                if exc.retryable:
                    raise
                stderr(f"trackwell: could not upload {rel} of run {self.up.run_id}: {exc.message}")
            except OSError:
                continue  # removed or unreadable since the scan: nothing to send
            self.sent[rel] = state
            self.uploaded += 1
            self.up._contact()

    def _upload_batches(self, small: list[tuple[str, Path, list[int]]]) -> None:
        """Small files, many per request (``POST .../files``); each is marked sent once
        its batch is acknowledged. A server without the route (405) turns batching off."""
        batch: list[tuple[str, bytes, list[int]]] = []
        size = 0
        for rel, path, state in small:
            try:
                data = path.read_bytes()
            except OSError:
                continue  # removed or unreadable since the scan: nothing to send
            if batch and (len(batch) >= BATCH_FILES or size + len(data) > BATCH_BYTES):
                if not self._send_batch_files(batch):
                    return
                batch, size = [], 0
            batch.append((rel, data, state))
            size += len(data)
        if batch:
            self._send_batch_files(batch)

    def _send_batch_files(self, batch: list[tuple[str, bytes, list[int]]]) -> bool:
        """One batch up; False when the server has no batch route (the caller sends one by one)."""
        up = self.up
        head = json.dumps({"files": [[up._remote_rel(rel), len(data)] for rel, data, _ in batch]})
        body = b"".join([head.encode(), b"\n", *(data for _, data, _ in batch)])
        try:
            up.transport.request("POST", up._run_path("files"), data=body, timeout=up._timeout())
        except CommError as exc:
            if exc.status == 405:  # a server from before batches: GET only on this path
                self.batches = False
                return False
            if exc.retryable:
                raise
            stderr(f"trackwell: could not upload {len(batch)} file(s) of run {up.run_id}: {exc.message}")
        for rel, _, state in batch:
            self.sent[rel] = state
        self.uploaded += len(batch)
        self.up._contact()
        return True

    def _upload_file(self, rel: str, path: Path) -> None:
        rel = self.up._remote_rel(rel)
        target = file_path(self.up.entity or "", self.up.project or "", self.up.run_id or "", rel)
        size = path.stat().st_size
        parts = max(1, -(-size // FILE_PART_BYTES))
        with open(path, "rb") as fh:
            for part in range(parts):
                data = fh.read(FILE_PART_BYTES)
                params = {"part": part, "parts": parts} if parts > 1 else None
                self.up.transport.request("PUT", target, params=params, data=data, timeout=self.up._timeout())
                self.up._moved()  # a part answered: a big file's upload is moving




def media_paths(rec: Record) -> list[str] | None:
    """The paths of a FILES record the writer wrote for media (policy ``media``), or
    None for any other record (which asks for a rescan of ``files/``)."""
    if rec.kind != Kind.FILES:
        return None
    body = rec.body
    if body is None and rec.raw is not None:
        body = msgpack.unpackb(rec.raw, raw=False, strict_map_key=False)[2]
    if isinstance(body, dict) and body.get("policy") == "media" and isinstance(body.get("paths"), list):
        return [p for p in body["paths"] if isinstance(p, str)]
    return None
