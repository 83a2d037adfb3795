"""``trackwell import tensorboard LOGDIR``."""

from __future__ import annotations

import click

from trackwell.extend import run_directory


@click.command("tensorboard")
@click.argument("logdir", type=click.Path(exists=True, file_okay=False))
@click.option("--project", "-p", help="Project of the new run (default: tensorboard).")
@click.option("--name", "-n", help="Name of the new run (default: the logdir's name).")
@click.option("--entity", "-e", help="Entity of the new run.")
@click.option("--mode", type=click.Choice(["online", "offline"]), help="Run mode (default: from settings).")
@click.option("--dir", "run_dir", type=click.Path(file_okay=False), help="Where ./trackwell/ goes.")
@click.option("--tag", "tags", multiple=True, help="Tag the run (repeatable).")
@click.option("--no-files", is_flag=True, help="Do not copy the event files into the run.")
def tensorboard_command(
    logdir: str,
    project: str | None,
    name: str | None,
    entity: str | None,
    mode: str | None,
    run_dir: str | None,
    tags: tuple[str, ...],
    no_files: bool,
) -> None:
    """Import a TensorBoard logdir (scalars, text, histograms, images, hparams) into a new run.

    Every event file under LOGDIR is read; those in sub-folders prefix their keys
    with the sub-folder (train/loss, eval/loss). TensorFlow is not needed.
    """
    from trackwell_tensorboard.events import CorruptRecord
    from trackwell_tensorboard.importer import import_logdir

    try:
        result = import_logdir(
            logdir,
            project=project,
            name=name,
            entity=entity,
            mode=mode,
            dir=run_dir,
            tags=tags,
            save_event_files=not no_files,
        )
    except (FileNotFoundError, CorruptRecord) as exc:
        raise click.ClickException(str(exc)) from None
    run = result.run
    click.echo(
        f"imported {result.events} events from {result.files} file(s): {result.steps} steps, "
        f"{result.values} values ({result.media} media)"
    )
    if result.config:
        click.echo(f"hyperparameters into the run's config: {', '.join(sorted(result.config))}")
    if result.skipped:
        kinds = ", ".join(f"{kind} ({n})" for kind, n in sorted(result.skipped.items()))
        click.echo(f"skipped (not supported yet): {kinds}")
    click.echo(f"run {run.id} ({run.name}) in {run.url or run_directory(run)}")
