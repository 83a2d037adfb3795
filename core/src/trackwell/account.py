"""Logging in: check an API key against a server and save both for later runs.

Shared by ``trackwell login`` (the CLI) and ``trackwell.login()`` (W&B's
``wandb.login``), so a key saved either way is saved the same way: in the user
settings file, bound to its server's origin (``trackwell.credentials``). Not imported
by ``import trackwell``: ``trackwell.login`` loads it on first call.
"""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trackwell.credentials import bind_default, saved_keys, server_origin
from trackwell.errors import AuthenticationError, CommError, UsageError
from trackwell.settings import Settings, read_settings_parser, user_config_dir, write_settings_parser

#: environment variables that win over what a login saves
ENV_OVERRIDES = ("TRACKWELL_API_KEY", "WANDB_API_KEY", "TRACKWELL_BASE_URL", "WANDB_BASE_URL")
#: (server origin, key) -> the entity login() learned for a key it did not save (one from the
#: environment), so a run started after it knows its entity at once, as in W&B
_learned: dict[tuple[str, str], str] = {}


def learned_entity(base_url: str | None, key: str | None) -> str | None:
    """The entity ``login()`` learned in this process for ``key`` on ``base_url``, if it did."""
    origin = server_origin(base_url)
    return _learned.get((origin, key)) if origin and key else None


@dataclass
class Viewer:
    """Who a key belongs to on a server (``GET /viewer``)."""

    base_url: str
    user: str
    entity: str


def check_key(base_url: str, key: str | None, timeout: float = 15.0) -> Viewer:
    """Ask ``base_url`` who ``key`` belongs to; AuthenticationError if it refuses the key."""
    from trackwell._pipeline.transport import Transport

    transport = Transport(base_url, key or None, timeout=timeout)
    try:
        viewer: dict[str, Any] = transport.get("/viewer")
    finally:
        transport.close()
    entity = str(viewer.get("entity") or viewer.get("user") or "")
    return Viewer(transport.base_url, str(viewer.get("user") or entity), entity)


def needs_key(base_url: str, timeout: float = 15.0) -> bool:
    """False when the server runs without auth (then no key is needed at all)."""
    from trackwell._pipeline.transport import Transport

    transport = Transport(base_url, None, timeout=timeout)
    try:
        health = transport.get("/health")
    finally:
        transport.close()
    return not (isinstance(health, dict) and health.get("auth") is False)


def save_login(base_url: str, key: str, entity: str) -> Path:
    """Make ``base_url`` the default server with ``key`` (0600 file); return the file's path."""
    path = user_config_dir() / "settings"
    parser = read_settings_parser(path)
    bind_default(parser, base_url, key, entity)
    write_settings_parser(path, parser, private=True)
    return path


def env_overrides() -> list[str]:
    """The environment variables set now that win over a saved login."""
    return [var for var in ENV_OVERRIDES if os.environ.get(var)]


def _say(message: str) -> None:
    print(f"trackwell: {message}", file=sys.stderr)


def _interactive() -> bool:
    stdin = sys.stdin
    try:
        return stdin is not None and stdin.isatty()
    except (ValueError, OSError):  # closed or detached
        return False


def login(
    key: str | None = None,
    relogin: bool | None = None,
    host: str | None = None,
    anonymous: str | None = None,
    timeout: float | None = None,
    verify: bool = False,
    force: bool | None = None,
    referrer: str | None = None,
) -> bool:
    """Log in to a trackwell server (W&B's ``wandb.login``); True when a key is configured.

    The server is ``host``, else the configured one (``TRACKWELL_BASE_URL`` /
    ``WANDB_BASE_URL`` or the saved login). With none, this prints one line and returns
    False: runs then stay offline and the script goes on. A ``key`` passed here is checked
    against the server and saved as ``trackwell login`` saves it, bound to that server;
    without one, the key already configured (``TRACKWELL_API_KEY`` / ``WANDB_API_KEY`` or
    saved) is used, and only a terminal is ever prompted (``relogin=True`` asks again).
    ``verify=True`` raises ``AuthenticationError`` for a key the server refuses; otherwise
    a refused key is reported and False returned. ``timeout`` bounds the server requests.
    ``anonymous``, ``force`` and ``referrer`` are accepted for W&B compatibility. As in
    W&B, a successful login with ``host=`` points this process's later runs at that server
    (``trackwell.setup()``'s settings), whatever the environment or the saved login name.
    """
    del anonymous, force, referrer  # W&B's anonymous mode and cloud sign-up do not apply here
    logged_in = _login(key, relogin, host, float(timeout) if timeout else 15.0, verify)
    if logged_in and host:
        from trackwell.session import setup

        setup(settings={"base_url": host})
    return logged_in


def _login(key: str | None, relogin: bool | None, host: str | None, wait: float, verify: bool) -> bool:
    """``login()`` less its effect on this process's later runs."""
    resolved = Settings.resolve({"base_url": host} if host else None)
    base_url = host or resolved.base_url
    if not base_url:
        _say(
            "no trackwell server is configured, so runs are logged offline to ./trackwell/ "
            "(to stream them, call trackwell.login(host=URL) or set TRACKWELL_BASE_URL)"
        )
        return False
    if server_origin(base_url) is None:
        raise UsageError(f"the server URL {base_url!r} is not an http(s):// URL")
    new_key = key.strip() if key else None
    if new_key is None:
        current = resolved.api_key if not relogin else None
        if current is None and not relogin:
            path = user_config_dir() / "settings"
            current = saved_keys(read_settings_parser(path)).for_server(base_url)
        if current is not None:
            return _check(base_url, current, wait, verify)
        try:
            if not needs_key(base_url, wait):
                return True  # a server without auth: nothing to log in with
        except CommError as exc:
            return _unreachable(base_url, exc, verify)
        if not _interactive():
            raise UsageError(
                f"no API key for {base_url} and no terminal to ask for one: call "
                "trackwell.login(key=...) or set TRACKWELL_API_KEY (or WANDB_API_KEY)"
            )
        new_key = getpass.getpass(f"API key for {base_url}: ").strip()
    try:
        viewer = check_key(base_url, new_key, wait)
    except AuthenticationError:
        if verify:
            raise AuthenticationError(f"{base_url} rejected this API key; check it and try again") from None
        _say(f"{base_url} rejected this API key, so it was not saved; check it and try again")
        return False
    except CommError as exc:
        if verify:
            raise
        _say(f"could not reach {base_url} ({exc.message}); the key is saved unchecked")
        save_login(base_url, new_key, "")
        return True
    save_login(viewer.base_url, new_key, viewer.entity)
    return True


def _check(base_url: str, key: str, timeout: float, verify: bool) -> bool:
    """An already configured key: asked who it belongs to (the entity later runs get).

    A refused key raises with ``verify``, else is reported and False returned; a server
    that does not answer raises with ``verify``, else the key still counts as configured.
    """
    try:
        viewer = check_key(base_url, key, timeout)
    except AuthenticationError:
        message = f"{base_url} rejected the configured API key; check it and try again"
        if verify:
            raise AuthenticationError(message) from None
        _say(message)
        return False
    except CommError as exc:
        if verify:
            raise
        _say(f"could not reach {base_url} ({exc.message}); runs stream once it answers")
        return True
    origin = server_origin(viewer.base_url)
    if origin and viewer.entity:
        _learned[(origin, key)] = viewer.entity
    return True


def _unreachable(base_url: str, exc: CommError, verify: bool) -> bool:
    if verify:
        raise exc
    _say(f"could not reach {base_url} ({exc.message}); runs are logged offline until it answers")
    return False
