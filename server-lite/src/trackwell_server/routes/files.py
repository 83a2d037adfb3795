"""Run files: upload (whole or in parts), list, download. Bytes go to the blob store."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from trackwell_server.auth import Principal
from trackwell_server.db.engine import read, write
from trackwell_server.db.schema import file_parts, files
from trackwell_server.deps import Caller, Entity, Project, RunId, Server, Srv
from trackwell_server.errors import ApiError
from trackwell_server.names import check_file_path
from trackwell_server.responses import BINARY_BODY, RAW_BYTES_HEADERS, JSONResponse
from trackwell_server.storage import runs as store
from trackwell_server.storage.blobs import BlobNotFound

router = APIRouter(tags=["files"])

MAX_PARTS = 10_000
#: Files one batch upload may carry (its bytes are bounded by the body limit, 25 MB).
MAX_BATCH_FILES = 10_000


class FileStored(BaseModel):
    path: str
    size: int
    sha256: str


class FileInfo(FileStored):
    updated_at: float
    url: str


class FileList(BaseModel):
    files: list[FileInfo]


class FilesStored(BaseModel):
    files: list[FileStored]


def _store(srv: Server, who: Principal, entity: str, project: str, run_id: str, path: str, data: bytes,
           part: int | None, parts: int | None) -> dict[str, Any]:  # fmt: skip
    # The blob goes first: a crash before the commit leaves an unreferenced blob, never
    # a file row pointing at nothing.
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        store.check_writable(who, entity)
        store.get_run(conn, proj, run_id)
    digest = srv.blobs.put(data)
    now = time.time()
    with write(srv.engine) as conn:
        run = store.get_run(conn, proj, run_id, lock=True)
        if part is None or parts is None or parts == 1:
            _replace(conn, run.pk, path, len(data), digest, None, now)
            return {"path": path, "size": len(data), "sha256": digest}
        key = (file_parts.c.run_pk == run.pk) & (file_parts.c.path == path)
        conn.execute(
            sa.delete(file_parts).where(key, (file_parts.c.part == part) | (file_parts.c.parts != parts))
        )
        conn.execute(
            sa.insert(file_parts).values(
                run_pk=run.pk, path=path, part=part, parts=parts, size=len(data), sha256=digest
            )
        )
        got = _parts(conn, key)
    if len(got) < parts:
        return {"path": path, "size": len(data), "sha256": digest, "parts_received": len(got)}
    whole, size = hash_parts(srv, got)
    with write(srv.engine) as conn:
        run = store.get_run(conn, proj, run_id, lock=True)
        held = _parts(conn, key)
        if held != got:
            # another request re-sent a part meanwhile (it finishes the file itself), or
            # finished this one already (the same last part sent twice)
            done = conn.execute(
                sa.select(files.c.size, files.c.sha256, files.c.parts).where(
                    files.c.run_pk == run.pk, files.c.path == path
                )
            ).first()
            if done is not None and done.parts == [sha for sha, _ in got]:
                return {"path": path, "size": done.size, "sha256": done.sha256}
            return {"path": path, "size": len(data), "sha256": digest, "parts_received": len(held)}
        _replace(conn, run.pk, path, size, whole, [sha for sha, _ in got], now)
        conn.execute(sa.delete(file_parts).where(key))
    return {"path": path, "size": size, "sha256": whole}


def _parts(conn: sa.Connection, key: Any) -> list[tuple[str, int]]:
    """(sha256, size) of a file's parts received so far, in part order."""
    rows = conn.execute(
        sa.select(file_parts.c.sha256, file_parts.c.size).where(key).order_by(file_parts.c.part)
    ).all()
    return [(row.sha256, row.size) for row in rows]


def hash_parts(srv: Server, parts: list[tuple[str, int]]) -> tuple[str, int]:
    """The sha256 and size of a multi-part file, its parts streamed from the blob store.

    Called with no transaction open: hashing a file of hundreds of MB takes seconds,
    and on SQLite a write transaction holds the one write lock every run's ingest needs.
    """
    whole = hashlib.sha256()
    size = 0
    for sha, part_size in parts:
        for chunk in srv.blobs.read_range(sha, 0, part_size):
            whole.update(chunk)
            size += len(chunk)
    return whole.hexdigest(), size


def _replace(conn: sa.Connection, run_pk: int, path: str, size: int, digest: str, parts: list[str] | None,
             now: float) -> None:  # fmt: skip
    conn.execute(sa.delete(files).where(files.c.run_pk == run_pk, files.c.path == path))
    conn.execute(
        sa.insert(files).values(
            run_pk=run_pk, path=path, size=size, sha256=digest, parts=parts, updated_at=now
        )
    )


@router.put(
    "/runs/{entity}/{project}/{run_id}/files/{path:path}",
    response_model=FileStored,
    openapi_extra=BINARY_BODY,
)
async def put_file(
    entity: Entity,
    project: Project,
    run_id: RunId,
    path: str,
    request: Request,
    who: Caller,
    srv: Srv,
    part: Annotated[int | None, Query(ge=0, lt=MAX_PARTS)] = None,
    parts: Annotated[int | None, Query(ge=1, le=MAX_PARTS)] = None,
) -> Any:
    """Upload a run file (raw bytes, at most 25 MB a request; larger files in parts, numbered from 0)."""
    check_file_path(path)
    if (part is None) != (parts is None) or (part is not None and parts is not None and part >= parts):
        raise ApiError(422, "give both part and parts, with 0 <= part < parts")
    data = await request.body()
    result = await run_in_threadpool(_store, srv, who, entity, project, run_id, path, data, part, parts)
    return JSONResponse(result)


def _parse_batch(body: bytes) -> list[tuple[str, bytes]]:
    """``<JSON line {"files": [[path, size], ...]}>\\n<bytes back to back>`` → [(path, bytes)]."""
    head, sep, rest = body.partition(b"\n")
    try:
        items = json.loads(head)["files"] if sep else None
    except (ValueError, KeyError, TypeError):
        items = None
    if not isinstance(items, list) or len(items) > MAX_BATCH_FILES:
        shape = '{"files": [[path, size], ...]}'
        raise ApiError(422, f"a file batch starts with a JSON line {shape} (≤ {MAX_BATCH_FILES:,} files)")
    out: list[tuple[str, bytes]] = []
    offset = 0
    for item in items:
        if not (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], str)
            and type(item[1]) is int
            and item[1] >= 0
        ):
            raise ApiError(422, f"a file batch item is [path, size], not {item!r:.100}")
        check_file_path(item[0])
        out.append((item[0], rest[offset : offset + item[1]]))
        offset += item[1]
    if offset != len(rest):
        raise ApiError(422, f"the file batch lists {offset:,} bytes but carries {len(rest):,}")
    return out


def _store_batch(srv: Server, who: Principal, entity: str, project: str, run_id: str,
                 items: list[tuple[str, bytes]]) -> dict[str, Any]:  # fmt: skip
    """Every file's blob first, then all file rows in one transaction (a repeated path: the last wins).

    Blobs go through ``writer`` (temp file and rename, no fsync each), as artifact
    batches do: a thousand fsyncs would cost more than the thousand requests saved.
    """
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        store.check_writable(who, entity)
        store.get_run(conn, proj, run_id)
    latest = {path: data for path, data in items}
    stored = []
    for path, data in latest.items():
        digest = hashlib.sha256(data).hexdigest()
        writer = srv.blobs.writer(digest)  # also for a blob already there: a fresh write time
        try:  # keeps the collector off it until the file row refers to it
            writer.write(data)
        except BaseException:
            writer.abort()
            raise
        writer.commit()
        stored.append({"path": path, "size": len(data), "sha256": digest})
    now = time.time()
    with write(srv.engine) as conn:
        run = store.get_run(conn, proj, run_id, lock=True)
        if stored:
            conn.execute(sa.delete(files).where(files.c.run_pk == run.pk, files.c.path.in_(list(latest))))
            conn.execute(
                sa.insert(files),
                [{"run_pk": run.pk, "parts": None, "updated_at": now, **row} for row in stored],
            )
    return {"files": stored}


@router.post("/runs/{entity}/{project}/{run_id}/files", response_model=FilesStored)
async def post_files(
    entity: Entity, project: Project, run_id: RunId, request: Request, who: Caller, srv: Srv
) -> Any:
    """Upload many small run files in one request (media written by ``log()``).

    Each file costs a PUT its project check and its own commit; a run logging thousands
    of images pays that thousands of times, so the SDK sends small files together.
    """
    items = _parse_batch(await request.body())
    return JSONResponse(await run_in_threadpool(_store_batch, srv, who, entity, project, run_id, items))


@router.get("/runs/{entity}/{project}/{run_id}/files", response_model=FileList)
def list_files(entity: Entity, project: Project, run_id: RunId, who: Caller, srv: Srv) -> Any:
    with read(srv.engine) as conn:
        _, run = store.readable_run(conn, who, entity, project, run_id)
        rows = conn.execute(sa.select(files).where(files.c.run_pk == run.pk).order_by(files.c.path)).all()
    base = f"{srv.config.public_url}/api/v1/runs/{entity}/{project}/{run_id}/files/"
    return JSONResponse(
        {
            "files": [
                {
                    "path": r.path,
                    "size": r.size,
                    "sha256": r.sha256,
                    "updated_at": r.updated_at,
                    "url": base + r.path,
                }
                for r in rows
            ]
        }
    )


@router.get("/runs/{entity}/{project}/{run_id}/files/{path:path}", response_class=Response)
def get_file(entity: Entity, project: Project, run_id: RunId, path: str, who: Caller, srv: Srv) -> Response:
    check_file_path(path)
    with read(srv.engine) as conn:
        _, run = store.readable_run(conn, who, entity, project, run_id)
        row = conn.execute(sa.select(files).where(files.c.run_pk == run.pk, files.c.path == path)).first()
    if row is None:
        raise ApiError(404, f"file {path!r} not found in run {run_id}")
    headers = {"Content-Length": str(row.size), "ETag": f'"{row.sha256}"', **RAW_BYTES_HEADERS}
    try:
        if not row.parts:
            return Response(srv.blobs.get(row.sha256), media_type="application/octet-stream", headers=headers)
        srv.blobs.get(row.parts[0])  # fail with a 404 now rather than mid-stream
    except BlobNotFound:
        raise ApiError(404, f"the bytes of file {path!r} are missing from the blob store") from None

    def chunks() -> Iterator[bytes]:
        for digest in row.parts:
            yield srv.blobs.get(digest)

    return StreamingResponse(chunks(), media_type="application/octet-stream", headers=headers)


@router.delete("/runs/{entity}/{project}/{run_id}/files/{path:path}", status_code=204)
def delete_file(
    entity: Entity, project: Project, run_id: RunId, path: str, who: Caller, srv: Srv
) -> Response:
    """Delete one file of a run (W&B's ``File.delete()``); 404 if the run has no such file.

    Its bytes stay in the content-addressed blob store, where other files may share them.
    """
    check_file_path(path)
    with write(srv.engine) as conn:
        _, run = store.writable_run(conn, who, entity, project, run_id)
        gone = conn.execute(sa.delete(files).where(files.c.run_pk == run.pk, files.c.path == path))
        conn.execute(sa.delete(file_parts).where(file_parts.c.run_pk == run.pk, file_parts.c.path == path))
    if not gone.rowcount:
        raise ApiError(404, f"file {path!r} not found in run {run_id}")
    return Response(status_code=204)
