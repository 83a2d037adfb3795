"""Run files: upload (whole, in parts, or many small ones at once), list, download, delete.

Bytes go to the blob store; a file in parts goes through the one part-upload protocol
(``routes/uploads.py``), as artifact blobs do, and ends as one blob. The rows are
``storage/files.py``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from trackwell_server.auth import Principal
from trackwell_server.db.engine import read, write
from trackwell_server.deps import Caller, Entity, Project, RunId, Server, Srv
from trackwell_server.errors import ApiError
from trackwell_server.names import check_file_path
from trackwell_server.responses import BINARY_BODY, RAW_BYTES_HEADERS, JSONResponse
from trackwell_server.routes.uploads import (
    Part,
    PartCount,
    check_part,
    join_parts,
    parse_batch,
    receive_part,
)
from trackwell_server.storage import files as stored
from trackwell_server.storage import runs as store
from trackwell_server.storage.blobs import BlobNotFound

router = APIRouter(tags=["files"])



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


def _store(srv: Server, who: Principal, entity: str, project: str, run_id: str, path: str,
           data: bytes) -> dict[str, Any]:  # fmt: skip
    """A whole file. The blob goes first: a crash before the commit leaves an unreferenced
    blob, never a file row pointing at nothing."""
    proj, _ = _writable_run(srv, who, entity, project, run_id)
    digest = srv.blobs.put(data)
    with write(srv.engine) as conn:
        run = store.get_run(conn, proj, run_id, lock=True)
        stored.replace(conn, run.pk, path, len(data), digest, time.time())
    return {"path": path, "size": len(data), "sha256": digest}


def _writable_run(srv: Server, who: Principal, entity: str, project: str, run_id: str) -> tuple[Any, Any]:
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        store.check_writable(who, entity)
        return proj, store.get_run(conn, proj, run_id)


def _file_of(run_pk: int, path: str) -> Callable[[sa.Connection, str, int], None]:
    """What a joined upload records: the run's file ``path`` is the blob."""

    def record(conn: sa.Connection, digest: str, size: int) -> None:
        stored.replace(conn, run_pk, path, size, digest, time.time())

    return record


def _find(srv: Server, run_pk: int, path: str) -> Any:
    with read(srv.engine) as conn:
        return stored.find(conn, run_pk, path)


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
    part: Part = None,
    parts: PartCount = None,
) -> Any:
    """Upload a run file (raw bytes, at most 25 MB a request; larger files in parts, numbered from 0)."""
    check_file_path(path)
    check_part(part, parts)
    if part is None or parts is None or parts == 1:
        data = await request.body()
        return JSONResponse(await run_in_threadpool(_store, srv, who, entity, project, run_id, path, data))
    proj, run = await run_in_threadpool(_writable_run, srv, who, entity, project, run_id)
    upload = stored.upload_id(run.pk, path)
    received, size, sha = await receive_part(srv, request, proj.id, upload, part, parts, hashed=True)
    if len(received) < parts:
        return JSONResponse({"path": path, "size": size, "sha256": sha, "parts_received": len(received)})
    try:
        digest, total = await run_in_threadpool(
            join_parts, srv, proj.id, upload, parts, None, _file_of(run.pk, path)
        )
    except BlobNotFound:  # the same last part sent twice: the other request joined the parts
        done = await run_in_threadpool(_find, srv, run.pk, path)
        if done is None:
            return JSONResponse({"path": path, "size": size, "sha256": sha, "parts_received": len(received)})
        digest, total = done.sha256, done.size
    return JSONResponse({"path": path, "size": total, "sha256": digest})


def _store_batch(srv: Server, who: Principal, entity: str, project: str, run_id: str,
                 items: list[tuple[str, memoryview]]) -> dict[str, Any]:  # fmt: skip
    """Every file's blob first, then all file rows in one transaction (a repeated path: the last wins).

    Blobs go through ``writer`` (temp file and rename, no fsync each), as artifact
    batches do: a thousand fsyncs would cost more than the thousand requests saved.
    """
    proj, _ = _writable_run(srv, who, entity, project, run_id)
    latest = {path: data for path, data in items}
    written = []
    for path, data in latest.items():
        digest = hashlib.sha256(data).hexdigest()
        writer = srv.blobs.writer(digest)  # also for a blob already there: a fresh write time
        try:  # keeps the collector off it until the file row refers to it
            writer.write(data)
        except BaseException:
            writer.abort()
            raise
        writer.commit()
        written.append({"path": path, "size": len(data), "sha256": digest})
    with write(srv.engine) as conn:
        run = store.get_run(conn, proj, run_id, lock=True)
        stored.replace_many(conn, run.pk, written, time.time())
    return {"files": written}


@router.post("/runs/{entity}/{project}/{run_id}/files", response_model=FilesStored)
async def post_files(
    entity: Entity, project: Project, run_id: RunId, request: Request, who: Caller, srv: Srv
) -> Any:
    """Upload many small run files in one request (media written by ``log()``).

    Each file costs a PUT its project check and its own commit; a run logging thousands
    of images pays that thousands of times, so the SDK sends small files together.
    """
    items = parse_batch(await request.body(), "files", "path", check_file_path)
    return JSONResponse(await run_in_threadpool(_store_batch, srv, who, entity, project, run_id, items))


@router.get("/runs/{entity}/{project}/{run_id}/files", response_model=FileList)
def list_files(entity: Entity, project: Project, run_id: RunId, who: Caller, srv: Srv) -> Any:
    with read(srv.engine) as conn:
        _, run = store.readable_run(conn, who, entity, project, run_id)
        rows = stored.of_run(conn, run.pk)
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
        row = stored.find(conn, run.pk, path)
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
        gone = stored.delete(conn, run.pk, path)
    if not gone:
        raise ApiError(404, f"file {path!r} not found in run {run_id}")
    return Response(status_code=204)
