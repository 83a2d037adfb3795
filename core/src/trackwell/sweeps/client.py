"""Talking to the server's sweeps routes: sweep paths, defaults, the HTTP client."""

from __future__ import annotations

import os
from typing import Any

from trackwell.errors import UsageError

#: Sweeps created by this process: sweep id -> (entity, project), so ``agent(sweep_id)``
#: finds the project ``sweep(project=...)`` used, as in W&B.
_created: dict[str, tuple[str, str]] = {}
DEFAULT_PROJECT = "uncategorized"


class SweepClient:
    """One sweep on one server: ``entity``, ``project``, ``sweep_id``, and its calls."""

    def __init__(self, sweep_id: str, entity: str | None = None, project: str | None = None) -> None:
        from trackwell.api.remote_http import ServerClient
        from trackwell.settings import Settings

        s = Settings.resolve({})
        if not s.base_url:
            raise UsageError(
                "sweeps run on a trackwell server and none is configured: start one with "
                "`trackwell server` and run `trackwell login --host URL` (or set TRACKWELL_BASE_URL)"
            )
        parts = [p for p in str(sweep_id).strip("/").split("/") if p]
        if len(parts) == 4 and parts[2] == "sweeps":
            parts = [parts[0], parts[1], parts[3]]
        if not 1 <= len(parts) <= 3:
            raise UsageError(f"sweep id {sweep_id!r}: use 'ID', 'project/ID' or 'entity/project/ID'")
        self.sweep_id = parts[-1]
        known = _created.get(self.sweep_id, (None, None))
        self.http = ServerClient(s.base_url, s.api_key)
        self.project = (
            (parts[-2] if len(parts) >= 2 else None) or project or known[1] or s.project or DEFAULT_PROJECT
        )
        self.entity = (
            (parts[0] if len(parts) == 3 else None) or entity or known[0] or s.entity or self._viewer()
        )

    def _viewer(self) -> str:
        return str(self.http.get("/viewer")["entity"])

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.sweep_id}"

    @property
    def base(self) -> str:
        return f"/projects/{self.entity}/{self.project}/sweeps/{self.sweep_id}"

    def info(self, history: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = self.http.get(self.base, {"history": "true"} if history else None)
        return out

    def next(self, agent: str) -> dict[str, Any]:
        out: dict[str, Any] = self.http.send("POST", self.base + "/next", {"agent": agent})
        return out

    def heartbeat(self, run_ids: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = self.http.send("POST", self.base + "/heartbeat", {"run_ids": run_ids})
        return out

    def report(self, run_id: str, state: str, error: str | None = None) -> None:
        self.http.send("POST", f"{self.base}/runs/{run_id}", {"state": state, "error": error})

    def set_state(self, state: str) -> dict[str, Any]:
        out: dict[str, Any] = self.http.send("PATCH", self.base, {"state": state})
        return out

    def queue(self, params: dict[str, Any]) -> str:
        return str(self.http.send("POST", self.base + "/suggestions", {"params": params})["run_id"])

    def stop_run(self, run_id: str) -> None:
        self.http.send("POST", f"{self.base}/runs/{run_id}/stop")


def create(config: dict[str, Any], entity: str | None, project: str | None) -> SweepClient:
    """Create the sweep on the server (config validated there too) and return its client."""
    from trackwell.api.remote_http import ServerClient
    from trackwell.settings import Settings

    s = Settings.resolve({})
    if not s.base_url:
        raise UsageError(
            "trackwell.sweep() needs a trackwell server: start one with `trackwell server` and run "
            "`trackwell login --host URL` (or set TRACKWELL_BASE_URL)"
        )
    http = ServerClient(s.base_url, s.api_key)
    entity = entity or config.get("entity") or s.entity or str(http.get("/viewer")["entity"])
    project = (
        project or config.get("project") or s.project or os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT
    )
    info = http.send("POST", f"/projects/{entity}/{project}/sweeps", {"config": config})
    _created[info["id"]] = (str(entity), str(project))
    return SweepClient(f"{entity}/{project}/{info['id']}")
