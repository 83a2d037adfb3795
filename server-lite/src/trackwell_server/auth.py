"""API keys, users and teams, and who may read or write what.

A key is ``tw_<id>_<secret>``; the database keeps the id, a random salt and
``sha256(salt + key)``, so a leaked database leaks no usable key. Verified keys are
cached for a minute per process (a key lookup per request would cost more than most
requests): a revoked key stops working at once on the process that revoked it and
within that minute on the others. Team membership is read per request, so adding a
member takes effect at once on every server process.

Only an admin puts users into a team directly; anyone else invites them, and the
invitee joins by accepting. Answers never tell a caller which user names exist: an
invitation to a name nobody has looks like any other (nothing is stored), and every
rejected key or session gets the same words.

Rejected API keys are counted per client address (``FailureThrottle``): past the limit
that address gets 429 for any key not already verified, until its window ends.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import secrets
import string
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.requests import Request

from trackwell_server.dashboard.session import CSRF_HEADER, Sessions, end_sessions_of_key
from trackwell_server.db.engine import read
from trackwell_server.db.schema import api_keys, entities, memberships, team_invitations
from trackwell_server.errors import ApiError

LOCAL_USER = "local"
_ALPHABET = string.ascii_letters + string.digits
_KEY = re.compile(r"^tw_([A-Za-z0-9]{12})_[A-Za-z0-9]{32,128}$")
_CACHE_SECONDS = 60.0
#: The one answer to a key that is malformed, unknown or wrong (no hint which).
INVALID_KEY = "invalid API key"


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
    end_sessions_of_key(conn, key_id)


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


def create_team(conn: sa.Connection, name: str, who: Principal, members: list[str]) -> dict[str, list[str]]:
    """Team ``name`` with its creator as member; the others are added (by an admin) or invited."""
    if entity_kind(conn, name) is not None:
        raise ApiError(409, f"the name {name!r} is already taken by a user or team")
    conn.execute(sa.insert(entities).values(name=name, kind="team", admin=False, created_at=time.time()))
    conn.execute(sa.insert(memberships).values(team=name, user=who.user))
    invited = sorted(set(members) - {who.user})
    founder = Principal(who.user, who.admin, who.teams | {name})
    for member in invited:
        add_member(conn, name, member, founder)
    return {"members": team_members(conn, name), "invited": [] if who.admin else invited}


def add_member(conn: sa.Connection, team: str, user: str, who: Principal) -> list[str]:
    """An admin adds ``user`` to ``team`` at once; a member invites them (see the module docstring).

    The caller must be a member or an admin (404 otherwise, as for a team that does not exist).
    """
    if not (who.admin or team in who.teams) or entity_kind(conn, team) != "team":
        raise ApiError(404, f"no team {team!r} of yours")
    if who.admin:
        if entity_kind(conn, user) != "user":
            raise ApiError(422, f"no user named {user!r}")
        if not _is_member(conn, team, user):
            conn.execute(sa.insert(memberships).values(team=team, user=user))
            conn.execute(sa.delete(team_invitations).where(*_invitation(team, user)))
        return team_members(conn, team)
    if entity_kind(conn, user) == "user" and not _is_member(conn, team, user):
        pending = conn.execute(sa.select(team_invitations.c.user).where(*_invitation(team, user))).first()
        if pending is None:
            invitation = {"team": team, "user": user, "invited_by": who.user, "created_at": time.time()}
            conn.execute(sa.insert(team_invitations).values(**invitation))
    return team_members(conn, team)


def _invitation(team: str, user: str) -> tuple[sa.ColumnElement[bool], ...]:
    return team_invitations.c.team == team, team_invitations.c.user == user


def _is_member(conn: sa.Connection, team: str, user: str) -> bool:
    row = conn.execute(
        sa.select(memberships.c.user).where(memberships.c.team == team, memberships.c.user == user)
    ).first()
    return row is not None


def invitations(conn: sa.Connection, user: str) -> list[dict[str, object]]:
    """The invitations waiting for ``user``, oldest first."""
    query = sa.select(team_invitations).where(team_invitations.c.user == user)
    rows = conn.execute(query.order_by(team_invitations.c.created_at))
    return [{"team": r.team, "invited_by": r.invited_by, "created_at": r.created_at} for r in rows]


def answer_invitation(conn: sa.Connection, team: str, user: str, accept: bool) -> None:
    """Join ``team`` (``accept``) or decline; 404 when no invitation waits."""
    gone = conn.execute(sa.delete(team_invitations).where(*_invitation(team, user))).rowcount
    if not gone:
        raise ApiError(404, f"no invitation to team {team!r} for you")
    if accept and not _is_member(conn, team, user):
        conn.execute(sa.insert(memberships).values(team=team, user=user))


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


class FailureThrottle:
    """Rejected keys per client address: at most ``limit`` in any ``window`` seconds.

    The table holds at most ``max_clients`` addresses (the least recently failing are
    forgotten first), so a flood from many addresses costs bounded memory.
    """

    def __init__(self, limit: int, window: float = 60.0, max_clients: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # address -> count, window start
        self._lock = threading.Lock()

    def blocked_for(self, client: str, now: float | None = None) -> float:
        """Seconds until ``client`` may try another key: 0 when it may now."""
        now = time.monotonic() if now is None else now
        with self._lock:
            count, start = self._failures.get(client, (0, now))
        if now - start >= self.window or count < self.limit:
            return 0.0
        return start + self.window - now

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            count, start = self._failures.pop(client, (0, now))
            if now - start >= self.window:
                count, start = 0, now
            self._failures[client] = (count + 1, start)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)


class Authenticator:
    """Turns a request into a ``Principal`` (or a 401).

    Callers send an API key; the dashboard's browser sends its session cookie instead
    (``sessions``: see ``dashboard/session.py``), and a CSRF token with every write.
    """

    def __init__(self, engine: Engine, enabled: bool, sessions: Sessions | None = None,
                 failures_per_minute: int = 30) -> None:  # fmt: skip
        self.engine = engine
        self.enabled = enabled
        self.sessions = sessions
        self.throttle = FailureThrottle(failures_per_minute)
        #: sha256(key) -> user, admin, expiry, key id
        self._cache: dict[str, tuple[str, bool, float, str]] = {}
        self._lock = threading.Lock()

    def principal(self, request: Request) -> Principal:
        if not self.enabled:
            return Principal(LOCAL_USER, True, frozenset())
        user, admin = self.identify(request)
        with read(self.engine) as conn:
            teams = _teams_of(conn, user)
        return Principal(user, admin, teams)

    def identify(self, request: Request) -> tuple[str, bool]:
        """(user, admin) of the request's API key, else of its session cookie."""
        key = key_from_header(request.headers.get("authorization", ""))
        cookie = request.cookies.get(self.sessions.cookie) if self.sessions is not None else None
        if key is None and cookie and self.sessions is not None:
            return self._from_session(request, cookie, self.sessions)
        if key is None:
            raise ApiError(401, "missing API key: send 'Authorization: Bearer <key>' (see `trackwell login`)")
        return self.verify(key, client_address(request))

    def is_known(self, key: str) -> bool:
        """Whether ``key`` was verified on this process within the last minute (no database)."""
        with self._lock:
            hit = self._cache.get(hashlib.sha256(key.encode()).hexdigest())
        return hit is not None and hit[2] > time.monotonic()

    def verify(self, key: str, client: str) -> tuple[str, bool]:
        """(user, admin) of a valid key; 401 otherwise, 429 once ``client`` has failed too often."""
        token = hashlib.sha256(key.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(token)
        if hit is not None and hit[2] > now:
            return hit[0], hit[1]
        wait = self.throttle.blocked_for(client, now)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ApiError(429, f"too many rejected API keys from your address: retry in {seconds} s",
                           headers={"Retry-After": str(seconds)})  # fmt: skip
        match = _KEY.fullmatch(key)
        row = None
        if match is not None:
            with read(self.engine) as conn:
                row = conn.execute(
                    sa.select(api_keys.c.user, api_keys.c.salt, api_keys.c.hash, entities.c.admin)
                    .join(entities, entities.c.name == api_keys.c.user)
                    .where(api_keys.c.key_id == match.group(1))
                ).first()
        if match is None or row is None or not hmac.compare_digest(row.hash, _hash(row.salt, key)):
            self.throttle.failed(client, now)
            raise ApiError(401, INVALID_KEY)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token] = (row.user, bool(row.admin), now + _CACHE_SECONDS, match.group(1))
        return row.user, bool(row.admin)

    def login(self, key: str, client: str) -> str:
        """The key id of a valid API key (401 otherwise): what a dashboard session names."""
        self.verify(key, client)
        match = _KEY.fullmatch(key)
        assert match is not None  # verify accepted it
        return match.group(1)

    def _from_session(self, request: Request, cookie: str, sessions: Sessions) -> tuple[str, bool]:
        with read(self.engine) as conn:
            key_id = sessions.key_id(conn, cookie)
            row = None
            if key_id is not None:
                row = conn.execute(
                    sa.select(api_keys.c.user, entities.c.admin)
                    .join(entities, entities.c.name == api_keys.c.user)
                    .where(api_keys.c.key_id == key_id)
                ).first()
        if row is None:  # unknown, logged out, expired, or its key was revoked
            raise ApiError(401, "your dashboard session has ended: log in again")
        if not sessions.csrf_ok(request.method, cookie, request.headers.get(CSRF_HEADER)):
            raise ApiError(403, "missing or wrong CSRF token (X-CSRF-Token) for a write made with a session")
        return row.user, bool(row.admin)

    def forget(self, key_id: str) -> None:
        """Drop a revoked key from this process's cache, so it stops working at once."""
        with self._lock:
            for token in [t for t, hit in self._cache.items() if hit[3] == key_id]:
                del self._cache[token]


def client_address(request: Request) -> str:
    """The address failures are counted against (the proxy's, behind one that uvicorn does not trust)."""
    return request.client.host if request.client else "unknown"
