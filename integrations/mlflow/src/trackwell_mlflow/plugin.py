"""The trackwell plugin of trackwell-mlflow: adds ``trackwell import mlflow``.

Loaded through the ``trackwell`` entry point; imports neither MLflow nor the importer
until the command runs.
"""

from __future__ import annotations

import click

from trackwell import hookimpl


@hookimpl
def register_commands(cli: click.Group) -> None:
    from trackwell_mlflow.cli import import_group, mlflow_command

    group = cli.commands.get("import")
    if not isinstance(group, click.Group):
        group = import_group
        cli.add_command(group)
    group.add_command(mlflow_command)
