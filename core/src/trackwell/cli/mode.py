"""``trackwell offline|online|disabled|enabled``: set the mode for runs started here."""

from __future__ import annotations

from pathlib import Path

import click

from trackwell.settings import Settings, read_settings_file, workspace_settings_path, write_settings_file


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
        """Log runs started in this directory offline (the default without a server).

        Writes mode=offline to ./trackwell/settings. TRACKWELL_MODE or an init()
        argument still overrides it.
        """
        path = _set_mode("offline", root)
        click.echo(f"Runs started here are logged offline (saved in {path}).")

    @cli.command()
    @dir_option
    def online(root: str | None) -> None:
        """Stream runs started in this directory to a trackwell server.

        The server is the one `trackwell login` saved (or TRACKWELL_BASE_URL); without
        one, online runs are logged offline with a warning.
        """
        path = _set_mode("online", root)
        click.echo(f"Runs started here stream to a server (saved in {path}).")
        if not Settings.resolve().base_url:
            click.echo("Note: no server is configured yet; run `trackwell login --host URL`.")

    @cli.command()
    @dir_option
    def disabled(root: str | None) -> None:
        """Turn trackwell off here: every call becomes a cheap no-op."""
        path = _set_mode("disabled", root)
        click.echo(f"trackwell is disabled for runs started here (saved in {path}).")

    @cli.command()
    @dir_option
    def enabled(root: str | None) -> None:
        """Undo `trackwell disabled`: back to online with a server configured, else offline."""
        path = workspace_settings_path(root)
        current = read_settings_file(path).get("mode")
        mode = "online" if Settings.resolve().base_url else "offline"
        _set_mode(mode, root)
        click.echo(f"trackwell is enabled here (mode was {current or 'unset'}, now {mode}).")
