"""Artifact lineage and registries in the database: which runs logged and used which versions,
links between collections, and the projects that are registries.

A version readable in one project may be used by runs of another; ``readable_refs``
keeps the names of runs whose project the caller may not read out of every answer.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from trackwell_server.auth import Principal
from trackwell_server.db.schema import (
    artifact_blobs,
    artifact_usage,
    artifact_version_blobs,
    artifact_versions,
    projects,
)

V = artifact_versions


def record_use(conn: sa.Connection, version_pk: int, run_pk: int, use_as: str | None, now: float) -> None:
    """Note that run ``run_pk`` used version ``version_pk`` (once per run and version)."""
    seen = conn.execute(
        sa.select(artifact_usage.c.run_pk).where(
            artifact_usage.c.version_pk == version_pk, artifact_usage.c.run_pk == run_pk
        )
    ).first()
    if seen is None:
        conn.execute(
            sa.insert(artifact_usage).values(version_pk=version_pk, run_pk=run_pk, use_as=use_as, used_at=now)
        )


def users_of(conn: sa.Connection, version_pk: int) -> list[int]:
    """The runs (pks) that used a version, first use first."""
    query = (
        sa.select(artifact_usage.c.run_pk)
        .where(artifact_usage.c.version_pk == version_pk)
        .order_by(artifact_usage.c.used_at)
    )
    return list(conn.execute(query).scalars())


def logged_by_run(conn: sa.Connection, run_pk: int) -> list[int]:
    """The versions (pks) a run logged, oldest first."""
    return list(conn.execute(sa.select(V.c.pk).where(V.c.logged_by == run_pk).order_by(V.c.pk)).scalars())


def used_by_run(conn: sa.Connection, run_pk: int) -> list[int]:
    """The versions (pks) a run used, first use first."""
    query = (
        sa.select(artifact_usage.c.version_pk)
        .where(artifact_usage.c.run_pk == run_pk)
        .order_by(artifact_usage.c.used_at)
    )
    return list(conn.execute(query).scalars())


def readable_refs(
    conn: sa.Connection, who: Principal, refs: dict[int, dict[str, Any]]
) -> dict[int, dict[str, Any]]:
    """``refs`` less the runs whose project the caller may not read: a version readable in one
    project may be used by runs of another, whose names are not the caller's to see."""
    foreign = {(r["entity"], r["project"]) for r in refs.values() if not who.can_write(r["entity"])}
    public: set[tuple[str, str]] = set()
    for entity, project in foreign:
        visibility = conn.execute(
            sa.select(projects.c.visibility).where(projects.c.entity == entity, projects.c.name == project)
        ).scalar()
        if visibility == "public":
            public.add((entity, project))
    return {
        pk: r for pk, r in refs.items() if who.can_write(r["entity"]) or (r["entity"], r["project"]) in public
    }


# -- links and registries -----------------------------------------------------------


def link_of(conn: sa.Connection, collection_pk: int, source_pk: int) -> Any:
    """The version of collection ``collection_pk`` that links to version ``source_pk``, if any."""
    return conn.execute(
        sa.select(V).where(V.c.collection_pk == collection_pk, V.c.source_pk == source_pk)
    ).first()


def version_blob_sizes(conn: sa.Connection, version_pk: int, project_id: int) -> list[tuple[str, int]]:
    """(digest, size) of every file blob of a version, as its project ``project_id`` holds them."""
    digests = list(
        conn.execute(
            sa.select(artifact_version_blobs.c.digest).where(
                artifact_version_blobs.c.version_pk == version_pk
            )
        ).scalars()
    )
    if not digests:
        return []
    sizes = dict(
        conn.execute(
            sa.select(artifact_blobs.c.digest, artifact_blobs.c.size).where(
                artifact_blobs.c.project_id == project_id, artifact_blobs.c.digest.in_(digests)
            )
        ).all()
    )
    return [(d, sizes.get(d, 0)) for d in digests]


def registry_projects(conn: sa.Connection, entity: str) -> list[Any]:
    """The projects of ``entity`` that are registries (``wandb-registry-*``) or hold links, by name."""
    linked = sa.select(V.c.project_id).where(V.c.source_pk.is_not(None))
    return list(
        conn.execute(
            sa.select(projects)
            .where(
                projects.c.entity == entity,
                projects.c.name.like("wandb-registry-%") | projects.c.id.in_(linked),
            )
            .order_by(projects.c.name)
        ).all()
    )
