"""Run files in the database: one row per (run, path) naming the blob that holds its bytes.

Files stored in parts by servers before the one part-upload protocol name their parts'
blobs in ``files.parts`` (read back to back); a file is one blob now, however it arrived.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from trackwell_server.db.schema import files


def upload_id(run_pk: int, path: str) -> str:
    """The name of a run file's upload in parts (an artifact blob's is the sha256 of its bytes)."""
    return hashlib.sha256(f"file:{run_pk}:{path}".encode()).hexdigest()


def replace(conn: sa.Connection, run_pk: int, path: str, size: int, digest: str, now: float) -> None:
    """Point ``path`` of the run at blob ``digest`` (a new file, or a new version of one)."""
    conn.execute(sa.delete(files).where(files.c.run_pk == run_pk, files.c.path == path))
    conn.execute(
        sa.insert(files).values(
            run_pk=run_pk, path=path, size=size, sha256=digest, parts=None, updated_at=now
        )
    )


def replace_many(conn: sa.Connection, run_pk: int, stored: Sequence[dict[str, Any]], now: float) -> None:
    """``replace`` for many ``{"path", "size", "sha256"}`` at once (paths unique)."""
    if not stored:
        return
    conn.execute(
        sa.delete(files).where(files.c.run_pk == run_pk, files.c.path.in_([f["path"] for f in stored]))
    )
    conn.execute(
        sa.insert(files), [{"run_pk": run_pk, "parts": None, "updated_at": now, **row} for row in stored]
    )


def of_run(conn: sa.Connection, run_pk: int) -> list[Any]:
    """A run's files, by path."""
    return list(conn.execute(sa.select(files).where(files.c.run_pk == run_pk).order_by(files.c.path)).all())


def find(conn: sa.Connection, run_pk: int, path: str) -> Any:
    return conn.execute(sa.select(files).where(files.c.run_pk == run_pk, files.c.path == path)).first()


def delete(conn: sa.Connection, run_pk: int, path: str) -> bool:
    """Delete one file of a run; whether it had one. Its bytes stay in the blob store."""
    gone = conn.execute(sa.delete(files).where(files.c.run_pk == run_pk, files.c.path == path))
    return bool(gone.rowcount)
