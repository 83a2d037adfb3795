"""``trackwell runs [DIR]``: list local runs as a table, or as JSON for scripts."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from trackwell.api import Run

STATES = ("running", "finished", "failed", "killed", "crashed")
_COLUMNS = ("ID", "NAME", "PROJECT", "STATE", "STEPS", "START", "DURATION")
_MAX_NAME = 32


def register(cli: click.Group) -> None:
    cli.add_command(runs_command)


@click.command("runs")
@click.argument(
    "directory",
    metavar="[DIR]",
    required=False,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option("--project", "-p", help="Only runs of this project.")
@click.option("--state", type=click.Choice(STATES), help="Only runs in this state.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def runs_command(directory: Path | None, project: str | None, state: str | None, as_json: bool) -> None:
    """List the runs saved under DIR, newest first.

    DIR is the folder a script ran in (the one holding trackwell/), the trackwell/
    folder itself, or one run directory. It defaults to TRACKWELL_DIR, then
    WANDB_DIR, then the current directory.

    STEPS counts history rows; a run whose process died without finishing shows
    as "crashed", with every row it flushed before dying.
    """
    from trackwell.api import LocalApi  # the API loads only for this command

    api = LocalApi(root=directory)  # local even when a server is configured: DIR is a folder
    filters = {"state": state} if state else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runs = list(api.runs(project, filters=filters))
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    if as_json:
        click.echo(json.dumps([_as_dict(r) for r in runs], indent=2, default=str))
        return
    if not runs:
        what = f" of project {project!r}" if project else ""
        what += f" in state {state!r}" if state else ""
        click.echo(
            f"No runs{what} found under {api.root}. Runs are saved in <dir>/trackwell/ by "
            "trackwell.init(); pass that <dir> (or set TRACKWELL_DIR).",
            err=True,
        )
        return
    click.echo(_table([_as_row(r) for r in runs]))


def _as_dict(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "project": run.project,
        "entity": run.entity,
        "group": run.group,
        "job_type": run.job_type,
        "tags": run.tags,
        "state": run.state,
        "steps": run.history_length,
        "last_step": run.lastHistoryStep,
        "created_at": run.created_at,
        "start_time": run.start_time,
        "runtime": round(run.runtime, 3),
        "exit_code": run.exit_code,
        "dir": run.dir,
    }


def _as_row(run: Run) -> tuple[str, ...]:
    name = run.name or "-"
    if len(name) > _MAX_NAME:
        name = name[: _MAX_NAME - 1] + "…"
    return (
        run.id,
        name,
        run.project or "-",
        run.state,
        str(run.history_length),
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.start_time)),
        format_duration(run.runtime),
    )


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(_COLUMNS)]
    right = {_COLUMNS.index("STEPS"), _COLUMNS.index("DURATION")}

    def line(cells: tuple[str, ...]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=False))
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(_COLUMNS), *(line(r) for r in rows)])


def format_duration(seconds: float) -> str:
    """``"45s"``, ``"1m 03s"``, ``"2h 05m 09s"``, ``"3d 04h 10m"``: short and sortable by eye."""
    total = int(max(0.0, seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
