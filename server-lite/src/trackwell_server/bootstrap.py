"""First start: the local admin user, its key in the data directory, and the SDK's settings.

A single user should just work: the first start creates the admin ``local``, keeps
its key in ``<data>/admin-key`` (0600), and, if the SDK's user settings hold no API
key yet, writes the server's URL and the key there so ``trackwell.init()`` streams
to it with no login step.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from trackwell.extend import read_settings_file, user_config_dir, write_settings_file
from trackwell_server.auth import LOCAL_USER, create_user, entity_kind
from trackwell_server.db.engine import read, write

KEY_FILE = "admin-key"


def ensure_admin(engine: Engine, data_dir: Path) -> str | None:
    """Create the admin user on first start; return its key if this data dir holds it."""
    path = data_dir / KEY_FILE
    with read(engine) as conn:
        exists = entity_kind(conn, LOCAL_USER) is not None
    if not exists:
        try:
            with write(engine) as conn:
                if entity_kind(conn, LOCAL_USER) is None:
                    key = create_user(conn, LOCAL_USER, admin=True)
                    _write_private(path, key + "\n")
                    return key
        except sa.exc.IntegrityError:  # another process sharing the database made it first
            pass
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def offer_to_sdk(url: str, api_key: str | None) -> str:
    """Configure the local SDK if it has no key yet; return a line saying what happened."""
    path = user_config_dir() / "settings"
    try:
        current = read_settings_file(path)
    except Exception:  # an unreadable settings file is the user's; leave it alone
        current = {"api_key": "?"}
    if api_key and not current.get("api_key"):
        write_settings_file(path, {"base_url": url, "api_key": api_key, "entity": LOCAL_USER}, private=True)
        return f"Saved this server's URL and the admin key to {path}: trackwell.init() will use it."
    return f"To log in from another machine or account: trackwell login --host {url}"
