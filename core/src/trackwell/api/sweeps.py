"""``api.sweep(path)``: a sweep on the server, with its runs and its best run (W&B's ``Sweep``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trackwell.api.remote import ServerApi
    from trackwell.api.remote_runs import ServerRun


class Sweep:
    """``id``, ``name``, ``config``, ``state``, ``runs``, ``best_run()``; ``load(force=True)`` rereads."""

    def __init__(self, api: ServerApi, entity: str, project: str, sweep_id: str) -> None:
        self._api, self.entity, self.project, self.id = api, entity, project, sweep_id
        self._info: dict[str, Any] = {}
        self.load(force=True)

    def load(self, force: bool = False) -> dict[str, Any]:
        if force or not self._info:
            self._info = self._api.client.get(f"/projects/{self.entity}/{self.project}/sweeps/{self.id}")
        return self._info

    @property
    def name(self) -> str:
        return str(self._info.get("name") or self.id)

    @property
    def config(self) -> dict[str, Any]:
        out: dict[str, Any] = self._info["config"]
        return out

    @property
    def state(self) -> str:
        return str(self._info["state"])

    @property
    def path(self) -> list[str]:
        return [self.entity, self.project, self.id]

    @property
    def runs(self) -> list[ServerRun]:
        """The sweep's runs that reached the server (a trial that crashed before ``init()`` has none)."""
        from trackwell.errors import RunNotFoundError

        out = []
        for r in self._info["runs"]:
            if r["state"] in ("queued", "pending"):
                continue
            try:
                out.append(self._api.run(f"{self.entity}/{self.project}/{r['run_id']}"))
            except RunNotFoundError:
                continue
        return out

    def best_run(self, order: str | None = None) -> ServerRun | None:
        """The run with the best value of the sweep's metric (or of ``order``, ``-name`` for descending)."""
        metric = self.config.get("metric") or {}
        name, descending = metric.get("name"), metric.get("goal") == "maximize"
        if order:
            descending, name = order.startswith("-"), order.lstrip("+-").removeprefix("summary_metrics.")
        if not name:
            return None
        scored = [(r.summary.get(name), r) for r in self.runs]
        valid = [
            (v, r) for v, r in scored if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v
        ]
        if not valid:
            return None
        return (max if descending else min)(valid, key=lambda vr: vr[0])[1]

    def __repr__(self) -> str:
        return f"<Sweep {'/'.join(self.path)} ({self.state})>"
