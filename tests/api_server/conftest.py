"""A real server-lite on 127.0.0.1 with two users and seeded runs, for the server-backed Public API.

The server and its data are session-scoped: starting it and ingesting a dozen runs
once keeps these tests fast, and tests that write (update, delete) use runs of
their own (``seed.run(...)``) so the order of tests never matters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgpack
import pytest

import trackwell
from trackwell._pipeline.transport import Transport, file_path, run_path
from trackwell.api.remote import ServerApi

#: Start times of the seeded sweep: one hour apart from this Unix time.
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class Seeder:
    """Writes runs into the server the way the SDK's sender does: upsert, then ingest batches."""

    def __init__(self, url: str, api_key: str, entity: str) -> None:
        self.transport = Transport(url, api_key)
        self.entity = entity

    def run(
        self,
        project: str,
        run_id: str,
        *,
        rows: Sequence[Mapping[str, Any]] = (),
        config: Mapping[str, Any] | None = None,
        state: str = "finished",
        start_time: float = T0,
        stats: Sequence[Mapping[str, Any]] = (),
        files: Mapping[str, bytes] | None = None,
        **fields: Any,
    ) -> None:
        """One run: ``rows`` become history (``_step`` from 0 unless given), ``state`` its exit."""
        path = run_path(self.entity, project, run_id)
        upsert = {"name": fields.get("name", run_id), "config": dict(config or {}), "start_time": start_time}
        upsert.update({k: fields[k] for k in ("group", "job_type", "tags", "notes") if k in fields})
        self.transport.put_json(path, upsert)
        records: list[list[Any]] = [
            [
                "run",
                0,
                {"id": run_id, "project": project, "entity": self.entity, "start_time": start_time, **upsert},
            ]
        ]
        if config:
            records.append(["config", len(records), {"update": dict(config)}])
        for i, row in enumerate(rows):
            step = row.get("_step", i)
            body = {"_step": step, "_timestamp": start_time + step, "_runtime": float(step), **row}
            records.append(["history", len(records), body])
        for i, sample in enumerate(stats):
            records.append(
                ["stats", len(records), {"_timestamp": start_time + i, "_runtime": float(i), **sample}]
            )
        if state != "running":  # a live run has no exit record yet
            exit_code = 0 if state == "finished" else 1
            records.append(["exit", len(records), {"exit_code": exit_code, "state": state, "runtime": 60.0}])
        self.ingest(path, records)
        for name, data in (files or {}).items():
            self.transport.request("PUT", file_path(self.entity, project, run_id, name), data=data)

    def ingest(self, path: str, records: list[list[Any]], batch: int = 50_000) -> None:
        for first in range(0, len(records), batch):
            body = {"stream": "s0", "first_seq": first, "records": records[first : first + batch]}
            self.transport.post_msgpack(path + "/ingest", msgpack.packb(body, use_bin_type=True))


class Server:
    """The shared test server and what these tests need of it: its URL and users' keys."""

    def __init__(self, handle: Any) -> None:
        self.url: str = handle.url
        self._handle = handle
        self._keys: dict[str, str] = {}

    def user(self, name: str) -> str:
        """The API key of user ``name`` (created on first use; its entity is ``name``)."""
        if name not in self._keys:
            self._keys[name] = self._handle.create_user(name)
        return self._keys[name]


@pytest.fixture(scope="session")
def server(trackwell_server: Any) -> Server:
    """``trackwell_server`` (the shared session server), users ``analyst`` and ``outsider``.

    Other test packages share that server, so these tests use user names of their own.
    """
    return Server(trackwell_server)


@pytest.fixture(scope="session")
def seed(server: Server) -> Seeder:
    """Writes runs as ``analyst``."""
    return Seeder(server.url, server.user("analyst"), "analyst")


@pytest.fixture(scope="session")
def sweep(seed: Seeder) -> list[dict[str, Any]]:
    """Twelve runs in ``analyst/sweep``: configs, tags, groups, states and accuracies to filter on.

    Run ``sNN`` starts NN hours after ``T0``; its final ``acc`` is ``NN / 12``, except
    ``s07``, whose history ends in NaN, and ``s11``, which is still running.
    """
    made = []
    for i in range(12):
        acc = [i / 12 * (s + 1) / 5 for s in range(5)]
        if i == 7:
            acc[-1] = math.nan
        spec = {
            "run_id": f"s{i:02d}",
            "name": f"{'adam' if i % 2 else 'sgd'}-{i}",
            "config": {
                "lr": round(0.001 * (i + 1), 6),
                "optimizer": "adam" if i % 2 else "sgd",
                "batch": 64 if i < 6 else 128,
                "model": {"depth": i % 3},
            },
            "tags": ["baseline"] if i % 4 == 0 else (["exp", "v2"] if i % 3 == 0 else ["exp"]),
            "group": "g1" if i < 6 else "g2",
            "job_type": "train" if i % 5 else "eval",
            "state": "running" if i == 11 else ("failed" if i == 10 else "finished"),
            "start_time": T0 + 3600 * i,
            "rows": [{"acc": a, "loss": 1 - a} for a in acc],
        }
        seed.run("sweep", **spec)
        made.append(spec)
    return made


@pytest.fixture(scope="session")
def team_run(server: Server) -> str:
    """A run of team ``apiteam`` (member: ``analyst``, not ``outsider``), written by analyst."""
    server.user("analyst")
    server._handle.create_team("apiteam", ["analyst"])
    Seeder(server.url, server.user("analyst"), "apiteam").run("shared", "t1", rows=[{"x": 1.0}])
    return "apiteam/shared/t1"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No settings from the machine: an empty config dir and working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRACKWELL_CONFIG_DIR", str(tmp_path / ".config"))
    for var in ("BASE_URL", "API_KEY", "ENTITY", "PROJECT", "MODE", "DIR"):
        monkeypatch.delenv(f"TRACKWELL_{var}", raising=False)
        monkeypatch.delenv(f"WANDB_{var}", raising=False)
    return tmp_path


@pytest.fixture
def api(server: Server, env: Path, monkeypatch: pytest.MonkeyPatch) -> ServerApi:
    """``trackwell.Api()`` as analyst, configured through the environment as a user would."""
    monkeypatch.setenv("TRACKWELL_BASE_URL", server.url)
    monkeypatch.setenv("TRACKWELL_API_KEY", server.user("analyst"))
    made = trackwell.Api()
    assert isinstance(made, ServerApi)
    return made


@pytest.fixture
def watch(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``watch(api)`` returns a list that gets the path of every request ``api`` makes from then on."""

    def start(api: ServerApi) -> list[str]:
        seen: list[str] = []
        transport = api.client._transport
        request = transport.request  # every call of the transport ends here

        def spy(method: str, path: str, **kwargs: Any) -> Any:
            seen.append(path)
            return request(method, path, **kwargs)

        monkeypatch.setattr(transport, "request", spy)
        return seen

    return start
