"""Sweeps (docs/server-api.md "Sweeps"): create, read, the agents' next/heartbeat/report
calls, a local controller's queue and stop requests, and pause/resume/stop/cancel."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from trackwell_server.db.engine import read, write
from trackwell_server.deps import Caller, Entity, Project, RunId, Srv
from trackwell_server.names import NAME_PATTERN
from trackwell_server.responses import JSONResponse
from trackwell_server.storage import sweeps as store
from trackwell_server.storage.runs import readable_project, writable_project

router = APIRouter(tags=["sweeps"])
SweepId = Annotated[str, Path(pattern=NAME_PATTERN, max_length=64)]


class SweepCreate(BaseModel):
    config: dict[str, Any] = Field(description="the W&B sweep configuration, as a JSON object")


class SweepRun(BaseModel):
    run_id: str
    config: dict[str, Any]
    state: str
    metric: float | None
    stop_requested: bool
    error: str | None
    created_at: float
    history: list[float] | None = None


class SweepInfo(BaseModel):
    entity: str
    project: str
    id: str
    name: str | None
    config: dict[str, Any]
    state: str
    controller: str
    done_reason: str | None
    created_by: str
    created_at: float
    updated_at: float
    run_count: int
    runs: list[SweepRun]


class SweepList(BaseModel):
    sweeps: list[SweepInfo]


class NextBody(BaseModel):
    agent: str | None = Field(None, max_length=256)


class NextAnswer(BaseModel):
    action: Literal["run", "wait", "done"]
    state: str
    run_id: str | None = None
    params: dict[str, Any] | None = None
    reason: str | None = None


class HeartbeatBody(BaseModel):
    run_ids: list[str] = Field(max_length=1000)


class HeartbeatAnswer(BaseModel):
    stop: list[str]
    state: str


class ReportBody(BaseModel):
    state: Literal["finished", "failed", "crashed", "stopped"]
    error: str | None = Field(None, max_length=20_000)


class SuggestionBody(BaseModel):
    params: dict[str, Any] = Field(description="flat parameters: {'lr': 0.1, 'optimizer.beta': 0.9}")


class StatePatch(BaseModel):
    state: Literal["RUNNING", "PAUSED", "FINISHED", "CANCELED"]


_BASE = "/projects/{entity}/{project}/sweeps"


@router.post(_BASE, response_model=SweepInfo, status_code=201)
def create_sweep(entity: Entity, project: Project, body: SweepCreate, who: Caller, srv: Srv) -> Any:
    """Validate the configuration (422 naming the offending key) and create a RUNNING sweep."""
    with write(srv.engine) as conn:
        proj = writable_project(conn, who, entity, project, create=True)
        row = store.create(conn, proj, body.config, who.user)
        out = store.info(conn, proj, row)
    return JSONResponse(out, status_code=201)


@router.get(_BASE, response_model=SweepList)
def list_sweeps(entity: Entity, project: Project, who: Caller, srv: Srv) -> Any:
    with read(srv.engine) as conn:
        proj = readable_project(conn, who, entity, project)
        rows = store.of_project(conn, proj.id)
        return JSONResponse({"sweeps": [store.info(conn, proj, r) for r in rows]})


@router.get(_BASE + "/{sweep_id}", response_model=SweepInfo)
def get_sweep(
    entity: Entity, project: Project, sweep_id: SweepId, who: Caller, srv: Srv, history: bool = False
) -> Any:
    """The sweep and its runs; ``history=true`` adds each run's metric history (for local controllers)."""
    with read(srv.engine) as conn:
        proj = readable_project(conn, who, entity, project)
        return JSONResponse(store.info(conn, proj, store.get(conn, proj, sweep_id), histories=history))


@router.patch(_BASE + "/{sweep_id}", response_model=SweepInfo)
def patch_sweep(
    entity: Entity, project: Project, sweep_id: SweepId, body: StatePatch, who: Caller, srv: Srv
) -> Any:
    """Pause (PAUSED), resume (RUNNING), stop (FINISHED: running runs finish) or cancel
    (CANCELED: agents kill their running runs at their next heartbeat)."""
    with write(srv.engine) as conn:
        proj = writable_project(conn, who, entity, project, create=False)
        store.set_state(conn, proj, sweep_id, body.state)
        return JSONResponse(store.info(conn, proj, store.get(conn, proj, sweep_id)))


@router.post(_BASE + "/{sweep_id}/next", response_model=NextAnswer)
def next_run(
    entity: Entity, project: Project, sweep_id: SweepId, body: NextBody, who: Caller, srv: Srv
) -> Any:
    """The next trial for an agent; never the same one for two agents."""
    with write(srv.engine) as conn:
        proj = writable_project(conn, who, entity, project, create=False)
        return JSONResponse(store.next_run(conn, proj, sweep_id, body.agent))


@router.post(_BASE + "/{sweep_id}/heartbeat", response_model=HeartbeatAnswer)
def heartbeat(
    entity: Entity, project: Project, sweep_id: SweepId, body: HeartbeatBody, who: Caller, srv: Srv
) -> Any:
    """An agent's running trials; the answer lists those it must stop (hyperband, cancel)."""
    with write(srv.engine) as conn:
        proj = writable_project(conn, who, entity, project, create=False)
        return JSONResponse(store.heartbeat(conn, proj, sweep_id, body.run_ids))


@router.post(_BASE + "/{sweep_id}/runs/{run_id}", status_code=204)
def report_run(
    entity: Entity,
    project: Project,
    sweep_id: SweepId,
    run_id: RunId,
    body: ReportBody,
    who: Caller,
    srv: Srv,
) -> None:
    """How a trial ended, from its agent (``stopped`` for hyperband, ``failed`` with the error)."""
    with write(srv.engine) as conn:
        proj = writable_project(conn, who, entity, project, create=False)
        store.report(conn, proj, sweep_id, run_id, body.state, body.error)


@router.post(_BASE + "/{sweep_id}/runs/{run_id}/stop", status_code=204)
def stop_run(
    entity: Entity, project: Project, sweep_id: SweepId, run_id: RunId, who: Caller, srv: Srv
) -> None:
    """A local controller's early-termination decision; the agent hears it at its next heartbeat."""
    with write(srv.engine) as conn:
        proj = writable_project(conn, who, entity, project, create=False)
        store.request_stop(conn, proj, sweep_id, run_id)


@router.post(_BASE + "/{sweep_id}/suggestions", response_model=NextAnswer, status_code=201)
def queue_suggestion(
    entity: Entity, project: Project, sweep_id: SweepId, body: SuggestionBody, who: Caller, srv: Srv
) -> Any:
    """A local controller's suggestion, handed to the next agent that asks."""
    with write(srv.engine) as conn:
        proj = writable_project(conn, who, entity, project, create=False)
        run_id = store.queue(conn, proj, sweep_id, body.params)
        state = store.get(conn, proj, sweep_id).state
    return JSONResponse(
        {"action": "run", "run_id": run_id, "params": body.params, "state": state}, status_code=201
    )
