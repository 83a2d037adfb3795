"""``trackwell plugins``: what plugins are loaded, and what hooks they can implement."""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from typing import Any

import click
import pluggy


def register(cli: click.Group) -> None:
    cli.add_command(plugins_command)


@click.group("plugins", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--hooks", "show_hooks", is_flag=True, help="List every hook, with its summary.")
@click.option(
    "--registered",
    "show_registered",
    is_flag=True,
    help="List what each plugin registered through the register_* hooks, and which plugin did.",
)
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool, show_hooks: bool, show_registered: bool) -> None:
    """List plugins: their package, version and the hooks they implement.

    Plugins that are disabled, or that failed to load (with the reason), are listed too.
    """
    if ctx.invoked_subcommand is not None:
        return
    from trackwell.plugins import get_plugin_manager, plugin_info

    pm = get_plugin_manager()
    if show_registered:
        found = registered_info(pm)
        if as_json:
            click.echo(json.dumps(found, indent=2))
        else:
            reg_rows = [(r["hook"], r["name"], r["plugin"]) for r in found]
            click.echo(_table(("HOOK", "NAME", "REGISTERED BY"), reg_rows))
        return
    if show_hooks:
        hooks = hook_info(pm)
        if as_json:
            click.echo(json.dumps(hooks, indent=2))
        else:
            hook_rows = [(h["name"], h["summary"], ", ".join(h["plugins"]) or "-") for h in hooks]
            click.echo(_table(("HOOK", "SUMMARY", "IMPLEMENTED BY"), hook_rows))
        return
    info = plugin_info(pm)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    rows = [(p["name"], p["package"], p["version"] or "-", _hooks_cell(p)) for p in info]
    click.echo(_table(("NAME", "PACKAGE", "VERSION", "HOOKS"), rows))


@plugins_command.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder to create the project in.",
)
def new_command(name: str, parent: str) -> None:
    """Create a new plugin project, trackwell-NAME/, from the template.

    It is ready to install and test: a pyproject.toml with the entry point, a module
    implementing one hook, a test using trackwell's pytest fixtures, and a README.
    """
    from trackwell.errors import UsageError
    from trackwell.plugins.scaffold import create_plugin

    try:
        dest, names = create_plugin(name, parent)
    except UsageError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {dest}/ (distribution {names.dist}, module {names.module}, plugin {names.plugin})")
    click.echo(f"next: cd {dest} && pip install -e '.[test]' && pytest")


def _hooks_cell(plugin: dict[str, Any]) -> str:
    if plugin.get("error") == "disabled":
        return "(disabled)"
    if plugin.get("error"):
        return f"(not loaded: {plugin['error']})"
    return ", ".join(plugin["hooks"]) or "-"


def registered_info(pm: pluggy.PluginManager) -> list[dict[str, str]]:
    """What every plugin registered, by hook: each ``register_*`` hook is collected now
    (the commands were, when this command line was built; media types are collected
    once per process), so the list is complete."""
    from trackwell.media.base import load_plugins
    from trackwell.plugins.registrar import REGISTRIES, collect, provenance

    for registry in REGISTRIES:
        collect(pm, registry)
    load_plugins()
    return [{"hook": r.hook, "what": r.what, "name": r.name, "plugin": r.plugin} for r in provenance()]


def hook_info(pm: pluggy.PluginManager) -> list[dict[str, Any]]:
    """Every hook the manager knows (including plugins' own hookspecs), sorted by name."""
    out = []
    for name in sorted(n for n in dir(pm.hook) if not n.startswith("_")):
        caller = getattr(pm.hook, name)
        if not isinstance(caller, pluggy.HookCaller) or caller.spec is None:
            continue
        doc = inspect.getdoc(caller.spec.function) or ""
        out.append(
            {
                "name": name,
                "args": list(caller.spec.argnames),
                "summary": doc.strip().splitlines()[0] if doc.strip() else "",
                # pluggy calls the last registered first; list them in call order.
                "plugins": [impl.plugin_name for impl in reversed(caller.get_hookimpls())],
            }
        )
    return out


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in col) for col in zip(header, *rows, strict=False)]
    lines = [header, *rows]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=False)).rstrip()
        for line in lines
    )
