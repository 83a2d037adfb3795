"""Artifact versions: commit one (its manifest streamed), list, read, edit and delete them.

The create body may hold a manifest of a million entries: it is spooled to a
temporary file as it arrives and walked entry by entry (``storage.manifests``), so it
never becomes a million Python objects at once.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterator
from typing import IO, Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from trackwell_server.auth import Principal
from trackwell_server.db.engine import read, write
from trackwell_server.deps import Caller, Entity, Server, Srv
from trackwell_server.errors import ApiError, not_found
from trackwell_server.jsonstream import JsonError, JsonStream
from trackwell_server.responses import JSONResponse
from trackwell_server.routes.artifacts.common import Name, Project, Ref, page_cursor, version_object, writable
from trackwell_server.routes.artifacts.models import (
    ArtifactCreate,
    RunRef,
    VersionInfo,
    VersionList,
    VersionPatch,
)
from trackwell_server.storage import artifacts as art
from trackwell_server.storage import runs as store
from trackwell_server.storage.blobs import CHUNK, BlobNotFound
from trackwell_server.storage.manifests import ManifestBuilder

router = APIRouter(tags=["artifacts"])

#: The create request's body cap (limits.py lets it past the 25 MB one): 1,000,000 entries.
MAX_CREATE_BODY = 256 * 1024 * 1024
CREATE_PATH = re.compile(r"^/api/v1/artifacts/[^/]+/[^/]+/?$")


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
        proj = writable(srv, who, entity, project)
        with read(srv.engine) as conn:
            logged_by = _logging_run(conn, who, body.run)
            if (seen := art.version_of_client(conn, proj.id, body.client_id)) is not None:
                return JSONResponse(version_object(conn, seen), status_code=200)
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
            if (seen := art.version_of_client(conn, proj.id, body.client_id)) is not None:
                return JSONResponse(version_object(conn, seen), status_code=200)
            newest = art.newest_version(conn, coll.pk)
            if newest is not None and newest.digest == digest and newest.source_pk is None:
                art.add_to_version(conn, newest, aliases, tags, now)
                return JSONResponse(version_object(conn, newest.pk), status_code=200)
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
            return JSONResponse(version_object(conn, pk, created=True), status_code=201)


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
    before = page_cursor(cursor)
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        coll = art.find_collection(conn, proj.id, name)
        if coll is None:
            raise not_found(f"artifact {entity}/{project}/{name}")
        rows = art.versions_page(conn, coll.pk, before, per_page + 1)
        items = art.version_objects(conn, rows[:per_page])
    nxt = str(rows[per_page - 1].idx) if len(rows) > per_page else None
    return JSONResponse({"items": items, "next_cursor": nxt})


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
        art.update_version(conn, row.pk, values)
        return JSONResponse(version_object(conn, row.pk))


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
