"""The one plugin manager of the SDK, built lazily and loaded once.

Environment knobs:

- ``TRACKWELL_DISABLE_PLUGINS=a,b``: block these plugin names (default or installed);
- ``TRACKWELL_LOAD_PLUGINS=a,b``: load only these installed plugins (defaults still load);
- ``TRACKWELL_TRACE_PLUGINS=1``: print every hook call and its result to stderr.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from typing import Any

import pluggy

from trackwell.plugins import hookspecs

hookimpl = pluggy.HookimplMarker("trackwell")

ENTRY_POINT_GROUP = "trackwell"

#: Built-in features, each a module that implements hooks with ``@hookimpl``.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "trackwell.default_plugins.system_psutil",
    "trackwell.default_plugins.system_nvml",
    "trackwell.default_plugins.console_alerts",
)

_pm: pluggy.PluginManager | None = None
_lock = threading.Lock()


def _names(var: str) -> set[str]:
    return {n.strip() for n in os.environ.get(var, "").split(",") if n.strip()}


def create_plugin_manager(load_entry_points: bool = True) -> pluggy.PluginManager:
    """Build a plugin manager with the default plugins and (optionally) installed ones."""
    pm = pluggy.PluginManager("trackwell")
    pm.add_hookspecs(hookspecs)
    for name in _names("TRACKWELL_DISABLE_PLUGINS"):
        pm.set_blocked(name)
    for modname in DEFAULT_PLUGINS:
        short = modname.rsplit(".", 1)[-1]
        if pm.is_blocked(short):
            continue
        pm.register(importlib.import_module(modname), name=short)
    if load_entry_points:
        allow = _names("TRACKWELL_LOAD_PLUGINS")
        if allow:
            _load_allowed(pm, allow)
        else:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    pm.check_pending()
    if os.environ.get("TRACKWELL_TRACE_PLUGINS", "").lower() in ("1", "true", "yes"):
        _trace(pm)
    return pm


def _load_allowed(pm: pluggy.PluginManager, allow: set[str]) -> None:
    from importlib.metadata import distributions

    for dist in distributions():
        for ep in dist.entry_points:
            if ep.group == ENTRY_POINT_GROUP and ep.name in allow and not pm.is_blocked(ep.name):
                if pm.get_plugin(ep.name) is None:
                    pm.register(ep.load(), name=ep.name)


def _trace(pm: pluggy.PluginManager) -> None:
    def before(hook_name: str, impls: Any, kwargs: dict[str, Any]) -> None:
        print(f"trackwell: hook {hook_name} -> {[i.plugin_name for i in impls]}", file=sys.stderr)

    def after(outcome: Any, hook_name: str, impls: Any, kwargs: dict[str, Any]) -> None:
        exc = outcome.exception
        if exc is not None:
            print(f"trackwell: hook {hook_name} raised {exc!r}", file=sys.stderr)

    pm.add_hookcall_monitoring(before, after)


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, created on first use."""
    global _pm
    if _pm is None:
        with _lock:
            if _pm is None:
                _pm = create_plugin_manager()
    return _pm


def reset_plugin_manager() -> None:
    """Forget the plugin manager so the next use rebuilds it (tests, env changes)."""
    global _pm
    with _lock:
        _pm = None


def plugin_info(pm: pluggy.PluginManager | None = None) -> list[dict[str, Any]]:
    """Name, version and hooks of every registered plugin, for ``trackwell plugins``."""
    pm = pm or get_plugin_manager()
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    out = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or ())
        out.append(
            {
                "name": name,
                "version": dist.version if dist else None,
                "package": dist.project_name if dist else "trackwell (built in)",
                "hooks": hooks,
            }
        )
    return out
