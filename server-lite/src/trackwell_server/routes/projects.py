"""Projects: listing, one project, visibility."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from trackwell_server.db.engine import read, write
from trackwell_server.deps import Caller, Entity, Project, Srv
from trackwell_server.names import NAME_PATTERN
from trackwell_server.responses import JSONResponse
from trackwell_server.storage import runs as store

router = APIRouter(tags=["projects"])


class ProjectInfo(BaseModel):
    entity: str
    name: str
    created_at: float
    run_count: int
    visibility: str


class ProjectList(BaseModel):
    projects: list[ProjectInfo]


class ProjectPatch(BaseModel):
    visibility: Literal["private", "public"]


@router.get("/projects", response_model=ProjectList)
def list_projects(
    who: Caller, srv: Srv, entity: Annotated[str | None, Query(pattern=NAME_PATTERN, max_length=128)] = None
) -> Any:
    """The projects the caller may read: its own and its teams' (all), others' (public only)."""
    with read(srv.engine) as conn:
        rows = store.list_projects(conn, entity)
        rows = [r for r in rows if who.can_write(r.entity) or r.visibility == "public"]
        counts = store.run_counts(conn, [r.id for r in rows])
    return JSONResponse({"projects": [store.project_info(r, counts.get(r.id, 0)) for r in rows]})


@router.get("/projects/{entity}/{project}", response_model=ProjectInfo)
def get_project(entity: Entity, project: Project, who: Caller, srv: Srv) -> Any:
    with read(srv.engine) as conn:
        row = store.readable_project(conn, who, entity, project)
        count = store.run_counts(conn, [row.id]).get(row.id, 0)
    return JSONResponse(store.project_info(row, count))


@router.patch("/projects/{entity}/{project}", response_model=ProjectInfo)
def patch_project(entity: Entity, project: Project, body: ProjectPatch, who: Caller, srv: Srv) -> Any:
    with write(srv.engine) as conn:
        row = store.readable_project(conn, who, entity, project)
        store.check_writable(who, entity)
        store.set_visibility(conn, row.id, body.visibility)
        row = store.readable_project(conn, who, entity, project)
        count = store.run_counts(conn, [row.id]).get(row.id, 0)
    return JSONResponse(store.project_info(row, count))
