"""Database engines (SQLite in WAL mode, or PostgreSQL) and migrations on start.

An acknowledged write is on disk: SQLite runs with ``synchronous=FULL`` (each commit
fsyncs the WAL), so a power loss cannot take a batch the server already answered
for; ``synchronous="normal"`` (``trackwell server --sqlite-synchronous normal``)
trades that for speed, and then only a crash of the process is survived. The
database file and its WAL and shared-memory files are readable by the owner only.

Several server processes may start at once against one database (``--workers``, or
several hosts on one PostgreSQL), so ``migrate`` holds a lock while Alembic runs: a
PostgreSQL advisory lock, or a file lock beside an SQLite database.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from trackwell_server.private import FILE_MODE, make_dirs, private_file

MIGRATIONS = Path(__file__).parent / "migrations"
#: Any constant works: it names the advisory lock all trackwell servers share.
_PG_MIGRATION_LOCK = 0x7472_6B77  # "trkw"
#: SQLite's ``synchronous`` settings the server accepts: FULL (the default) or NORMAL
SYNCHRONOUS = ("full", "normal")


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` (and ``postgres://``) and pick the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'trackwell.db'}"


def make_engine(url: str, synchronous: str = "full") -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and write-locking BEGINs."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, synchronous)
    return sa.create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)


def _private_database(url: str) -> None:
    """Create the database file 0600 before SQLite does (its WAL and shared-memory files
    then get the same mode), and tighten an older one and its companions."""
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    private_file(path)
    for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if companion.exists():
            private_file(companion)


def _sqlite_engine(url: str, synchronous: str) -> Engine:
    if synchronous.lower() not in SYNCHRONOUS:
        raise ValueError(f"SQLite synchronous must be one of {', '.join(SYNCHRONOUS)}, not {synchronous!r}")
    _private_database(url)
    pragma_synchronous = f"PRAGMA synchronous={synchronous.upper()}"
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 60},
        pool_size=8,
        max_overflow=8,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would BEGIN lazily and DEFERRED; the
        # "begin" hook below issues the BEGIN itself instead.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # 16 KiB pages (set before the first table exists): history chunks are blobs of
        # tens of KiB, read and written whole; bigger pages mean shorter overflow chains.
        cur.execute("PRAGMA page_size=16384")
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL in WAL mode: each commit fsyncs the WAL, so what the server acknowledged
        # survives a power loss. NORMAL (opt-in) survives the process being killed, but
        # a power loss can lose the last transactions (never corrupt the database).
        cur.execute(pragma_synchronous)
        # Checkpoint every ~40 MB of WAL instead of SQLite's 4 MB: a checkpoint is an
        # fsync, and at 4 MB ingest paid one on nearly every batch (10 ms of ~60).
        cur.execute("PRAGMA wal_autocheckpoint=2500")  # pages of 16 KiB
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: history chunks are read in bulk
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A write transaction takes the write lock at BEGIN, so two writers queue on
        # busy_timeout instead of one failing with "database is locked" on upgrade.
        if conn.get_execution_options().get("write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


@contextmanager
def write(engine: Engine) -> Iterator[sa.Connection]:
    """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success."""
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        yield conn


@contextmanager
def read(engine: Engine) -> Iterator[sa.Connection]:
    """A read-only transaction: one consistent snapshot for a multi-query read."""
    with engine.connect() as conn, conn.begin():
        yield conn


def migrate(engine: Engine, lock_dir: Path | None = None) -> None:
    """Upgrade the schema to the newest migration; safe when several processes start together."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            conn.commit()
            try:
                with conn.begin():
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                conn.commit()
        return
    with _file_lock(lock_dir), write(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def _file_lock(lock_dir: Path | None) -> Iterator[None]:
    if lock_dir is None:
        yield
        return
    make_dirs(lock_dir)
    fd = os.open(lock_dir / "migrate.lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
    with os.fdopen(fd, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
