"""The ``trackwell`` command line: one module per command group, plugins add more.

Each built-in module in ``COMMAND_MODULES`` has ``register(cli)``; plugins get the same
chance through the ``register_commands`` hook, called once after the built-ins.
"""

from __future__ import annotations

import importlib
import os
import sys

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
    "trackwell.cli.demo",
    "trackwell.cli.ui",
    "trackwell.cli.server_hint",  # replaced by trackwell-server's real command when installed
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    """Console-script entry point.

    Click's own handling of Ctrl-C prints "Aborted!" and exits 1; here Ctrl-C says
    so in one line and exits 130, as a shell expects of an interrupted command.
    """
    _register_all()
    try:
        code = cli.main(standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("\ntrackwell: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except BrokenPipeError:  # `trackwell runs | head`: the reader left, as click's own main allows
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        sys.exit(1)
    # standalone_mode=False returns ctx.exit()'s code, or a command's return value (None)
    sys.exit(code if isinstance(code, int) else 0)
