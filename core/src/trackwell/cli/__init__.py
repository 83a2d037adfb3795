"""The ``trackwell`` command line: one module per command group, plugins add more.

Each built-in module in ``COMMAND_MODULES`` has ``register(cli)``; plugins get the same
chance through the ``register_commands`` hook, called once after the built-ins.
"""

from __future__ import annotations

import importlib

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
    "trackwell.cli.server_hint",  # replaced by trackwell-server's real commands when installed
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
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(cli)
    from trackwell.plugins import get_plugin_manager

    get_plugin_manager().hook.register_commands(cli=cli)


def main() -> None:
    """Console-script entry point."""
    _register_all()
    cli()
