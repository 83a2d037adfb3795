"""Artifact collections and types: list them, edit a collection's description and tags."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query

from trackwell_server.db.engine import read, write
from trackwell_server.deps import Caller, Entity, Srv
from trackwell_server.errors import not_found
from trackwell_server.responses import JSONResponse
from trackwell_server.routes.artifacts.common import Name, Project, page_cursor
from trackwell_server.routes.artifacts.models import CollectionInfo, CollectionList, CollectionPatch, TypeList
from trackwell_server.storage import artifacts as art
from trackwell_server.storage import collections
from trackwell_server.storage import runs as store

router = APIRouter(tags=["artifacts"])


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
    before = page_cursor(cursor)
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        rows = collections.page(conn, proj.id, type, name, before, per_page + 1)
        items = collections.infos(conn, rows[:per_page])
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
            collections.update(conn, coll.pk, values, time.time())
        return JSONResponse(collections.infos(conn, [art.find_collection(conn, proj.id, name)])[0])


@router.get("/artifact-types/{entity}/{project}", response_model=TypeList)
def list_types(entity: Entity, project: Project, who: Caller, srv: Srv) -> Any:
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        rows = collections.types(conn, proj.id)
    return JSONResponse({"items": [{"name": t, "collections": n} for t, n in rows]})
