"""The server's own plugin manager (pluggy, entry-point group ``trackwell_server``).

Separate from the SDK's manager (``trackwell.plugins``, group ``trackwell``): those
plugins load into users' training scripts, these into the server process. The
built-in blob stores and authentication are default plugins registered through the
same hooks as installed ones, so a plugin extends the server exactly as the server
extends itself.

Every ``register_*`` hook is collected once, when the server opens, into a
:class:`Registry` that records which plugin registered each name (shown by
``trackwell server --list-plugins``) and refuses a name registered twice with an
error naming both plugins, the SDK's duplicate policy. A plugin that cannot be
imported is skipped with a warning naming it (the server still starts; a blob store
or back end it would have provided is then reported missing by name).
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pluggy

from trackwell_server import hookspecs

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from trackwell_server.auth import Authenticator
    from trackwell_server.config import ServerConfig
    from trackwell_server.dashboard.session import Sessions
    from trackwell_server.storage.blobs import BlobStore

logger = logging.getLogger("trackwell_server")

hookimpl = pluggy.HookimplMarker("trackwell_server")

ENTRY_POINT_GROUP = "trackwell_server"

#: Built-in features, each a module implementing hooks with ``@hookimpl``.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "trackwell_server.default_plugins.blob_stores",
    "trackwell_server.default_plugins.auth",
)

#: The scheme of a ``--blob-store`` value that is a plain path, not a URL.
LOCAL_SCHEME = "file"
#: The authentication back end used unless the config names another.
DEFAULT_AUTH_BACKEND = "api_keys"

T = TypeVar("T")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class DuplicateRegistration(ValueError):
    """Two plugins registered the same name for one hook."""


class UnknownName(LookupError):
    """A name no plugin registered (a blob-store scheme, a back end, an action)."""


@dataclass
class Registry(Generic[T]):
    """Named things one hook collected, each with the plugin that registered it."""

    what: str  # "blob store", "auth back end", ... for messages
    _items: dict[str, tuple[T, str]] = field(default_factory=dict)

    def add(self, name: str, item: T, plugin: str) -> None:
        had = self._items.get(name)
        if had is not None:
            raise DuplicateRegistration(
                f"{self.what} {name!r} is registered by two plugins: {had[1]!r} and {plugin!r}; "
                f"uninstall one of them"
            )
        self._items[name] = (item, plugin)

    def get(self, name: str) -> T:
        try:
            return self._items[name][0]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise UnknownName(
                f"no {self.what} named {name!r} (registered: {known}); a plugin providing it may "
                f"not be installed"
            ) from None

    def provider(self, name: str) -> str:
        """The plugin that registered ``name``."""
        return self._items[name][1]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __iter__(self) -> Iterator[tuple[str, T, str]]:
        for name, (item, plugin) in sorted(self._items.items()):
            yield name, item, plugin


@dataclass
class ServerPlugins:
    """The loaded plugins and what they registered; one per server process."""

    pm: pluggy.PluginManager
    blob_stores: Registry[hookspecs.BlobStoreFactory]
    auth_backends: Registry[hookspecs.AuthBackendFactory]
    automation_actions: Registry[hookspecs.AutomationAction]
    #: plugins found but not loaded: entry-point name -> why
    skipped: dict[str, str] = field(default_factory=dict)

    def open_blob_store(self, spec: str | None, data_dir: Path, endpoint_url: str | None = None) -> BlobStore:
        """The store for ``--blob-store spec``: ``None`` or a path is local, ``scheme://...`` by scheme."""
        scheme = blob_scheme(spec)
        return self.blob_stores.get(scheme)(spec or "", data_dir, endpoint_url)

    def authenticator(self, engine: Engine, config: ServerConfig, sessions: Sessions | None) -> Authenticator:
        return self.auth_backends.get(config.auth_backend)(engine, config, sessions)

    def info(self) -> list[dict[str, Any]]:
        """Each plugin and what it registered, for ``trackwell server --list-plugins``."""
        out: dict[str, dict[str, Any]] = {}
        for name, _plugin in self.pm.list_name_plugin():
            out[name] = {"name": name, "registered": []}
        for registry in (self.blob_stores, self.auth_backends, self.automation_actions):
            for item_name, _item, plugin in registry:
                out.setdefault(plugin, {"name": plugin, "registered": []})["registered"].append(
                    f"{registry.what} {item_name}"
                )
        for name, why in sorted(self.skipped.items()):
            out[name] = {"name": name, "registered": [], "error": why}
        return list(out.values())


def blob_scheme(spec: str | None) -> str:
    """The URL scheme of a ``--blob-store`` value; a path (or nothing) is ``file``."""
    match = _URL.match(spec or "")
    return match.group(1).lower() if match else LOCAL_SCHEME


def _collect(pm: pluggy.PluginManager, hook_name: str, registry: Registry[Any]) -> None:
    """Call each implementation of ``hook_name`` with a ``register`` bound to its plugin."""
    hook = getattr(pm.hook, hook_name)
    for impl in hook.get_hookimpls():  # registration order: a clash names the newcomer last

        def register(name: str, item: Any, _plugin: str = impl.plugin_name) -> None:
            if not isinstance(name, str) or not name:
                raise TypeError(f"plugin {_plugin!r}: {hook_name} registered a name that is not a string")
            registry.add(name, item, _plugin)

        impl.function(register=register)


def _entry_points() -> Iterable[Any]:
    from importlib.metadata import entry_points

    return entry_points(group=ENTRY_POINT_GROUP)


def load_plugins(extra: Iterable[tuple[str, object]] = (), load_entry_points: bool = True) -> ServerPlugins:
    """The default plugins, installed ones (entry points), then ``extra`` (name, plugin) pairs.

    Raises :class:`DuplicateRegistration` when two plugins register one name.
    """
    pm = pluggy.PluginManager("trackwell_server")
    pm.add_hookspecs(hookspecs)
    for modname in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(modname), name=modname.rsplit(".", 1)[-1])
    skipped: dict[str, str] = {}
    if load_entry_points:
        for ep in _entry_points():
            if pm.has_plugin(ep.name):
                continue
            try:
                pm.register(ep.load(), name=ep.name)
            except Exception as exc:  # one broken plugin must not keep the server down
                skipped[ep.name] = f"{type(exc).__name__}: {exc}"
                logger.warning("trackwell server: plugin %r could not be loaded and is skipped: %s",
                               ep.name, skipped[ep.name])  # fmt: skip
    for name, plugin in extra:
        pm.register(plugin, name=name)
    pm.check_pending()
    plugins = ServerPlugins(
        pm,
        Registry("blob store"),
        Registry("auth back end"),
        Registry("automation action"),
        skipped,
    )
    _collect(pm, "register_blob_stores", plugins.blob_stores)
    _collect(pm, "register_auth_backends", plugins.auth_backends)
    _collect(pm, "register_automation_actions", plugins.automation_actions)
    return plugins


def open_blob_store(spec: str | None, data_dir: Path, endpoint_url: str | None = None) -> BlobStore:
    """The blob store for ``--blob-store spec`` with the installed plugins (a tool's or test's shortcut)."""
    return load_plugins().open_blob_store(spec, data_dir, endpoint_url)
