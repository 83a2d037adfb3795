"""Database engines (SQLite in WAL mode, or PostgreSQL) and migrations on start.

Several server processes may start at once against one database (``--workers``, or
several hosts on one PostgreSQL), so ``migrate`` holds a lock while Alembic runs: a
PostgreSQL advisory lock, or a file lock beside an SQLite database.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"
#: Any constant works: it names the advisory lock all trackwell servers share.
_PG_MIGRATION_LOCK = 0x7472_6B77  # "trkw"


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` (and ``postgres://``) and pick the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'trackwell.db'}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and write-locking BEGINs."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return sa.create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)


def _sqlite_engine(url: str) -> Engine:
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
        # NORMAL in WAL mode: a commit survives the process being killed; only a power
        # loss can lose the last transactions, never corrupt the database.
        cur.execute("PRAGMA synchronous=NORMAL")
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
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / "migrate.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
