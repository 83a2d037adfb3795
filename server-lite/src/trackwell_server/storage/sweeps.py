"""Sweeps on the server: creation, the controller's decisions, run bookkeeping, states.

The search itself is the SDK's (``trackwell.sweeps.engine``): this module turns rows
into ``Trial`` objects (state and metric from the runs the agents logged, the metric's
history for hyperband) and stores what the engine decides. Every decision that hands
out a suggestion runs in one write transaction holding the sweep row (``FOR UPDATE``
on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so agents asking at the same moment
are served one after the other and never get the same grid point.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from trackwell.extend import SweepConfig, SweepConfigError, new_run_id
from trackwell.extend import parse_sweep_config as parse
from trackwell.extend import sweep_engine as engine
from trackwell_server.db.schema import runs, sweep_runs, sweeps
from trackwell_server.errors import ApiError, not_found
from trackwell_server.storage import history

STATES = ("RUNNING", "PAUSED", "FINISHED", "CANCELED")
#: Sweep-run states that end a trial (the others: queued, pending, running).
ENDED = frozenset({"finished", "failed", "crashed", "killed", "stopped"})
_ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


def validate(raw: Mapping[str, Any]) -> SweepConfig:
    """The configuration validated with this server's search methods; 422 naming the bad key."""
    try:
        return engine.validate(raw)
    except SweepConfigError as exc:
        raise ApiError(422, str(exc)) from None


def create(conn: sa.Connection, project: Any, raw: Mapping[str, Any], who: str) -> Any:
    cfg = validate(raw)
    now = time.time()
    for _ in range(5):
        sweep_id = "".join(secrets.choice(_ID_CHARS) for _ in range(8))
        try:
            with conn.begin_nested():
                conn.execute(
                    sa.insert(sweeps).values(
                        project_id=project.id, sweep_id=sweep_id, name=raw.get("name"), config=dict(raw),
                        state="RUNNING", controller=cfg.controller, seed=secrets.randbelow(2**31),
                        done_reason=None, created_by=who, created_at=now, updated_at=now,
                    )
                )  # fmt: skip
            return get(conn, project, sweep_id)
        except sa.exc.IntegrityError:
            continue
    raise ApiError(500, "could not find a free sweep id")


def of_project(conn: sa.Connection, project_id: int) -> list[Any]:
    """The sweeps of a project, newest first."""
    query = sa.select(sweeps).where(sweeps.c.project_id == project_id).order_by(sweeps.c.created_at.desc())
    return list(conn.execute(query).all())


def get(conn: sa.Connection, project: Any, sweep_id: str, lock: bool = False) -> Any:
    query = sa.select(sweeps).where(sweeps.c.project_id == project.id, sweeps.c.sweep_id == sweep_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise not_found(f"sweep {project.entity}/{project.name}/{sweep_id}")
    return row


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def trials(
    conn: sa.Connection, project: Any, sweep: Any, cfg: SweepConfig, histories: bool = False
) -> list[engine.Trial]:
    """The sweep's trials, oldest first, with state and metric from the runs the agents logged."""
    rows = conn.execute(
        sa.select(sweep_runs, runs.c.pk.label("run_pk"), runs.c.state.label("run_state"), runs.c.summary)
        .select_from(
            sweep_runs.outerjoin(
                runs, sa.and_(runs.c.project_id == project.id, runs.c.run_id == sweep_runs.c.run_id)
            )
        )
        .where(sweep_runs.c.sweep_pk == sweep.pk)
        .order_by(sweep_runs.c.created_at, sweep_runs.c.run_id)
    ).all()
    out = []
    for r in rows:
        if r.state == "queued":
            continue
        state = r.state if r.state in ("stopped", "failed") or r.run_state is None else r.run_state
        if state in ("pending",):
            state = "running"
        metric = _number((r.summary or {}).get(cfg.metric_name)) if cfg.metric_name else None
        trial = engine.Trial(r.run_id, dict(r.params), state, metric)
        if histories and cfg.metric_name and r.run_pk is not None:
            series = history.read_series(conn, r.run_pk, [cfg.metric_name])
            if cfg.metric_name in series:
                trial.history = [float(v) for v in series[cfg.metric_name][1] if math.isfinite(v)]
        out.append(trial)
    return out


def info(conn: sa.Connection, project: Any, sweep: Any, histories: bool = False) -> dict[str, Any]:
    """The sweep as the API shows it; ``histories``: each run's metric history too (local controllers)."""
    cfg = parse(sweep.config)
    rows = conn.execute(
        sa.select(sweep_runs).where(sweep_runs.c.sweep_pk == sweep.pk).order_by(sweep_runs.c.created_at)
    ).all()
    found = {t.run_id: t for t in trials(conn, project, sweep, cfg, histories)}
    run_list = []
    for r in rows:
        t = found.get(r.run_id)
        run_list.append(
            {
                "run_id": r.run_id, "config": r.params, "state": t.state if t else r.state,
                "metric": t.metric if t else None, "stop_requested": r.stop_requested,
                "error": r.error, "created_at": r.created_at,
            }
        )  # fmt: skip
        if histories:
            run_list[-1]["history"] = t.history if t else []
    return {
        "entity": project.entity, "project": project.name, "id": sweep.sweep_id, "name": sweep.name,
        "config": sweep.config, "state": sweep.state, "controller": sweep.controller,
        "done_reason": sweep.done_reason, "created_by": sweep.created_by, "created_at": sweep.created_at,
        "updated_at": sweep.updated_at, "run_count": sum(1 for r in rows if r.state != "queued"),
        "runs": run_list,
    }  # fmt: skip


def _set_state(conn: sa.Connection, sweep: Any, state: str, reason: str | None = None) -> None:
    conn.execute(
        sa.update(sweeps)
        .where(sweeps.c.pk == sweep.pk)
        .values(state=state, done_reason=reason, updated_at=time.time())
    )


def _add_run(
    conn: sa.Connection, sweep: Any, params: Mapping[str, Any], state: str, agent: str | None
) -> str:
    now = time.time()
    run_id = new_run_id()
    conn.execute(
        sa.insert(sweep_runs).values(
            sweep_pk=sweep.pk, run_id=run_id, params=dict(params), state=state, stop_requested=False,
            agent=agent, error=None, created_at=now, updated_at=now,
        )
    )  # fmt: skip
    return run_id


def next_run(conn: sa.Connection, project: Any, sweep_id: str, agent: str | None) -> dict[str, Any]:
    """What an agent does next: ``run`` (run_id, config), ``wait`` (paused, or a local
    controller has not queued anything yet) or ``done``; one caller at a time per sweep."""
    sweep = get(conn, project, sweep_id, lock=True)
    if sweep.state in ("FINISHED", "CANCELED"):
        return {"action": "done", "state": sweep.state, "reason": sweep.done_reason or sweep.state.lower()}
    if sweep.state == "PAUSED":
        return {"action": "wait", "state": sweep.state, "reason": "the sweep is paused"}
    if sweep.controller == "local":
        queued = conn.execute(
            sa.select(sweep_runs)
            .where(sweep_runs.c.sweep_pk == sweep.pk, sweep_runs.c.state == "queued")
            .order_by(sweep_runs.c.created_at)
            .limit(1)
        ).first()
        if queued is None:
            return {"action": "wait", "state": sweep.state, "reason": "waiting for the local controller"}
        _mark(conn, sweep, queued.run_id, state="pending", agent=agent)
        return {"action": "run", "run_id": queued.run_id, "params": queued.params, "state": sweep.state}
    cfg = parse(sweep.config)
    method = engine.methods().get(cfg.method)
    if method is None:
        raise ApiError(422, f"this server has no sweep method {cfg.method!r} installed")
    decision = engine.next_params(cfg, trials(conn, project, sweep, cfg), method, seed=sweep.seed)
    if decision.action == "done":
        _set_state(conn, sweep, "FINISHED", decision.reason)
        return {"action": "done", "state": "FINISHED", "reason": decision.reason}
    assert decision.params is not None
    run_id = _add_run(conn, sweep, decision.params, "pending", agent)
    return {"action": "run", "run_id": run_id, "params": decision.params, "state": sweep.state}


def _mark(conn: sa.Connection, sweep: Any, run_id: str, **values: Any) -> None:
    conn.execute(
        sa.update(sweep_runs)
        .where(sweep_runs.c.sweep_pk == sweep.pk, sweep_runs.c.run_id == run_id)
        .values(updated_at=time.time(), **values)
    )


def queue(conn: sa.Connection, project: Any, sweep_id: str, params: Mapping[str, Any]) -> str:
    """A local controller's suggestion, queued for the next agent that asks."""
    sweep = get(conn, project, sweep_id, lock=True)
    cfg = parse(sweep.config)
    missing = sorted({p.name for p in cfg.params} - set(params))
    if missing:
        raise ApiError(422, f"the suggestion has no value for parameter {missing[0]!r}")
    return _add_run(conn, sweep, params, "queued", None)


def heartbeat(conn: sa.Connection, project: Any, sweep_id: str, run_ids: Sequence[str]) -> dict[str, Any]:
    """Which of an agent's running ``run_ids`` to stop: all of them for a canceled sweep,
    those a controller asked to stop, and (server controller) hyperband's picks now."""
    sweep = get(conn, project, sweep_id, lock=True)
    if sweep.state == "CANCELED":
        return {"stop": list(run_ids), "state": sweep.state}
    cfg = parse(sweep.config)
    if sweep.controller == "cloud" and cfg.early_terminate:
        for run_id in engine.hyperband_stops(cfg, trials(conn, project, sweep, cfg, histories=True)):
            _mark(conn, sweep, run_id, stop_requested=True)
    flagged = {
        r.run_id
        for r in conn.execute(
            sa.select(sweep_runs.c.run_id).where(
                sweep_runs.c.sweep_pk == sweep.pk, sweep_runs.c.stop_requested.is_(True)
            )
        )
    }
    return {"stop": [r for r in run_ids if r in flagged], "state": sweep.state}


def request_stop(conn: sa.Connection, project: Any, sweep_id: str, run_id: str) -> None:
    sweep = get(conn, project, sweep_id)
    _existing(conn, sweep, run_id)
    _mark(conn, sweep, run_id, stop_requested=True)


def _existing(conn: sa.Connection, sweep: Any, run_id: str) -> Any:
    row = conn.execute(
        sa.select(sweep_runs).where(sweep_runs.c.sweep_pk == sweep.pk, sweep_runs.c.run_id == run_id)
    ).first()
    if row is None:
        raise not_found(f"run {run_id} of sweep {sweep.sweep_id}")
    return row


def report(
    conn: sa.Connection, project: Any, sweep_id: str, run_id: str, state: str, error: str | None
) -> None:
    """An agent's word on how a trial ended (a crash before ``init()`` leaves no run to read)."""
    sweep = get(conn, project, sweep_id)
    _existing(conn, sweep, run_id)
    _mark(conn, sweep, run_id, state=state, error=error)


def set_state(conn: sa.Connection, project: Any, sweep_id: str, state: str) -> None:
    sweep = get(conn, project, sweep_id, lock=True)
    if sweep.state in ("FINISHED", "CANCELED") and state in ("RUNNING", "PAUSED"):
        raise ApiError(409, f"sweep {sweep_id} is {sweep.state} and cannot be {state.lower()}")
    _set_state(conn, sweep, state, None if state in ("RUNNING", "PAUSED") else f"set to {state} by a user")
