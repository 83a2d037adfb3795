"""The local controller (``trackwell.controller(sweep_id).run()``, ``trackwell sweep --controller``).

For sweeps whose configuration says ``controller: {type: local}``: the search runs
here, with the same engine as the server's, and its suggestions are queued on the
server, where agents pick them up as usual; hyperband decisions are sent as stop
requests. ``step()`` is one round; ``search()``, ``schedule()``, ``stopping()`` and
``stop_runs()`` are its parts, for callers who want to inspect or change them.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from typing import Any

from trackwell.errors import UsageError
from trackwell.sweeps import engine
from trackwell.sweeps.client import SweepClient, create
from trackwell.sweeps.config import SweepConfig, parse


def sweep_seed(sweep_id: str) -> int:
    """The search seed of a sweep: the same in every process (``hash()`` of a str is
    salted per process), so a restarted local controller suggests what it would have."""
    return int.from_bytes(hashlib.sha256(sweep_id.encode()).digest()[:4], "big")


class LocalController:
    """W&B's ``wandb.controller()`` object."""

    def __init__(
        self, sweep_id: str | None = None, entity: str | None = None, project: str | None = None
    ) -> None:
        self._entity, self._project = entity, project
        self._client: SweepClient | None = SweepClient(sweep_id, entity, project) if sweep_id else None
        self._draft: dict[str, Any] = {"method": "random", "parameters": {}, "controller": {"type": "local"}}
        self._info: dict[str, Any] = {}
        self._actions: list[str] = []  # what the last step did, for print_actions()

    # -- a sweep written in code --------------------------------------------------------
    def configure_search(self, method: str) -> None:
        self._draft["method"] = method

    def configure_parameter(self, name: str, **spec: Any) -> None:
        """``configure_parameter("lr", min=0.001, max=0.1)``: the keys of one ``parameters:`` entry."""
        self._draft["parameters"][name] = spec

    def configure_metric(self, name: str, goal: str = "minimize") -> None:
        self._draft["metric"] = {"name": name, "goal": goal}

    def configure_program(self, program: str) -> None:
        self._draft["program"] = program

    def configure_name(self, name: str) -> None:
        self._draft["name"] = name

    def configure_description(self, description: str) -> None:
        self._draft["description"] = description

    def configure_stopping(self, type: str = "hyperband", **kwargs: Any) -> None:
        self._draft["early_terminate"] = {"type": type, **kwargs}

    def configure_controller(self, type: str = "local") -> None:
        """W&B's ``configure_controller(type="local")``: this object controls the sweep, so
        ``"local"`` is the only type it takes."""
        if type != "local":
            raise UsageError(f"configure_controller(type={type!r}): a controller() runs the sweep locally")
        self._draft["controller"] = {"type": type}

    def configure(self, config: dict[str, Any]) -> None:
        self._draft = {**config, "controller": {"type": "local"}}

    def create(self) -> str:
        """Create the configured sweep on the server; its id."""
        if self._client is not None:
            raise UsageError("this controller already has a sweep")
        engine.validate(self._draft)
        self._client = create(self._draft, self._entity, self._project)
        return self._client.sweep_id

    # -- controlling ---------------------------------------------------------------------
    @property
    def client(self) -> SweepClient:
        if self._client is None:
            self.create()
        assert self._client is not None
        return self._client

    @property
    def sweep_id(self) -> str:
        return self.client.sweep_id

    def _refresh(self) -> tuple[SweepConfig, list[engine.Trial], list[dict[str, Any]]]:
        self._info = self.client.info(history=True)
        cfg = parse(self._info["config"])
        trials = [
            engine.Trial(r["run_id"], r["config"], r["state"], r["metric"], r.get("history") or [])
            for r in self._info["runs"]
            if r["state"] != "queued"
        ]
        queued = [r for r in self._info["runs"] if r["state"] == "queued"]
        return cfg, trials, queued

    @property
    def sweep_config(self) -> dict[str, Any]:
        """The sweep's configuration (the draft's, before ``create()``)."""
        if self._client is None:
            return dict(self._draft)
        if not self._info:
            self._refresh()
        return dict(self._info["config"])

    def done(self) -> bool:
        """True once the sweep is FINISHED or CANCELED."""
        if not self._info:
            self._refresh()
        return self._info["state"] in ("FINISHED", "CANCELED")

    def search(self) -> engine.Decision:
        """The next suggestion (or why the sweep is done), without queuing it."""
        cfg, trials, queued = self._refresh()
        pending = [engine.Trial(r["run_id"], r["config"]) for r in queued]
        return engine.next_params(cfg, trials + pending, seed=sweep_seed(self.client.sweep_id))

    def schedule(self, params: dict[str, Any] | engine.Decision) -> str | None:
        """Queue ``params`` (flat names, or what ``search()`` returned) for the next agent;
        the run id it will get. A search that is exhausted finishes the sweep (None)."""
        if isinstance(params, engine.Decision):
            if params.action == "done":
                self.client.set_state("FINISHED")
                self._info = {}
                self._actions.append(f"finished: {params.reason}")
                print(f"trackwell: sweep {self.client.path} finished: {params.reason}", file=sys.stderr)
                return None
            assert params.params is not None
            params = params.params
        run_id = self.client.queue(params)
        self._actions.append(f"scheduled {run_id}: {params}")
        return run_id

    def stopping(self) -> list[str]:
        """The runs hyperband stops now."""
        cfg, trials, _ = self._refresh()
        flagged = {r["run_id"] for r in self._info["runs"] if r["stop_requested"]}
        return [r for r in engine.hyperband_stops(cfg, trials) if r not in flagged]

    def stop_runs(self, run_ids: list[str]) -> None:
        for run_id in run_ids:
            self.client.stop_run(run_id)
            self._actions.append(f"stop requested: {run_id}")

    def step(self) -> None:
        """One round: keep one suggestion queued, send hyperband's stops, finish when exhausted."""
        self._actions = []
        cfg, _, queued = self._refresh()
        if self._info["state"] == "RUNNING" and not queued:
            self.schedule(self.search())
        if cfg.early_terminate:
            self.stop_runs(self.stopping())
        self._refresh()

    def print_status(self) -> None:
        """One line: the sweep, its state and its runs by state (W&B's ``print_status()``)."""
        if not self._info:
            self._refresh()
        counts: dict[str, int] = {}
        for r in self._info["runs"]:
            counts[r["state"]] = counts.get(r["state"], 0) + 1
        states = ", ".join(f"{state.capitalize()}: {n}" for state, n in sorted(counts.items()))
        method = self._info["config"].get("method")
        runs = len(self._info["runs"])
        print(f"Sweep: {self.client.sweep_id} ({method}) {self._info['state']} | Runs: {runs} ({states})")

    def print_actions(self) -> None:
        """What the last ``step()`` did: runs scheduled, stops requested, the sweep finished."""
        for action in self._actions:
            print(f"Action: {action}")

    def print_debug(self) -> None:
        """The sweep's configuration and each run's state and config, as the server has them."""
        if not self._info:
            self._refresh()
        print(f"Sweep {self.client.path}: {self._info['config']}")
        for r in self._info["runs"]:
            print(f"  run {r['run_id']} {r['state']} {r['config']}")

    def run(
        self,
        verbose: bool = False,
        print_status: bool = True,
        print_actions: bool = False,
        print_debug: bool = False,
    ) -> None:
        """Step until the sweep is done (polling every ``TRACKWELL_SWEEP_HEARTBEAT`` seconds)."""
        interval = float(os.environ.get("TRACKWELL_SWEEP_HEARTBEAT") or 2.0)
        while not self.done():
            self.step()
            if print_status or verbose:
                self.print_status()
            if print_actions or verbose:
                self.print_actions()
            if print_debug:
                self.print_debug()
            if not self.done():
                time.sleep(interval)  # polling the server
