"""The built-in command groups of the ``trackwell`` command line, registered as a plugin.

The built-in groups go first (``tryfirst``), so every other plugin sees them and may
extend one; the hints for the commands that come with the server package (``trackwell
server``, ``ui``, ``demo``) go last (``trylast``) and only where no plugin added the
real command. ``init()`` imports this module with the other default plugins, so click
and the command modules load only when the hook is called, as the command line starts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from trackwell.plugins import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl(tryfirst=True)
def register_commands(cli: click.Group) -> None:
    from trackwell.cli import COMMAND_MODULES

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(cli)


@hookimpl(trylast=True, specname="register_commands")
def register_command_hints(cli: click.Group) -> None:
    from trackwell.cli import server_hint

    server_hint.register(cli)
