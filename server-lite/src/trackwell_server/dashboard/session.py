"""Dashboard sessions: a signed, stateless cookie naming an API key, and its CSRF token.

The cookie is ``<key id>.<expiry>.<signature>``, HMAC-SHA256 under a secret kept in
the data directory (``session-secret``, made on first start, shared by every worker
that uses the same data directory). It holds no key: the key id is looked up on each
request, so revoking the key ends its sessions too. Being HttpOnly and
``SameSite=Strict``, script on the page cannot read it and other sites cannot send it;
writes made with it must also carry the CSRF token (an HMAC of the cookie, given to
the page by ``GET /_dash/session``) in ``X-CSRF-Token``: a double check in case a
browser ignores SameSite.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

COOKIE = "tw_session"
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


class Sessions:
    """Signs and checks session cookies and their CSRF tokens with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    def issue(self, key_id: str, now: float | None = None) -> str:
        """A cookie value for a login with the key ``key_id``."""
        expires = int((time.time() if now is None else now) + TTL_SECONDS)
        body = f"{key_id}.{expires}"
        return f"{body}.{self._sign(body)}"

    def key_id(self, cookie: str, now: float | None = None) -> str | None:
        """The key id of a valid, unexpired cookie; None otherwise."""
        parts = cookie.split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        body = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(parts[2], self._sign(body)):
            return None
        if int(parts[1]) < (time.time() if now is None else now):
            return None
        return parts[0]

    def csrf(self, cookie: str) -> str:
        """The CSRF token that goes with ``cookie``."""
        return self._sign("csrf:" + cookie)

    def csrf_ok(self, method: str, cookie: str, token: str | None) -> bool:
        """Reads need no token; writes need the one that goes with the cookie."""
        if method.upper() in _SAFE_METHODS:
            return True
        return token is not None and hmac.compare_digest(token, self.csrf(cookie))
