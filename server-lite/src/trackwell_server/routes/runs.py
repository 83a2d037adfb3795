"""Runs: upsert (create, resume, fork, rewind), read, edit, delete, list, heartbeat."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from trackwell.errors import UsageError
from trackwell.extend import run_filters
from trackwell_server.db.engine import read, write
from trackwell_server.deps import Caller, Entity, Project, RunId, Srv
from trackwell_server.errors import ApiError
from trackwell_server.names import NAME_PATTERN, clean_text
from trackwell_server.responses import JSONResponse
from trackwell_server.storage import history
from trackwell_server.storage import runs as store

router = APIRouter(tags=["runs"])

MAX_STEP = 2**62
_Text = Annotated[str, AfterValidator(clean_text), Field(max_length=100_000)]


class ForkFrom(BaseModel):
    run_id: str = Field(pattern=NAME_PATTERN, max_length=128)
    step: int = Field(ge=0, le=MAX_STEP)


class ResumeFrom(BaseModel):
    step: int = Field(ge=0, le=MAX_STEP)


class RunUpsert(BaseModel):
    """PUT body; fields left out are left alone on an existing run."""

    model_config = ConfigDict(extra="ignore")

    name: _Text | None = None
    group: _Text | None = None
    job_type: _Text | None = None
    tags: list[_Text] | None = Field(default=None, max_length=1000)
    notes: _Text | None = None
    config: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    start_time: float | None = Field(default=None, ge=0, le=1e11, allow_inf_nan=False)
    resume: Literal["allow", "must", "never", "auto"] | None = None
    fork_from: ForkFrom | None = None
    resume_from: ResumeFrom | None = None


class RunPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: _Text | None = None
    display_name: _Text | None = None
    group: _Text | None = None
    job_type: _Text | None = None
    tags: list[_Text] | None = Field(default=None, max_length=1000)
    notes: _Text | None = None
    config: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    state: Literal["running", "finished", "failed", "crashed", "killed"] | None = None


class RunInfo(BaseModel):
    entity: str
    project: str
    id: str
    name: str
    display_name: str
    group: str | None
    job_type: str | None
    tags: list[str]
    notes: str | None
    state: str
    config: dict[str, Any]
    summary: dict[str, Any]
    metadata: dict[str, Any]
    created_at: float
    heartbeat_at: float
    finished_at: float | None
    exit_code: int | None
    runtime: float
    last_step: int
    history_keys: list[str]
    fork_of: dict[str, Any] | None
    rewinds: list[dict[str, Any]]
    streams: dict[str, int]
    refused: dict[str, Any]
    url: str


class RunList(BaseModel):
    runs: list[RunInfo]
    next_cursor: str | None
    total: int


class HeartbeatState(BaseModel):
    state: str


def _base_url(srv: Srv) -> str:
    return srv.config.public_url


@router.put("/runs/{entity}/{project}/{run_id}", response_model=RunInfo)
def upsert_run(
    entity: Entity, project: Project, run_id: RunId, body: RunUpsert, who: Caller, srv: Srv
) -> Any:
    """Create or update a run; see docs/server-api.md for resume, fork and rewind."""
    now = time.time()
    with write(srv.engine) as conn:
        proj = store.writable_project(conn, who, entity, project, create=True)
        row = store.find_run(conn, proj.id, run_id, lock=True)
        created = row is None
        if body.fork_from is not None:
            if row is not None:
                raise ApiError(409, f"run {run_id!r} exists: a fork needs a new run id")
            _fork(conn, proj, run_id, body, now)
        elif row is None:
            if body.resume == "must":
                raise ApiError(404, f"run {entity}/{project}/{run_id} not found (resume='must')")
            values = store.new_run_values(proj.id, run_id, body.start_time or now)
            values.update(_given(body, None))
            if store.insert_run(conn, values) is None:  # created by a concurrent upsert (another process)
                row = store.get_run(conn, proj, run_id, lock=True)
                created = False
        if row is not None:
            if body.resume == "never":
                raise ApiError(409, f"run {entity}/{project}/{run_id} exists (resume='never')")
            values = _given(body, row)
            if body.resume is not None:
                values.update(state="running", finished_at=None, exit_code=None, heartbeat_at=now)
            if values:
                store.update_run(conn, row.pk, values)
            if body.resume_from is not None:
                store.rewind(conn, row.pk, body.resume_from.step, now)
        row = store.get_run(conn, proj, run_id)
        info = store.info(conn, proj, row, _base_url(srv))
    return JSONResponse(info, status_code=201 if created else 200)


def _given(body: RunUpsert, row: Any) -> dict[str, Any]:
    """Column values for the fields the upsert names.

    On an existing run, ``config`` and ``metadata`` only add keys it lacks: the sender
    re-sends its first upsert after every reconnect, and config changes made since
    arrived as ``config`` records, which must not be overwritten by stale values.
    """
    out: dict[str, Any] = {}
    for field, column in (
        ("name", "name"),
        ("group", "group_name"),
        ("job_type", "job_type"),
        ("notes", "notes"),
    ):
        value = getattr(body, field)
        if value is not None:
            out[column] = value
    if body.tags is not None:
        out["tags"] = list(body.tags)
    for field in ("config", "metadata"):
        value = getattr(body, field)
        if value is not None:
            out[field] = value if row is None else {**value, **(getattr(row, field) or {})}
    return out


def _fork(conn: sa.Connection, proj: Any, run_id: str, body: RunUpsert, now: float) -> None:
    assert body.fork_from is not None
    parent = store.find_run(conn, proj.id, body.fork_from.run_id)
    if parent is None:
        raise ApiError(404, f"run {proj.entity}/{proj.name}/{body.fork_from.run_id} not found (fork_from)")
    step = body.fork_from.step
    values = store.new_run_values(proj.id, run_id, body.start_time or now)
    values.update(_given(body, None))
    values["config"] = {**(parent.config or {}), **(body.config or {})}
    values["fork_of"] = {"run_id": parent.run_id, "step": step}
    values["history_keys"] = parent.history_keys
    pk = store.insert_run(conn, values)
    if pk is None:  # the same fork made at the same moment by another process
        raise ApiError(409, f"run {run_id!r} exists: a fork needs a new run id")
    history.copy_until(conn, parent.pk, pk, step)
    store.cut_summary(conn, pk, parent, step)


@router.get("/runs/{entity}/{project}/{run_id}", response_model=RunInfo)
def get_run(entity: Entity, project: Project, run_id: RunId, who: Caller, srv: Srv) -> Any:
    with read(srv.engine) as conn:
        proj, row = store.readable_run(conn, who, entity, project, run_id)
        return JSONResponse(store.info(conn, proj, row, _base_url(srv)))


@router.patch("/runs/{entity}/{project}/{run_id}", response_model=RunInfo)
def patch_run(entity: Entity, project: Project, run_id: RunId, body: RunPatch, who: Caller, srv: Srv) -> Any:
    """Edit a run (W&B's ``run.update()``); ``config`` and ``summary`` replace the whole map."""
    with write(srv.engine) as conn:
        proj, row = store.writable_run(conn, who, entity, project, run_id)
        values: dict[str, Any] = {}
        name = body.display_name if body.display_name is not None else body.name
        if name is not None:
            values["name"] = name
        for field, column in (("group", "group_name"), ("job_type", "job_type"), ("notes", "notes"),
                              ("config", "config"), ("state", "state")):  # fmt: skip
            value = getattr(body, field)
            if value is not None:
                values[column] = value
        if body.tags is not None:
            values["tags"] = list(body.tags)
        if body.summary is not None:
            state = store.load_summary(row)
            state.edit(body.summary, [k for k in state.values if k not in body.summary])
            values.update(summary=state.snapshot(), summary_state=store.dump_summary(state))
        if values:
            store.update_run(conn, row.pk, values)
        row = store.get_run(conn, proj, run_id)
        return JSONResponse(store.info(conn, proj, row, _base_url(srv)))


@router.delete("/runs/{entity}/{project}/{run_id}", status_code=204)
def delete_run(entity: Entity, project: Project, run_id: RunId, who: Caller, srv: Srv,
               delete_artifacts: bool = False) -> Response:  # fmt: skip
    """Delete a run; its artifact versions stay (logged_by becomes null) unless ``delete_artifacts``."""
    with write(srv.engine) as conn:
        _, row = store.writable_run(conn, who, entity, project, run_id)
        store.delete_run(conn, row.pk, delete_artifacts)
    return Response(status_code=204)


@router.post("/runs/{entity}/{project}/{run_id}/heartbeat", response_model=HeartbeatState)
def heartbeat(entity: Entity, project: Project, run_id: RunId, who: Caller, srv: Srv) -> Any:
    """The sender's "still alive" between batches; a crashed run that beats again is running."""
    with write(srv.engine) as conn:
        _, row = store.writable_run(conn, who, entity, project, run_id)
        state = "running" if row.state == "crashed" else row.state
        store.update_run(conn, row.pk, {"heartbeat_at": time.time(), "state": state})
    return JSONResponse({"state": state})


class _Summary:
    def __init__(self, values: dict[str, Any]) -> None:
        self._json_dict = values


class _FilterView:
    """A run's filterable fields dressed as the local API's Run, so ``trackwell.api.filters``
    applies unchanged. Built from the light first-pass columns (see ``list_runs``)."""

    def __init__(self, row: Any, project: Any) -> None:
        self.pk = row.pk
        self.id = row.run_id
        self.name = row.name or row.run_id
        self.config = getattr(row, "config", None) or {}
        self.summary = _Summary(getattr(row, "summary", None) or {})
        self.metadata = getattr(row, "metadata", None) or {}
        self.tags = list(row.tags or [])
        self.state = row.state
        self.project = project.name
        self.entity = project.entity
        self.group = row.group_name
        self.job_type = row.job_type
        self.notes = row.notes
        self.start_time = row.created_at
        self.created_at = datetime.fromtimestamp(row.created_at, tz=timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )


@router.get("/runs/{entity}/{project}", response_model=RunList)
def list_runs(
    entity: Entity,
    project: Project,
    who: Caller,
    srv: Srv,
    filters: Annotated[str | None, Query(max_length=100_000, description="JSON, MongoDB style")] = None,
    order: Annotated[str, Query(max_length=300)] = "-created_at",
    per_page: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
) -> Any:
    """One page of a project's runs, filtered and ordered.

    Two passes, so a page costs little even in a project of 10,000 runs: matching and
    ordering read only the columns the filter and order name (config, summary or
    metadata are parsed only when named), then full run objects are built for the
    page alone. Without a filter and with an order on a plain column, SQL does it all.
    """
    query: Any = {}
    if filters:
        try:
            query = json.loads(filters)
        except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
            raise ApiError(422, 'filters must be a JSON object, e.g. {"config.lr": 0.1}') from None
        if not isinstance(query, dict):
            raise ApiError(422, 'filters must be a JSON object, e.g. {"config.lr": 0.1}')
    start = 0
    if cursor:
        if not cursor.isdigit():
            raise ApiError(422, f"invalid cursor {cursor!r}")
        start = int(cursor)
    key = order.strip().lstrip("+-")
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        if not query and key in store.SQL_ORDER:
            total = store.count_runs(conn, proj.id)
            pks = store.page_pks(conn, proj.id, key, order.strip().startswith("-"), start, per_page)
        else:
            named = json.dumps(query) + " " + order
            documents = [c for c in store.DOCUMENTS if c in named]
            if "summary_metrics" in named and "summary" not in documents:
                documents.append("summary")
            rows = store.light_rows(conn, proj.id, documents)
            views = [_FilterView(r, proj) for r in rows]
            try:
                matched = [v for v in views if run_filters.matches(v, query)]  # type: ignore[arg-type]
                ordered = run_filters.sort_runs(matched, order)  # type: ignore[arg-type]
            except (
                UsageError,
                TypeError,
                ValueError,
                AttributeError,
                KeyError,
                RecursionError,
                re.error,
            ) as exc:
                raise ApiError(422, f"invalid filters or order: {exc}") from None
            total = len(ordered)
            pks = [v.pk for v in ordered[start : start + per_page]]  # type: ignore[attr-defined]
        full = store.runs_by_pk(conn, pks)
        page = store.infos(conn, proj, [full[pk] for pk in pks if pk in full], _base_url(srv))
    more = start + per_page < total
    return JSONResponse(
        {"runs": page, "next_cursor": str(start + per_page) if more else None, "total": total}
    )
