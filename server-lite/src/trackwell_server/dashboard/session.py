"""Dashboard sessions: a random id in a cookie, a row per session on the server, a CSRF token.

The cookie holds 32 random bytes and nothing else; the ``dash_sessions`` table keeps
their sha256 (a leaked database holds no usable cookie), the API key the login was made
with, and the expiry. So a session ends on the server: logout deletes its row, revoking
its key ends it too, and a stolen cookie stops working everywhere at once.

Cookies ignore ports, so a browser sends a ``localhost`` cookie to every server on
``localhost``. The cookie's name is therefore derived from this server's secret
(``tw_session_<12 hex>``): another server on the same host name neither reads nor
overwrites ours by name, and a session id made elsewhere is in no row here. Being
HttpOnly and ``SameSite=Strict``, script on the page cannot read it and other sites
cannot send it; writes made with it must also carry the CSRF token (an HMAC of the
session id, given to the page by ``GET /_dash/session``) in ``X-CSRF-Token``.

The secret lives in the data directory (``session-secret``, made on first start,
shared by every worker that uses the same data directory).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

import sqlalchemy as sa

from trackwell_server.db.schema import dash_sessions

CSRF_HEADER = "x-csrf-token"
#: How long a login lasts.
TTL_SECONDS = 14 * 24 * 3600
_SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


def load_secret(data_dir: Path) -> bytes:
    """The data directory's session secret, created (mode 0600) the first time.

    ``trackwell server --workers N`` opens the server (and so makes the file) before
    it starts the workers, which then only read it.
    """
    path = data_dir / "session-secret"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    """Issues, looks up and ends dashboard sessions; signs their CSRF tokens."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        #: this server's cookie name (see the module docstring)
        self.cookie = "tw_session_" + self._sign("cookie-name")[:12]

    def _sign(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    def issue(self, conn: sa.Connection, key_id: str, now: float | None = None) -> str:
        """A new session for a login with the key ``key_id``: the cookie value."""
        now = time.time() if now is None else now
        session_id = secrets.token_urlsafe(32)
        conn.execute(sa.delete(dash_sessions).where(dash_sessions.c.expires_at < now))  # keep the table small
        conn.execute(
            sa.insert(dash_sessions).values(
                id_hash=_digest(session_id), key_id=key_id, created_at=now, expires_at=now + TTL_SECONDS
            )
        )
        return session_id

    def key_id(self, conn: sa.Connection, cookie: str, now: float | None = None) -> str | None:
        """The key id of a live session; None for an unknown, ended or expired one."""
        if not 20 <= len(cookie) <= 100:
            return None
        row = conn.execute(
            sa.select(dash_sessions.c.key_id, dash_sessions.c.expires_at).where(
                dash_sessions.c.id_hash == _digest(cookie)
            )
        ).first()
        if row is None or row.expires_at < (time.time() if now is None else now):
            return None
        return str(row.key_id)

    def end(self, conn: sa.Connection, cookie: str) -> None:
        """Logout: the session is gone on the server, whoever still holds the cookie."""
        conn.execute(sa.delete(dash_sessions).where(dash_sessions.c.id_hash == _digest(cookie)))

    def csrf(self, cookie: str) -> str:
        """The CSRF token that goes with ``cookie``."""
        return self._sign("csrf:" + cookie)

    def csrf_ok(self, method: str, cookie: str, token: str | None) -> bool:
        """Reads need no token; writes need the one that goes with the cookie."""
        if method.upper() in _SAFE_METHODS:
            return True
        return token is not None and hmac.compare_digest(token, self.csrf(cookie))


def end_sessions_of_key(conn: sa.Connection, key_id: str) -> None:
    """Revoking a key ends every session logged in with it."""
    conn.execute(sa.delete(dash_sessions).where(dash_sessions.c.key_id == key_id))
