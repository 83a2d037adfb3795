"""The one registrar behind every ``register_*`` hook: validation, duplicates, provenance.

A ``register_*`` hook hands each plugin a ``register`` callable. Every such hook is
collected here, the same way (as llm's ``register_models(register)``):

- the hook is called one plugin at a time, in pluggy's call order, each with a
  ``register`` of its own, so every registration is recorded with the plugin that made
  it (``provenance()``; shown by ``trackwell plugins --registered``);
- ``register`` validates its arguments (the :class:`Registry`'s ``accept``) and raises
  ``TypeError`` naming the plugin for a malformed one;
- one duplicate policy for all: the first plugin called keeps a name; a second
  registration of it is ignored and reported as a ``PluginWarning`` naming both
  plugins (block one with ``TRACKWELL_DISABLE_PLUGINS``). The second plugin's other
  registrations stand: a plugin that takes over one built-in sweep method does not
  take the other built-in methods down with it. Built-ins are called last (they are
  registered first, and pluggy calls the last registered first), so a third party's
  registration wins. A plugin that means to be only a fallback checks first
  (``register_commands``: ``if "server" not in cli.commands``).

An exception inside a plugin's hook (a malformed registration included) costs only that
plugin: the plugin manager's guard reports it as one ``PluginWarning`` naming the
plugin, keeps what it registered before the error, and the other plugins still run.

``register_commands`` passes the ``click.Group`` itself (plugins add commands with
click's own API); its registrations are read off the group after each plugin's call.

Nothing here imports click, a media type or a framework: each :class:`Registry` here
checks what it accepts by duck typing; a registry that needs a base class is defined
beside it (``trackwell.media.base`` for ``register_media_types``).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import click
    import pluggy


@dataclass(frozen=True)
class Registration:
    """One thing a plugin registered: which hook, under which name, by which plugin."""

    hook: str
    what: str
    name: str
    plugin: str
    value: Any


@dataclass(frozen=True)
class Registry:
    """One ``register_*`` hook: what it registers, and how ``register``'s arguments are read.

    ``accept(plugin, *args, **kwargs)`` validates one ``register(...)`` call of
    ``plugin`` and returns ``(name, value)``; it raises ``TypeError`` naming the plugin
    for arguments the hook does not take.
    """

    hook: str
    what: str
    accept: Callable[..., tuple[str, Any]]


_lock = threading.Lock()
#: hook -> name -> the registration, from the latest collection of that hook
_provenance: dict[str, dict[str, Registration]] = {}


def _tracing() -> bool:
    return os.environ.get("TRACKWELL_TRACE_PLUGINS", "").lower() in ("1", "true", "yes")


def _implementations(pm: pluggy.PluginManager, hook: str) -> list[pluggy.HookImpl]:
    """The hook's implementations in pluggy's call order (tryfirst first, wrappers left out)."""
    caller = getattr(pm.hook, hook, None)
    if caller is None:
        return []
    impls = [i for i in reversed(caller.get_hookimpls()) if not (i.hookwrapper or i.wrapper)]
    if _tracing():  # the plugin manager's monitor sees hook calls, not these one-by-one ones
        print(f"trackwell: hook {hook} -> {[i.plugin_name for i in impls]}", file=sys.stderr)
    return impls


def _call(impl: pluggy.HookImpl, kwargs: dict[str, Any]) -> None:
    # an implementation may take fewer arguments than the spec (pluggy's rule)
    impl.function(*(kwargs[name] for name in impl.argnames))


def _duplicate(what: str, name: str, plugin: str, first: str) -> None:
    from trackwell.plugins import _warn

    _warn(
        f"trackwell: plugins {first!r} and {plugin!r} both registered a {what} named {name!r}: "
        f"the one from {first!r} (called first) is kept, the one from {plugin!r} ignored. "
        f"Names must be unique; block one plugin with TRACKWELL_DISABLE_PLUGINS={plugin}."
    )


def collect(pm: pluggy.PluginManager, registry: Registry) -> dict[str, Any]:
    """Call ``registry``'s hook for every plugin; return ``{name: value}`` in registration order.

    Records who registered what (``provenance()``). See the module docstring for the
    rules every ``register`` callable follows.
    """
    found: dict[str, Registration] = {}
    for impl in _implementations(pm, registry.hook):
        plugin = impl.plugin_name

        def register(*args: Any, _plugin: str = plugin, **kwargs: Any) -> None:
            name, value = registry.accept(_plugin, *args, **kwargs)
            if name in found:
                _duplicate(registry.what, name, _plugin, found[name].plugin)
                return
            found[name] = Registration(registry.hook, registry.what, name, _plugin, value)

        _call(impl, {"register": register})
    with _lock:
        _provenance[registry.hook] = found
    return {name: reg.value for name, reg in found.items()}


def collect_commands(pm: pluggy.PluginManager, cli: click.Group) -> None:
    """Call ``register_commands`` for every plugin with ``cli``, recording who added what.

    A plugin adds commands with click's own API, so its registrations are read off the
    group: every command path (``import mlflow``) new after its call is its own. One
    that replaced a command another plugin had added is a duplicate: the earlier one is
    put back, and a warning names both plugins.
    """
    hook = "register_commands"
    found: dict[str, Registration] = {}
    for impl in _implementations(pm, hook):
        plugin = impl.plugin_name
        before = _command_paths(cli)
        _call(impl, {"cli": cli})
        after = _command_paths(cli)
        clash = next((p for p, entry in after.items() if p in before and before[p][0] is not entry[0]), None)
        if clash is not None:  # put the first one back; nothing under the replacement is kept
            _restore(clash, before[clash])
            after = _command_paths(cli)
            _duplicate("command", clash, plugin, found[clash].plugin if clash in found else "trackwell")
        for path, (command, _group) in after.items():
            if path not in before:
                found[path] = Registration(hook, "command", path, plugin, command)
    with _lock:
        _provenance[hook] = found


def _command_paths(group: click.Group, prefix: str = "") -> dict[str, tuple[Any, Any]]:
    """``{"import mlflow": (command, the group holding it)}`` for every command under ``group``."""
    import click

    out: dict[str, tuple[Any, Any]] = {}
    for name, command in list(group.commands.items()):
        path = f"{prefix}{name}"
        out[path] = (command, group)
        if isinstance(command, click.Group):
            out.update(_command_paths(command, f"{path} "))
    return out


def _restore(path: str, entry: tuple[Any, Any]) -> None:
    command, group = entry
    group.commands[path.rsplit(" ", 1)[-1]] = command


def provenance(hooks: Iterable[str] | None = None) -> list[Registration]:
    """Every registration from the latest collection of each hook (or of ``hooks``)."""
    with _lock:
        wanted = list(_provenance) if hooks is None else [h for h in hooks if h in _provenance]
        return [reg for hook in sorted(wanted) for reg in _provenance[hook].values()]


def reset_provenance() -> None:
    """Forget every recorded registration (the plugin manager was rebuilt)."""
    with _lock:
        _provenance.clear()


# ---------------------------------------------------------------------------
# The registries: what each ``register`` accepts
# ---------------------------------------------------------------------------


def _accept_source(plugin: str, source: Any) -> tuple[str, Any]:
    name = getattr(source, "name", None)
    missing = [m for m in ("setup", "sample", "close") if not callable(getattr(source, m, None))]
    if not isinstance(name, str) or not name:
        missing.insert(0, "name")
    if missing or not isinstance(name, str):
        raise TypeError(
            f"plugin {plugin!r} registered an invalid system metrics source {source!r}: "
            f"missing {', '.join(missing)}"
        )
    return name, source


def _accept_sink(plugin: str, name: Any, deliver: Any) -> tuple[str, Any]:
    if not isinstance(name, str) or not name:
        raise TypeError(f"plugin {plugin!r}: an alert sink's name is a non-empty string, got {name!r}")
    if not callable(deliver):
        raise TypeError(f"plugin {plugin!r}: alert sink {name!r} must be callable")
    return name, deliver


def _accept_integration(plugin: str, name: Any, module: Any) -> tuple[str, Any]:
    if not (isinstance(name, str) and name.isidentifier() and isinstance(module, str) and module):
        raise TypeError(
            f"plugin {plugin!r}: register_integrations: register() takes two names: {name!r}, {module!r}"
        )
    return name, module


def _accept_sweep_method(plugin: str, name: Any, method: Any) -> tuple[str, Any]:
    if not isinstance(name, str) or not name:
        raise TypeError(f"plugin {plugin!r}: a sweep method name is a non-empty string, got {name!r}")
    if not callable(getattr(method, "suggest", None)):
        raise TypeError(f"plugin {plugin!r}: sweep method {name!r} has no suggest(config, trials, rng)")
    return name, method


SYSTEM_METRICS = Registry("register_system_metrics", "system metrics source", _accept_source)
ALERT_SINKS = Registry("register_alert_sinks", "alert sink", _accept_sink)
INTEGRATIONS = Registry("register_integrations", "integration", _accept_integration)
SWEEP_METHODS = Registry("register_sweep_methods", "sweep method", _accept_sweep_method)

#: The ``register_*`` hooks whose registrations need nothing but duck typing to check.
#: ``register_media_types`` is defined beside the ``Media`` class it checks for
#: (``trackwell.media.base``), ``register_commands`` is :func:`collect_commands`.
REGISTRIES: tuple[Registry, ...] = (SYSTEM_METRICS, ALERT_SINKS, INTEGRATIONS, SWEEP_METHODS)
