"""The server's settings, resolved once by the CLI (or ``testing.start_server``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from trackwell.limits import (
    ENVELOPE_BYTES,
    MAX_BODY_BYTES,
    MAX_KEY_CHARS,
    MAX_KEYS,
    MAX_RECORD_BYTES,
    MAX_VALUE_BYTES,
    Limits,
)


def default_data_dir() -> Path:
    """``$TRACKWELL_DATA_DIR``, else the user's data directory (XDG)."""
    env = os.environ.get("TRACKWELL_DATA_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "trackwell" / "server"


@dataclass
class ServerConfig:
    """What one server process needs; several processes may share one database and blob store."""

    data_dir: Path
    db_url: str | None = None  # None: SQLite in data_dir
    #: SQLite's synchronous: "full" (an acknowledged write is on disk, survives a power
    #: loss) or "normal" (faster ingest; survives a crash of the server, not a power loss)
    sqlite_synchronous: str = "full"
    blob_store: str | None = None  # None: data_dir/blobs; "s3://bucket/prefix": S3
    s3_endpoint_url: str | None = None
    auth: bool = True
    #: the authentication back end (a name registered through ``register_auth_backends``)
    auth_backend: str = "api_keys"
    heartbeat_timeout: float = 300.0
    #: how often each process looks for runs whose heartbeat stopped
    crash_check_interval: float = 30.0
    #: how often each process deletes blobs no file refers to, and how old they must be
    blob_gc_interval: float = 3600.0
    blob_gc_grace: float = 3600.0
    #: requests per second per API key (or client address), and the burst a bucket holds
    rate_limit: float = 1000.0
    rate_burst: float = 2000.0
    #: rejected API keys per client address per minute before that address gets 429
    auth_failures_per_minute: int = 30
    #: serve FastAPI's /docs and /redoc pages (they load scripts from a public CDN, so off
    #: by default); /openapi.json is always served
    api_docs: bool = False
    #: what one run, row and value may hold: trackwell.limits' defaults (the SDK's), so
    #: the SDK refuses at log() what this server would; published at GET /api/v1/limits
    max_metrics: int = MAX_KEYS
    max_key_chars: int = MAX_KEY_CHARS
    max_value_bytes: int = MAX_VALUE_BYTES
    max_body_bytes: int = MAX_BODY_BYTES
    #: the URL clients use (for links in run objects); set by the CLI once the port is known
    public_url: str = ""
    #: gc.freeze() after start (see app.py); off for a server inside a test process,
    #: whose heap is not the server's to freeze
    freeze_gc: bool = True

    def limits(self) -> Limits:
        """The limits this server enforces at ingest, in the SDK's terms."""
        return Limits(
            max_keys=self.max_metrics,
            max_key_chars=self.max_key_chars,
            max_value_bytes=self.max_value_bytes,
            max_record_bytes=min(MAX_RECORD_BYTES, self.max_body_bytes - ENVELOPE_BYTES),
            max_body_bytes=self.max_body_bytes,
        )
