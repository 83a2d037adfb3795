"""``trackwell.apis.importers.mlflow``: W&B's MLflow importer, provided by trackwell-mlflow."""

from __future__ import annotations

from trackwell.apis.importers import importer

_mod = importer("mlflow")
MlflowImporter = _mod.MlflowImporter
MlflowRun = _mod.MlflowRun
Namespace = _mod.Namespace

__all__ = ["MlflowImporter", "MlflowRun", "Namespace"]
