"""``trackwell.apis.importers``: W&B's importer namespace, resolved to the importer plugins.

``from trackwell.apis.importers import Namespace`` and
``from trackwell.apis.importers.mlflow import MlflowImporter`` work when
``trackwell-mlflow`` is installed, and say how to install it when it is not.
"""

from __future__ import annotations

from typing import Any

INSTALL_HINT = "the MLflow importer is not installed: pip install trackwell-mlflow"


def _plugin() -> Any:
    try:
        import trackwell_mlflow
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from exc
    return trackwell_mlflow


def __getattr__(name: str) -> Any:
    if name == "Namespace":
        return _plugin().Namespace
    if name == "mlflow":
        import importlib

        return importlib.import_module(f"{__name__}.mlflow")
    raise AttributeError(f"module 'trackwell.apis.importers' has no attribute {name!r}")
