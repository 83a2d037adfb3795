"""The FastAPI application: routers under ``/api/v1``, error handlers, limits, periodic jobs."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import json
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from trackwell_server._version import __version__
from trackwell_server.bootstrap import ensure_admin
from trackwell_server.config import ServerConfig
from trackwell_server.dashboard import routes as dashboard
from trackwell_server.dashboard.session import Sessions, load_secret
from trackwell_server.db.engine import make_engine, migrate, sqlite_url
from trackwell_server.deps import Server
from trackwell_server.errors import ERROR_RESPONSES, install_handlers
from trackwell_server.jobs import collect_blobs, every, mark_crashed
from trackwell_server.limits import LimitsMiddleware, TokenBucket
from trackwell_server.plugin_manager import ServerPlugins, load_plugins
from trackwell_server.private import SECRETS, private_dir
from trackwell_server.responses import JSONResponse
from trackwell_server.routes import (
    artifacts,
    files,
    history,
    identity,
    ingest,
    projects,
    runs,
    sweeps,
)
from trackwell_server.routes.artifacts.versions import CREATE_PATH, MAX_CREATE_BODY

API_PREFIX = "/api/v1"
#: How ``trackwell server --workers N`` hands its settings to each worker process.
CONFIG_ENV = "TRACKWELL_SERVER_CONFIG"


def open_server(config: ServerConfig, plugins: ServerPlugins | None = None) -> tuple[Server, str | None]:
    """Connect to the database (migrating it) and the blob store; return the admin key if known.

    ``plugins``: the server plugins to open the blob store and authentication with
    (default: the built-in and installed ones).
    """
    plugins = plugins if plugins is not None else load_plugins()
    private_dir(config.data_dir, SECRETS)
    engine = make_engine(config.db_url or sqlite_url(config.data_dir), config.sqlite_synchronous)
    migrate(engine, lock_dir=config.data_dir)
    admin_key = ensure_admin(engine, config.data_dir)
    blobs = plugins.open_blob_store(config.blob_store, config.data_dir, config.s3_endpoint_url)
    sessions = Sessions(load_secret(config.data_dir))
    authenticator = plugins.authenticator(engine, config, sessions)
    return Server(config, engine, blobs, authenticator, plugins), admin_key


def _build_routes(routes: Sequence[Any]) -> None:
    """Build every included router's route state now. FastAPI builds it lazily, on the
    first request that reaches each router, for all of that router's routes at once:
    about a second for the artifacts router on a busy machine, which the first
    ``blobs/check`` of every fresh server paid. Only a warm-up: skipped silently where
    FastAPI has no such state."""
    for route in routes:
        build = getattr(route, "effective_candidates", None)
        if callable(build):
            with contextlib.suppress(Exception):
                _build_routes([c for c in build() if hasattr(c, "effective_candidates")])


def create_app(config: ServerConfig, server: Server | None = None) -> FastAPI:
    """The ASGI app for ``config`` (``server``: handles opened already, e.g. by the CLI)."""
    srv = server if server is not None else open_server(config)[0]

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Everything alive now (modules, the app) lives as long as the process: keeping
        # it out of the collector's full passes halves the cost of decoding an ingest
        # batch, whose ~150,000 new objects trigger several of them.
        if config.freeze_gc:
            gc.freeze()
        # off the loop, so start-up does not wait for it (a request meanwhile waits on
        # FastAPI's own lock, no longer than it would have anyway)
        warm = asyncio.get_running_loop().run_in_executor(None, _build_routes, _app.router.routes)
        tasks = [
            asyncio.create_task(
                every(
                    config.crash_check_interval,
                    functools.partial(mark_crashed, srv.engine, config.heartbeat_timeout),
                    "marking silent runs as crashed",
                )
            ),
            asyncio.create_task(
                every(
                    config.blob_gc_interval,
                    functools.partial(collect_blobs, srv.engine, srv.blobs, config.blob_gc_grace),
                    "collecting unused blobs",
                )
            ),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            srv.engine.dispose()
            with contextlib.suppress(Exception):
                await warm

    app = FastAPI(
        title="trackwell server",
        version=__version__,
        description=(
            "The trackwell REST API (docs/server-api.md): runs, exactly-once ingest, history, files, "
            "artifacts."
        ),
        default_response_class=JSONResponse,
        lifespan=lifespan,
        # The interactive pages load their scripts from a public CDN: only when asked for.
        docs_url="/docs" if config.api_docs else None,
        redoc_url="/redoc" if config.api_docs else None,
    )
    app.state.server = srv
    install_handlers(app)
    for module in (identity, projects, runs, ingest, history, files, sweeps, artifacts):
        app.include_router(module.router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    dashboard.install(app, API_PREFIX)  # last: its page routes catch what the API did not
    app.add_middleware(
        LimitsMiddleware,
        bucket=TokenBucket(config.rate_limit, config.rate_burst),
        max_body=config.max_body_bytes,
        larger=[("POST", CREATE_PATH, max(config.max_body_bytes, MAX_CREATE_BODY))],
        known=srv.auth.is_known,
    )
    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn worker processes: the settings come from ``CONFIG_ENV``."""
    raw = json.loads(os.environ[CONFIG_ENV])
    raw["data_dir"] = Path(raw["data_dir"])
    return create_app(ServerConfig(**raw))


def config_to_env(config: ServerConfig) -> str:
    raw = asdict(config)
    raw["data_dir"] = str(config.data_dir)
    return json.dumps(raw)
