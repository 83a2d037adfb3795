"""The SDK plugin (entry point group ``trackwell``): adds ``trackwell server`` to the core CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trackwell.plugins import hookimpl

if TYPE_CHECKING:  # init() loads this module: it must not pay for click
    import click


@hookimpl
def register_commands(cli: click.Group) -> None:
    from trackwell_server.cli import server_command

    cli.add_command(server_command)
