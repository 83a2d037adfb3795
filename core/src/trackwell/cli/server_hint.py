"""``trackwell server`` before trackwell-server is installed: say how to get it.

The real command comes from the trackwell-server package through the
``register_commands`` hook, which runs after the built-ins and so replaces this one.
"""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    @cli.command(
        "server",
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    def server() -> None:
        """Start a trackwell server (needs: pip install trackwell-server)."""
        raise click.ClickException(
            "the trackwell server is a separate package; install it with: pip install trackwell-server"
        )
