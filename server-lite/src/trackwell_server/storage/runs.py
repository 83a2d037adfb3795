"""Projects and runs: lookups with access checks, creation, and the ``RunInfo`` view."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgpack
import sqlalchemy as sa

from trackwell.extend import SummaryState
from trackwell_server.auth import Principal, entity_kind
from trackwell_server.db.schema import (
    artifact_usage,
    artifact_versions,
    files,
    projects,
    rewinds,
    row_chunks,
    runs,
    series_chunks,
    streams,
)
from trackwell_server.errors import ApiError, not_found
from trackwell_server.storage import history
from trackwell_server.storage.artifacts import delete_versions

# -- projects -----------------------------------------------------------------------


def project_info(row: Any, run_count: int) -> dict[str, Any]:
    return {
        "entity": row.entity,
        "name": row.name,
        "created_at": row.created_at,
        "run_count": run_count,
        "visibility": row.visibility,
    }


def list_projects(conn: sa.Connection, entity: str | None) -> list[Any]:
    """Every project (of ``entity``, if given), by entity and name: no access check."""
    query = sa.select(projects).order_by(projects.c.entity, projects.c.name)
    if entity is not None:
        query = query.where(projects.c.entity == entity)
    return list(conn.execute(query))


def run_counts(conn: sa.Connection, ids: list[int]) -> dict[int, int]:
    """How many runs each of the projects ``ids`` holds (a project with none is absent)."""
    if not ids:
        return {}
    query = (
        sa.select(runs.c.project_id, sa.func.count())
        .where(runs.c.project_id.in_(ids))
        .group_by(runs.c.project_id)
    )
    return {pid: n for pid, n in conn.execute(query)}


def set_visibility(conn: sa.Connection, project_id: int, visibility: str) -> None:
    conn.execute(sa.update(projects).where(projects.c.id == project_id).values(visibility=visibility))


def find_project(conn: sa.Connection, entity: str, name: str) -> Any:
    """The project row, or ``None``: no access check (the caller made its own)."""
    query = sa.select(projects).where(projects.c.entity == entity, projects.c.name == name)
    return conn.execute(query).first()


def readable_project(conn: sa.Connection, who: Principal, entity: str, name: str) -> Any:
    """The project row, or 404 when it is missing or private to someone else (names do not leak)."""
    row = find_project(conn, entity, name)
    if row is None or not (who.can_write(entity) or row.visibility == "public"):
        raise not_found(f"project {entity}/{name}")
    return row


def check_writable(who: Principal, entity: str) -> None:
    """403 for an entity the caller does not belong to."""
    if not who.can_write(entity):
        raise ApiError(403, f"you may not write into entity {entity!r}")


def writable_project(conn: sa.Connection, who: Principal, entity: str, name: str, create: bool) -> Any:
    check_writable(who, entity)
    if entity_kind(conn, entity) is None:  # only an admin gets here for a name nobody has
        raise not_found(f"entity {entity!r}")
    query = sa.select(projects).where(projects.c.entity == entity, projects.c.name == name)
    row = conn.execute(query).first()
    if row is None and create:
        try:
            with conn.begin_nested():  # another server process may create it at the same moment
                conn.execute(
                    sa.insert(projects).values(
                        entity=entity, name=name, visibility="private", created_at=time.time()
                    )
                )
        except sa.exc.IntegrityError:
            pass
        row = conn.execute(query).first()
    if row is None:
        raise not_found(f"project {entity}/{name}")
    return row


# -- runs ---------------------------------------------------------------------------


def has_rewind(conn: sa.Connection, run_pk: int, rewind: int) -> bool:
    """Whether run ``run_pk`` has rewind (archive) ``rewind``."""
    query = sa.select(rewinds.c.id).where(rewinds.c.run_pk == run_pk, rewinds.c.id == rewind)
    return conn.execute(query).first() is not None


def find_run(conn: sa.Connection, project_id: int, run_id: str, lock: bool = False) -> Any:
    query = sa.select(runs).where(runs.c.project_id == project_id, runs.c.run_id == run_id)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).first()


def get_run(conn: sa.Connection, project: Any, run_id: str, lock: bool = False) -> Any:
    row = find_run(conn, project.id, run_id, lock)
    if row is None:
        raise not_found(f"run {project.entity}/{project.name}/{run_id}")
    return row


def readable_run(
    conn: sa.Connection, who: Principal, entity: str, project: str, run_id: str
) -> tuple[Any, Any]:
    """(project row, run row) for a read: 404 when either is missing or not readable."""
    proj = readable_project(conn, who, entity, project)
    return proj, get_run(conn, proj, run_id)


def writable_run(
    conn: sa.Connection, who: Principal, entity: str, project: str, run_id: str
) -> tuple[Any, Any]:
    """(project row, run row locked for update) for a write: 404 as ``readable_run``, then 403
    for an entity the caller may not write into."""
    proj = readable_project(conn, who, entity, project)
    check_writable(who, entity)
    return proj, get_run(conn, proj, run_id, lock=True)


def insert_run(conn: sa.Connection, values: dict[str, Any]) -> int | None:
    """Insert a run; its pk, or ``None`` when a concurrent upsert (another process) created it first."""
    try:
        with conn.begin_nested():
            pk: int = conn.execute(sa.insert(runs).values(**values).returning(runs.c.pk)).scalar_one()
    except sa.exc.IntegrityError:
        return None
    return pk


def update_run(conn: sa.Connection, run_pk: int, values: dict[str, Any]) -> None:
    conn.execute(sa.update(runs).where(runs.c.pk == run_pk).values(**values))


def delete_run(conn: sa.Connection, run_pk: int, delete_artifacts: bool) -> None:
    """Delete a run and everything it holds; its artifact versions stay (``logged_by`` becomes
    null) unless ``delete_artifacts``."""
    if delete_artifacts:
        logged = sa.select(artifact_versions.c.pk).where(artifact_versions.c.logged_by == run_pk)
        delete_versions(conn, list(conn.execute(logged).scalars()))
    # the foreign keys would do it too; explicit, as the tables below
    logged_by_run = artifact_versions.c.logged_by == run_pk
    conn.execute(sa.update(artifact_versions).where(logged_by_run).values(logged_by=None))
    conn.execute(sa.delete(artifact_usage).where(artifact_usage.c.run_pk == run_pk))
    for table in (series_chunks, row_chunks, streams, rewinds, files):
        conn.execute(sa.delete(table).where(table.c.run_pk == run_pk))
    conn.execute(sa.delete(runs).where(runs.c.pk == run_pk))


def rewind(conn: sa.Connection, run_pk: int, step: int, now: float) -> None:
    """Archive history after ``step``. Idempotent for the sender's re-sent upsert: a
    rewind to the step of the run's latest rewind is a no-op."""
    latest = conn.execute(
        sa.select(rewinds.c.id, rewinds.c.step)
        .where(rewinds.c.run_pk == run_pk)
        .order_by(rewinds.c.id.desc())
    ).first()
    if latest is not None and latest.step == step:
        return
    rewind_id = (latest.id if latest is not None else 0) + 1
    conn.execute(sa.insert(rewinds).values(run_pk=run_pk, id=rewind_id, step=step, at=now))
    history.archive_after(conn, run_pk, step, rewind_id)
    row = conn.execute(sa.select(runs).where(runs.c.pk == run_pk)).one()
    cut_summary(conn, run_pk, row, step)


def cut_summary(conn: sa.Connection, run_pk: int, source: Any, step: int) -> None:
    """After history was cut at ``step`` (a fork or a rewind): the run's summary rebuilt from
    what remains, with the summary rules of ``source`` (the parent, or the run itself), and
    ``last_step`` no later than ``step``."""
    rules = load_summary(source).to_state()["rules"]
    state = rebuild_summary(conn, run_pk, rules)
    update_run(
        conn,
        run_pk,
        {
            "summary": state.snapshot(),
            "summary_state": dump_summary(state),
            "last_step": min(int(source.last_step), step),
        },
    )


# -- listing runs -------------------------------------------------------------------

#: the runs columns every filter pass reads; the JSON documents are added only when named
_LIGHT = (runs.c.pk, runs.c.run_id, runs.c.name, runs.c.group_name, runs.c.job_type, runs.c.tags,
          runs.c.notes, runs.c.state, runs.c.created_at)  # fmt: skip
#: orders SQL can do by itself when there is no filter: no row is parsed at all
SQL_ORDER = {
    "created_at": runs.c.created_at,
    "createdAt": runs.c.created_at,
    "heartbeat_at": runs.c.heartbeat_at,
    "state": runs.c.state,
    "id": runs.c.run_id,
}
#: the JSON documents of a run a filter or order may name
DOCUMENTS = ("config", "summary", "metadata")


def count_runs(conn: sa.Connection, project_id: int) -> int:
    query = sa.select(sa.func.count()).select_from(runs).where(runs.c.project_id == project_id)
    return conn.execute(query).scalar() or 0


def page_pks(
    conn: sa.Connection, project_id: int, key: str, descending: bool, start: int, limit: int
) -> list[int]:
    """One page of a project's run pks ordered by ``key`` (one of ``SQL_ORDER``), done by SQL alone."""
    column = SQL_ORDER[key]
    ordering = column.desc() if descending else column.asc()
    query = sa.select(runs.c.pk).where(runs.c.project_id == project_id).order_by(ordering, runs.c.pk)
    return list(conn.execute(query.offset(start).limit(limit)).scalars())


def light_rows(conn: sa.Connection, project_id: int, documents: Sequence[str]) -> list[Any]:
    """Every run of a project with the columns filters read and the ``documents`` named, oldest first."""
    extra = [runs.c[c] for c in documents]
    query = sa.select(*_LIGHT, *extra).where(runs.c.project_id == project_id).order_by(runs.c.created_at)
    return list(conn.execute(query).all())


def runs_by_pk(conn: sa.Connection, pks: Sequence[int]) -> dict[int, Any]:
    if not pks:
        return {}
    return {r.pk: r for r in conn.execute(sa.select(runs).where(runs.c.pk.in_(list(pks))))}


def new_run_values(project_id: int, run_id: str, now: float) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "run_id": run_id,
        "name": run_id,
        "group_name": None,
        "job_type": None,
        "tags": [],
        "notes": None,
        "state": "running",
        "config": {},
        "summary": {},
        "metadata": {},
        "alerts": [],
        "history_keys": [],
        "fork_of": None,
        "created_at": now,
        "heartbeat_at": now,
        "finished_at": None,
        "exit_code": None,
        "runtime": None,
        "last_step": -1,
        "summary_state": None,
        "refused": None,
    }


def load_summary(row: Any) -> SummaryState:
    if not row.summary_state:
        return SummaryState()
    return SummaryState.from_state(msgpack.unpackb(row.summary_state, raw=False, strict_map_key=False))


def dump_summary(state: SummaryState) -> bytes:
    try:
        data: bytes = msgpack.packb(state.to_state(), use_bin_type=True, default=repr)
    except OverflowError:  # an int past 64 bits (JSON ingest allows them): keep it as a float
        data = msgpack.packb(_fit_ints(state.to_state()), use_bin_type=True, default=repr)
    return data


def _fit_ints(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _fit_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fit_ints(v) for v in value]
    if type(value) is int and not -(2**63) <= value < 2**64:
        return float(value)
    return value


def rebuild_summary(conn: sa.Connection, run_pk: int, rules: Iterable[Mapping[str, Any]]) -> SummaryState:
    """The summary from the live history alone (after a rewind or a fork), folded as the SDK does."""
    state = SummaryState.from_state({"rules": list(rules)})
    for row in history.iter_rows(conn, run_pk):
        state.apply_row(dict(row))
    return state


def infos(conn: sa.Connection, project: Any, rows: Sequence[Any], base_url: str) -> list[dict[str, Any]]:
    """``RunInfo`` objects for ``rows`` (two extra queries for all of them, not two per run)."""
    pks = [r.pk for r in rows]
    seqs: dict[int, dict[str, int]] = {pk: {} for pk in pks}
    rw: dict[int, list[dict[str, Any]]] = {pk: [] for pk in pks}
    if pks:
        for s in conn.execute(sa.select(streams).where(streams.c.run_pk.in_(pks))):
            seqs[s.run_pk][s.stream] = s.last_seq
        for r in conn.execute(sa.select(rewinds).where(rewinds.c.run_pk.in_(pks)).order_by(rewinds.c.id)):
            rw[r.run_pk].append({"id": r.id, "step": r.step, "at": r.at})
    return [_info(project, row, seqs[row.pk], rw[row.pk], base_url) for row in rows]


def info(conn: sa.Connection, project: Any, row: Any, base_url: str) -> dict[str, Any]:
    return infos(conn, project, [row], base_url)[0]


def _info(
    project: Any, row: Any, seqs: dict[str, int], rw: list[dict[str, Any]], base_url: str
) -> dict[str, Any]:
    runtime = row.runtime
    if runtime is None:
        end = row.finished_at if row.finished_at is not None else row.heartbeat_at
        runtime = max(0.0, end - row.created_at)
    return {
        "entity": project.entity,
        "project": project.name,
        "id": row.run_id,
        "name": row.name or row.run_id,
        "display_name": row.name or row.run_id,
        "group": row.group_name,
        "job_type": row.job_type,
        "tags": list(row.tags or []),
        "notes": row.notes,
        "state": row.state,
        "config": row.config or {},
        "summary": row.summary or {},
        "metadata": row.metadata or {},
        "created_at": row.created_at,
        "heartbeat_at": row.heartbeat_at,
        "finished_at": row.finished_at,
        "exit_code": row.exit_code,
        "runtime": runtime,
        "last_step": row.last_step,
        "history_keys": list(row.history_keys or []),
        "fork_of": row.fork_of,
        "rewinds": rw,
        "streams": seqs,
        # records ingest refused (storage/values.py): a count and the last few, with why
        "refused": row.refused or {"count": 0, "last": []},
        "url": f"{base_url}/{project.entity}/{project.name}/runs/{row.run_id}",
    }
