"""The SDK plugin (entry point group ``trackwell``): adds ``trackwell server`` to the core CLI."""

from __future__ import annotations

import click

from trackwell.plugins import hookimpl


@hookimpl
def register_commands(cli: click.Group) -> None:
    from trackwell_server.cli import server_command

    cli.add_command(server_command)
