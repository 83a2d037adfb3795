"""trackwell-mlflow: import MLflow tracking stores into trackwell.

W&B's importer API: ``MlflowImporter``, ``MlflowRun``, ``Namespace``; also reachable as
``trackwell.apis.importers.mlflow`` (and ``wandb.apis.importers.mlflow`` under
``import trackwell as wandb``). Importing this package imports MLflow only when an
importer is made, so the plugin hook costs ``trackwell`` nothing.
"""

from __future__ import annotations

from trackwell_mlflow.importer import MlflowImporter, MlflowRun, Namespace, Report

__all__ = ["MlflowImporter", "MlflowRun", "Namespace", "Report"]
