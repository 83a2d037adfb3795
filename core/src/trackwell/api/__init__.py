"""The Public API (W&B's ``wandb.Api``) over local run directories: ``Api().runs()``, ``Api().run()``."""

from __future__ import annotations

from trackwell.api.local import Api
from trackwell.api.runs import LocalFile, Run, Runs, Summary
from trackwell.errors import RunNotFoundError, SkippedRunWarning

__all__ = ["Api", "LocalFile", "Run", "RunNotFoundError", "Runs", "SkippedRunWarning", "Summary"]
