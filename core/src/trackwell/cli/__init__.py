"""The ``trackwell`` command line: one module per command group, plugins add more.

Every command comes through the ``register_commands`` hook, collected once by the
registrar (which records which plugin added what, and keeps the first of two commands
of one name). The built-in groups are the modules in ``COMMAND_MODULES``, each with
``register(cli)``, added by the default plugin ``trackwell.default_plugins.commands``
before any other plugin's.
"""

from __future__ import annotations

import click

from trackwell._version import __version__

COMMAND_MODULES: tuple[str, ...] = (
    "trackwell.cli.plugins",
    "trackwell.cli.runs",
    "trackwell.cli.mode",
    "trackwell.cli.login",
    "trackwell.cli.sync",
    "trackwell.cli.sweeps",
    "trackwell.cli.admin",
)


class _Group(click.Group):
    """Click's own handling of Ctrl-C prints "Aborted!" and exits 1; here Ctrl-C says so
    in one line and exits 130, as a shell expects of an interrupted command."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (KeyboardInterrupt, click.exceptions.Abort) as exc:
            if isinstance(exc, click.exceptions.Abort) and not isinstance(exc.__context__, KeyboardInterrupt):
                raise  # end of input at a prompt: click's message
            click.echo("\ntrackwell: interrupted", err=True)
            raise click.exceptions.Exit(130) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="trackwell")
def cli() -> None:
    """trackwell: track machine-learning experiments, offline first.

    Runs are written to ./trackwell/ by `trackwell.init()`; these commands list,
    inspect and manage them.
    """


_registered = False


def _register_all() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    from trackwell.plugins import get_plugin_manager
    from trackwell.plugins.registrar import collect_commands

    collect_commands(get_plugin_manager(), cli)


def main() -> None:
    """Console-script entry point."""
    _register_all()
    cli()
