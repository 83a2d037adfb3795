"""The sweeps routes (docs/server-api.md "Sweeps") on SQLite and PostgreSQL: create,
next (agents asking at once never share a grid point), heartbeat, report, a local
controller's queue and stops, states, and the errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .conftest import Client, unique

GRID = {"method": "grid", "metric": {"name": "loss"},
        "parameters": {"a": {"values": [1, 2, 3, 4]}, "b": {"values": ["x", "y"]}}}  # fmt: skip


def create(admin: Client, config: dict, project: str | None = None) -> str:
    resp = admin.post(f"/projects/local/{project or unique()}/sweeps", json={"config": config})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["state"] == "RUNNING" and body["config"] == config
    return f"/projects/local/{body['project']}/sweeps/{body['id']}"


def test_agents_asking_at_once_never_share_a_grid_point(admin: Client) -> None:
    base = create(admin, GRID)
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda i: admin.post(base + "/next", json={"agent": f"a{i}"}).json(), range(12))
        )
    runs = [a for a in answers if a["action"] == "run"]
    assert len(runs) == 8 and sorted((a["params"]["a"], a["params"]["b"]) for a in runs) == sorted(
        (a, b) for a in (1, 2, 3, 4) for b in ("x", "y")
    )
    assert len({a["run_id"] for a in runs}) == 8
    assert all(a["action"] == "done" and "exhausted" in a["reason"] for a in answers if a["action"] != "run")
    info = admin.get(base).json()
    assert info["state"] == "FINISHED" and info["run_count"] == 8


def test_report_heartbeat_stop_and_states(admin: Client) -> None:
    base = create(admin, {**GRID, "method": "random"})
    first = admin.post(base + "/next", json={}).json()
    assert (
        admin.post(f"{base}/runs/{first['run_id']}", json={"state": "failed", "error": "boom"}).status_code
        == 204
    )
    run = admin.get(base).json()["runs"][0]
    assert run["state"] == "failed" and run["error"] == "boom"
    second = admin.post(base + "/next", json={}).json()["run_id"]
    assert admin.post(base + "/heartbeat", json={"run_ids": [second]}).json() == {
        "stop": [],
        "state": "RUNNING",
    }
    assert admin.post(f"{base}/runs/{second}/stop").status_code == 204
    assert admin.post(base + "/heartbeat", json={"run_ids": [second]}).json()["stop"] == [second]
    assert admin.patch(base, json={"state": "PAUSED"}).json()["state"] == "PAUSED"
    assert admin.post(base + "/next", json={}).json()["action"] == "wait"
    assert admin.patch(base, json={"state": "CANCELED"}).json()["state"] == "CANCELED"
    assert admin.post(base + "/heartbeat", json={"run_ids": ["r1", "r2"]}).json()["stop"] == ["r1", "r2"]
    assert admin.patch(base, json={"state": "RUNNING"}).status_code == 409
    assert admin.post(base + "/next", json={}).json()["action"] == "done"


def test_local_controller_queue(admin: Client) -> None:
    base = create(admin, {**GRID, "controller": {"type": "local"}})
    assert admin.get(base).json()["controller"] == "local"
    assert admin.post(base + "/next", json={}).json()["action"] == "wait"
    queued = admin.post(base + "/suggestions", json={"params": {"a": 3, "b": "y"}})
    assert queued.status_code == 201
    answer = admin.post(base + "/next", json={}).json()
    assert answer["action"] == "run" and answer["params"] == {"a": 3, "b": "y"}
    assert answer["run_id"] == queued.json()["run_id"]
    missing = admin.post(base + "/suggestions", json={"params": {"a": 1}})
    assert missing.status_code == 422 and "'b'" in missing.text


def test_errors(admin: Client, users: dict[str, Client]) -> None:
    project = unique()
    bad = admin.post(f"/projects/local/{project}/sweeps", json={"config": {"method": "grid", "parameters": {
        "lr": {"min": 0.1, "max": 1.0}}}})  # fmt: skip
    assert bad.status_code == 422 and "parameters.lr" in bad.text
    unknown = admin.post(f"/projects/local/{project}/sweeps", json={"config": {**GRID, "method": "nosuch"}})
    assert unknown.status_code == 422 and "nosuch" in unknown.text
    base = create(admin, GRID, project)
    assert admin.get(f"/projects/local/{project}/sweeps/zzzzzzzz").status_code == 404
    assert admin.post(f"{base}/runs/nosuchrun/stop").status_code == 404
    listed = admin.get(f"/projects/local/{project}/sweeps").json()["sweeps"]
    assert [s["id"] for s in listed] == [base.rsplit("/", 1)[1]]
    assert users["bob"].post(base + "/next", json={}).status_code in (403, 404)
