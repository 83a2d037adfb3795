"""Registries: link an existing version into a (registry) collection; list an entity's registries.

A link is a version of its own that reads through to its source (its manifest and
files); linking a link links what it points at.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter

from trackwell_server.db.engine import read, write
from trackwell_server.deps import Caller, Entity, Srv
from trackwell_server.errors import ApiError
from trackwell_server.responses import JSONResponse
from trackwell_server.routes.artifacts.common import Name, Project, resolve_ref, version_object, writable
from trackwell_server.routes.artifacts.models import LinkBody, RegistryList, VersionInfo
from trackwell_server.storage import artifacts as art
from trackwell_server.storage import collections, lineage

router = APIRouter(tags=["artifacts"])


@router.post("/artifacts/{entity}/{project}/{name}/links", response_model=VersionInfo, status_code=201)
def link_version(entity: Entity, project: Project, name: Name, body: LinkBody, who: Caller, srv: Srv) -> Any:
    """Link an existing version into a (registry) collection: a version of its own that reads through."""
    if name in art.RESERVED_NAMES:
        raise ApiError(422, f"artifact name {name!r} is reserved")
    aliases = art.user_aliases(body.aliases)
    proj = writable(srv, who, entity, project)
    now = time.time()
    with write(srv.engine) as conn:
        src = resolve_ref(conn, who, body.source)
        if src.source_pk is not None:  # linking a link links what it points at
            src = art.versions_by_pk(conn, [src.source_pk])[src.source_pk]
        coll = art.ensure_collection(conn, proj.id, name, src.ctype, None, now)
        existing = lineage.link_of(conn, coll.pk, src.pk)
        if existing is not None:
            art.add_to_version(conn, existing, aliases, [], now)
            return JSONResponse(version_object(conn, existing.pk), status_code=200)
        # the link's files become readable in the target project
        art.add_blobs(conn, proj.id, lineage.version_blob_sizes(conn, src.pk, src.project_id), now)
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
        return JSONResponse(version_object(conn, pk, created=True), status_code=201)


@router.get("/registries/{entity}", response_model=RegistryList)
def list_registries(entity: Entity, who: Caller, srv: Srv) -> Any:
    """The projects of ``entity`` that are registries (``wandb-registry-*``) or hold links."""
    with read(srv.engine) as conn:
        items = []
        for proj in lineage.registry_projects(conn, entity):
            if not (who.can_write(entity) or proj.visibility == "public"):
                continue
            colls = collections.of_project(conn, proj.id)
            items.append(
                {"entity": entity, "project": proj.name, "collections": collections.infos(conn, colls)}
            )
    return JSONResponse({"items": items})
