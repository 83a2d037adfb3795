"""Artifact blobs one at a time: which a project lacks, the upload (whole or in parts), ranged reads.

Blob bytes are streamed from the request into the blob store in 1 MiB steps on a
worker thread (hashing as they go), so neither a whole part nor a whole blob sits in
memory, and the event loop never waits on the disk or S3. Parts go through the one
part-upload protocol (``routes/uploads.py``), as run files' do; many small blobs in
one request are ``batches.py``.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from trackwell_server.auth import Principal
from trackwell_server.db.engine import read, write
from trackwell_server.deps import Caller, Entity, Server, Srv
from trackwell_server.errors import ApiError, not_found
from trackwell_server.responses import BINARY_BODY, RAW_BYTES_HEADERS, JSONResponse
from trackwell_server.routes.artifacts.common import Project, Sha, writable
from trackwell_server.routes.artifacts.models import BlobStored, DigestList, Missing, Parts
from trackwell_server.routes.uploads import Part, PartCount, check_part, join_parts, receive_part, stream_into
from trackwell_server.storage import artifacts as art
from trackwell_server.storage import runs as store
from trackwell_server.storage import uploads
from trackwell_server.storage.blobs import BlobNotFound, DigestMismatch

router = APIRouter(tags=["artifacts"])


@router.post("/artifacts/{entity}/{project}/blobs/check", response_model=Missing)
def check_blobs(entity: Entity, project: Project, body: DigestList, who: Caller, srv: Srv) -> Any:
    """Which of ``digests`` the project lacks: the client uploads only those."""
    for digest in body.digests:
        if not art.SHA256_RE.match(digest):
            raise ApiError(422, f"invalid sha256 {digest!r}: 64 lowercase hex characters")
    with write(srv.engine) as conn:  # one transaction: the project (created if new) and the check
        proj = store.writable_project(conn, who, entity, project, create=True)
        held = art.held_blobs(conn, proj.id, body.digests, touch=time.time())
    return JSONResponse({"missing": sorted(set(body.digests) - held)})


def _project_holding(
    srv: Server, who: Principal, entity: str, project: str, digest: str
) -> tuple[Any, int | None]:
    """(the project, or None when it does not exist yet; the blob's size if it holds it).

    A read: the one write of an upload is ``_add_blob`` (which creates the project if
    new), so a single-blob PUT costs one write transaction, not three.
    """
    store.check_writable(who, entity)
    with read(srv.engine) as conn:
        proj = store.find_project(conn, entity, project)
        if proj is None:
            return None, None
        size = art.blob_size(conn, proj.id, digest)
    return proj, (size if size is not None and srv.blobs.exists(digest) else None)


@router.put(
    "/artifacts/{entity}/{project}/blobs/{sha256}",
    response_model=BlobStored,
    openapi_extra=BINARY_BODY,
)
async def put_blob(
    entity: Entity,
    project: Project,
    sha256: Sha,
    request: Request,
    who: Caller,
    srv: Srv,
    part: Part = None,
    parts: PartCount = None,
) -> Any:
    """Upload a blob whole (≤ 25 MB) or one part of it; the sha256 of the whole is checked."""
    check_part(part, parts)
    proj, held = await run_in_threadpool(_project_holding, srv, who, entity, project, sha256)
    if held is not None:
        await run_in_threadpool(_add_blob, srv, who, entity, project, sha256, held)  # its seen_at
        return JSONResponse(
            {"sha256": sha256, "size": held, "received": [], "parts": parts, "complete": True}
        )
    if part is None or parts is None:
        hasher = hashlib.sha256()
        writer = await run_in_threadpool(srv.blobs.writer, sha256)
        size = await stream_into(request, writer, hasher)
        if hasher.hexdigest() != sha256:
            await run_in_threadpool(writer.abort)
            raise ApiError(
                422, f"the bytes hash to {hasher.hexdigest()}, not {sha256}", code="digest_mismatch"
            )
        await run_in_threadpool(writer.commit)
        await run_in_threadpool(_add_blob, srv, who, entity, project, sha256, size)
        return JSONResponse({"sha256": sha256, "size": size, "received": [], "parts": None, "complete": True})
    if proj is None:  # parts are keyed by the project's id: it must exist first
        proj = await run_in_threadpool(writable, srv, who, entity, project)
    received, _, _ = await receive_part(srv, request, proj.id, sha256, part, parts, hashed=False)
    if len(received) < parts:
        return JSONResponse(
            {"sha256": sha256, "size": None, "received": received, "parts": parts, "complete": False}
        )
    try:
        _, total = await run_in_threadpool(join_parts, srv, proj.id, sha256, parts, sha256, _held(proj.id))
    except DigestMismatch as exc:
        raise ApiError(
            422,
            f"the assembled parts hash to {exc.actual}, not {sha256}; the parts were "
            "discarded, upload them again",
            code="digest_mismatch",
        ) from None
    return JSONResponse(
        {"sha256": sha256, "size": total, "received": received, "parts": parts, "complete": True}
    )


def _held(project_id: int) -> Callable[[sa.Connection, str, int], None]:
    """What a joined upload records: the project holds the blob."""

    def record(conn: sa.Connection, digest: str, size: int) -> None:
        art.add_blob(conn, project_id, digest, size, time.time())

    return record


def _add_blob(srv: Server, who: Principal, entity: str, project: str, digest: str, size: int) -> None:
    """Record the blob (or touch it), creating the project if new: the upload's one write."""
    with write(srv.engine) as conn:
        proj = store.writable_project(conn, who, entity, project, create=True)
        art.add_blob(conn, proj.id, digest, size, time.time())


@router.get("/artifacts/{entity}/{project}/blobs/{sha256}/parts", response_model=Parts)
def blob_parts(entity: Entity, project: Project, sha256: Sha, who: Caller, srv: Srv) -> Any:
    """The parts of an interrupted upload that arrived, so the client sends only the others."""
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        store.check_writable(who, entity)
        parts = uploads.part_count(conn, proj.id, sha256)
        held = bool(art.held_blobs(conn, proj.id, [sha256]))
        received = uploads.received(conn, proj.id, sha256) if parts is not None else []
    return JSONResponse({"received": received, "parts": parts, "complete": held})


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) of a single ``Range``; None for the whole; 416 when unsatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None  # RFC 9110: an unparseable Range is ignored
    first, last = match.group(1), match.group(2)
    if not first:
        start, end = max(0, size - int(last)), size
    else:
        start = int(first)
        end = min(size, int(last) + 1) if last else size
    if start >= size or start >= end:
        raise ApiError(
            416,
            f"range {header!r} is outside the {size} bytes",
            code="range_not_satisfiable",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return start, end


@router.get(
    "/artifacts/{entity}/{project}/blobs/{sha256}",
    response_class=Response,
    responses={206: {"description": "a byte range"}, 416: {"description": "range not satisfiable"}},
)
def get_blob(
    entity: Entity, project: Project, sha256: Sha, request: Request, who: Caller, srv: Srv
) -> Response:
    """The blob's bytes, streamed; one ``Range`` gives 206 (resumed downloads)."""
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        if not art.held_blobs(conn, proj.id, [sha256]):
            raise not_found(f"blob {sha256} in {entity}/{project}")
    try:
        size = srv.blobs.size(sha256)
    except BlobNotFound:
        raise ApiError(404, f"the bytes of blob {sha256} are missing from the blob store") from None
    etag = f'"{sha256}"'
    headers = {"ETag": etag, "Accept-Ranges": "bytes", **RAW_BYTES_HEADERS}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    rng = _byte_range(request.headers.get("range"), size)
    start, end = rng if rng is not None else (0, size)
    headers["Content-Length"] = str(end - start)
    if rng is not None:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    try:
        chunks: Iterator[bytes] = srv.blobs.read_range(sha256, start, end)
    except BlobNotFound:
        raise ApiError(404, f"the bytes of blob {sha256} are missing from the blob store") from None
    return StreamingResponse(
        chunks,
        status_code=206 if rng is not None else 200,
        media_type="application/octet-stream",
        headers=headers,
    )
