"""Every hook a trackwell plugin can implement.

Implement a hook with ``@trackwell.hookimpl`` on a function or method of the same
name, then expose the module through the ``trackwell`` entry-point group::

    [project.entry-points.trackwell]
    my_plugin = "my_package.plugin"

Hooks named ``on_*`` are notifications: their return value is ignored. Hooks named
``register_*`` receive a ``register`` callable (``register_commands``: the command
group); call it once per thing the plugin contributes. One registrar
(``trackwell.plugins.registrar``) collects them all the same way: it validates each
registration, remembers which plugin gave it (``trackwell plugins --registered``), and
keeps the first of two things registered under one name, warning with both plugins'
names. Built-in plugins are called last, so a third party's registration wins.

This module is the reference: ``docs/plugins.md`` renders these docstrings
(``python -m trackwell.plugins.reference docs/plugins.md``) and a test keeps the two
equal, so document a new hook here, with ``:param:`` for every argument and
``:returns:``.

Threads: run hooks are called on the run's writer thread, never on the training
loop's thread, so a slow plugin delays the run log, not training. Keep them quick
anyway; long work belongs on a thread of the plugin's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from trackwell.alerts import Alert
    from trackwell.run import Run
    from trackwell.sweeps.engine import SearchMethod
    from trackwell.sysmetrics import MetricsSource

hookspec = pluggy.HookspecMarker("trackwell")


# ---------------------------------------------------------------------------
# Run lifecycle
# ---------------------------------------------------------------------------


@hookspec
def on_run_start(run: Run) -> None:
    """Called once after a run starts, on its writer thread, before any row is written.

    ``init()`` has returned by then (so the training loop never waits for plugins);
    rows logged meanwhile are queued and written after this hook returns.

    :param run: the run that started; its ``id``, ``name``, ``dir``, ``config`` and
        ``settings`` are set. The run is usable: a plugin may call ``run.log()``.
    :returns: ignored.
    """


@hookspec
def on_run_finish(run: Run, exit_code: int, state: str) -> None:
    """Called once when a run ends, on its writer thread, before the log is closed.

    Rows a plugin logs here are still recorded. Called for every ending: a clean
    ``finish()``, the interpreter exiting, or an unhandled exception.

    :param run: the run that is ending.
    :param exit_code: the exit code passed to ``finish()`` (1 for an exception).
    :param state: the final state: ``finished``, ``failed`` or ``killed``.
    :returns: ignored.
    """


@hookspec
def report_run_start(run: Run) -> None:
    """Called on the caller's thread as ``init()`` returns a run that logs (not a
    disabled one), once its threads have started: say that the run started.

    The built-in ``terminal`` plugin prints the banner (where the run's data is, its
    page); block it with ``TRACKWELL_DISABLE_PLUGINS=terminal`` to print your own.

    :param run: the run that started.
    :returns: ignored.
    """


@hookspec
def report_run_finish(
    run: Run, summary: Mapping[str, Any], history: Mapping[str, Sequence[float]], alerts: int
) -> None:
    """Called on the caller's thread at the end of ``run.finish()``, once the run log is
    closed (and an online run uploaded, as far as its wait allowed): say how it ended.

    The built-in ``terminal`` plugin prints a sparkline per metric and the summary.

    :param run: the finished run; ``run.state`` is its final state.
    :param summary: the run's final summary. Do not mutate it.
    :param history: the first numeric metrics logged (up to 30), each thinned to at
        most 80 points spread over the whole run, oldest first.
    :param alerts: how many alerts the run raised.
    :returns: ignored.
    """


@hookspec(firstresult=True)
def handles_setting(name: str) -> bool | None:
    """Say whether this plugin implements a run setting that the core only carries
    (``sync_tensorboard``): ``init()`` warns when such a setting is on and no plugin
    answers True.

    :param name: the setting's name.
    :returns: True when this plugin implements it, None otherwise. Stops at the first
        non-None result.
    """


# ---------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------


@hookspec
def on_log(run: Run, rows: Sequence[dict[str, Any]]) -> None:
    """Called on the writer thread with history rows just written to the run log.

    Rows come in batches (everything written since the last flush), each with its
    ``_step``, ``_timestamp`` and ``_runtime``. When no installed plugin implements
    this hook, the writer never builds the batch: logging costs nothing extra.

    :param run: the run the rows belong to.
    :param rows: the committed rows, oldest first. Do not mutate them.
    :returns: ignored.
    """


# ---------------------------------------------------------------------------
# System metrics
# ---------------------------------------------------------------------------


@hookspec
def register_system_metrics(register: Callable[[MetricsSource], None]) -> None:
    """Contribute sources of system metrics (CPU, memory, GPUs, ...).

    Call ``register(source)`` for each source. A source has a ``name``, and
    ``setup() -> bool`` (False: not available here, skip it quietly), ``sample() ->
    dict[str, float]`` (keys without the ``system/`` prefix, which the core adds) and
    ``close()``. All three run on the run's system-metrics thread, so a source may
    import heavy libraries in ``setup()``. Called once per run, when it starts::

        class Thermometer:
            name = "thermometer"
            def setup(self): return True
            def sample(self): return {"room.temp": read_sensor()}
            def close(self): pass

        @trackwell.hookimpl
        def register_system_metrics(register):
            register(Thermometer())

    :param register: call with each source this plugin provides; it raises
        ``TypeError`` for a source missing a method. A name another plugin registered
        first is ignored, with a warning naming both plugins.
    :returns: ignored.
    """


# ---------------------------------------------------------------------------
# Alerts
# ---------------------------------------------------------------------------


@hookspec
def register_alert_sinks(register: Callable[[str, Callable[[Run, Alert], None]], None]) -> None:
    """Contribute places that ``run.alert()`` delivers to (console, server, webhook, ...).

    Called once per run, when it starts. Call ``register(name, deliver)`` for each
    sink; ``deliver(run, alert)`` is called on the writer thread for every
    ``run.alert()`` not suppressed by its ``wait_duration`` (the core drops an alert
    whose title was sent less than ``wait_duration`` seconds before). ``alert`` has
    ``title``, ``text``, ``level`` (``AlertLevel.INFO``, ``WARN`` or ``ERROR``, a
    ``str`` subclass), ``wait_duration`` (seconds) and ``timestamp`` (Unix time).
    An exception in ``deliver`` is reported and does not stop other sinks. A sink
    that talks to a network should hand the alert to a thread of its own, so a
    slow endpoint never delays the run log.

    :param register: call with a unique sink name and its delivery function; it raises
        ``TypeError`` for a delivery function that is not callable. A name another
        plugin registered first is ignored, with a warning naming both plugins.
    :returns: ignored.
    """


# ---------------------------------------------------------------------------
# Framework integrations
# ---------------------------------------------------------------------------


@hookspec
def register_integrations(register: Callable[[str, str], None]) -> None:
    """Contribute framework integrations, reachable as ``trackwell.integration.<name>``.

    Call ``register(name, module)`` for each: ``name`` is the name W&B code imports
    (``keras`` for ``wandb.integration.keras``), ``module`` the import name of the
    package that implements it. ``trackwell.integration.<name>`` then is that module
    itself. Called the first time a ``trackwell.integration`` name is imported; a name
    nobody registered falls back to a package named ``trackwell_<name>``. The module
    holding this hook should import no framework (it is loaded at every ``init()``);
    set-up that must happen when the framework is imported belongs in the integration
    package itself.

    :param register: call with a name (an identifier) and a module name; it raises
        ``TypeError`` for anything else. The first plugin to register a name keeps it;
        a second registration is ignored, with a warning naming both plugins.
    """


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands or command groups to the ``trackwell`` command line.

    Called once when the CLI starts, after the built-in commands exist (the built-in
    ``commands`` plugin adds them first). The registrar reads what each plugin added
    off the group, so ``trackwell plugins --registered`` names the plugin behind
    every command.

    :param cli: the top-level ``click.Group``; use ``@cli.command()`` or
        ``cli.add_command(...)``. To add to a group another plugin may also extend
        (such as ``import``), look it up in ``cli.commands`` first. A command that
        replaces one another plugin added is undone, with a warning naming both.
    :returns: ignored.
    """


# ---------------------------------------------------------------------------
# Sweeps
# ---------------------------------------------------------------------------


@hookspec
def register_sweep_methods(register: Callable[[str, SearchMethod], None]) -> None:
    """Contribute hyperparameter search methods, chosen by a sweep's ``method:`` key.

    Call ``register(name, method)`` for each. ``method.suggest(config, trials, rng)``
    returns the next parameters as a flat dict (``{"lr": 0.01, "optimizer.beta":
    0.9}``, dotted names for nested parameters) or None when the search space is
    exhausted (the sweep then finishes). ``config`` is the validated
    ``trackwell.sweeps.config.SweepConfig`` (``params``, ``metric_name``, ``goal``,
    ``sign``: +1 to minimize, -1 to maximize); ``trials`` the
    ``trackwell.sweeps.engine.Trial`` objects so far (``params``, ``state``, final
    ``metric``, metric ``history``); ``rng`` a ``random.Random`` seeded by the sweep
    and the trial count. Keep ``suggest`` stateless: the server's controller and the
    local one rebuild the trials for every call. Grid, random and bayes are
    registered by the built-in ``sweep_methods`` plugin::

        class Sobol:
            def suggest(self, config, trials, rng):
                return {p.name: p.sample(rng) for p in config.params}

        @trackwell.hookimpl
        def register_sweep_methods(register):
            register("sobol", Sobol())

    :param register: call with a unique method name and the method; it raises
        ``TypeError`` for an object without ``suggest``. A name another plugin
        registered first is ignored, with a warning naming both plugins.
    :returns: ignored.
    """


# ---------------------------------------------------------------------------
# Media
# ---------------------------------------------------------------------------


@hookspec
def register_media_types(register: Callable[..., None]) -> None:
    """Contribute media types for ``log()`` and converters for foreign objects.

    Called once per process, the first time a value that is not plain data reaches
    ``log()`` or a media record is read back. ``register(cls)`` adds a subclass of
    ``trackwell.media.base.Media`` (its ``_type`` names its records; ``to_record(ctx)``
    runs on the writer thread and writes files with ``ctx.write_bytes``;
    ``from_record`` rebuilds it). ``register((module, class_name), convert)`` makes
    ``log()`` turn objects whose type is ``class_name`` from ``module`` (or a
    submodule; ``""`` for any class there) into Media with ``convert(obj)``, on the
    caller's thread, without trackwell importing that module.
    ``register(type_name, "module:Class")`` adds a type by import path, imported the
    first time a record of that type is read back (how the built-in ``media_types``
    plugin registers Image, Audio, Table, ... without importing them)::

        class RdkitMolecule(Media):
            _type = "rdkit-molecule"
            ...

        @trackwell.hookimpl
        def register_media_types(register):
            register(RdkitMolecule)
            register(("rdkit.Chem", "Mol"), RdkitMolecule)

    :param register: call once per type or converter; it raises ``TypeError`` for a
        class that is not a ``Media`` subclass with a ``_type``. A type name (or a
        converter's module and class) another plugin registered first is ignored,
        with a warning naming both plugins.
    :returns: ignored.
    """
