"""Periodic work every server process does: mark runs whose heartbeat stopped as crashed.

Each process runs it on its own timer. The update is one idempotent statement, so
several processes sharing a database may run it in any order without coordinating.
"""

from __future__ import annotations

import asyncio
import logging
import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from trackwell_server.db.engine import write
from trackwell_server.db.schema import runs

log = logging.getLogger("trackwell_server")


def mark_crashed(engine: Engine, timeout: float, now: float | None = None) -> int:
    """Mark ``running`` runs silent for more than ``timeout`` seconds as ``crashed``; return how many."""
    cutoff = (time.time() if now is None else now) - timeout
    with write(engine) as conn:
        result = conn.execute(
            sa.update(runs)
            .where(runs.c.state == "running", runs.c.heartbeat_at < cutoff)
            .values(state="crashed")
        )
    return int(result.rowcount or 0)


async def crash_checker(engine: Engine, timeout: float, interval: float) -> None:
    """Run ``mark_crashed`` every ``interval`` seconds until cancelled."""
    while True:
        try:
            await run_in_threadpool(mark_crashed, engine, timeout)
        except Exception:  # a database hiccup must not end the loop for good
            log.exception("marking silent runs as crashed failed; retrying in %.0f s", interval)
        await asyncio.sleep(interval)
