"""Owner-only folders and files: what the server keeps on disk is nobody else's to read.

The data directory holds the database (every user's runs, API key hashes, dashboard
sessions), the admin key, the session secret and the blobs. A shared machine's other
users must not read any of it, whatever the umask: folders are 0700 and files 0600,
and a data directory left group- or world-readable by an older version is tightened
at start.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600


#: the secrets the server keeps directly in its data directory (bootstrap's admin key, the
#: dashboard's session secret, the migration lock); the database files are the engine's
SECRETS = ("admin-key", "session-secret", "migrate.lock")


def private_dir(path: Path, files: tuple[str, ...] = ()) -> Path:
    """Create ``path`` (and its parents) if need be, and make it owner-only if it is ours,
    with those of ``files`` (names in it) that exist.

    Only ``path`` itself and the named files are tightened: parents the server did not
    create (a home directory, /var/lib) keep their modes, and other files are not the
    server's to change; an owner-only folder keeps everything below it private anyway.
    """
    make_dirs(path)
    _tighten(path, DIR_MODE)
    for name in files:
        _tighten(path / name, FILE_MODE)
    return path


def make_dirs(path: Path) -> None:
    """``mkdir -p`` with every folder it creates 0700 (``Path.mkdir`` gives the mode to the
    last one only; the parents it makes get the umask's)."""
    if path.is_dir():
        return
    if not path.parent.is_dir():
        make_dirs(path.parent)
    path.mkdir(mode=DIR_MODE, exist_ok=True)


def private_file(path: Path) -> Path:
    """Make an existing file owner-only, or create it empty as such (SQLite then gives its
    WAL and shared-memory files the database file's mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        _tighten(path, FILE_MODE)
    else:
        try:
            os.fchmod(fd, FILE_MODE)  # O_CREAT's mode went through the umask; make it exact
        finally:
            os.close(fd)
    return path


def _tighten(path: Path, mode: int) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & ~mode == 0:
        return
    os.chmod(path, stat.S_IMODE(info.st_mode) & mode)
    log.info("made %s readable by its owner only (it was %o)", path, stat.S_IMODE(info.st_mode))
