"""The trackwell plugin of trackwell-mlflow: adds ``trackwell import mlflow`` and names the
integration ``mlflow`` (``trackwell.integration.mlflow`` and W&B's
``trackwell.apis.importers.mlflow`` resolve to this package).

Loaded through the ``trackwell`` entry point at every process's first ``init()``, so it
imports only the standard library and trackwell: click, MLflow and the importer load
when the command line is built or the command runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from trackwell import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def register_integrations(register: Callable[[str, str], None]) -> None:
    register("mlflow", "trackwell_mlflow")


@hookimpl
def register_commands(cli: click.Group) -> None:
    import click

    from trackwell_mlflow.cli import import_group, mlflow_command

    group = cli.commands.get("import")
    if not isinstance(group, click.Group):  # another importer plugin may have made it
        group = import_group
        cli.add_command(group)
    group.add_command(mlflow_command)
