"""The built-in authentication back end ``api_keys``: API keys, and dashboard sessions made from them."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine

from trackwell_server.auth import Authenticator
from trackwell_server.config import ServerConfig
from trackwell_server.dashboard.session import Sessions
from trackwell_server.hookspecs import AuthBackendFactory
from trackwell_server.plugin_manager import DEFAULT_AUTH_BACKEND, hookimpl


def api_keys(engine: Engine, config: ServerConfig, sessions: Sessions | None) -> Authenticator:
    return Authenticator(engine, config.auth, sessions, config.auth_failures_per_minute)


@hookimpl
def register_auth_backends(register: Callable[[str, AuthBackendFactory], None]) -> None:
    register(DEFAULT_AUTH_BACKEND, api_keys)
