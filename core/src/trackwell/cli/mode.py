"""``trackwell offline|online|disabled|enabled``: set the mode for runs started here."""

from __future__ import annotations

from pathlib import Path

import click

from trackwell.settings import read_settings_file, workspace_settings_path, write_settings_file


def _set_mode(mode: str, root: str | None) -> Path:
    path = workspace_settings_path(root)
    write_settings_file(path, {"mode": mode})
    return path


def register(cli: click.Group) -> None:
    dir_option = click.option(
        "--dir", "root", type=click.Path(file_okay=False), default=None,
        help="Project directory whose ./trackwell/settings to change (default: here).",
    )  # fmt: skip

    @cli.command()
    @dir_option
    def offline(root: str | None) -> None:
        """Log runs started in this directory offline (the default).

        Writes mode=offline to ./trackwell/settings. TRACKWELL_MODE or an init()
        argument still overrides it.
        """
        path = _set_mode("offline", root)
        click.echo(f"Runs started here are logged offline (saved in {path}).")

    @cli.command()
    @dir_option
    def online(root: str | None) -> None:
        """Stream runs started in this directory to a trackwell server.

        Until a server is configured, online runs fall back to offline with a warning.
        """
        path = _set_mode("online", root)
        click.echo(f"Runs started here stream to a server (saved in {path}).")
        click.echo("Note: this version has no server yet; runs fall back to offline logging.")

    @cli.command()
    @dir_option
    def disabled(root: str | None) -> None:
        """Turn trackwell off here: every call becomes a cheap no-op."""
        path = _set_mode("disabled", root)
        click.echo(f"trackwell is disabled for runs started here (saved in {path}).")

    @cli.command()
    @dir_option
    def enabled(root: str | None) -> None:
        """Undo `trackwell disabled` (back to the default offline mode)."""
        path = workspace_settings_path(root)
        current = read_settings_file(path).get("mode")
        _set_mode("offline", root)
        click.echo(f"trackwell is enabled here (mode was {current or 'unset'}, now offline).")
