"""The plugin manager: defaults, entry points, env knobs, validation, docs, the CLI."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable

import click
import pluggy
import pytest
from click.testing import CliRunner

from trackwell.cli.plugins import register as register_plugins_command
from trackwell.errors import PluginWarning
from trackwell.plugins import (
    DEFAULT_PLUGINS,
    create_plugin_manager,
    get_plugin_manager,
    hookspecs,
    plugin_info,
    reset_plugin_manager,
)

MakeDist = Callable[..., None]  # make_dist(name, source, version="0.1")

BUILT_IN = {m.rsplit(".", 1)[-1] for m in DEFAULT_PLUGINS}

GOOD_PLUGIN = """
from trackwell.plugins import hookimpl

@hookimpl
def register_system_metrics(register):
    pass

@hookimpl
def on_run_start(run):
    pass
"""

MISSPELLED_PLUGIN = """
from trackwell.plugins import hookimpl

@hookimpl
def on_run_stat(run):
    pass
"""


pytestmark = pytest.mark.usefixtures("plugin_env")  # fixtures: tests/core/conftest.py


def names(pm: pluggy.PluginManager) -> set[str]:
    return {name for name, plugin in pm.list_name_plugin() if plugin is not None}


def test_default_plugins_are_registered() -> None:
    pm = create_plugin_manager(load_entry_points=False)
    assert names(pm) == BUILT_IN
    assert {
        "system_psutil",
        "system_nvml",
        "console_alerts",
        "terminal",
        "sweep_methods",
        "commands",
        "media_types",
    } == BUILT_IN


def test_plugin_manager_is_created_once_and_reset() -> None:
    pm = get_plugin_manager()
    assert get_plugin_manager() is pm
    reset_plugin_manager()
    assert get_plugin_manager() is not pm


def test_disable_plugins_blocks_a_default_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKWELL_DISABLE_PLUGINS", "system_nvml")
    pm = create_plugin_manager()
    assert "system_nvml" not in names(pm)
    assert {"system_psutil", "console_alerts"} <= names(pm)
    assert pm.is_blocked("system_nvml")


def test_third_party_plugin_is_found_through_the_entry_point_group(make_dist: MakeDist) -> None:
    make_dist("myplugin", GOOD_PLUGIN)
    pm = create_plugin_manager()
    assert "myplugin" in names(pm) and names(pm) >= BUILT_IN
    info = {p["name"]: p for p in plugin_info(pm)}["myplugin"]
    assert info == {
        "name": "myplugin",
        "version": "0.1",
        "package": "myplugin",
        "hooks": ["on_run_start", "register_system_metrics"],
    }


def test_disable_plugins_blocks_an_installed_one(
    make_dist: MakeDist, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_dist("myplugin", GOOD_PLUGIN)
    monkeypatch.setenv("TRACKWELL_DISABLE_PLUGINS", "myplugin, console_alerts")
    pm = create_plugin_manager()
    assert names(pm).isdisjoint({"myplugin", "console_alerts"})


def test_load_plugins_is_an_allowlist(make_dist: MakeDist, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dist("myplugin", GOOD_PLUGIN)
    make_dist("otherplugin", GOOD_PLUGIN)
    monkeypatch.setenv("TRACKWELL_LOAD_PLUGINS", "myplugin")
    pm = create_plugin_manager()
    assert "myplugin" in names(pm) and "otherplugin" not in names(pm)
    assert names(pm) >= BUILT_IN  # the allowlist is for installed plugins only


def test_misspelled_hook_fails_loudly(make_dist: MakeDist) -> None:
    """Loudly, not fatally: the plugin is skipped with a warning that names the typo."""
    make_dist("typoplugin", MISSPELLED_PLUGIN)
    with pytest.warns(PluginWarning, match=r"'typoplugin'.*'on_run_stat' \(did you mean 'on_run_start'\?\)"):
        pm = create_plugin_manager()
    assert "typoplugin" not in names(pm) and names(pm) >= BUILT_IN


def test_registering_a_misspelled_hook_directly_raises() -> None:
    class Plugin:
        @pluggy.HookimplMarker("trackwell")
        def on_run_stat(self, run: object) -> None: ...

    pm = create_plugin_manager(load_entry_points=False)
    with pytest.raises(pluggy.PluginValidationError, match="on_run_stat"):
        pm.register(Plugin(), name="typo")
    assert not pm.has_plugin("typo")


def test_hook_with_a_wrong_argument_is_rejected() -> None:
    class Plugin:
        @pluggy.HookimplMarker("trackwell")
        def on_log(self, run: object, row: object) -> None: ...

    pm = create_plugin_manager(load_entry_points=False)
    with pytest.raises(pluggy.PluginValidationError, match="row"):
        pm.register(Plugin(), name="wrongarg")


def test_trace_plugins_prints_hook_calls(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRACKWELL_TRACE_PLUGINS", "1")
    pm = create_plugin_manager(load_entry_points=False)
    pm.hook.register_system_metrics(register=lambda source: None)
    err = capsys.readouterr().err
    assert "trackwell: hook register_system_metrics" in err
    assert "system_psutil" in err and "system_nvml" in err


def test_no_trace_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    pm = create_plugin_manager(load_entry_points=False)
    pm.hook.register_system_metrics(register=lambda source: None)
    assert capsys.readouterr().err == ""


# -- hook documentation -------------------------------------------------------------


def _hookspecs() -> list[Callable[..., object]]:
    pm = pluggy.PluginManager("trackwell")
    return [
        fn
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if pm.parse_hookspec_opts(hookspecs, name) is not None
    ]


def test_there_are_hookspecs() -> None:
    assert {fn.__name__ for fn in _hookspecs()} >= {
        "on_run_start",
        "on_run_finish",
        "on_log",
        "register_system_metrics",
        "register_alert_sinks",
        "register_commands",
    }


@pytest.mark.parametrize("spec", _hookspecs(), ids=lambda fn: fn.__name__)
def test_every_hookspec_is_documented(spec: Callable[..., object]) -> None:
    doc = inspect.getdoc(spec)
    assert doc, f"{spec.__name__} has no docstring"
    for param in inspect.signature(spec).parameters:
        assert f":param {param}:" in doc, f"{spec.__name__} does not document {param!r}"


# -- trackwell plugins -------------------------------------------------------------


def invoke(*args: str) -> str:
    group = click.Group("trackwell")
    register_plugins_command(group)
    result = CliRunner().invoke(group, ["plugins", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_lists_plugins_as_a_table(make_dist: MakeDist) -> None:
    make_dist("myplugin", GOOD_PLUGIN, "0.1")
    out = invoke()
    header, *lines = out.splitlines()
    assert header.split() == ["NAME", "PACKAGE", "VERSION", "HOOKS"]
    row = next(line for line in lines if line.startswith("myplugin "))
    assert row.split() == ["myplugin", "myplugin", "0.1", "on_run_start,", "register_system_metrics"]
    for name in BUILT_IN:
        assert any(line.startswith(f"{name} ") and "built in" in line for line in lines)


def test_cli_lists_plugins_as_json(make_dist: MakeDist) -> None:
    make_dist("myplugin", GOOD_PLUGIN, "0.1")
    data = {p["name"]: p for p in json.loads(invoke("--json"))}
    assert BUILT_IN | {"myplugin"} <= set(data)
    assert data["myplugin"]["version"] == "0.1"
    assert data["system_psutil"]["hooks"] == ["register_system_metrics"]


def test_cli_lists_hooks_with_their_summary() -> None:
    out = invoke("--hooks")
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["HOOK", "SUMMARY"]
    for spec in _hookspecs():
        summary = inspect.getdoc(spec).splitlines()[0]  # type: ignore[union-attr]
        line = next(ln for ln in lines if ln.startswith(spec.__name__ + " "))
        assert summary in line
    assert "system_nvml, system_psutil" in next(
        ln for ln in lines if ln.startswith("register_system_metrics ")
    )


def test_cli_lists_hooks_as_json() -> None:
    hooks = {h["name"]: h for h in json.loads(invoke("--hooks", "--json"))}
    assert hooks["on_log"]["args"] == ["run", "rows"]
    assert hooks["on_log"]["summary"].startswith("Called on the writer thread")
    # installed plugins (the first-party webhook one) may add sinks; the built-in one is last (trylast)
    assert hooks["register_alert_sinks"]["plugins"][-1] == "console_alerts"


# -- the registrar: one duplicate policy, provenance for every register_* hook ----


class _Method:
    def suggest(self, config: object, trials: object, rng: object) -> None:
        return None


def test_registrar_records_which_plugin_registered_what() -> None:
    from trackwell.plugins.registrar import SWEEP_METHODS, collect, provenance

    class Plugin:
        @pluggy.HookimplMarker("trackwell")
        def register_sweep_methods(self, register: Callable[..., None]) -> None:
            register("sobol", _Method())

    pm = create_plugin_manager(load_entry_points=False)
    pm.register(Plugin(), name="sobol_plugin")
    assert set(collect(pm, SWEEP_METHODS)) == {"grid", "random", "bayes", "sobol"}
    owners = {r.name: r.plugin for r in provenance(["register_sweep_methods"])}
    assert owners == {
        "grid": "sweep_methods",
        "random": "sweep_methods",
        "bayes": "sweep_methods",
        "sobol": "sobol_plugin",
    }


def test_two_instances_of_one_plugin_class_are_told_apart() -> None:
    """Provenance comes from the implementation called, not from the code on the stack."""
    from trackwell.plugins.registrar import INTEGRATIONS, collect, provenance

    class Plugin:
        def __init__(self, name: str) -> None:
            self.name = name

        @pluggy.HookimplMarker("trackwell")
        def register_integrations(self, register: Callable[..., None]) -> None:
            register(self.name, f"tw_{self.name}")

    pm = create_plugin_manager(load_entry_points=False)
    pm.register(Plugin("alpha"), name="p_alpha")
    pm.register(Plugin("beta"), name="p_beta")
    assert collect(pm, INTEGRATIONS) == {"beta": "tw_beta", "alpha": "tw_alpha"}
    assert {r.name: r.plugin for r in provenance(["register_integrations"])} == {
        "alpha": "p_alpha",
        "beta": "p_beta",
    }


@pytest.mark.parametrize(
    ("hook", "args"),
    [
        ("register_sweep_methods", ("grid", _Method())),
        ("register_alert_sinks", ("console", print)),
    ],
)
def test_a_duplicate_name_is_an_error_naming_both_plugins(hook: str, args: tuple[object, ...]) -> None:
    """The same policy for every register_* hook: the plugin called first keeps the name
    (a third party: built-ins are called last), a warning names both plugins, and the
    built-in's other registrations stand."""
    from trackwell.plugins.registrar import REGISTRIES, collect

    registry = next(r for r in REGISTRIES if r.hook == hook)

    class Copycat:
        pass

    def impl(register: Callable[..., None]) -> None:
        register(*args)

    impl.__name__ = hook
    setattr(Copycat, hook, staticmethod(pluggy.HookimplMarker("trackwell")(impl)))
    pm = create_plugin_manager(load_entry_points=False)
    pm.register(Copycat(), name="copycat")
    with pytest.warns(
        PluginWarning, match=rf"plugins 'copycat' and '\w+' both registered an? {registry.what} named"
    ):
        found = collect(pm, registry)
    assert found[str(args[0])] is args[1]
    if hook == "register_sweep_methods":
        assert {"random", "bayes"} <= set(found)


def test_a_command_registered_twice_keeps_the_first() -> None:
    from trackwell.plugins.registrar import collect_commands, provenance

    hello_a = click.Command("hello", callback=lambda: None)
    hello_b = click.Command("hello", callback=lambda: None)

    class A:
        @pluggy.HookimplMarker("trackwell")
        def register_commands(self, cli: click.Group) -> None:
            cli.add_command(hello_a)

    class B:
        @pluggy.HookimplMarker("trackwell")
        def register_commands(self, cli: click.Group) -> None:
            cli.add_command(hello_b)

    pm = create_plugin_manager(load_entry_points=False)
    pm.register(B(), name="b")
    pm.register(A(), name="a")  # called first (pluggy calls the last registered first)
    group = click.Group("trackwell")
    with pytest.warns(PluginWarning, match=r"plugins 'a' and 'b' both registered a command named 'hello'"):
        collect_commands(pm, group)
    assert group.commands["hello"] is hello_a
    assert {r.name: r.plugin for r in provenance(["register_commands"])}["hello"] == "a"


def test_cli_lists_what_plugins_registered() -> None:
    rows = json.loads(invoke("--registered", "--json"))
    found = {(r["hook"], r["name"]): r["plugin"] for r in rows}
    assert found[("register_system_metrics", "psutil")] == "system_psutil"
    assert found[("register_sweep_methods", "bayes")] == "sweep_methods"
    assert found[("register_alert_sinks", "console")] == "console_alerts"
    header = invoke("--registered").splitlines()[0]
    assert header.split() == ["HOOK", "NAME", "REGISTERED", "BY"]


def test_built_in_commands_come_first_and_the_server_hints_last() -> None:
    """The built-in groups are a default plugin like any other; the hints for the server's
    commands fill in only the names no plugin took (no duplicate warning)."""
    import warnings

    from trackwell.plugins.registrar import collect_commands, provenance

    real_server = click.Command("server", callback=lambda: None)

    class Server:
        @pluggy.HookimplMarker("trackwell")
        def register_commands(self, cli: click.Group) -> None:
            assert "runs" in cli.commands  # the built-ins exist already
            cli.add_command(real_server)

    pm = create_plugin_manager(load_entry_points=False)
    pm.register(Server(), name="fake_server")
    group = click.Group("trackwell")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        collect_commands(pm, group)
    assert group.commands["server"] is real_server
    owners = {r.name: r.plugin for r in provenance(["register_commands"])}
    assert owners["runs"] == owners["ui"] == owners["plugins new"] == "commands"
    assert owners["server"] == "fake_server"


def test_the_command_line_lists_who_registered_every_command_and_media_type() -> None:
    """In a real ``trackwell`` process: the built-in command groups and media types come
    from default plugins, through the same hooks as any plugin's."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "trackwell", "plugins", "--registered", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    found = {(r["hook"], r["name"]): r["plugin"] for r in json.loads(proc.stdout)}
    assert found[("register_commands", "runs")] == "commands"
    assert found[("register_commands", "plugins new")] == "commands"
    assert found[("register_media_types", "image-file")] == "media_types"
    assert found[("register_media_types", "table-file")] == "media_types"


def test_built_in_media_types_resolve_through_the_default_plugin() -> None:
    from trackwell.media.base import media_type, reset_plugins

    reset_plugins()
    try:
        assert media_type("image-file").__name__ == "Image"
        assert media_type("partitioned-table").__name__ == "PartitionedTable"
        with pytest.raises(KeyError, match=r"known types: .*image-file"):
            media_type("no-such-type")
    finally:
        reset_plugins()
