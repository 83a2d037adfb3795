"""Artifacts in the database: collections, versions, aliases, lineage, links, project blobs.

Why the numbering is safe under concurrency: a commit locks its collection row
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's write transactions are serialized
by ``BEGIN IMMEDIATE``), then takes ``next_index`` and bumps it. The unique
(collection, idx) constraint is the backstop. Dedupe and ``client_id`` lookups happen
after the lock, so two identical retries never make two versions.

``latest`` is never stored: it is the highest index of a collection, so it cannot go
stale when versions are deleted. Manifests are blobs (canonical JSON) in the blob
store; the file blobs each names are rows of ``artifact_version_blobs`` so the
collector and the missing-blob check need no manifest parsing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from trackwell_server.db.schema import (
    artifact_aliases,
    artifact_blobs,
    artifact_collections,
    artifact_usage,
    artifact_version_blobs,
    artifact_versions,
    projects,
    runs,
)
from trackwell_server.errors import ApiError, not_found
from trackwell_server.names import COLLECTION_PATTERN, NAME_PATTERN, PROJECT_PATTERN, TAG_PATTERN

#: The most entries one manifest may have (docs/server-api.md).
MAX_ENTRIES = 1_000_000
#: Collection names the routes use as path words (``/artifacts/{e}/{p}/blobs/...``).
RESERVED_NAMES = frozenset({"blobs"})
#: Aliases that would be shadowed by a route (``.../{name}/versions``) or are automatic.
RESERVED_ALIASES = frozenset({"versions", "latest"})
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_NAME_RE = re.compile(NAME_PATTERN)
#: The kinds of name whose rule is wider than ``NAME_PATTERN`` (W&B takes spaces in them).
_PATTERNS = {
    "artifact name": re.compile(COLLECTION_PATTERN),
    "project": re.compile(PROJECT_PATTERN),
    "tag": re.compile(TAG_PATTERN),
}
_VERSION_RE = re.compile(r"^v(\d{1,9})$")
#: How many values go into one ``IN (...)`` (SQLite allows 32,766 parameters).
_BATCH = 5000

V = artifact_versions
C = artifact_collections


def check_name(kind: str, value: str) -> str:
    """422 unless ``value`` is a valid ``kind`` of name (never ``:`` or ``/``).

    Collection names, registry projects and tags may hold inner spaces, as in W&B.
    """
    pattern = _PATTERNS.get(kind, _NAME_RE)
    if not isinstance(value, str) or len(value) > 128 or not pattern.match(value):
        spaces = " and inner spaces" if kind in _PATTERNS else ""
        raise ApiError(
            422, f"invalid {kind} {value!r}: use letters, digits, '-', '_' and '.'{spaces} (at most 128)"
        )
    return value


def user_aliases(aliases: Iterable[str]) -> list[str]:
    """The aliases a client gave, checked, without ``latest`` (automatic) and duplicates."""
    out: list[str] = []
    for alias in aliases:
        if alias == "latest":
            continue
        check_name("alias", alias)
        if alias in RESERVED_ALIASES:
            raise ApiError(422, f"alias {alias!r} is reserved")
        if alias not in out:
            out.append(alias)
    return out


def check_tags(tags: Iterable[str]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        check_name("tag", tag)
        if tag not in out:
            out.append(tag)
    return out


def check_path(path: str) -> None:
    if (
        not path
        or len(path) > 1024
        or "\\" in path
        or "\x00" in path
        or path.startswith("/")
        or any(p in ("", ".", "..") for p in path.split("/"))
    ):
        raise ApiError(
            422,
            f"invalid manifest path {path!r}: it must be relative, without '..', "
            "'.', empty parts, backslashes or NUL",
        )


def check_entry(path: Any, entry: Any) -> tuple[str | None, int] | None:
    """Validate one manifest entry (422 naming it); its (blob digest or None, size), or None for
    an incremental version's removal marker (``{"digest": null, "size": -1}``)."""
    if not isinstance(path, str):
        raise ApiError(422, f"manifest path {path!r} must be a string")
    check_path(path)
    if not isinstance(entry, dict):
        raise ApiError(422, f"manifest entry {path!r} must be an object")
    ref = entry.get("ref")
    digest = entry.get("digest")
    size = entry.get("size")
    if digest is None and size == -1:
        return None
    if ref is not None and (not isinstance(ref, str) or not ref or "\x00" in ref):
        raise ApiError(422, f"manifest entry {path!r}: ref must be a URI string or null")
    if size is not None and (type(size) is not int or size < 0):
        raise ApiError(422, f"manifest entry {path!r}: size must be an integer >= 0")
    if ref is None:
        if not isinstance(digest, str) or not SHA256_RE.match(digest):
            raise ApiError(422, f"manifest entry {path!r}: an entry without ref needs a sha256 digest")
    elif digest is not None and not isinstance(digest, str):
        raise ApiError(422, f"manifest entry {path!r}: digest must be a string")
    if entry.get("extra") is not None and not isinstance(entry["extra"], dict):
        raise ApiError(422, f"manifest entry {path!r}: extra must be an object")
    return (digest if ref is None else None), size or 0


def manifest_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunked(values: Sequence[Any], size: int = _BATCH) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


# -- project blobs ------------------------------------------------------------------


def held_blobs(
    conn: sa.Connection, project_id: int, digests: Sequence[str], touch: float | None = None
) -> set[str]:
    """The ``digests`` the project holds; with ``touch``, their ``seen_at`` moves to it.

    Touching is an UPDATE, so on PostgreSQL it row-locks them: the collector's
    delete of a row unseen for its grace waits, then sees the fresh ``seen_at``.
    """
    held: set[str] = set()
    for batch in chunked(sorted(set(digests))):
        where = (artifact_blobs.c.project_id == project_id) & artifact_blobs.c.digest.in_(batch)
        if touch is not None:
            conn.execute(sa.update(artifact_blobs).where(where).values(seen_at=touch))
        held.update(conn.execute(sa.select(artifact_blobs.c.digest).where(where)).scalars())
    return held


def add_blob(conn: sa.Connection, project_id: int, digest: str, size: int, now: float) -> None:
    """Record that the project holds ``digest`` (idempotent, safe against a concurrent insert)."""
    where = (artifact_blobs.c.project_id == project_id) & (artifact_blobs.c.digest == digest)
    if conn.execute(sa.update(artifact_blobs).where(where).values(seen_at=now)).rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(
                sa.insert(artifact_blobs).values(project_id=project_id, digest=digest, size=size, seen_at=now)
            )
    except sa.exc.IntegrityError:
        pass


def blob_size(conn: sa.Connection, project_id: int, digest: str) -> int | None:
    """The size the project recorded for blob ``digest``; ``None`` when it does not hold it."""
    where = (artifact_blobs.c.project_id == project_id) & (artifact_blobs.c.digest == digest)
    size: Any = conn.execute(sa.select(artifact_blobs.c.size).where(where)).scalar()
    return None if size is None else int(size)


def add_blobs(conn: sa.Connection, project_id: int, blobs: Sequence[tuple[str, int]], now: float) -> None:
    """``add_blob`` for many blobs in a few statements (a batch upload's 1,000 blobs would
    otherwise cost 2,000 statements and 1,000 savepoints inside the write lock)."""
    sizes = dict(blobs)
    fresh = sizes.keys() - held_blobs(conn, project_id, list(sizes), touch=now)
    if not fresh:
        return
    rows = [{"project_id": project_id, "digest": d, "size": sizes[d], "seen_at": now} for d in sorted(fresh)]
    try:
        with conn.begin_nested():
            conn.execute(sa.insert(artifact_blobs), rows)
    except sa.exc.IntegrityError:  # another writer recorded some meanwhile (PostgreSQL): one by one
        for digest in sorted(fresh):
            add_blob(conn, project_id, digest, sizes[digest], now)


# -- reading versions ---------------------------------------------------------------


def _select_versions() -> sa.Select[Any]:
    return (
        sa.select(
            V,
            C.c.name.label("cname"),
            C.c.type.label("ctype"),
            projects.c.entity.label("pentity"),
            projects.c.name.label("pname"),
        )
        .join(C, V.c.collection_pk == C.c.pk)
        .join(projects, V.c.project_id == projects.c.id)
    )


def versions_by_pk(conn: sa.Connection, pks: Sequence[int]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for batch in chunked(list(pks)):
        for row in conn.execute(_select_versions().where(V.c.pk.in_(batch))):
            out[row.pk] = row
    return out


def versions_page(conn: sa.Connection, collection_pk: int, before: int | None, limit: int) -> list[Any]:
    """Up to ``limit`` versions (and links) of a collection, newest first, below index ``before``."""
    query = _select_versions().where(V.c.collection_pk == collection_pk)
    if before is not None:
        query = query.where(V.c.idx < before)
    return list(conn.execute(query.order_by(V.c.idx.desc()).limit(limit)).all())


def version_of_client(conn: sa.Connection, project_id: int, client_id: str | None) -> int | None:
    """The version a retried create already made (same ``client_id``), so it is answered, not made twice."""
    if client_id is None:
        return None
    query = sa.select(V.c.pk).where(V.c.project_id == project_id, V.c.client_id == client_id)
    pk = conn.execute(query).scalar()
    return None if pk is None else int(pk)


def run_refs(conn: sa.Connection, run_pks: Iterable[int]) -> dict[int, dict[str, Any]]:
    pks = sorted(set(run_pks))
    out: dict[int, dict[str, Any]] = {}
    for batch in chunked(pks):
        query = (
            sa.select(
                runs.c.pk,
                runs.c.run_id,
                runs.c.name,
                runs.c.state,
                projects.c.entity,
                projects.c.name.label("pname"),
            )
            .join(projects, runs.c.project_id == projects.c.id)
            .where(runs.c.pk.in_(batch))
        )
        for r in conn.execute(query):
            out[r.pk] = {
                "entity": r.entity,
                "project": r.pname,
                "run_id": r.run_id,
                "name": r.name or r.run_id,
                "state": r.state,
            }
    return out


def version_objects(conn: sa.Connection, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Version objects (docs/server-api.md) for joined rows, with a few queries for all of them."""
    if not rows:
        return []
    pks = [r.pk for r in rows]
    aliases: dict[int, list[str]] = {pk: [] for pk in pks}
    for batch in chunked(pks):
        query = (
            sa.select(artifact_aliases.c.version_pk, artifact_aliases.c.alias)
            .where(artifact_aliases.c.version_pk.in_(batch))
            .order_by(artifact_aliases.c.alias)
        )
        for a in conn.execute(query):
            aliases[a.version_pk].append(a.alias)
    cpks = sorted({r.collection_pk for r in rows})
    newest = dict(
        conn.execute(
            sa.select(V.c.collection_pk, sa.func.max(V.c.idx))
            .where(V.c.collection_pk.in_(cpks))
            .group_by(V.c.collection_pk)
        ).all()
    )
    logged = run_refs(conn, [r.logged_by for r in rows if r.logged_by is not None])
    sources = versions_by_pk(conn, [r.source_pk for r in rows if r.source_pk is not None])
    out = []
    for r in rows:
        obj = _version_object(r, aliases[r.pk], newest.get(r.collection_pk) == r.idx, logged.get(r.logged_by))
        src = sources.get(r.source_pk)
        if src is not None:
            obj["source"] = {
                "entity": src.pentity,
                "project": src.pname,
                "name": src.cname,
                "version": f"v{src.idx}",
                "version_index": src.idx,
                "id": src.pk,
            }
        out.append(obj)
    return out


def _version_object(
    r: Any, aliases: list[str], latest: bool, logged: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "id": r.pk,
        "entity": r.pentity,
        "project": r.pname,
        "name": r.cname,
        "type": r.ctype,
        "version": f"v{r.idx}",
        "version_index": r.idx,
        "digest": r.digest,
        "aliases": (["latest"] if latest else []) + aliases,
        "tags": list(r.tags or []),
        "description": r.description,
        "metadata": r.metadata or {},
        "size": r.size,
        "file_count": r.file_count,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "logged_by": None if logged is None else {k: logged[k] for k in ("entity", "project", "run_id")},
        "state": "COMMITTED",
        "source": None,
        "created": False,
    }


def find_collection(conn: sa.Connection, project_id: int, name: str, lock: bool = False) -> Any:
    query = sa.select(C).where(C.c.project_id == project_id, C.c.name == name)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).first()


def resolve(conn: sa.Connection, proj: Any, name: str, ref: str) -> Any:
    """The version ``ref`` (``v3``, ``latest``, an alias, or a digest) of collection ``name``; 404 if none."""
    coll = find_collection(conn, proj.id, name)
    if coll is None:
        raise not_found(f"artifact {proj.entity}/{proj.name}/{name}")
    query = _select_versions().where(V.c.collection_pk == coll.pk)
    match = _VERSION_RE.match(ref)
    if match:
        row = conn.execute(query.where(V.c.idx == int(match.group(1)))).first()
    elif ref == "latest":
        row = conn.execute(query.order_by(V.c.idx.desc()).limit(1)).first()
    else:
        row = conn.execute(
            query.join(artifact_aliases, artifact_aliases.c.version_pk == V.c.pk).where(
                artifact_aliases.c.alias == ref
            )
        ).first()
        if row is None:
            row = conn.execute(query.where(V.c.digest == ref).order_by(V.c.idx.desc()).limit(1)).first()
    if row is None:
        raise not_found(f"artifact {proj.entity}/{proj.name}/{name}:{ref}")
    return row


def parse_ref(ref: str) -> tuple[str, str, str, str]:
    """``entity/project/name:version`` -> its four parts; 422 if malformed."""
    path, sep, version = ref.rpartition(":")
    parts = path.split("/")
    if not sep or len(parts) != 3 or not version:
        raise ApiError(422, f"artifact reference {ref!r} must be 'entity/project/name:version'")
    for kind, value in zip(("entity", "project", "artifact name"), parts, strict=True):
        check_name(kind, value)
    if not _NAME_RE.match(version) and not re.match(r"^[A-Za-z0-9_.:=+-]{1,128}$", version):
        raise ApiError(422, f"invalid version {version!r} in {ref!r}")
    return parts[0], parts[1], parts[2], version


# -- writing ------------------------------------------------------------------------


def set_aliases(
    conn: sa.Connection, collection_pk: int, version_pk: int, aliases: Sequence[str], replace: bool
) -> None:
    """Move ``aliases`` onto the version (an alias names one version of a collection)."""
    if replace:
        conn.execute(sa.delete(artifact_aliases).where(artifact_aliases.c.version_pk == version_pk))
    if aliases:
        conn.execute(
            sa.delete(artifact_aliases).where(
                artifact_aliases.c.collection_pk == collection_pk, artifact_aliases.c.alias.in_(list(aliases))
            )
        )
        conn.execute(
            sa.insert(artifact_aliases),
            [{"collection_pk": collection_pk, "alias": a, "version_pk": version_pk} for a in aliases],
        )


def ensure_collection(
    conn: sa.Connection, project_id: int, name: str, type_: str, description: str | None, now: float
) -> Any:
    """The collection row, created if new, locked for this transaction; 409 on a type mismatch."""
    coll = find_collection(conn, project_id, name, lock=True)
    if coll is None:
        try:
            with conn.begin_nested():
                conn.execute(
                    sa.insert(C).values(
                        project_id=project_id,
                        name=name,
                        type=type_,
                        description=description,
                        next_index=0,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except sa.exc.IntegrityError:  # created by a concurrent commit
            pass
        coll = find_collection(conn, project_id, name, lock=True)
    if coll.type != type_:
        raise ApiError(409, f"artifact {name!r} has type {coll.type!r}, not {type_!r}", code="type_mismatch")
    return coll


def newest_version(conn: sa.Connection, collection_pk: int) -> Any:
    return conn.execute(
        sa.select(V).where(V.c.collection_pk == collection_pk).order_by(V.c.idx.desc()).limit(1)
    ).first()


def add_version(
    conn: sa.Connection, coll: Any, values: dict[str, Any], aliases: Sequence[str], digests: Iterable[str]
) -> int:
    """Insert the next version of the (locked) collection, naming ``digests`` (unique); return its pk."""
    idx = coll.next_index
    conn.execute(
        sa.update(C).where(C.c.pk == coll.pk).values(next_index=idx + 1, updated_at=values["created_at"])
    )
    pk: int = conn.execute(
        sa.insert(V)
        .values(
            collection_pk=coll.pk,
            project_id=coll.project_id,
            idx=idx,
            updated_at=values["created_at"],
            **values,
        )
        .returning(V.c.pk)
    ).scalar_one()
    rows: list[dict[str, Any]] = []
    for digest in digests:  # unique already; streamed, so a million of them is never one list
        rows.append({"version_pk": pk, "digest": digest})
        if len(rows) == _BATCH:
            conn.execute(sa.insert(artifact_version_blobs), rows)
            rows = []
    if rows:
        conn.execute(sa.insert(artifact_version_blobs), rows)
    set_aliases(conn, coll.pk, pk, aliases, replace=False)
    return pk


def add_to_version(
    conn: sa.Connection, row: Any, aliases: Sequence[str], tags: Sequence[str], now: float
) -> None:
    """Add aliases and tags to an existing version (a dedupe hit or a repeated link)."""
    set_aliases(conn, row.collection_pk, row.pk, [a for a in aliases], replace=False)
    merged = list(row.tags or []) + [t for t in tags if t not in (row.tags or [])]
    conn.execute(sa.update(V).where(V.c.pk == row.pk).values(tags=merged, updated_at=now))


def update_version(conn: sa.Connection, pk: int, values: dict[str, Any]) -> None:
    conn.execute(sa.update(V).where(V.c.pk == pk).values(**values))


def delete_versions(conn: sa.Connection, pks: Sequence[int]) -> None:
    """Delete versions with everything hanging off them (links made from them included)."""
    for batch in chunked(list(pks)):
        links = list(conn.execute(sa.select(V.c.pk).where(V.c.source_pk.in_(batch))).scalars())
        if links:
            delete_versions(conn, links)
        for table in (artifact_aliases, artifact_version_blobs, artifact_usage):
            conn.execute(sa.delete(table).where(table.c.version_pk.in_(batch)))
        conn.execute(sa.delete(V).where(V.c.pk.in_(batch)))


def has_user_aliases(conn: sa.Connection, version_pk: int) -> bool:
    return (
        conn.execute(
            sa.select(artifact_aliases.c.alias).where(artifact_aliases.c.version_pk == version_pk).limit(1)
        ).first()
        is not None
    )
