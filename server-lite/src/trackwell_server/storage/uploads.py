"""Uploads in parts, in the database: which parts of an upload arrived, and when it is complete.

An upload is named by its project and the sha256 of the whole; its parts' bytes wait
in the blob store's upload area (``BlobStore.part_writer``) until the last one arrives
and ``BlobStore.assemble`` joins them. Recording a part locks the upload's row, so
exactly one request sees the last part arrive and assembles. A client that changes its
part count starts the upload over. Uploads left unfinished are dropped by
``jobs.collect_blobs`` after ``UPLOAD_TTL``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from trackwell_server.db.schema import blob_upload_parts, blob_uploads


def upload_key(project_id: int, digest: str) -> str:
    """The name of an upload's parts in the blob store's upload area."""
    return f"{project_id}-{digest}"


def _upload(project_id: int, digest: str) -> sa.ColumnElement[bool]:
    return (blob_uploads.c.project_id == project_id) & (blob_uploads.c.digest == digest)


def _parts(project_id: int, digest: str) -> sa.ColumnElement[bool]:
    return (blob_upload_parts.c.project_id == project_id) & (blob_upload_parts.c.digest == digest)


def received(conn: sa.Connection, project_id: int, digest: str) -> list[int]:
    """The part numbers that arrived, in order."""
    query = (
        sa.select(blob_upload_parts.c.part)
        .where(_parts(project_id, digest))
        .order_by(blob_upload_parts.c.part)
    )
    return list(conn.execute(query).scalars())


def part_count(conn: sa.Connection, project_id: int, digest: str) -> int | None:
    """The number of parts an upload in progress has; ``None`` when none is."""
    parts: Any = conn.execute(sa.select(blob_uploads.c.parts).where(_upload(project_id, digest))).scalar()
    return None if parts is None else int(parts)


def record_part(
    conn: sa.Connection, project_id: int, digest: str, part: int, parts: int, size: int, now: float
) -> list[int]:
    """Note part ``part`` of ``parts``, locking the upload's row; return the parts received."""
    where = _upload(project_id, digest)
    row = conn.execute(sa.select(blob_uploads).where(where).with_for_update()).first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(
                    sa.insert(blob_uploads).values(
                        project_id=project_id, digest=digest, parts=parts, updated_at=now
                    )
                )
        except sa.exc.IntegrityError:  # another request began it at the same moment
            pass
        row = conn.execute(sa.select(blob_uploads).where(where).with_for_update()).one()
    if row.parts != parts:  # the client changed its part size: start over
        conn.execute(sa.delete(blob_upload_parts).where(_parts(project_id, digest)))
    conn.execute(sa.update(blob_uploads).where(where).values(parts=parts, updated_at=now))
    conn.execute(
        sa.delete(blob_upload_parts).where(_parts(project_id, digest), blob_upload_parts.c.part == part)
    )
    conn.execute(
        sa.insert(blob_upload_parts).values(project_id=project_id, digest=digest, part=part, size=size)
    )
    return received(conn, project_id, digest)


def end(conn: sa.Connection, project_id: int, digest: str) -> None:
    """Forget an upload (assembled, or discarded); its parts' rows go with it (ON DELETE CASCADE)."""
    conn.execute(sa.delete(blob_uploads).where(_upload(project_id, digest)))
