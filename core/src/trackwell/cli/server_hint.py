"""``trackwell server``, ``ui`` and ``demo`` before trackwell-server is installed: say how to get them.

The real commands come from the trackwell-server package (``server-lite/`` in the
repository; it is not on PyPI) through the ``register_commands`` hook. These hints
are added after every plugin (``trackwell.default_plugins.commands``), and only for
the names no plugin took.
"""

from __future__ import annotations

import click

#: How to install the server: from a clone of the repository.
INSTALL = "pip install -e server-lite  (in a clone of the trackwell repository)"

_COMMANDS = {
    "server": "Start a trackwell server",
    "ui": "Show local runs in the dashboard",
    "demo": "Log a synthetic run and show it in the dashboard",
}


def register(cli: click.Group) -> None:
    for name, what in _COMMANDS.items():
        if name not in cli.commands:
            cli.add_command(_hint(name, what))


def _hint(name: str, what: str) -> click.Command:
    def hint() -> None:
        raise click.ClickException(
            f"`trackwell {name}` comes with the trackwell server package, which is not installed; "
            f"install it with: {INSTALL}"
        )

    return click.Command(
        name,
        callback=hint,
        help=f"{what} (needs trackwell-server: {INSTALL}).",
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
