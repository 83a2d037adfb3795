"""Artifact collections in the database: listing, editing, their types, and the ``CollectionInfo`` view.

A collection's version count and aliases are read for a page of collections at once
(two queries for the page, not two per collection). Creating one, and locking it for a
commit, is ``storage.artifacts.ensure_collection``: part of committing a version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from trackwell_server.db.schema import artifact_aliases, artifact_collections, artifact_versions

V = artifact_versions
C = artifact_collections


def infos(conn: sa.Connection, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """``CollectionInfo`` objects (docs/server-api.md) for collection rows."""
    pks = [c.pk for c in rows]
    counts: dict[int, int] = {}
    aliases: dict[int, list[str]] = {pk: [] for pk in pks}
    if pks:
        counts = dict(
            conn.execute(
                sa.select(V.c.collection_pk, sa.func.count())
                .where(V.c.collection_pk.in_(pks))
                .group_by(V.c.collection_pk)
            ).all()
        )
        for a in conn.execute(
            sa.select(artifact_aliases.c.collection_pk, artifact_aliases.c.alias)
            .where(artifact_aliases.c.collection_pk.in_(pks))
            .order_by(artifact_aliases.c.alias)
        ):
            aliases[a.collection_pk].append(a.alias)
    return [
        {
            "name": c.name,
            "type": c.type,
            "description": c.description,
            "tags": list(c.tags or ()),
            "version_count": counts.get(c.pk, 0),
            "aliases": (["latest"] if counts.get(c.pk) else []) + aliases[c.pk],
            "created_at": c.created_at,
            "updated_at": c.updated_at,
        }
        for c in rows
    ]


def page(
    conn: sa.Connection,
    project_id: int,
    type_: str | None,
    name: str | None,
    before: int | None,
    limit: int,
) -> list[Any]:
    """Up to ``limit`` collections of a project, newest first, below pk ``before`` if given."""
    query = sa.select(C).where(C.c.project_id == project_id)
    if type_:
        query = query.where(C.c.type == type_)
    if name:
        query = query.where(C.c.name == name)
    if before is not None:
        query = query.where(C.c.pk < before)
    return list(conn.execute(query.order_by(C.c.pk.desc()).limit(limit)).all())


def of_project(conn: sa.Connection, project_id: int) -> list[Any]:
    """Every collection of a project, by name."""
    return list(conn.execute(sa.select(C).where(C.c.project_id == project_id).order_by(C.c.name)).all())


def update(conn: sa.Connection, collection_pk: int, values: dict[str, Any], now: float) -> None:
    conn.execute(sa.update(C).where(C.c.pk == collection_pk).values(**values, updated_at=now))


def types(conn: sa.Connection, project_id: int) -> list[tuple[str, int]]:
    """(type, number of collections) of a project, by type."""
    rows = conn.execute(
        sa.select(C.c.type, sa.func.count())
        .where(C.c.project_id == project_id)
        .group_by(C.c.type)
        .order_by(C.c.type)
    ).all()
    return [(t, n) for t, n in rows]
