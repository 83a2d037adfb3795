"""Periodic work every server process does: mark silent runs crashed, collect unused blobs.

Each process runs them on its own timer. Both are idempotent, so several processes
sharing a database and a blob store may run them in any order without coordinating.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from trackwell_server.db.engine import read, write
from trackwell_server.db.schema import file_parts, files, runs
from trackwell_server.storage.blobs import BlobStore

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


def collect_blobs(engine: Engine, blobs: BlobStore, grace: float, now: float | None = None) -> int:
    """Delete blobs no file refers to any more (deleted runs, replaced files).

    Only blobs older than ``grace`` seconds go: an upload writes its blob before the
    row that refers to it, and that row must find the blob there.
    """
    with read(engine) as conn:
        referenced = set(conn.execute(sa.select(files.c.sha256)).scalars())
        for parts in conn.execute(sa.select(files.c.parts).where(files.c.parts.is_not(None))).scalars():
            referenced.update(parts or ())
        referenced.update(conn.execute(sa.select(file_parts.c.sha256)).scalars())
    return blobs.delete_unreferenced(referenced, (time.time() if now is None else now) - grace)


async def every(interval: float, job: Callable[[], object], what: str) -> None:
    """Run ``job`` on a worker thread every ``interval`` seconds until cancelled."""
    while True:
        try:
            await run_in_threadpool(job)
        except Exception:  # a database or network hiccup must not end the loop for good
            log.exception("%s failed; retrying in %.0f s", what, interval)
        await asyncio.sleep(interval)
