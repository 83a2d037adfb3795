"""The one plugin manager of the SDK, built lazily and loaded once.

Environment knobs:

- ``TRACKWELL_DISABLE_PLUGINS=a,b``: block these plugin names (default or installed);
- ``TRACKWELL_LOAD_PLUGINS=a,b``: load only these installed plugins (defaults still load);
- ``TRACKWELL_TRACE_PLUGINS=1``: print every hook call and its result to stderr.
"""

from __future__ import annotations

import configparser
import importlib
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pluggy
from pluggy import HookImpl

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


class EntryPoint:
    """One ``trackwell`` entry point found on ``sys.path``, and the distribution it is in."""

    __slots__ = ("dist", "name", "value", "version")

    def __init__(self, name: str, value: str, dist: str, version: str | None) -> None:
        self.name = name
        self.value = value
        self.dist = dist
        self.version = version

    def load(self) -> Any:
        module, _, attr = self.value.partition(":")
        obj = importlib.import_module(module.strip())
        for part in filter(None, attr.strip().split(".")):
            obj = getattr(obj, part)
        return obj


def find_entry_points(group: str = ENTRY_POINT_GROUP) -> list[EntryPoint]:
    """Entry points of ``group`` in every ``*.dist-info`` / ``*.egg-info`` on ``sys.path``.

    Why not ``importlib.metadata``: importing it costs ~40 ms and a scan builds a
    Distribution per package; ``init()`` has a 50 ms budget. Reading the small
    ``entry_points.txt`` files directly takes about 2 ms. The first distribution
    found for a name wins, as on import.
    """
    found: dict[str, EntryPoint] = {}
    seen: set[str] = set()
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for meta_dir in names:
            stem, dot, ext = meta_dir.rpartition(".")
            if ext not in ("dist-info", "egg-info") or not dot:
                continue
            dist, _, version = stem.partition("-")
            key = dist.lower().replace("-", "_")
            if key in seen:
                continue
            seen.add(key)
            path = os.path.join(entry or ".", meta_dir, "entry_points.txt")
            if not os.path.isfile(path):
                continue
            parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
            parser.optionxform = str  # type: ignore[assignment,method-assign]
            try:
                parser.read(path, encoding="utf-8")
            except (configparser.Error, UnicodeDecodeError):
                continue
            if parser.has_section(group):
                for name, value in parser.items(group):
                    found.setdefault(name, EntryPoint(name, value, dist, version or None))
    return list(found.values())


#: Distribution of each plugin loaded from an entry point, for ``trackwell plugins``.
_dists: dict[str, tuple[str, str | None]] = {}


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
        for ep in find_entry_points():
            if (allow and ep.name not in allow) or pm.is_blocked(ep.name) or pm.has_plugin(ep.name):
                continue
            pm.register(ep.load(), name=ep.name)
            _dists[ep.name] = (ep.dist, ep.version)
    pm.check_pending()
    if os.environ.get("TRACKWELL_TRACE_PLUGINS", "").lower() in ("1", "true", "yes"):
        _trace(pm)
    return pm


def _trace(pm: pluggy.PluginManager) -> None:
    def before(hook_name: str, impls: Sequence[HookImpl], kwargs: Mapping[str, Any]) -> None:
        print(f"trackwell: hook {hook_name} -> {[i.plugin_name for i in impls]}", file=sys.stderr)

    def after(
        outcome: pluggy.Result[Any], hook_name: str, impls: Sequence[HookImpl], kwargs: Mapping[str, Any]
    ) -> None:
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
    from trackwell._version import __version__

    pm = pm or get_plugin_manager()
    out = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        package, version = _dists.get(name, ("trackwell (built in)", __version__))
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or ())
        out.append({"name": name, "version": version, "package": package, "hooks": hooks})
    return out
