"""``trackwell admin``: users, teams and keys on the logged-in server, for its admins.

A team server needs accounts before anyone can log in; these commands are the REST
calls of docs/server-api.md ("Identity and access") with the saved login, so an
admin never writes curl lines with keys in them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from trackwell.errors import AuthenticationError, CommError, NotFoundError
from trackwell.settings import Settings

if TYPE_CHECKING:
    from trackwell._pipeline.transport import Transport


def _call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One request to the configured server, with errors as one clear line."""
    from trackwell._pipeline.transport import Transport

    s = Settings.resolve()
    if not s.base_url:
        raise click.ClickException("no server configured: run `trackwell login --host URL` first")
    transport: Transport | None = None
    try:
        transport = Transport(s.base_url, s.api_key, timeout=15.0)
        return transport.request(method, path, json_body=body).body
    except AuthenticationError:
        raise click.ClickException(
            f"{s.base_url} rejected the saved API key: run `trackwell login`"
        ) from None
    except NotFoundError as exc:
        raise click.ClickException(_said(exc)) from None
    except CommError as exc:
        if exc.status == 403:
            raise click.ClickException(f"not allowed: {_said(exc)}") from None
        raise click.ClickException(_said(exc)) from None
    finally:
        if transport is not None:
            transport.close()


def _said(exc: CommError) -> str:
    """The server's own sentence when it answered one, else the whole error."""
    error = (exc.body or {}).get("error")
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) and message else exc.message


def _say_invited(team: str, names: list[str]) -> None:
    if names:
        who = ", ".join(names)
        click.echo(f"Invited {who} to team {team}: they join with `trackwell admin join {team}`.")


def register(cli: click.Group) -> None:
    @cli.group()
    def admin() -> None:
        """Manage the users, teams and API keys of the server you are logged in to.

        Uses the saved login (`trackwell login`) or TRACKWELL_BASE_URL and
        TRACKWELL_API_KEY. Creating users needs an admin key: the one the server
        made at its first start is in its data directory (`admin-key`).
        """

    @admin.command("create-user")
    @click.argument("name")
    @click.option("--admin", "is_admin", is_flag=True, help="Give the user admin rights.")
    def create_user(name: str, is_admin: bool) -> None:
        """Create user NAME and print its first API key (shown only this once)."""
        answer = _call("POST", "/users", {"name": name, "admin": is_admin})
        click.echo(f"Created user {answer['name']}{' (admin)' if is_admin else ''}. Their API key:")
        click.echo(answer["api_key"])
        click.echo("Give it to them privately; they run `trackwell login --host URL` with it.")

    @admin.command("create-team")
    @click.argument("name")
    @click.option("--member", "members", multiple=True, metavar="USER", help="A member (repeatable).")
    def create_team(name: str, members: tuple[str, ...]) -> None:
        """Create team NAME (you become a member); its projects are shared by its members.

        An admin adds the other members at once; anyone else invites them.
        """
        answer = _call("POST", "/teams", {"name": name, "members": list(members)})
        click.echo(f"Created team {answer['name']}: members {', '.join(answer['members'])}.")
        _say_invited(name, answer.get("invited") or [])

    @admin.command("add-member")
    @click.argument("team")
    @click.argument("user")
    def add_member(team: str, user: str) -> None:
        """Add USER to TEAM (an admin), or invite them (a member of TEAM)."""
        answer = _call("POST", f"/teams/{team}/members", {"user": user})
        if answer.get("invited"):
            _say_invited(team, answer["invited"])
        else:
            click.echo(f"Added {user} to team {team}.")

    @admin.command("invitations")
    def invitations() -> None:
        """List the team invitations waiting for you."""
        for item in _call("GET", "/invitations")["items"]:
            click.echo(f"{item['team']}  (from {item['invited_by']})")

    @admin.command("join")
    @click.argument("team")
    def join(team: str) -> None:
        """Accept the invitation to TEAM."""
        answer = _call("POST", f"/invitations/{team}")
        click.echo(f"Joined team {team}: members {', '.join(answer['members'])}.")

    @admin.command("new-key")
    def new_key() -> None:
        """Make another API key for yourself (for a second machine or a CI job)."""
        answer = _call("POST", "/keys")
        click.echo(answer["api_key"])

    @admin.command("keys")
    def keys() -> None:
        """List your API keys by id (the part after `tw_`) and age."""
        import datetime

        for key in _call("GET", "/keys")["keys"]:
            made = datetime.datetime.fromtimestamp(key["created_at"]).strftime("%Y-%m-%d %H:%M")
            click.echo(f"{key['id']}  created {made}")

    @admin.command("revoke-key")
    @click.argument("key_id")
    def revoke_key(key_id: str) -> None:
        """Revoke key KEY_ID (`tw_<KEY_ID>_...`): yours, or anyone's with an admin key.

        It stops working at once on the server process that handles this, and within
        a minute on the others (they cache verified keys that long).
        """
        _call("DELETE", f"/keys/{key_id}")
        click.echo(f"Revoked key {key_id}.")
