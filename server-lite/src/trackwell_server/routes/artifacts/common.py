"""What the artifact routes share: path parameters, and the lookups several of them make."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Path

from trackwell_server.auth import Principal
from trackwell_server.db.engine import write
from trackwell_server.deps import Server
from trackwell_server.errors import ApiError
from trackwell_server.names import COLLECTION_PATTERN, PROJECT_PATTERN
from trackwell_server.storage import artifacts as art
from trackwell_server.storage import runs as store

Name = Annotated[
    str, Path(pattern=COLLECTION_PATTERN, max_length=128, description="artifact (collection) name")
]
#: Registry projects ("wandb-registry-Fine-tuned Models") may hold spaces; others as deps.Project.
Project = Annotated[str, Path(pattern=PROJECT_PATTERN, max_length=128)]
Sha = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="sha256 of the bytes, lowercase hex")]
Ref = Annotated[str, Path(min_length=1, max_length=128, description="v<N>, latest, an alias, or a digest")]


def writable(srv: Server, who: Principal, entity: str, project: str) -> Any:
    """The project row (created if new) for a write, in a transaction of its own."""
    with write(srv.engine) as conn:
        return store.writable_project(conn, who, entity, project, create=True)


def version_object(conn: sa.Connection, pk: int, created: bool = False) -> dict[str, Any]:
    """The ``VersionInfo`` of version ``pk``; ``created`` says whether this request made it."""
    obj = art.version_objects(conn, [art.versions_by_pk(conn, [pk])[pk]])[0]
    obj["created"] = created
    return obj


def resolve_ref(conn: sa.Connection, who: Principal, ref: str) -> Any:
    """The version row an ``entity/project/name:version`` reference names, if the caller may read it."""
    e, p, n, v = art.parse_ref(ref)
    proj = store.readable_project(conn, who, e, p)
    return art.resolve(conn, proj, n, v)


def page_cursor(value: str | None) -> int | None:
    """A page cursor (the last index or pk of the previous page); ``None`` for the first page."""
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise ApiError(422, f"invalid cursor {value!r}")
    return int(value)
