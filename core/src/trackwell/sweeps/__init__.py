"""Sweeps: W&B's hyperparameter search (``trackwell.sweep``, ``trackwell.agent``, ``trackwell.controller``).

The configuration is W&B's (``config.py``); the search methods are plugins
(``engine.py``, grid/random/bayes built in); a server runs the controller (or
``local_controller.py`` runs it here); ``runner.py`` runs the trials.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from trackwell.sweeps.config import SweepConfigError, load

__all__ = ["SweepConfigError", "agent", "controller", "sweep"]


def sweep(
    sweep: Mapping[str, Any] | str | Path,
    entity: str | None = None,
    project: str | None = None,
    prior_runs: list[str] | None = None,
) -> str:
    """Create a sweep from a configuration dict (or YAML file) and return its id (``wandb.sweep``).

    The configuration is validated here first, so a mistake is reported, naming its
    key, before anything reaches the server.
    """
    from trackwell.sweeps import client, engine

    raw = load(sweep)
    engine.validate(raw)
    return client.create(raw, entity, project).sweep_id


def agent(
    sweep_id: str,
    function: Callable[[], Any] | None = None,
    entity: str | None = None,
    project: str | None = None,
    count: int | None = None,
) -> None:
    """Run trials of a sweep (``wandb.agent``): ``function`` in this process, else the
    configuration's ``program``/``command`` as subprocesses; ``count`` trials at most."""
    from trackwell.sweeps.runner import Agent

    Agent(sweep_id, function, entity, project, count).run()


def controller(
    sweep_id_or_config: str | Mapping[str, Any] | None = None,
    entity: str | None = None,
    project: str | None = None,
) -> Any:
    """A local controller (``wandb.controller``) for a sweep id, or for a new sweep from a
    configuration (or configured in code with ``configure_*`` then ``create()``)."""
    from trackwell.sweeps.local_controller import LocalController

    if sweep_id_or_config is None or isinstance(sweep_id_or_config, str):
        return LocalController(sweep_id_or_config, entity, project)
    ctl = LocalController(None, entity, project)
    ctl.configure(dict(sweep_id_or_config))
    ctl.create()
    return ctl
