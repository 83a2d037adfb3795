"""The one part-upload protocol, of run files and artifact blobs (docs/server-api.md "Uploads in parts").

A body too large for one request goes up as ``?part=N&parts=M`` (N from 0, any
order, in parallel, a part sent twice replacing the first copy). Every part is
streamed into the blob store's upload area (``BlobStore.part_writer``) in 1 MiB steps
on a worker thread, so no part sits whole in memory; its arrival is recorded under the
upload's row lock (``storage/uploads.py``), so exactly one request sees the last part
arrive and joins the parts into one blob (``BlobStore.assemble``). An artifact blob's
upload is named by the sha256 of the whole, known up front and checked when the parts
are joined; a run file's by its run and path, its sha256 learned from the parts.
Uploads left unfinished for a day are dropped by ``jobs.collect_blobs``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Query, Request
from starlette.concurrency import run_in_threadpool

from trackwell_server.db.engine import write
from trackwell_server.deps import Server
from trackwell_server.errors import ApiError
from trackwell_server.storage import uploads
from trackwell_server.storage.blobs import CHUNK, BlobNotFound, BlobWriter, DigestMismatch

MAX_PARTS = 10_000
#: Items (files or blobs) one batch request may carry; its bytes are bounded by the body limit.
MAX_BATCH = 10_000
Part = Annotated[int | None, Query(ge=0, lt=MAX_PARTS)]
PartCount = Annotated[int | None, Query(ge=1, le=MAX_PARTS)]


def check_part(part: int | None, parts: int | None) -> None:
    """422 unless both or neither of ``part`` and ``parts`` are given, with ``part < parts``."""
    if (part is None) != (parts is None) or (part is not None and parts is not None and part >= parts):
        raise ApiError(422, "give both part and parts, with 0 <= part < parts")


async def stream_into(request: Request, writer: BlobWriter, hasher: Any) -> int:
    """Copy the request body into ``writer`` in 1 MiB steps on a worker thread; return its size."""
    size = 0
    buffer = bytearray()

    def flush(data: bytes) -> None:
        if hasher is not None:
            hasher.update(data)
        writer.write(data)

    try:
        async for chunk in request.stream():
            buffer += chunk
            if len(buffer) >= CHUNK:
                size += len(buffer)
                await run_in_threadpool(flush, bytes(buffer))
                buffer.clear()
        size += len(buffer)
        await run_in_threadpool(flush, bytes(buffer))
    except BaseException:
        await run_in_threadpool(writer.abort)
        raise
    return size


async def receive_part(
    srv: Server, request: Request, project_id: int, upload: str, part: int, parts: int, hashed: bool
) -> tuple[list[int], int, str | None]:
    """Store part ``part`` of ``parts`` of upload ``upload`` and record it.

    Returns the parts received so far, the part's size and, when ``hashed``, its sha256
    (a run file's answer names it; an artifact blob's parts are checked only as a whole).
    """
    hasher = hashlib.sha256() if hashed else None
    writer = await run_in_threadpool(srv.blobs.part_writer, uploads.upload_key(project_id, upload), part)
    size = await stream_into(request, writer, hasher)
    await run_in_threadpool(writer.commit)
    received = await run_in_threadpool(_record_part, srv, project_id, upload, part, parts, size)
    return received, size, None if hasher is None else hasher.hexdigest()


def _record_part(srv: Server, project_id: int, upload: str, part: int, parts: int, size: int) -> list[int]:
    with write(srv.engine) as conn:
        return uploads.record_part(conn, project_id, upload, part, parts, size, time.time())


def join_parts(
    srv: Server,
    project_id: int,
    upload: str,
    parts: int,
    digest: str | None,
    record: Callable[[sa.Connection, str, int], None],
) -> tuple[str, int]:
    """Join a complete upload's parts into one blob; (its sha256, its size).

    ``digest``: the sha256 the whole must have (``DigestMismatch`` discards the parts);
    ``None`` when it is learned from the parts. ``record(conn, digest, size)`` writes
    what the blob is for in the transaction that ends the upload. ``BlobNotFound`` when
    the parts are gone: a concurrent request (the same last part sent twice) joined them
    first, and ``digest`` is unknown.
    """
    key = uploads.upload_key(project_id, upload)
    try:
        if digest is None:
            digest = srv.blobs.digest_upload(key, parts)
        size = srv.blobs.assemble(key, parts, digest)
    except BlobNotFound:
        if digest is None:
            raise
        size = srv.blobs.size(digest)  # joined by a concurrent request: the blob is there
    except DigestMismatch:
        drop_upload(srv, project_id, upload)
        raise
    with write(srv.engine) as conn:
        record(conn, digest, size)
        uploads.end(conn, project_id, upload)
    srv.blobs.discard_upload(key)
    return digest, size


def parse_batch(
    body: bytes, key: str, name: str, check: Callable[[str], object]
) -> list[tuple[str, memoryview]]:
    """A batch body, ``<JSON line {key: [[name, size], ...]}>\n<the bytes back to back>``, as
    [(name, bytes)] in header order; 422 when malformed. Run files (``key="files"``) and
    artifact blobs (``key="blobs"``) share it; ``check(name)`` raises for a bad name.

    The bytes are views into ``body``: a 16 MB batch is not copied again item by item.
    """
    head, sep, _ = body.partition(b"\n")
    try:
        items = json.loads(head)[key] if sep else None
    except (ValueError, KeyError, TypeError):
        items = None
    if not isinstance(items, list) or len(items) > MAX_BATCH:
        shape = f'{{"{key}": [[{name}, size], ...]}}'
        raise ApiError(422, f"a batch starts with a JSON line {shape} (≤ {MAX_BATCH:,} {key})")
    out: list[tuple[str, memoryview]] = []
    offset = 0
    rest = memoryview(body)[len(head) + 1 :]
    for item in items:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
                and type(item[1]) is int and item[1] >= 0):  # fmt: skip
            raise ApiError(422, f"a batch item is [{name}, size], not {item!r:.100}")
        check(item[0])
        out.append((item[0], rest[offset : offset + item[1]]))
        offset += item[1]
    if offset != len(rest):
        raise ApiError(422, f"the batch lists {offset:,} bytes but carries {len(rest):,}")
    return out


def drop_upload(srv: Server, project_id: int, upload: str) -> None:
    """Forget an upload and delete its parts."""
    with write(srv.engine) as conn:
        uploads.end(conn, project_id, upload)
    srv.blobs.discard_upload(uploads.upload_key(project_id, upload))
