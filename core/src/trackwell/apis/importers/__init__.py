"""``trackwell.apis.importers``: W&B's importer namespace, resolved to the importer plugins.

An importer is an integration: ``trackwell.apis.importers.<name>`` is the package that
``trackwell.integration.<name>`` names (trackwell-mlflow registers ``mlflow`` through
the ``register_integrations`` hook), so the core imports no importer.
``from trackwell.apis.importers import Namespace`` and
``from trackwell.apis.importers.mlflow import MlflowImporter`` work when trackwell-mlflow
is installed, and raise an ``ImportError`` saying how to install it when it is not.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


def importer(name: str) -> ModuleType:
    """The package of the importer ``name`` (``mlflow``), or an ``ImportError`` saying how to get it."""
    from trackwell.integration import load

    try:
        return load(name)
    except ModuleNotFoundError as exc:
        if exc.name != f"trackwell.integration.{name}":
            raise
        raise ModuleNotFoundError(f"the {name} importer: {exc}", name=f"{__name__}.{name}") from None


def __getattr__(name: str) -> Any:
    if name == "Namespace":  # W&B's wandb.apis.importers.Namespace: the MLflow importer's
        return importer("mlflow").Namespace
    if name == "mlflow":
        return importlib.import_module(f"{__name__}.mlflow")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
