"""``trackwell import mlflow``: the importer with progress bars and a closing report."""

from __future__ import annotations

import sys
from typing import Any

import click


@click.group("import")
def import_group() -> None:
    """Import runs from other experiment trackers."""


class _Bars:
    """Progress bars on stderr: one per run (records uploaded), one per artifact transfer (bytes)."""

    def __init__(self) -> None:
        self._bar: Any = None

    def _open(self, label: str, total: int, bytes_: bool = False) -> None:
        self._close()
        self._bar = click.progressbar(length=max(1, total), label=label, file=sys.stderr,
                                      show_pos=not bytes_, show_percent=True)  # fmt: skip
        self._bar.__enter__()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None

    def run_started(self, run: Any, total_points: int) -> None:
        self._open(f"run {run.run_id()[:8]} {run.display_name()[:30]}", total_points)

    def run_progress(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def run_done(self, run: Any, status: str) -> None:
        self._close()
        if status != "imported":
            click.echo(f"run {run.run_id()} {run.display_name()}: {status}", err=True)

    def artifact_started(self, name: str, total_bytes: int) -> None:
        self._open(f"artifact {name[:40]}", total_bytes, bytes_=True)

    def artifact_progress(self, n: int) -> None:
        self.run_progress(n)

    def artifact_done(self) -> None:
        self._close()


@click.command("mlflow")
@click.option(
    "--uri", required=True, help="MLflow tracking URI: http://..., sqlite:///..., a file store path."
)
@click.option("--registry-uri", default=None, help="MLflow registry URI (default: the tracking URI).")
@click.option("--entity", default=None, help="Entity to import into (default: the API key's own).")
@click.option("--project", default=None, help="One project for every run (default: one per experiment).")
@click.option(
    "--experiment", "experiments", multiple=True, help="Experiment id to import (repeatable; default all)."
)
@click.option("--filter", "filter_string", default=None, help="MLflow search_runs filter string.")
@click.option("--limit", type=int, default=None, help="Import at most this many runs.")
@click.option("--no-artifacts", is_flag=True, help="Skip artifacts and registered models.")
@click.option("--dry-run", is_flag=True, help="Read MLflow and say what would be imported; write nothing.")
@click.option("--validate", "check", is_flag=True, help="Afterwards compare every run with its source.")
@click.option("--workers", type=int, default=1, show_default=True, help="Runs imported at once.")
def mlflow_command(
    uri: str, registry_uri: str | None, entity: str | None, project: str | None, experiments: tuple[str, ...],
    filter_string: str | None, limit: int | None, no_artifacts: bool, dry_run: bool, check: bool,
    workers: int,
) -> None:  # fmt: skip
    """Import an MLflow tracking store: experiments, runs, params, metrics, tags, artifacts, models.

    Idempotent: importing the same store again stores nothing twice and picks up new
    or changed runs; an interrupted import goes on where it stopped.
    """
    from trackwell.errors import CommError
    from trackwell_mlflow.importer import MlflowImporter, Namespace
    from trackwell_mlflow.source import walk_artifacts

    importer = MlflowImporter(mlflow_tracking_uri=uri, mlflow_registry_uri=registry_uri)
    runs = list(importer.collect_runs(list(experiments) or None, filter_string, limit))
    namespace = Namespace(entity, project)
    if dry_run:
        points = params = files = size = 0
        for r in runs:
            points += r.point_count()
            params += len(r.run.data.params)
            if not no_artifacts:
                listed = list(walk_artifacts(r.mlflow_client, r.run_id(), ""))
                files += len(listed)
                size += sum(s for _, s in listed)
            click.echo(f"would import {r.run_id()} {r.display_name()!r} -> {project or r.project()}")
        click.echo(f"dry run: {len(runs)} runs, {points} metric points, {params} params, "
                   f"{files} artifact files ({size:,} bytes); nothing written")  # fmt: skip
        return
    importer.hooks = _Bars()  # type: ignore[assignment]
    try:
        report = importer.import_runs(
            runs, artifacts=not no_artifacts, namespace=namespace, max_workers=workers
        )
    except CommError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(str(report))
    if check:
        diffs = importer.validate(runs, namespace, artifacts=not no_artifacts)
        for d in diffs:
            click.echo(d)
        click.echo(f"validation: {len(diffs)} difference(s) in {len(runs)} runs")
        if diffs:
            sys.exit(2)
    if report.failed:
        sys.exit(1)
