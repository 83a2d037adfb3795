"""Artifact lineage: a run used a version; which runs used a version, which run logged it, and
what a run logged or used."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query

from trackwell_server.db.engine import read, write
from trackwell_server.deps import Caller, Entity, RunId, Srv
from trackwell_server.responses import JSONResponse
from trackwell_server.routes.artifacts.common import Name, Project, Ref, resolve_ref
from trackwell_server.routes.artifacts.models import RunList, RunSummary, UseBody, VersionInfo, VersionList
from trackwell_server.storage import artifacts as art
from trackwell_server.storage import lineage
from trackwell_server.storage import runs as store

router = APIRouter(tags=["artifacts"])


@router.post("/runs/{entity}/{project}/{run_id}/used-artifacts", response_model=VersionInfo)
def use_artifact(
    entity: Entity, project: Project, run_id: RunId, body: UseBody, who: Caller, srv: Srv
) -> Any:
    """Record that the run used a version (once per run and version)."""
    with write(srv.engine) as conn:
        _, run = store.writable_run(conn, who, entity, project, run_id)
        row = resolve_ref(conn, who, body.artifact)
        lineage.record_use(conn, row.pk, run.pk, body.use_as, time.time())
        return JSONResponse(art.version_objects(conn, [row])[0])


@router.get("/artifacts/{entity}/{project}/{name}/{version}/used-by", response_model=RunList)
def used_by(entity: Entity, project: Project, name: Name, version: Ref, who: Caller, srv: Srv) -> Any:
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        row = art.resolve(conn, proj, name, version)
        pks = lineage.users_of(conn, row.pk)
        refs = lineage.readable_refs(conn, who, art.run_refs(conn, pks))
    return JSONResponse({"items": [refs[pk] for pk in pks if pk in refs]})


@router.get("/artifacts/{entity}/{project}/{name}/{version}/logged-by", response_model=RunSummary | None)
def logged_by(entity: Entity, project: Project, name: Name, version: Ref, who: Caller, srv: Srv) -> Any:
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        row = art.resolve(conn, proj, name, version)
        if row.logged_by is None:
            return JSONResponse(None)
        refs = lineage.readable_refs(conn, who, art.run_refs(conn, [row.logged_by]))
        return JSONResponse(refs.get(row.logged_by))


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
        pks = (
            lineage.logged_by_run(conn, run.pk)
            if direction == "logged"
            else lineage.used_by_run(conn, run.pk)
        )
        rows = art.versions_by_pk(conn, pks)
        items = art.version_objects(conn, [rows[pk] for pk in pks if pk in rows])
    return JSONResponse({"items": items, "next_cursor": None})
