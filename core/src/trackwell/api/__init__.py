"""The Public API (W&B's ``wandb.Api``) over local run directories: ``Api().runs()``, ``Api().run()``."""

from __future__ import annotations

from trackwell.api.local import Api, RunNotFoundError, SkippedRunWarning
from trackwell.api.runs import LocalFile, Run, Runs, Summary

__all__ = ["Api", "LocalFile", "Run", "RunNotFoundError", "Runs", "SkippedRunWarning", "Summary"]
