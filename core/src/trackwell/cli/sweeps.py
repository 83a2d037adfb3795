"""``trackwell sweep`` and ``trackwell agent``: create and manage sweeps, run their trials.

The work is the SDK's (``trackwell.sweeps``); these commands turn its errors into
one-line messages a user can act on (the offending configuration key, the sweep that
does not exist, the server that does not answer) instead of tracebacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import click

from trackwell.errors import CommError, NotFoundError, UsageError

T = TypeVar("T")
_STATE_FLAGS = {"pause": "PAUSED", "resume": "RUNNING", "stop": "FINISHED", "cancel": "CANCELED"}


@contextmanager
def _clear_errors(what: str) -> Iterator[None]:
    """Errors of ``what`` (``sweep abc123``) as ClickExceptions: exit status 1, one line."""
    try:
        yield
    except NotFoundError as exc:
        raise click.ClickException(f"{what}: not found on the server ({exc.message})") from None
    except CommError as exc:
        if exc.status is None:
            from trackwell.settings import Settings

            url = Settings.resolve({}).base_url
            raise click.ClickException(
                f"cannot reach the trackwell server at {url}: {exc.message} "
                "(is `trackwell server` running? `trackwell login --host URL` points at another)"
            ) from None
        raise click.ClickException(f"{what}: the server answered: {exc.message}") from None
    except UsageError as exc:
        raise click.ClickException(str(exc)) from None


def _agent_command(path: str) -> str:
    return f"trackwell agent {path}"


def register(cli: click.Group) -> None:
    @cli.command("sweep")
    @click.argument("config_or_id", metavar="CONFIG_YAML|SWEEP_ID")
    @click.option(
        "-p",
        "--project",
        default=None,
        help="The sweep's project (default: the config's, else uncategorized).",
    )
    @click.option(
        "-e", "--entity", default=None, help="The sweep's entity (default: the config's, else yours)."
    )
    @click.option("--name", default=None, help="A name for the new sweep (overrides the config's name:).")
    @click.option(
        "--controller", is_flag=True, help="Run the search here (a local controller) until the sweep ends."
    )
    @click.option(
        "--pause", "action", flag_value="pause", help="Pause SWEEP_ID: agents wait, running runs go on."
    )
    @click.option("--resume", "action", flag_value="resume", help="Resume a paused SWEEP_ID.")
    @click.option(
        "--stop", "action", flag_value="stop", help="Stop SWEEP_ID: no new runs, running runs finish."
    )
    @click.option(
        "--cancel", "action", flag_value="cancel", help="Cancel SWEEP_ID: running runs are killed too."
    )
    def sweep_command(
        config_or_id: str,
        project: str | None,
        entity: str | None,
        name: str | None,
        controller: bool,
        action: str | None,
    ) -> None:  # fmt: skip
        """Create a sweep from CONFIG_YAML and print the agent command, or manage SWEEP_ID.

        SWEEP_ID is the id `trackwell sweep` printed, as ID, PROJECT/ID or
        ENTITY/PROJECT/ID. The server is the one `trackwell login` saved, or
        TRACKWELL_BASE_URL.

        \b
        Examples:
          trackwell sweep sweep.yaml -p mnist     # create; prints `trackwell agent ...`
          trackwell agent me/mnist/a1b2c3d4       # run its trials (on any machine)
          trackwell sweep --controller sweep.yaml # create, then search here until done
          trackwell sweep --controller me/mnist/a1b2c3d4
          trackwell sweep --pause me/mnist/a1b2c3d4   # also --resume, --stop, --cancel
        """
        if action is not None:
            if controller or name:
                raise click.UsageError(f"--{action} takes only a SWEEP_ID (with --project/--entity)")
            _set_state(config_or_id, entity, project, action)
            return
        looks_like_file = Path(config_or_id).exists() or config_or_id.endswith((".yaml", ".yml", ".json"))
        if not looks_like_file:
            if not controller:
                raise click.UsageError(
                    f"{config_or_id!r} is not a file: give a sweep configuration (YAML) to create a sweep, "
                    "or a SWEEP_ID with --controller, --pause, --resume, --stop or --cancel"
                )
            _run_controller(config_or_id, entity, project)
            return
        path = _create(Path(config_or_id), entity, project, name, controller)
        click.echo(f"trackwell: created sweep {path}")
        click.echo(f"trackwell: run sweep agents with:\n\n    {_agent_command(path)}\n")
        if controller:
            _run_controller(path, None, None)

    @cli.command("agent")
    @click.argument("sweep_id")
    @click.option("--count", type=click.IntRange(min=1), default=None, help="Run at most this many trials.")
    @click.option("-p", "--project", default=None, help="The sweep's project, when SWEEP_ID is a bare id.")
    @click.option("-e", "--entity", default=None, help="The sweep's entity, when SWEEP_ID is a bare id.")
    def agent_command(sweep_id: str, count: int | None, project: str | None, entity: str | None) -> None:
        """Run trials of SWEEP_ID until the sweep ends (or --count trials).

        Each trial runs the sweep configuration's `program` (or `command`) with the
        suggested parameters as arguments; its run joins the sweep by itself. A trial
        that fails is recorded as failed and the agent goes on. Start as many agents
        as you like, on as many machines: each gets its own trials.

        \b
        Examples:
          trackwell agent me/mnist/a1b2c3d4
          trackwell agent a1b2c3d4 -p mnist --count 10
        """
        from trackwell.sweeps.runner import Agent

        with _clear_errors(f"sweep {sweep_id}"):
            Agent(sweep_id, None, entity, project, count).run()


def _call(what: str, fn: Callable[[], T]) -> T:
    with _clear_errors(what):
        return fn()
    raise AssertionError("unreachable")  # _clear_errors re-raises


def _create(path: Path, entity: str | None, project: str | None, name: str | None, local: bool) -> str:
    from trackwell.sweeps import client, engine
    from trackwell.sweeps.config import load

    def create() -> str:
        raw = load(path)
        if name:
            raw["name"] = name
        if local:
            raw["controller"] = {"type": "local"}
        engine.validate(raw)
        return client.create(raw, entity, project).path

    return _call(f"sweep configuration {path}", create)


def _set_state(sweep_id: str, entity: str | None, project: str | None, action: str) -> None:
    from trackwell.sweeps.client import SweepClient

    def set_state() -> str:
        client = SweepClient(sweep_id, entity, project)
        client.set_state(_STATE_FLAGS[action])
        return client.path

    path = _call(f"sweep {sweep_id}", set_state)
    click.echo(f"trackwell: sweep {path} is now {_STATE_FLAGS[action]}")


def _run_controller(sweep_id: str, entity: str | None, project: str | None) -> None:
    from trackwell.sweeps.local_controller import LocalController

    def run() -> str:
        ctl = LocalController(sweep_id, entity, project)
        ctl.done()  # reads the sweep: an unknown id fails here
        if ctl._info.get("controller") != "local":
            raise UsageError(
                f"sweep {ctl.client.path} is searched by the server's controller; a local controller "
                "needs a sweep created with `trackwell sweep --controller CONFIG_YAML` "
                "(or `controller: {type: local}` in its configuration)"
            )
        click.echo(f"trackwell: local controller for sweep {ctl.client.path}", err=True)
        ctl.run()
        return str(ctl._info.get("state"))

    state = _call(f"sweep {sweep_id}", run)
    click.echo(f"trackwell: sweep {sweep_id} is {state}")
