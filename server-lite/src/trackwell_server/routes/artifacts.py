"""Artifacts: blobs (whole, in parts, ranged reads), versions, aliases, lineage, registry links.

The contract is docs/server-api.md "Artifacts"; the database side is
storage/artifacts.py. Blob bytes are streamed from the request into the blob store in
1 MiB steps on a worker thread (hashing as they go), so neither a whole part nor a
whole blob sits in memory, and the event loop never waits on the disk or S3.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import IO, Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from trackwell_server.auth import Principal
from trackwell_server.db.engine import read, write
from trackwell_server.db.schema import (
    artifact_aliases,
    artifact_blobs,
    artifact_collections,
    artifact_usage,
    artifact_version_blobs,
    artifact_versions,
    blob_upload_parts,
    blob_uploads,
    projects,
)
from trackwell_server.deps import Caller, Entity, RunId, Server, Srv
from trackwell_server.errors import ApiError, not_found
from trackwell_server.jsonstream import JsonError, JsonStream
from trackwell_server.names import COLLECTION_PATTERN, PROJECT_PATTERN
from trackwell_server.responses import BINARY_BODY, JSONResponse
from trackwell_server.routes.files import RAW_BYTES_HEADERS
from trackwell_server.storage import artifacts as art
from trackwell_server.storage import runs as store
from trackwell_server.storage.blobs import CHUNK, BlobNotFound, BlobWriter, DigestMismatch
from trackwell_server.storage.manifests import ManifestBuilder

router = APIRouter(tags=["artifacts"])

MAX_PARTS = 10_000
MAX_CHECK = 100_000
#: The create request's body cap (limits.py lets it past the 25 MB one): 1,000,000 entries.
MAX_CREATE_BODY = 256 * 1024 * 1024
CREATE_PATH = re.compile(r"^/api/v1/artifacts/[^/]+/[^/]+/?$")

V = artifact_versions
C = artifact_collections

Name = Annotated[
    str, Path(pattern=COLLECTION_PATTERN, max_length=128, description="artifact (collection) name")
]
#: Registry projects ("wandb-registry-Fine-tuned Models") may hold spaces; others as deps.Project.
Project = Annotated[str, Path(pattern=PROJECT_PATTERN, max_length=128)]
Sha = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="sha256 of the bytes, lowercase hex")]
Ref = Annotated[str, Path(min_length=1, max_length=128, description="v<N>, latest, an alias, or a digest")]


class Missing(BaseModel):
    missing: list[str]


class DigestList(BaseModel):
    digests: list[str] = Field(max_length=MAX_CHECK)


class BlobStored(BaseModel):
    sha256: str
    size: int | None = None
    received: list[int] = []
    parts: int | None = None
    complete: bool


class Parts(BaseModel):
    received: list[int]
    parts: int | None
    complete: bool


class RunRef(BaseModel):
    entity: str
    project: str
    run_id: str


class RunSummary(RunRef):
    name: str
    state: str


class SourceRef(BaseModel):
    entity: str
    project: str
    name: str
    version: str
    version_index: int
    id: int


class VersionInfo(BaseModel):
    id: int
    entity: str
    project: str
    name: str
    type: str
    version: str
    version_index: int
    digest: str
    aliases: list[str]
    tags: list[str]
    description: str | None
    metadata: dict[str, Any]
    size: int
    file_count: int
    created_at: float
    updated_at: float
    logged_by: RunRef | None
    state: str
    source: SourceRef | None
    created: bool


class VersionList(BaseModel):
    items: list[VersionInfo]
    next_cursor: str | None = None


class CollectionInfo(BaseModel):
    name: str
    type: str
    description: str | None
    tags: list[str] = []
    version_count: int
    aliases: list[str]
    created_at: float
    updated_at: float


class CollectionList(BaseModel):
    items: list[CollectionInfo]
    next_cursor: str | None


class TypeInfo(BaseModel):
    name: str
    collections: int


class TypeList(BaseModel):
    items: list[TypeInfo]


class RunList(BaseModel):
    items: list[RunSummary]


class RegistryInfo(BaseModel):
    entity: str
    project: str
    collections: list[CollectionInfo]


class RegistryList(BaseModel):
    items: list[RegistryInfo]


class ManifestBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: int = 1
    entries: dict[str, Any] = {}


class ArtifactCreate(BaseModel):
    name: str = Field(max_length=128)
    type: str = Field(max_length=128)
    description: str | None = None
    metadata: dict[str, Any] = {}
    aliases: list[str] = []
    tags: list[str] = []
    digest: str = Field("", max_length=128)
    manifest: ManifestBody = ManifestBody()
    run: RunRef | None = None
    client_id: str | None = Field(None, min_length=1, max_length=64)
    incremental: bool = False


class VersionPatch(BaseModel):
    aliases: list[str] | None = None
    tags: list[str] | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None


class CollectionPatch(BaseModel):
    description: str | None = None
    tags: list[str] | None = Field(default=None, max_length=1000)


class UseBody(BaseModel):
    artifact: str = Field(max_length=600)
    use_as: str | None = None


class LinkBody(BaseModel):
    source: str = Field(max_length=600)
    aliases: list[str] = []


# -- blobs --------------------------------------------------------------------------


def _writable(srv: Server, who: Principal, entity: str, project: str) -> Any:
    with write(srv.engine) as conn:
        return store.writable_project(conn, who, entity, project, create=True)


def _readable(srv: Server, who: Principal, entity: str, project: str) -> Any:
    with read(srv.engine) as conn:
        return store.readable_project(conn, who, entity, project)


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


async def _stream_into(request: Request, writer: BlobWriter, hasher: Any) -> int:
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


def _upload_key(project_id: int, digest: str) -> str:
    return f"{project_id}-{digest}"


def _received(conn: sa.Connection, project_id: int, digest: str) -> list[int]:
    return list(
        conn.execute(
            sa.select(blob_upload_parts.c.part)
            .where(blob_upload_parts.c.project_id == project_id, blob_upload_parts.c.digest == digest)
            .order_by(blob_upload_parts.c.part)
        ).scalars()
    )


def _record_part(srv: Server, project_id: int, digest: str, part: int, parts: int, size: int) -> list[int]:
    """Note part ``part`` of the upload, locking its row: exactly one request sees the last part arrive."""
    now = time.time()
    where = (blob_uploads.c.project_id == project_id) & (blob_uploads.c.digest == digest)
    with write(srv.engine) as conn:
        row = conn.execute(sa.select(blob_uploads).where(where).with_for_update()).first()
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(
                        sa.insert(blob_uploads).values(
                            project_id=project_id, digest=digest, parts=parts, updated_at=now
                        )
                    )
            except sa.exc.IntegrityError:
                pass
            row = conn.execute(sa.select(blob_uploads).where(where).with_for_update()).one()
        if row.parts != parts:  # the client changed its part size: start over
            conn.execute(
                sa.delete(blob_upload_parts).where(
                    blob_upload_parts.c.project_id == project_id, blob_upload_parts.c.digest == digest
                )
            )
        conn.execute(sa.update(blob_uploads).where(where).values(parts=parts, updated_at=now))
        conn.execute(
            sa.delete(blob_upload_parts).where(
                blob_upload_parts.c.project_id == project_id,
                blob_upload_parts.c.digest == digest,
                blob_upload_parts.c.part == part,
            )
        )
        conn.execute(
            sa.insert(blob_upload_parts).values(project_id=project_id, digest=digest, part=part, size=size)
        )
        return _received(conn, project_id, digest)


def _finish_upload(srv: Server, project_id: int, digest: str, parts: int) -> int:
    """Assemble a complete upload into its blob and record it; ``DigestMismatch`` discards it."""
    key = _upload_key(project_id, digest)
    try:
        size = srv.blobs.assemble(key, parts, digest)
    except BlobNotFound:
        # a concurrent request (the same last part sent twice) assembled it first
        size = srv.blobs.size(digest)
    except DigestMismatch:
        _drop_upload(srv, project_id, digest)
        raise
    with write(srv.engine) as conn:
        art.add_blob(conn, project_id, digest, size, time.time())
        conn.execute(
            sa.delete(blob_uploads).where(
                blob_uploads.c.project_id == project_id, blob_uploads.c.digest == digest
            )
        )
    srv.blobs.discard_upload(key)
    return size


def _drop_upload(srv: Server, project_id: int, digest: str) -> None:
    with write(srv.engine) as conn:
        conn.execute(
            sa.delete(blob_uploads).where(
                blob_uploads.c.project_id == project_id, blob_uploads.c.digest == digest
            )
        )
    srv.blobs.discard_upload(_upload_key(project_id, digest))


def _project_holding(
    srv: Server, who: Principal, entity: str, project: str, digest: str
) -> tuple[Any, int | None]:
    """(the project, or None when it does not exist yet; the blob's size if it holds it).

    A read: the one write of an upload is ``_add_blob`` (which creates the project if
    new), so a single-blob PUT costs one write transaction, not three.
    """
    store.check_writable(who, entity)
    with read(srv.engine) as conn:
        proj = conn.execute(
            sa.select(projects).where(projects.c.entity == entity, projects.c.name == project)
        ).first()
        if proj is None:
            return None, None
        where = (artifact_blobs.c.project_id == proj.id) & (artifact_blobs.c.digest == digest)
        size = conn.execute(sa.select(artifact_blobs.c.size).where(where)).scalar()
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
    part: Annotated[int | None, Query(ge=0, lt=MAX_PARTS)] = None,
    parts: Annotated[int | None, Query(ge=1, le=MAX_PARTS)] = None,
) -> Any:
    """Upload a blob whole (≤ 25 MB) or one part of it; the sha256 of the whole is checked."""
    if (part is None) != (parts is None) or (part is not None and parts is not None and part >= parts):
        raise ApiError(422, "give both part and parts, with 0 <= part < parts")
    proj, held = await run_in_threadpool(_project_holding, srv, who, entity, project, sha256)
    if held is not None:
        await run_in_threadpool(_add_blob, srv, who, entity, project, sha256, held)  # its seen_at
        return JSONResponse(
            {"sha256": sha256, "size": held, "received": [], "parts": parts, "complete": True}
        )
    if part is None or parts is None:
        hasher = hashlib.sha256()
        writer = await run_in_threadpool(srv.blobs.writer, sha256)
        size = await _stream_into(request, writer, hasher)
        if hasher.hexdigest() != sha256:
            await run_in_threadpool(writer.abort)
            raise ApiError(
                422, f"the bytes hash to {hasher.hexdigest()}, not {sha256}", code="digest_mismatch"
            )
        await run_in_threadpool(writer.commit)
        await run_in_threadpool(_add_blob, srv, who, entity, project, sha256, size)
        return JSONResponse({"sha256": sha256, "size": size, "received": [], "parts": None, "complete": True})
    if proj is None:  # parts are keyed by the project's id: it must exist first
        proj = await run_in_threadpool(_writable, srv, who, entity, project)
    writer = await run_in_threadpool(srv.blobs.part_writer, _upload_key(proj.id, sha256), part)
    size = await _stream_into(request, writer, None)
    await run_in_threadpool(writer.commit)
    received = await run_in_threadpool(_record_part, srv, proj.id, sha256, part, parts, size)
    if len(received) < parts:
        return JSONResponse(
            {"sha256": sha256, "size": None, "received": received, "parts": parts, "complete": False}
        )
    try:
        total = await run_in_threadpool(_finish_upload, srv, proj.id, sha256, parts)
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
        upload = conn.execute(
            sa.select(blob_uploads).where(
                blob_uploads.c.project_id == proj.id, blob_uploads.c.digest == sha256
            )
        ).first()
        held = bool(art.held_blobs(conn, proj.id, [sha256]))
        received = _received(conn, proj.id, sha256) if upload is not None else []
    return JSONResponse({"received": received, "parts": upload.parts if upload else None, "complete": held})


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


# -- versions -----------------------------------------------------------------------


def _version_of_client(conn: sa.Connection, project_id: int, client_id: str | None) -> int | None:
    """The version a retried create already made (same ``client_id``), so it is answered, not made twice."""
    if client_id is None:
        return None
    pk = conn.execute(
        sa.select(V.c.pk).where(V.c.project_id == project_id, V.c.client_id == client_id)
    ).scalar()
    return None if pk is None else int(pk)


def _one(conn: sa.Connection, pk: int, created: bool = False) -> dict[str, Any]:
    obj = art.version_objects(conn, [art.versions_by_pk(conn, [pk])[pk]])[0]
    obj["created"] = created
    return obj


def _logging_run(conn: sa.Connection, who: Principal, ref: RunRef | None) -> int | None:
    if ref is None:
        return None
    for kind, value in (("entity", ref.entity), ("project", ref.project), ("run id", ref.run_id)):
        art.check_name(kind, value)
    _, run = store.readable_run(conn, who, ref.entity, ref.project, ref.run_id)
    pk: int = run.pk
    return pk


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` written in place (an ``openapi_extra`` body
    cannot point into them)."""
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.rsplit("/", 1)[1]])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    out: dict[str, Any] = inline(schema)
    return out


def _read_create_body(spool: IO[bytes], manifest: ManifestBuilder) -> dict[str, Any]:
    """The create body's fields but the manifest, whose entries go into ``manifest`` one by one."""
    stream = JsonStream(iter(lambda: spool.read(CHUNK), b""))
    fields: dict[str, Any] = {}
    try:
        for key in stream.members():
            if key != "manifest":
                fields[key] = stream.value()
                continue
            if "manifest" in fields or stream.peek() != "{":
                raise ApiError(422, 'manifest must be one object: {"version": 1, "entries": {path: entry}}')
            fields["manifest"] = {}
            for part in stream.members():
                if part == "entries":
                    if stream.peek() != "{":
                        raise ApiError(422, "manifest.entries must be an object: {path: entry}")
                    manifest.read_entries(stream)
                elif part == "version":
                    fields["manifest"]["version"] = stream.value()
                else:
                    stream.value()  # other manifest fields are allowed, and not kept
        stream.end()
    except JsonError as exc:
        raise ApiError(422, f"the body is not valid JSON: {exc}") from None
    return fields


@router.post(
    "/artifacts/{entity}/{project}",
    response_model=VersionInfo,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline_refs(ArtifactCreate.model_json_schema())}},
        }
    },
)
async def create_version(entity: Entity, project: Project, request: Request, who: Caller, srv: Srv) -> Any:
    """Commit a version, or return the existing one (same digest as the newest, or same client_id).

    The body is spooled to a temporary file as it arrives and walked entry by entry
    (``storage.manifests``): a manifest of a million files never becomes a million
    Python objects at once.
    """
    with tempfile.SpooledTemporaryFile(max_size=CHUNK) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        return await run_in_threadpool(_create_version, srv, who, entity, project, spool)


def _create_version(srv: Server, who: Principal, entity: str, project: str, spool: IO[bytes]) -> Any:
    with ManifestBuilder() as manifest:
        fields = _read_create_body(spool, manifest)
        try:
            body = ArtifactCreate.model_validate(fields)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None
        art.check_name("artifact name", body.name)
        if body.name in art.RESERVED_NAMES:
            raise ApiError(422, f"artifact name {body.name!r} is reserved")
        art.check_name("artifact type", body.type)
        aliases = art.user_aliases(body.aliases)
        tags = art.check_tags(body.tags)
        if not body.incremental and not body.digest:
            raise ApiError(422, "digest (the manifest digest) is required unless incremental is true")
        proj = _writable(srv, who, entity, project)
        with read(srv.engine) as conn:
            logged_by = _logging_run(conn, who, body.run)
            if (seen := _version_of_client(conn, proj.id, body.client_id)) is not None:
                return JSONResponse(_one(conn, seen), status_code=200)
        if body.incremental:
            with read(srv.engine) as conn:
                coll = art.find_collection(conn, proj.id, body.name)
                base = art.newest_version(conn, coll.pk) if coll is not None else None
            if base is not None:
                try:
                    sha = base.manifest_sha256
                    manifest.merge_base(srv.blobs.read_range(sha, 0, srv.blobs.size(sha)))
                except BlobNotFound:
                    raise ApiError(404, f"the manifest blob {sha} is missing from the blob store") from None
        count, size = manifest.settle(body.incremental)
        manifest_sha = manifest.store(srv.blobs)  # before the commit: the version row must find it
        digest = manifest_sha if body.incremental else body.digest
        now = time.time()
        with write(srv.engine) as conn:
            coll = art.ensure_collection(conn, proj.id, body.name, body.type, body.description, now)
            if (seen := _version_of_client(conn, proj.id, body.client_id)) is not None:
                return JSONResponse(_one(conn, seen), status_code=200)
            newest = art.newest_version(conn, coll.pk)
            if newest is not None and newest.digest == digest and newest.source_pk is None:
                art.add_to_version(conn, newest, aliases, tags, now)
                return JSONResponse(_one(conn, newest.pk), status_code=200)
            missing: list[str] = []
            for batch in _batched(manifest.digests()):
                held = art.held_blobs(conn, proj.id, batch, touch=now)
                missing.extend(d for d in batch if d not in held)
            if missing:
                raise ApiError(
                    409,
                    f"{len(missing)} blob(s) of the manifest were not uploaded",
                    code="missing_blobs",
                    extra={"missing": missing},
                )
            pk = art.add_version(
                conn,
                coll,
                {
                    "digest": digest,
                    "manifest_sha256": manifest_sha,
                    "description": body.description,
                    "metadata": body.metadata,
                    "tags": tags,
                    "size": size,
                    "file_count": count,
                    "created_at": now,
                    "logged_by": logged_by,
                    "client_id": body.client_id,
                    "source_pk": None,
                },
                aliases,
                manifest.digests(),
            )
            return JSONResponse(_one(conn, pk, created=True), status_code=201)


def _batched(values: Iterator[str], size: int = 5000) -> Iterator[list[str]]:
    batch: list[str] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@router.get("/artifacts/{entity}/{project}/{name}/versions", response_model=VersionList)
def list_versions(
    entity: Entity,
    project: Project,
    name: Name,
    who: Caller,
    srv: Srv,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Any:
    """Versions (and links) of a collection, newest first."""
    before = _cursor(cursor)
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        coll = art.find_collection(conn, proj.id, name)
        if coll is None:
            raise not_found(f"artifact {entity}/{project}/{name}")
        query = art._select_versions().where(V.c.collection_pk == coll.pk)
        if before is not None:
            query = query.where(V.c.idx < before)
        rows = conn.execute(query.order_by(V.c.idx.desc()).limit(per_page + 1)).all()
        items = art.version_objects(conn, rows[:per_page])
    nxt = str(rows[per_page - 1].idx) if len(rows) > per_page else None
    return JSONResponse({"items": items, "next_cursor": nxt})


def _cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit():
        raise ApiError(422, f"invalid cursor {cursor!r}")
    return int(cursor)


@router.get("/artifacts/{entity}/{project}/{name}/{version}", response_model=VersionInfo)
def get_version(entity: Entity, project: Project, name: Name, version: Ref, who: Caller, srv: Srv) -> Any:
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        return JSONResponse(art.version_objects(conn, [art.resolve(conn, proj, name, version)])[0])


@router.get("/artifacts/{entity}/{project}/{name}/{version}/manifest", response_model=dict[str, Any])
def get_manifest(
    entity: Entity, project: Project, name: Name, version: Ref, who: Caller, srv: Srv
) -> Response:
    """The manifest as stored (a link's is its source's), streamed from the blob store."""
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        row = art.resolve(conn, proj, name, version)
    try:
        size = srv.blobs.size(row.manifest_sha256)
        chunks = srv.blobs.read_range(row.manifest_sha256, 0, size)
    except BlobNotFound:
        raise ApiError(404, f"the manifest of {name}:{version} is missing from the blob store") from None
    return StreamingResponse(chunks, media_type="application/json", headers={"Content-Length": str(size)})


@router.patch("/artifacts/{entity}/{project}/{name}/{version}", response_model=VersionInfo)
def patch_version(
    entity: Entity, project: Project, name: Name, version: Ref, body: VersionPatch, who: Caller, srv: Srv
) -> Any:
    """Replace aliases or tags, or set the description or metadata."""
    aliases = art.user_aliases(body.aliases) if body.aliases is not None else None
    tags = art.check_tags(body.tags) if body.tags is not None else None
    with write(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        store.check_writable(who, entity)
        row = art.resolve(conn, proj, name, version)
        values: dict[str, Any] = {"updated_at": time.time()}
        if tags is not None:
            values["tags"] = tags
        if "description" in body.model_fields_set:
            values["description"] = body.description
        if body.metadata is not None:
            values["metadata"] = body.metadata
        if aliases is not None:
            art.set_aliases(conn, row.collection_pk, row.pk, aliases, replace=True)
        conn.execute(sa.update(V).where(V.c.pk == row.pk).values(**values))
        return JSONResponse(_one(conn, row.pk))


@router.delete("/artifacts/{entity}/{project}/{name}/{version}", status_code=204)
def delete_version(
    entity: Entity,
    project: Project,
    name: Name,
    version: Ref,
    who: Caller,
    srv: Srv,
    delete_aliases: bool = False,
) -> Response:
    """Delete a version (409 ``has_aliases`` while it has user aliases, unless ``delete_aliases``)."""
    with write(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        store.check_writable(who, entity)
        row = art.resolve(conn, proj, name, version)
        if not delete_aliases and art.has_user_aliases(conn, row.pk):
            raise ApiError(
                409,
                f"{name}:v{row.idx} has aliases; delete them first or pass delete_aliases=true",
                code="has_aliases",
            )
        art.delete_versions(conn, [row.pk])
    return Response(status_code=204)


def _collection_infos(conn: sa.Connection, rows: Sequence[Any]) -> list[dict[str, Any]]:
    pks = [c.pk for c in rows]
    counts: dict[int, int] = {}
    aliases: dict[int, list[str]] = {pk: [] for pk in pks}
    if pks:
        counts = dict(
            conn.execute(
                sa.select(V.c.collection_pk, sa.func.count())
                .where(V.c.collection_pk.in_(pks))
                .group_by(V.c.collection_pk)
            ).all()
        )
        for a in conn.execute(
            sa.select(artifact_aliases.c.collection_pk, artifact_aliases.c.alias)
            .where(artifact_aliases.c.collection_pk.in_(pks))
            .order_by(artifact_aliases.c.alias)
        ):
            aliases[a.collection_pk].append(a.alias)
    return [
        {
            "name": c.name,
            "type": c.type,
            "description": c.description,
            "tags": list(c.tags or ()),
            "version_count": counts.get(c.pk, 0),
            "aliases": (["latest"] if counts.get(c.pk) else []) + aliases[c.pk],
            "created_at": c.created_at,
            "updated_at": c.updated_at,
        }
        for c in rows
    ]


@router.get("/artifacts/{entity}/{project}", response_model=CollectionList)
def list_collections(
    entity: Entity,
    project: Project,
    who: Caller,
    srv: Srv,
    type: Annotated[str | None, Query(max_length=128)] = None,
    name: Annotated[str | None, Query(max_length=128)] = None,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Any:
    """Collections, newest first."""
    before = _cursor(cursor)
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        query = sa.select(C).where(C.c.project_id == proj.id)
        if type:
            query = query.where(C.c.type == type)
        if name:
            query = query.where(C.c.name == name)
        if before is not None:
            query = query.where(C.c.pk < before)
        rows = conn.execute(query.order_by(C.c.pk.desc()).limit(per_page + 1)).all()
        items = _collection_infos(conn, rows[:per_page])
    nxt = str(rows[per_page - 1].pk) if len(rows) > per_page else None
    return JSONResponse({"items": items, "next_cursor": nxt})


@router.patch("/artifacts/{entity}/{project}/{name}", response_model=CollectionInfo)
def patch_collection(
    entity: Entity, project: Project, name: Name, body: CollectionPatch, who: Caller, srv: Srv
) -> Any:
    with write(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        store.check_writable(who, entity)
        coll = art.find_collection(conn, proj.id, name, lock=True)
        if coll is None:
            raise not_found(f"artifact {entity}/{project}/{name}")
        values: dict[str, Any] = {}
        if "description" in body.model_fields_set:
            values["description"] = body.description
        if body.tags is not None:
            values["tags"] = art.check_tags(body.tags)
        if values:
            conn.execute(sa.update(C).where(C.c.pk == coll.pk).values(**values, updated_at=time.time()))
        return JSONResponse(_collection_infos(conn, [art.find_collection(conn, proj.id, name)])[0])


@router.get("/artifact-types/{entity}/{project}", response_model=TypeList)
def list_types(entity: Entity, project: Project, who: Caller, srv: Srv) -> Any:
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        rows = conn.execute(
            sa.select(C.c.type, sa.func.count())
            .where(C.c.project_id == proj.id)
            .group_by(C.c.type)
            .order_by(C.c.type)
        ).all()
    return JSONResponse({"items": [{"name": t, "collections": n} for t, n in rows]})


# -- lineage ------------------------------------------------------------------------


def _resolve_ref(conn: sa.Connection, who: Principal, ref: str) -> Any:
    e, p, n, v = art.parse_ref(ref)
    proj = store.readable_project(conn, who, e, p)
    return art.resolve(conn, proj, n, v)


@router.post("/runs/{entity}/{project}/{run_id}/used-artifacts", response_model=VersionInfo)
def use_artifact(
    entity: Entity, project: Project, run_id: RunId, body: UseBody, who: Caller, srv: Srv
) -> Any:
    """Record that the run used a version (once per run and version)."""
    with write(srv.engine) as conn:
        _, run = store.writable_run(conn, who, entity, project, run_id)
        row = _resolve_ref(conn, who, body.artifact)
        seen = conn.execute(
            sa.select(artifact_usage.c.run_pk).where(
                artifact_usage.c.version_pk == row.pk, artifact_usage.c.run_pk == run.pk
            )
        ).first()
        if seen is None:
            conn.execute(
                sa.insert(artifact_usage).values(
                    version_pk=row.pk, run_pk=run.pk, use_as=body.use_as, used_at=time.time()
                )
            )
        return JSONResponse(art.version_objects(conn, [row])[0])


@router.get("/artifacts/{entity}/{project}/{name}/{version}/used-by", response_model=RunList)
def used_by(entity: Entity, project: Project, name: Name, version: Ref, who: Caller, srv: Srv) -> Any:
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        row = art.resolve(conn, proj, name, version)
        pks = (
            conn.execute(
                sa.select(artifact_usage.c.run_pk)
                .where(artifact_usage.c.version_pk == row.pk)
                .order_by(artifact_usage.c.used_at)
            )
            .scalars()
            .all()
        )
        refs = _readable_refs(conn, who, art.run_refs(conn, pks))
    return JSONResponse({"items": [refs[pk] for pk in pks if pk in refs]})


@router.get("/artifacts/{entity}/{project}/{name}/{version}/logged-by", response_model=RunSummary | None)
def logged_by(entity: Entity, project: Project, name: Name, version: Ref, who: Caller, srv: Srv) -> Any:
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        row = art.resolve(conn, proj, name, version)
        if row.logged_by is None:
            return JSONResponse(None)
        refs = _readable_refs(conn, who, art.run_refs(conn, [row.logged_by]))
        return JSONResponse(refs.get(row.logged_by))


def _readable_refs(
    conn: sa.Connection, who: Principal, refs: dict[int, dict[str, Any]]
) -> dict[int, dict[str, Any]]:
    """``refs`` less the runs whose project the caller may not read: a version readable in one
    project may be used by runs of another, whose names are not the caller's to see."""
    foreign = {(r["entity"], r["project"]) for r in refs.values() if not who.can_write(r["entity"])}
    public: set[tuple[str, str]] = set()
    for entity, project in foreign:
        visibility = conn.execute(
            sa.select(projects.c.visibility).where(projects.c.entity == entity, projects.c.name == project)
        ).scalar()
        if visibility == "public":
            public.add((entity, project))
    return {
        pk: r for pk, r in refs.items() if who.can_write(r["entity"]) or (r["entity"], r["project"]) in public
    }


@router.get("/runs/{entity}/{project}/{run_id}/artifacts", response_model=VersionList)
def run_artifacts(
    entity: Entity,
    project: Project,
    run_id: RunId,
    who: Caller,
    srv: Srv,
    direction: Annotated[str, Query(pattern="^(logged|used)$")] = "logged",
) -> Any:
    """The versions a run logged, or used."""
    with read(srv.engine) as conn:
        _, run = store.readable_run(conn, who, entity, project, run_id)
        if direction == "logged":
            pks = (
                conn.execute(sa.select(V.c.pk).where(V.c.logged_by == run.pk).order_by(V.c.pk))
                .scalars()
                .all()
            )
        else:
            pks = (
                conn.execute(
                    sa.select(artifact_usage.c.version_pk)
                    .where(artifact_usage.c.run_pk == run.pk)
                    .order_by(artifact_usage.c.used_at)
                )
                .scalars()
                .all()
            )
        rows = art.versions_by_pk(conn, pks)
        items = art.version_objects(conn, [rows[pk] for pk in pks if pk in rows])
    return JSONResponse({"items": items, "next_cursor": None})


# -- registry links -----------------------------------------------------------------


@router.post("/artifacts/{entity}/{project}/{name}/links", response_model=VersionInfo, status_code=201)
def link_version(entity: Entity, project: Project, name: Name, body: LinkBody, who: Caller, srv: Srv) -> Any:
    """Link an existing version into a (registry) collection: a version of its own that reads through."""
    if name in art.RESERVED_NAMES:
        raise ApiError(422, f"artifact name {name!r} is reserved")
    aliases = art.user_aliases(body.aliases)
    proj = _writable(srv, who, entity, project)
    now = time.time()
    with write(srv.engine) as conn:
        src = _resolve_ref(conn, who, body.source)
        if src.source_pk is not None:  # linking a link links what it points at
            src = art.versions_by_pk(conn, [src.source_pk])[src.source_pk]
        coll = art.ensure_collection(conn, proj.id, name, src.ctype, None, now)
        existing = conn.execute(
            sa.select(V).where(V.c.collection_pk == coll.pk, V.c.source_pk == src.pk)
        ).first()
        if existing is not None:
            art.add_to_version(conn, existing, aliases, [], now)
            return JSONResponse(_one(conn, existing.pk), status_code=200)
        digests = list(
            conn.execute(
                sa.select(artifact_version_blobs.c.digest).where(
                    artifact_version_blobs.c.version_pk == src.pk
                )
            ).scalars()
        )
        # the link's files become readable in the target project
        sizes = (
            dict(
                conn.execute(
                    sa.select(artifact_blobs.c.digest, artifact_blobs.c.size).where(
                        artifact_blobs.c.project_id == src.project_id, artifact_blobs.c.digest.in_(digests)
                    )
                ).all()
            )
            if digests
            else {}
        )
        art.add_blobs(conn, proj.id, [(d, sizes.get(d, 0)) for d in digests], now)
        pk = art.add_version(
            conn,
            coll,
            {
                "digest": src.digest,
                "manifest_sha256": src.manifest_sha256,
                "description": src.description,
                "metadata": src.metadata,
                "tags": [],
                "size": src.size,
                "file_count": src.file_count,
                "created_at": now,
                "logged_by": None,
                "client_id": None,
                "source_pk": src.pk,
            },
            aliases,
            [],
        )
        return JSONResponse(_one(conn, pk, created=True), status_code=201)


@router.get("/registries/{entity}", response_model=RegistryList)
def list_registries(entity: Entity, who: Caller, srv: Srv) -> Any:
    """The projects of ``entity`` that are registries (``wandb-registry-*``) or hold links."""
    with read(srv.engine) as conn:
        linked = sa.select(V.c.project_id).where(V.c.source_pk.is_not(None))
        rows = conn.execute(
            sa.select(projects)
            .where(
                projects.c.entity == entity,
                projects.c.name.like("wandb-registry-%") | projects.c.id.in_(linked),
            )
            .order_by(projects.c.name)
        ).all()
        items = []
        for proj in rows:
            if not (who.can_write(entity) or proj.visibility == "public"):
                continue
            colls = conn.execute(sa.select(C).where(C.c.project_id == proj.id).order_by(C.c.name)).all()
            items.append(
                {"entity": entity, "project": proj.name, "collections": _collection_infos(conn, colls)}
            )
    return JSONResponse({"items": items})
