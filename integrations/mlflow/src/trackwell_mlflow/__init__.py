"""trackwell-mlflow: import MLflow tracking stores into trackwell.

W&B's importer API: ``MlflowImporter``, ``MlflowRun``, ``Namespace``; also reachable as
``trackwell.apis.importers.mlflow`` (and ``wandb.apis.importers.mlflow`` under
``import trackwell as wandb``). The names load on first use (module ``__getattr__``):
the plugin hook module lives in this package and is imported at every ``init()``, so
the package itself must cost nothing; MLflow loads only when an importer is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trackwell_mlflow.importer import MlflowImporter, Namespace, Report
    from trackwell_mlflow.source import MlflowRun

__all__ = ["MlflowImporter", "MlflowRun", "Namespace", "Report"]
#: each public name's module (MlflowRun reads MLflow; the rest import)
_MODULES = {
    "MlflowImporter": "importer",
    "MlflowRun": "source",
    "Namespace": "importer",
    "Report": "importer",
}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'trackwell_mlflow' has no attribute {name!r}")
