"""``trackwell sync``: upload offline and half-uploaded runs to the server, exactly once."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from trackwell.errors import CommError, TrackwellError
from trackwell.settings import Settings

if TYPE_CHECKING:
    from trackwell._pipeline.sync import LocalRun
    from trackwell._pipeline.transport import Transport


def register(cli: click.Group) -> None:
    @cli.command()
    @click.argument("dirs", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.option("--include-offline", is_flag=True, help="Also upload offline runs (offline-run-*).")
    @click.option("--sync-all", is_flag=True, help="Upload every run the server lacks, offline too.")
    @click.option("--include-synced", is_flag=True, help="Check runs marked synced with the server again.")
    @click.option("-p", "--project", default=None, help="Upload into this project instead of the run's.")
    @click.option("-e", "--entity", default=None, help="Upload into this entity instead of the run's.")
    @click.option("--dry-run", is_flag=True, help="Only list what would be uploaded.")
    @click.option("--clean", is_flag=True, help="Delete local runs that are fully uploaded (asks first).")
    @click.option("-y", "--yes", is_flag=True, help="Don't ask before --clean deletes.")
    def sync(
        dirs: tuple[Path, ...],
        include_offline: bool,
        sync_all: bool,
        include_synced: bool,
        project: str | None,
        entity: str | None,
        dry_run: bool,
        clean: bool,
        yes: bool,
    ) -> None:
        """Upload runs in DIRS (run directories or folders holding them) to the server.

        Without DIRS: the runs under ./trackwell that a live upload did not finish;
        offline runs too with --include-offline or --sync-all. Each record is stored
        once, however often you sync: a second sync uploads nothing. The server is
        the one `trackwell login` saved, or TRACKWELL_BASE_URL.
        """
        from trackwell._pipeline.sync import find_runs
        from trackwell._pipeline.transport import Transport

        s = Settings.resolve()
        if not s.base_url:
            raise click.ClickException(
                "no trackwell server is configured: run `trackwell login --host URL` "
                "or set TRACKWELL_BASE_URL"
            )
        try:
            transport = Transport(s.base_url, s.api_key)
        except CommError as exc:
            raise click.ClickException(exc.message) from None
        runs = find_runs(dirs or [Path.cwd() / "trackwell"])
        if clean:
            _clean([r for r in runs if r.synced_to(transport.base_url)], yes)
            return
        chosen = []
        offline_left = 0  # offline runs not asked for: the hint when nothing else is to sync
        for run in runs:
            if run.log is None or (not include_synced and run.synced_to(transport.base_url)):
                continue
            if run.offline and not (dirs or include_offline or sync_all):
                offline_left += 1
                continue
            if run.live():
                click.echo(f"Skipping {run.dir}: its process is still running and uploads it itself.")
                continue
            chosen.append(run)
        if not chosen and offline_left:
            click.echo(
                f"Nothing to sync to {transport.base_url} but {offline_left} offline run(s), which "
                "upload only when asked: `trackwell sync --include-offline` (or `trackwell sync DIR`)."
            )
            return
        if not chosen:
            click.echo(f"Nothing to sync to {transport.base_url}.")
            return
        if dry_run:
            click.echo(f"Would upload {len(chosen)} run(s) to {transport.base_url}:")
            for run in chosen:
                click.echo(f"  {run.dir}")
            return
        failed = 0
        for run in chosen:
            failed += not _sync_one(run, transport, entity, project)
        transport.close()
        if failed:
            raise click.ClickException(
                f"{failed} of {len(chosen)} run(s) were not fully uploaded; run `trackwell sync` again"
            )


def _sync_one(run: LocalRun, transport: Transport, entity: str | None, project: str | None) -> bool:
    from trackwell._pipeline.sync import sync_run

    assert run.log is not None
    total = run.log.stat().st_size
    label = f"Syncing {run.dir.name}"
    try:
        with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=False) as bar:
            done = 0

            def progress(sent: int, _total: int) -> None:
                nonlocal done
                if sent > done:
                    bar.update(sent - done)
                    done = sent

            up = sync_run(run, transport, entity=entity, project=project, progress=progress)
    except TrackwellError as exc:  # CommError, UploadFailed, CorruptRunLog
        click.echo(f"Could not sync {run.dir}: {exc}", err=True)
        return False
    if up.tail.skipped:
        from trackwell._pipeline.runlog import describe_skipped

        click.echo(f"Warning: {describe_skipped(run.log, up.tail.skipped)}", err=True)
    if up.error:
        click.echo(f"Could not sync {run.dir}: {up.error}", err=True)
        return False
    where = up.url() or transport.base_url
    sent = up.acked - up.first_acked
    what = f"{sent} new record(s)" if sent else "no new records (the server had them all)"
    refused = f"; {up.refused} refused by the server (see the warnings above)" if up.refused else ""
    click.echo(f"Synced {run.dir.name}: {what}, {up.files_uploaded} file(s){refused}; {where}")
    return True


def _clean(done: list[LocalRun], yes: bool) -> None:
    if not done:
        click.echo("No fully uploaded runs to delete.")
        return
    click.echo(f"{len(done)} run(s) are fully uploaded:")
    for run in done:
        click.echo(f"  {run.dir}")
    if not yes and not click.confirm("Delete them from this machine?", default=False):
        click.echo("Nothing deleted.")
        return
    for run in done:
        shutil.rmtree(run.dir, ignore_errors=True)
    click.echo(f"Deleted {len(done)} run(s).")
