"""The Public API (W&B's ``wandb.Api``): ``Api().runs()``, ``Api().run()``, from a server or local runs."""

from __future__ import annotations

from trackwell.api.base import Api
from trackwell.api.local import LocalApi
from trackwell.api.runs import LocalFile, Run, Runs, Summary
from trackwell.errors import RunNotFoundError, SkippedRunWarning

__all__ = [
    "Api",
    "LocalApi",
    "LocalFile",
    "Run",
    "RunNotFoundError",
    "Runs",
    "SkippedRunWarning",
    "Summary",
]
