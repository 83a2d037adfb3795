"""The one plugin manager of the SDK, built lazily and loaded once.

Which plugins load, read when the manager is built (the process's first ``init()``):

- ``TRACKWELL_DISABLE_PLUGINS=a,b`` or the settings key ``disable_plugins = a,b``:
  block these plugin names (default or installed);
- ``TRACKWELL_LOAD_PLUGINS=a,b``: load only these installed plugins (defaults still load);
- ``TRACKWELL_TRACE_PLUGINS=1``: print every hook call and its result to stderr.

A broken plugin never breaks a run: one that fails to import, or implements a hook
that does not exist, is skipped with one :class:`~trackwell.errors.PluginWarning`
naming it; an exception raised by a hook implementation is caught at that
implementation (the other plugins still run) and reported once per plugin and hook.
"""

from __future__ import annotations

import configparser
import difflib
import functools
import importlib
import inspect
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy
from pluggy import HookImpl

from trackwell.plugins import hookspecs

if TYPE_CHECKING:
    from trackwell.settings import Settings

logger = logging.getLogger("trackwell")

hookimpl = pluggy.HookimplMarker("trackwell")

ENTRY_POINT_GROUP = "trackwell"

#: Built-in features, each a module that implements hooks with ``@hookimpl``.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "trackwell.default_plugins.system_psutil",
    "trackwell.default_plugins.system_nvml",
    "trackwell.default_plugins.console_alerts",
    "trackwell.default_plugins.terminal",
    "trackwell.default_plugins.sweep_methods",
    "trackwell.default_plugins.commands",
    "trackwell.default_plugins.media_types",
)

_BUILT_IN = frozenset(m.rsplit(".", 1)[-1] for m in DEFAULT_PLUGINS)

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
            try:
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
            except (OSError, UnicodeDecodeError):
                continue
            if f"[{group}]" not in text:  # most packages: no need to parse (a big env has hundreds)
                continue
            parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
            parser.optionxform = str  # type: ignore[assignment,method-assign]
            try:
                parser.read_string(text, source=path)
            except configparser.Error:
                continue
            if parser.has_section(group):
                for name, value in parser.items(group):
                    found.setdefault(name, EntryPoint(name, value, dist, version or None))
    return list(found.values())


#: Distribution of each plugin loaded from an entry point, for ``trackwell plugins``.
_dists: dict[str, tuple[str, str | None]] = {}
#: Plugins found but not loaded: name -> (distribution, version, why).
_skipped: dict[str, tuple[str, str | None, str]] = {}


class _Guarded:
    """Stands in for a plugin at registration: the same hook functions, each guarded.

    pluggy stops calling a hook's implementations at the first one that raises:
    guarding each one keeps a broken plugin from silencing the plugins after it.
    The hookimpl options (``tryfirst``, ``trylast``, ...) travel with each function.
    """

    def __init__(self, plugin: object) -> None:
        self._tw_plugin = plugin

    def __repr__(self) -> str:
        return repr(self._tw_plugin)


class TrackwellPluginManager(pluggy.PluginManager):
    """A ``pluggy.PluginManager`` that keeps one broken plugin from breaking the rest.

    ``register()`` rejects a plugin implementing a hook that does not exist (a typo
    would otherwise be silently never called), and guards every implementation: an
    exception it raises becomes one :class:`PluginWarning` naming the plugin, the
    call returns ``None`` for it, and the other implementations still run. The
    manager's methods take and return the plugin objects as registered.
    """

    def __init__(self) -> None:
        super().__init__("trackwell")
        self._reported: set[tuple[str, str]] = set()
        self._reported_lock = threading.Lock()
        self._guarded: dict[int, _Guarded] = {}

    # -- registration ----------------------------------------------------------
    def register(self, plugin: object, name: str | None = None) -> str | None:
        if isinstance(plugin, _Guarded):
            plugin = plugin._tw_plugin
        plugin_name = name or self.get_canonical_name(plugin)
        if self.is_blocked(plugin_name) or self.has_plugin(plugin_name) or id(plugin) in self._guarded:
            return super().register(plugin, name=plugin_name)  # pluggy's answer: None, or its error
        proxy = self._guard_plugin(plugin, plugin_name)
        registered = super().register(proxy, name=plugin_name)
        if registered is None:
            return None
        self._guarded[id(plugin)] = proxy
        unknown = [
            caller.name
            for caller in super().get_hookcallers(proxy) or ()
            if caller.spec is None
            and any(impl.plugin is proxy and not impl.optionalhook for impl in caller.get_hookimpls())
        ]
        if unknown:
            self.unregister(plugin)
            raise pluggy.PluginValidationError(plugin, _unknown_hook_message(registered, unknown))
        return registered

    def _guard_plugin(self, plugin: object, plugin_name: str) -> _Guarded:
        proxy = _Guarded(plugin)
        # pluggy names an unnamed object by its id(): say what it is, too
        shown = f"{type(plugin).__qualname__} ({plugin_name})" if plugin_name.isdigit() else plugin_name
        for attr in dir(plugin):
            opts = self.parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            fn = getattr(plugin, attr)
            guarded: Callable[..., Any] = fn  # wrappers see other plugins' errors: not theirs to guard
            if not (opts.get("wrapper") or opts.get("hookwrapper")):
                guarded = self._guard(shown, opts.get("specname") or attr, fn)
            setattr(proxy, attr, guarded)
        return proxy

    def _guard(self, plugin_name: str, hook_name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        report = self._report

        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                report(plugin_name, hook_name, exc)
                return None

        return guarded

    def _report(self, plugin_name: str, hook_name: str, exc: Exception) -> None:
        logger.debug("plugin %r raised in %s", plugin_name, hook_name, exc_info=exc)
        with self._reported_lock:
            if (plugin_name, hook_name) in self._reported:
                return
            self._reported.add((plugin_name, hook_name))
        where = _where(exc)
        _warn(
            f"trackwell: plugin {plugin_name!r} raised in its {hook_name} hook and was skipped for "
            f"that call: {type(exc).__name__}: {exc}{where}. The run goes on; further errors of "
            f"this hook are not repeated. Disable it with TRACKWELL_DISABLE_PLUGINS={plugin_name}."
        )

    # -- the rest of the API speaks of plugins as registered -------------------
    def _proxy(self, plugin: object) -> object:
        return self._guarded.get(id(plugin), plugin)

    @staticmethod
    def _original(plugin: Any) -> Any:
        return plugin._tw_plugin if isinstance(plugin, _Guarded) else plugin

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any | None:
        if plugin is not None:
            plugin = self._proxy(plugin)
        elif name is not None:
            plugin = super().get_plugin(name)
        removed = super().unregister(plugin, name)
        if removed is not None:
            self._guarded.pop(id(self._original(removed)), None)
        return self._original(removed)

    def is_registered(self, plugin: object) -> bool:
        return super().is_registered(self._proxy(plugin))

    def get_name(self, plugin: object) -> str | None:
        return super().get_name(self._proxy(plugin))

    def get_hookcallers(self, plugin: object) -> list[pluggy.HookCaller] | None:
        return super().get_hookcallers(self._proxy(plugin))

    def get_plugin(self, name: str) -> Any | None:
        return self._original(super().get_plugin(name))

    def get_plugins(self) -> set[Any]:
        return {self._original(p) for p in super().get_plugins()}

    def list_name_plugin(self) -> list[tuple[str, object]]:
        return [(n, self._original(p)) for n, p in super().list_name_plugin()]


def _unknown_hook_message(plugin_name: str, hooks: Sequence[str]) -> str:
    known = [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)]
    parts = []
    for hook in hooks:
        close = difflib.get_close_matches(hook, known, n=1)
        parts.append(f"{hook!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return (
        f"plugin {plugin_name!r} implements hook(s) that trackwell does not have: {', '.join(parts)}. "
        "Mark a hook meant for a newer trackwell with @hookimpl(optionalhook=True)."
    )


def _where(exc: BaseException) -> str:
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return ""
    return f" (at {last.tb_frame.f_code.co_filename}:{last.tb_lineno})"


def _warn(message: str) -> None:
    from trackwell.errors import PluginWarning, warn_user

    try:
        warn_user(message, PluginWarning)
    except Exception:  # warnings turned into errors (-W error) must still not break a run
        logger.warning(message)


def disabled_plugins(settings: Settings | None = None) -> set[str]:
    """Names blocked by ``TRACKWELL_DISABLE_PLUGINS`` and the ``disable_plugins`` setting."""
    names = _names("TRACKWELL_DISABLE_PLUGINS")
    if settings is None:
        from trackwell.settings import Settings

        try:
            settings = Settings.resolve()
        except Exception as exc:  # a bad settings file is reported by init(), not here
            logger.debug("settings unreadable while loading plugins: %s", exc)
            return names
    return names | set(getattr(settings, "disable_plugins", ()) or ())


def create_plugin_manager(
    load_entry_points: bool = True, settings: Settings | None = None
) -> pluggy.PluginManager:
    """Build a plugin manager with the default plugins and (optionally) installed ones.

    An installed plugin that cannot be imported or registered is skipped with one
    :class:`PluginWarning`; the reason is kept for ``trackwell plugins``.
    """
    pm = TrackwellPluginManager()
    pm.add_hookspecs(hookspecs)
    for name in disabled_plugins(settings):
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
            _load(pm, ep)
    pm.check_pending()
    if os.environ.get("TRACKWELL_TRACE_PLUGINS", "").lower() in ("1", "true", "yes"):
        _trace(pm)
    return pm


def _load(pm: pluggy.PluginManager, ep: EntryPoint) -> None:
    """Import and register one installed plugin; on failure, warn once and skip it."""
    try:
        plugin = ep.load()
        pm.register(plugin, name=ep.name)
    except (Exception, SystemExit) as exc:  # even sys.exit() at import must not end the run
        why = f"{type(exc).__name__}: {str(exc).rstrip('.')}"
        _skipped[ep.name] = (ep.dist, ep.version, why)
        version = f" {ep.version}" if ep.version else ""
        _warn(
            f"trackwell: plugin {ep.name!r} (package {ep.dist}{version}) could not be loaded and is "
            f"skipped: {why}. Runs go on without it; uninstall it or set "
            f"TRACKWELL_DISABLE_PLUGINS={ep.name} to silence this."
        )
        return
    _skipped.pop(ep.name, None)
    _dists[ep.name] = (ep.dist, ep.version)


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


def get_plugin_manager(settings: Settings | None = None) -> pluggy.PluginManager:
    """The process-wide plugin manager, created on first use.

    ``settings`` (the first run's) give the ``disable_plugins`` list it is built with.
    """
    global _pm
    if _pm is None:
        with _lock:
            if _pm is None:
                _pm = create_plugin_manager(settings=settings)
    return _pm


def reset_plugin_manager() -> None:
    """Forget the plugin manager so the next use rebuilds it (tests, env changes)."""
    global _pm
    from trackwell.plugins.registrar import reset_provenance

    with _lock:
        _pm = None
    reset_provenance()


def plugin_info(pm: pluggy.PluginManager | None = None) -> list[dict[str, Any]]:
    """Name, version and hooks of every registered plugin, for ``trackwell plugins``."""
    from trackwell._version import __version__

    pm = pm or get_plugin_manager()
    out: list[dict[str, Any]] = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked by TRACKWELL_DISABLE_PLUGINS / disable_plugins
            out.append({"name": name, "version": None, "package": "-", "hooks": [], "error": "disabled"})
            continue
        if name in _dists:
            package, version = _dists[name]
        elif name in _BUILT_IN:
            package, version = "trackwell (built in)", __version__
        else:  # registered in code (a test, an application), not installed
            package, version = "(registered in code)", None
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or ())
        out.append({"name": name, "version": version, "package": package, "hooks": hooks})
    for name, (package, version, why) in sorted(_skipped.items()):
        if not pm.has_plugin(name):
            out.append({"name": name, "version": version, "package": package, "hooks": [], "error": why})
    return out
