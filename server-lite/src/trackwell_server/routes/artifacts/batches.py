"""Many small blobs in one request, up and down (docs/server-api.md, "Blob batches").

An artifact of 10,000 small files would otherwise cost 10,000 PUTs (each a project
check, a blob write and its own database commit) and 10,000 GETs. A batch carries up
to 25 MB of whole blobs: the server writes and verifies each one, then records all
of them in one transaction; a fetch streams the bytes of many blobs back to back
(the client knows their sizes from the manifest and verifies each sha256).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from trackwell_server.db.engine import read, write
from trackwell_server.deps import Caller, Entity, Project, Server, Srv
from trackwell_server.errors import ApiError, not_found
from trackwell_server.responses import JSONResponse
from trackwell_server.routes.uploads import MAX_BATCH, parse_batch
from trackwell_server.storage import artifacts as art
from trackwell_server.storage import runs as store
from trackwell_server.storage.blobs import BlobNotFound

router = APIRouter(tags=["artifacts"])

#: Bytes one fetch may ask for (the response is streamed; this bounds one request's time).
MAX_FETCH_BYTES = 256 * 1024 * 1024


class FetchList(BaseModel):
    digests: list[str] = Field(max_length=MAX_BATCH)


def _check_digest(digest: str) -> None:
    if not art.SHA256_RE.match(digest):
        raise ApiError(422, f"invalid sha256 {digest!r} in the batch: 64 lowercase hex characters")


def _store_batch(
    srv: Server, who: Any, entity: str, project: str, blobs: list[tuple[str, memoryview]]
) -> tuple[list[str], list[str]]:
    """Write each blob whose bytes match its name, then record them all, and the project
    (created if new), in one transaction: a batch costs one database commit."""
    store.check_writable(who, entity)
    stored: list[tuple[str, int]] = []
    mismatch: list[str] = []
    for digest, data in blobs:
        if hashlib.sha256(data).hexdigest() != digest:
            mismatch.append(digest)
            continue
        if not srv.blobs.exists(digest):
            writer = srv.blobs.writer(digest)
            try:
                writer.write(data)
            except BaseException:
                writer.abort()
                raise
            writer.commit()
        stored.append((digest, len(data)))
    now = time.time()
    with write(srv.engine) as conn:
        proj = store.writable_project(conn, who, entity, project, create=True)
        art.add_blobs(conn, proj.id, stored, now)
    return [d for d, _ in stored], mismatch


@router.post("/artifacts/{entity}/{project}/blobs/batch")
async def put_batch(entity: Entity, project: Project, request: Request, who: Caller, srv: Srv) -> Any:
    """Store many whole blobs: body ``{"blobs": [[sha256, size], ...]}\\n`` then their bytes in order.

    Answers ``{"stored": [sha256...], "mismatch": [sha256...]}``: a blob whose bytes hash
    to something else is not kept (the rest are).
    """
    store.check_writable(who, entity)
    blobs = parse_batch(await request.body(), "blobs", "sha256", _check_digest)
    stored, mismatch = await run_in_threadpool(_store_batch, srv, who, entity, project, blobs)
    return JSONResponse({"stored": stored, "mismatch": mismatch})


def _sizes(srv: Server, who: Any, entity: str, project: str, digests: list[str]) -> list[int]:
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        held = art.held_blobs(conn, proj.id, digests)
    for digest in digests:
        if not art.SHA256_RE.match(digest):
            raise ApiError(422, f"invalid sha256 {digest!r}: 64 lowercase hex characters")
        if digest not in held:
            raise not_found(f"blob {digest} in {entity}/{project}")
    try:
        return [srv.blobs.size(d) for d in digests]
    except BlobNotFound as exc:
        raise ApiError(404, f"the bytes of blob {exc} are missing from the blob store") from None


@router.post("/artifacts/{entity}/{project}/blobs/fetch")
async def fetch_batch(
    entity: Entity, project: Project, body: FetchList, who: Caller, srv: Srv
) -> StreamingResponse:
    """The bytes of ``digests`` back to back, in order (``X-Blob-Sizes``: their sizes, comma-separated)."""
    sizes = await run_in_threadpool(_sizes, srv, who, entity, project, body.digests)
    total = sum(sizes)
    if total > MAX_FETCH_BYTES:
        raise ApiError(422, f"a fetch may ask for at most {MAX_FETCH_BYTES} bytes, not {total}")

    def chunks() -> Iterator[bytes]:
        for digest, size in zip(body.digests, sizes, strict=True):
            yield from srv.blobs.read_range(digest, 0, size)

    return StreamingResponse(
        chunks(),
        media_type="application/octet-stream",
        headers={"Content-Length": str(total), "X-Blob-Sizes": ",".join(map(str, sizes))},
    )
