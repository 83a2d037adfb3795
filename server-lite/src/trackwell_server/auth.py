"""API keys, users and teams, and who may read or write what.

A key is ``tw_<id>_<secret>``; the database keeps the id, a random salt and
``sha256(salt + key)``, so a leaked database leaks no usable key. Verified keys are
cached for a minute per process (a key lookup per request would cost more than most
requests): a revoked key stops working at once on the process that revoked it and
within that minute on the others. Team membership is read per request, so adding a
member takes effect at once on every server process.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.requests import Request

from trackwell_server.dashboard.session import COOKIE, CSRF_HEADER, Sessions
from trackwell_server.db.engine import read
from trackwell_server.db.schema import api_keys, entities, memberships
from trackwell_server.errors import ApiError

LOCAL_USER = "local"
_ALPHABET = string.ascii_letters + string.digits
_KEY = re.compile(r"^tw_([A-Za-z0-9]{12})_[A-Za-z0-9]{32,128}$")
_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Principal:
    """The caller of one request."""

    user: str
    admin: bool
    teams: frozenset[str]

    def can_write(self, entity: str) -> bool:
        return self.admin or entity == self.user or entity in self.teams


def _random(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def _hash(salt: str, key: str) -> str:
    return hashlib.sha256((salt + key).encode()).hexdigest()


def create_key(conn: sa.Connection, user: str) -> str:
    """A new key for ``user``; the only time the key itself exists on the server."""
    key_id = _random(12)
    key = f"tw_{key_id}_{_random(40)}"
    salt = secrets.token_hex(16)
    conn.execute(
        sa.insert(api_keys).values(
            key_id=key_id, user=user, salt=salt, hash=_hash(salt, key), created_at=time.time()
        )
    )
    return key


def list_keys(conn: sa.Connection, user: str) -> list[dict[str, object]]:
    """``user``'s keys by id and creation time: never the keys themselves (they are not kept)."""
    rows = conn.execute(
        sa.select(api_keys.c.key_id, api_keys.c.created_at)
        .where(api_keys.c.user == user)
        .order_by(api_keys.c.created_at)
    )
    return [{"id": r.key_id, "created_at": r.created_at} for r in rows]


def revoke_key(conn: sa.Connection, key_id: str, who: Principal) -> None:
    """Delete key ``key_id``: the caller's own, or anyone's for an admin (404 otherwise)."""
    owner = conn.execute(sa.select(api_keys.c.user).where(api_keys.c.key_id == key_id)).scalar()
    if owner is None or not (who.admin or owner == who.user):
        raise ApiError(404, f"no API key {key_id!r} of yours")
    conn.execute(sa.delete(api_keys).where(api_keys.c.key_id == key_id))


def entity_kind(conn: sa.Connection, name: str) -> str | None:
    """``"user"``, ``"team"``, or None when no entity has that name."""
    kind: str | None = conn.execute(sa.select(entities.c.kind).where(entities.c.name == name)).scalar()
    return kind


def create_user(conn: sa.Connection, name: str, admin: bool = False) -> str:
    """Create user ``name`` and return its first API key (409 if the name is taken)."""
    if entity_kind(conn, name) is not None:
        raise ApiError(409, f"the name {name!r} is already taken by a user or team")
    conn.execute(sa.insert(entities).values(name=name, kind="user", admin=admin, created_at=time.time()))
    return create_key(conn, name)


def create_team(conn: sa.Connection, name: str, members: list[str]) -> list[str]:
    if entity_kind(conn, name) is not None:
        raise ApiError(409, f"the name {name!r} is already taken by a user or team")
    for member in members:
        if entity_kind(conn, member) != "user":
            raise ApiError(422, f"no user named {member!r}")
    conn.execute(sa.insert(entities).values(name=name, kind="team", admin=False, created_at=time.time()))
    unique = sorted(set(members))
    if unique:
        conn.execute(sa.insert(memberships), [{"team": name, "user": m} for m in unique])
    return unique


def add_member(conn: sa.Connection, team: str, user: str) -> list[str]:
    if entity_kind(conn, team) != "team":
        raise ApiError(404, f"team {team!r} not found")
    if entity_kind(conn, user) != "user":
        raise ApiError(422, f"no user named {user!r}")
    present = conn.execute(
        sa.select(memberships.c.user).where(memberships.c.team == team, memberships.c.user == user)
    ).first()
    if present is None:
        conn.execute(sa.insert(memberships).values(team=team, user=user))
    return team_members(conn, team)


def team_members(conn: sa.Connection, team: str) -> list[str]:
    return sorted(conn.execute(sa.select(memberships.c.user).where(memberships.c.team == team)).scalars())


def _teams_of(conn: sa.Connection, user: str) -> frozenset[str]:
    return frozenset(conn.execute(sa.select(memberships.c.team).where(memberships.c.user == user)).scalars())


def key_from_header(header: str) -> str | None:
    """The API key of ``Authorization: Bearer KEY`` or W&B's ``Basic api:KEY``."""
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme == "bearer" and value:
        return value
    if scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        _user, _, password = decoded.partition(":")
        return password or None
    return None


class Authenticator:
    """Turns a request into a ``Principal`` (or a 401).

    Callers send an API key; the dashboard's browser sends its session cookie instead
    (``sessions``: see ``dashboard/session.py``), and a CSRF token with every write.
    """

    def __init__(self, engine: Engine, enabled: bool, sessions: Sessions | None = None) -> None:
        self.engine = engine
        self.enabled = enabled
        self.sessions = sessions
        #: sha256(key) -> user, admin, expiry, key id
        self._cache: dict[str, tuple[str, bool, float, str]] = {}
        self._lock = threading.Lock()

    def principal(self, request: Request) -> Principal:
        if not self.enabled:
            return Principal(LOCAL_USER, True, frozenset())
        key = key_from_header(request.headers.get("authorization", ""))
        cookie = request.cookies.get(COOKIE)
        if key is None and cookie and self.sessions is not None:
            user, admin = self._from_session(request, cookie, self.sessions)
        elif key is None:
            raise ApiError(401, "missing API key: send 'Authorization: Bearer <key>' (see `trackwell login`)")
        else:
            user, admin = self._verify(key)
        with read(self.engine) as conn:
            teams = _teams_of(conn, user)
        return Principal(user, admin, teams)

    def _verify(self, key: str) -> tuple[str, bool]:
        token = hashlib.sha256(key.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(token)
        if hit is not None and hit[2] > now:
            return hit[0], hit[1]
        match = _KEY.fullmatch(key)
        if match is None:
            raise ApiError(401, "invalid API key")
        with read(self.engine) as conn:
            row = conn.execute(
                sa.select(api_keys.c.user, api_keys.c.salt, api_keys.c.hash, entities.c.admin)
                .join(entities, entities.c.name == api_keys.c.user)
                .where(api_keys.c.key_id == match.group(1))
            ).first()
        if row is None or not hmac.compare_digest(row.hash, _hash(row.salt, key)):
            raise ApiError(401, "invalid API key")
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token] = (row.user, bool(row.admin), now + _CACHE_SECONDS, match.group(1))
        return row.user, bool(row.admin)

    def login(self, key: str) -> str:
        """The key id of a valid API key (401 otherwise): what a dashboard session names."""
        self._verify(key)
        match = _KEY.fullmatch(key)
        assert match is not None  # _verify accepted it
        return match.group(1)

    def _from_session(self, request: Request, cookie: str, sessions: Sessions) -> tuple[str, bool]:
        key_id = sessions.key_id(cookie)
        if key_id is None:
            raise ApiError(401, "your dashboard session has expired: log in again")
        if not sessions.csrf_ok(request.method, cookie, request.headers.get(CSRF_HEADER)):
            raise ApiError(403, "missing or wrong CSRF token (X-CSRF-Token) for a write made with a session")
        with read(self.engine) as conn:
            row = conn.execute(
                sa.select(api_keys.c.user, entities.c.admin)
                .join(entities, entities.c.name == api_keys.c.user)
                .where(api_keys.c.key_id == key_id)
            ).first()
        if row is None:  # the key was revoked: so is every session made with it
            raise ApiError(401, "your dashboard session has ended (its API key was revoked): log in again")
        return row.user, bool(row.admin)

    def forget(self, key_id: str) -> None:
        """Drop a revoked key from this process's cache, so it stops working at once."""
        with self._lock:
            for token in [t for t, hit in self._cache.items() if hit[3] == key_id]:
                del self._cache[token]
