"""Projects: listing, one project, visibility."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel

from trackwell_server.db.engine import read, write
from trackwell_server.db.schema import projects, runs
from trackwell_server.deps import Caller, Entity, Project, Srv
from trackwell_server.names import NAME_PATTERN
from trackwell_server.responses import JSONResponse
from trackwell_server.storage.runs import check_writable, project_info, readable_project

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


def _run_counts(conn: sa.Connection, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    query = (
        sa.select(runs.c.project_id, sa.func.count())
        .where(runs.c.project_id.in_(ids))
        .group_by(runs.c.project_id)
    )
    return {pid: n for pid, n in conn.execute(query)}


@router.get("/projects", response_model=ProjectList)
def list_projects(
    who: Caller, srv: Srv, entity: Annotated[str | None, Query(pattern=NAME_PATTERN, max_length=128)] = None
) -> Any:
    """The projects the caller may read: its own and its teams' (all), others' (public only)."""
    query = sa.select(projects).order_by(projects.c.entity, projects.c.name)
    if entity is not None:
        query = query.where(projects.c.entity == entity)
    with read(srv.engine) as conn:
        rows = [r for r in conn.execute(query) if who.can_write(r.entity) or r.visibility == "public"]
        counts = _run_counts(conn, [r.id for r in rows])
    return JSONResponse({"projects": [project_info(r, counts.get(r.id, 0)) for r in rows]})


@router.get("/projects/{entity}/{project}", response_model=ProjectInfo)
def get_project(entity: Entity, project: Project, who: Caller, srv: Srv) -> Any:
    with read(srv.engine) as conn:
        row = readable_project(conn, who, entity, project)
        count = _run_counts(conn, [row.id]).get(row.id, 0)
    return JSONResponse(project_info(row, count))


@router.patch("/projects/{entity}/{project}", response_model=ProjectInfo)
def patch_project(entity: Entity, project: Project, body: ProjectPatch, who: Caller, srv: Srv) -> Any:
    with write(srv.engine) as conn:
        row = readable_project(conn, who, entity, project)
        check_writable(who, entity)
        conn.execute(sa.update(projects).where(projects.c.id == row.id).values(visibility=body.visibility))
        row = readable_project(conn, who, entity, project)
        count = _run_counts(conn, [row.id]).get(row.id, 0)
    return JSONResponse(project_info(row, count))
