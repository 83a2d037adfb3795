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
from trackwell_server.db.schema import (
    artifact_blobs,
    artifact_version_blobs,
    artifact_versions,
    blob_uploads,
    files,
    runs,
)
from trackwell_server.storage import uploads
from trackwell_server.storage.blobs import BlobStore

#: An upload in parts (a run file or an artifact blob) untouched this long is abandoned: its parts go.
UPLOAD_TTL = 24 * 3600.0

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
    """Delete blobs nothing refers to any more (deleted runs, replaced files, deleted artifacts).

    References: run files and their parts, artifact manifests and the blobs they name,
    and the blobs a project holds (``artifact_blobs``). A project's hold on a blob no
    version names lapses once nobody checked, uploaded or committed it for ``grace``
    seconds. Only blobs older than ``grace`` go: an upload writes its blob before the
    row that refers to it, and that row must find the blob there. Uploads in parts
    keep their parts outside the blob namespace; one untouched for a day is dropped.
    """
    at = time.time() if now is None else now
    with write(engine) as conn:
        named = sa.select(artifact_version_blobs.c.digest).where(
            artifact_version_blobs.c.digest == artifact_blobs.c.digest
        )
        conn.execute(sa.delete(artifact_blobs).where(artifact_blobs.c.seen_at < at - grace, ~named.exists()))
        old = blob_uploads.c.updated_at < at - UPLOAD_TTL
        stale = conn.execute(sa.select(blob_uploads.c.project_id, blob_uploads.c.digest).where(old)).all()
        for project_id, digest in stale:
            conn.execute(sa.delete(blob_uploads).where(blob_uploads.c.project_id == project_id,
                                                       blob_uploads.c.digest == digest))  # fmt: skip
    for project_id, digest in stale:
        blobs.discard_upload(uploads.upload_key(project_id, digest))
    with read(engine) as conn:
        referenced = set(conn.execute(sa.select(files.c.sha256)).scalars())
        for parts in conn.execute(sa.select(files.c.parts).where(files.c.parts.is_not(None))).scalars():
            referenced.update(parts or ())
        referenced.update(conn.execute(sa.select(artifact_versions.c.manifest_sha256)).scalars())
        referenced.update(conn.execute(sa.select(artifact_version_blobs.c.digest).distinct()).scalars())
        referenced.update(conn.execute(sa.select(artifact_blobs.c.digest).distinct()).scalars())
    return blobs.delete_unreferenced(referenced, at - grace)


async def every(interval: float, job: Callable[[], object], what: str) -> None:
    """Run ``job`` on a worker thread every ``interval`` seconds until cancelled."""
    while True:
        try:
            await run_in_threadpool(job)
        except Exception:  # a database or network hiccup must not end the loop for good
            log.exception("%s failed; retrying in %.0f s", what, interval)
        await asyncio.sleep(interval)
