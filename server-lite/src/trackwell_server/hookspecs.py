"""Every hook a server plugin can implement: blob stores, authentication back ends, automation actions.

The server has a plugin manager of its own (``trackwell_server.plugin_manager``),
separate from the SDK's: its plugins run inside the server process, not in users'
training scripts. Implement a hook with ``@trackwell_server.plugin_manager.hookimpl``
on a function of the same name and expose the module through the ``trackwell_server``
entry-point group::

    [project.entry-points.trackwell_server]
    my_store = "my_package.server_plugin"

Every hook here is a ``register_*`` hook, as the SDK's are: it receives a ``register``
callable, called once per thing the plugin contributes, so the server knows which
plugin gave what (``trackwell server --list-plugins``) and can refuse two plugins
claiming one name, naming both. ``docs/server-plugins.md`` describes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from trackwell_server.auth import Authenticator
    from trackwell_server.config import ServerConfig
    from trackwell_server.dashboard.session import Sessions
    from trackwell_server.storage.blobs import BlobStore

hookspec = pluggy.HookspecMarker("trackwell_server")

#: ``factory(spec, data_dir, endpoint_url)``: a blob store for ``--blob-store spec``.
BlobStoreFactory = Callable[[str, Path, "str | None"], "BlobStore"]
#: ``factory(engine, config, sessions)``: the authenticator every request goes through.
AuthBackendFactory = Callable[["Engine", "ServerConfig", "Sessions | None"], "Authenticator"]
#: ``action(event)``: what an automation does when its trigger fires.
AutomationAction = Callable[[Mapping[str, Any]], None]


@hookspec
def register_blob_stores(register: Callable[[str, BlobStoreFactory], None]) -> None:
    """Add blob stores: where file and artifact bytes go, chosen by ``--blob-store`` URL scheme.

    Built in: ``file`` (a directory; also any ``--blob-store`` that is not a URL) and
    ``s3`` (S3 and S3-compatible stores).

    :param register: call ``register(scheme, factory)`` once per URL scheme (lower
        case, without ``://``). ``factory(spec, data_dir, endpoint_url)`` gets the whole
        ``--blob-store`` value, the server's data directory and ``--s3-endpoint-url``, and
        returns an object with the methods of ``trackwell_server.storage.blobs.BlobStore``.
        A scheme another plugin registered already is an error naming both plugins.
    :returns: ignored.
    """


@hookspec
def register_auth_backends(register: Callable[[str, AuthBackendFactory], None]) -> None:
    """Add authentication back ends: how a request becomes a user.

    Built in: ``api_keys`` (API keys and dashboard sessions, the default). The server
    uses the back end named by ``trackwell server --auth-backend`` (``ServerConfig.auth_backend``).

    :param register: call ``register(name, factory)`` once per back end.
        ``factory(engine, config, sessions)`` returns a
        ``trackwell_server.auth.Authenticator``; a back end subclasses it and overrides
        ``identify(request) -> (user, admin)`` (raise ``ApiError(401, ...)`` to refuse).
        A name another plugin registered already is an error naming both plugins.
    :returns: ignored.
    """


@hookspec
def register_automation_actions(register: Callable[[str, AutomationAction], None]) -> None:
    """Add automation actions: what the server may do when an automation's trigger fires.

    Nothing triggers automations yet (the automations issue builds on this hook);
    registered actions are listed and can be looked up by name.

    :param register: call ``register(name, action)`` once per action; ``action(event)``
        receives the event as a mapping. A name another plugin registered already is
        an error naming both plugins.
    :returns: ignored.
    """
