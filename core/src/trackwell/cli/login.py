"""``trackwell login``: check an API key against a server and save both for later runs."""

from __future__ import annotations

import click

from trackwell.credentials import forget_all
from trackwell.errors import AuthenticationError, CommError
from trackwell.settings import Settings, read_settings_parser, user_config_dir, write_settings_parser


def register(cli: click.Group) -> None:
    @cli.command()
    @click.argument("key", required=False)
    @click.option("--host", default=None, help="The server's URL (default: the saved one).")
    def login(key: str | None, host: str | None) -> None:
        """Log in to a trackwell server: verify KEY and save it with the server's URL.

        Prompts for the key when it is not given. The URL, the key and your entity
        go into the user settings file (readable by you only), so runs started
        anywhere stream to this server: mode defaults to online once a server is set.
        The key is bound to this server: it is never sent to another one, and the
        key of a server you logged in to before stays bound to that server.
        """
        from trackwell.account import check_key, env_overrides, needs_key, save_login

        base_url = host or Settings.resolve().base_url
        if not base_url:
            raise click.ClickException("which server? Pass --host URL, e.g. --host http://127.0.0.1:8080")
        try:
            if key is None and needs_key(base_url):
                key = click.prompt(f"API key for {base_url}", hide_input=True).strip()
            viewer = check_key(base_url, key)
        except AuthenticationError:
            raise click.ClickException(f"{base_url} rejected this API key; check it and try again") from None
        except CommError as exc:
            raise click.ClickException(exc.message) from None
        path = save_login(viewer.base_url, key or "", viewer.entity)
        click.echo(f"Logged in to {viewer.base_url} as {viewer.user} (entity {viewer.entity}).")
        click.echo(f"Saved in {path}.")
        for var in env_overrides():
            click.echo(f"Note: {var} is set in this environment and wins over the saved value.")

    @cli.command()
    def logout() -> None:
        """Forget the saved servers and API keys: runs stay local until the next login.

        Only the user settings file is changed; TRACKWELL_BASE_URL / TRACKWELL_API_KEY
        (or the WANDB_ ones) in the environment still apply.
        """
        from trackwell.account import env_overrides

        path = user_config_dir() / "settings"
        parser = read_settings_parser(path)
        saved = dict(parser["default"]) if parser.has_section("default") else {}
        count = forget_all(parser)
        if not count and not saved.get("base_url"):
            click.echo(f"Not logged in: nothing saved in {path}.")
            return
        write_settings_parser(path, parser, private=True)
        keys = "API key" if count == 1 else f"{count} API keys"
        click.echo(f"Logged out: removed the server and {keys} from {path}.")
        for var in env_overrides():
            click.echo(f"Note: {var} is still set in this environment.")
