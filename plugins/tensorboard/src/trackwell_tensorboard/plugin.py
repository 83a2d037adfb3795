"""The hooks: ``sync_tensorboard`` (handled, and done on run start and finish), and
``trackwell import tensorboard``.

This module is imported at every process's first ``init()``: it imports only the
standard library and trackwell; the sync and importer code load when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trackwell

if TYPE_CHECKING:
    import click

    from trackwell.extend import Run


@trackwell.hookimpl
def on_run_start(run: Run) -> None:
    if getattr(run.settings, "sync_tensorboard", False) and not run.disabled:
        from trackwell_tensorboard import sync

        sync.register_run(run)
        sync.patch()


@trackwell.hookimpl(optionalhook=True)  # a trackwell before the hook still loads the plugin
def handles_setting(name: str) -> bool | None:
    return True if name == "sync_tensorboard" else None


@trackwell.hookimpl
def on_run_finish(run: Run) -> None:
    import sys

    sync = sys.modules.get("trackwell_tensorboard.sync")  # loaded only if a run synced
    if sync is not None:
        sync.finish_run(run)


@trackwell.hookimpl
def register_commands(cli: click.Group) -> None:
    import click

    from trackwell_tensorboard.cli import tensorboard_command

    group = cli.commands.get("import")
    if not isinstance(group, click.Group):  # another importer plugin may have made it
        group = click.Group("import", help="Import runs from other experiment trackers.")
        cli.add_command(group)
    group.add_command(tensorboard_command)
