"""The SDK plugin (entry point group ``trackwell``): adds ``trackwell server``, ``ui`` and ``demo``.

``ui`` and ``demo`` run a server in the CLI's process, so they live here rather than
in the core, which never imports ``trackwell_server``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trackwell.plugins import hookimpl

if TYPE_CHECKING:  # init() loads this module: it must not pay for click
    import click


@hookimpl
def register_commands(cli: click.Group) -> None:
    from trackwell_server.cli import server_command
    from trackwell_server.commands.demo import demo_command
    from trackwell_server.commands.ui import ui_command

    cli.add_command(server_command)
    cli.add_command(ui_command)
    cli.add_command(demo_command)
