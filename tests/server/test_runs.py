"""Runs: upsert semantics (resume, fork, rewind), edits, delete, listing, heartbeats."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from trackwell_server.testing import start_server

from .conftest import Client, unique


def steps_of(admin: Client, path: str, **params: object) -> list[int]:
    return [
        r["_step"]
        for r in admin.get(f"/runs/{path}/history", params={"page_size": 10000, **params}).json()["rows"]
    ]


def test_upsert_creates_then_updates(admin: Client) -> None:
    path = f"local/{unique()}/run-a"
    first = admin.put(
        f"/runs/{path}", json={"name": "a", "tags": ["x"], "config": {"lr": 0.1}, "start_time": 1e9}
    )
    assert first.status_code == 201
    info = first.json()
    assert info["state"] == "running" and info["last_step"] == -1 and info["created_at"] == 1e9
    assert info["url"].endswith(f"/{path.replace('/run-a', '/runs/run-a')}")
    again = admin.put(f"/runs/{path}", json={"name": "a2", "config": {"lr": 0.5, "new": 1}})
    assert again.status_code == 200
    # the resent upsert does not overwrite config values that exist (they may have changed since)
    assert again.json()["config"] == {"lr": 0.1, "new": 1}
    assert again.json()["name"] == "a2" and again.json()["tags"] == ["x"]
    project = admin.get(f"/projects/{path.rsplit('/', 1)[0]}").json()
    assert project["run_count"] == 1 and project["visibility"] == "private"


def test_resume_modes(admin: Client) -> None:
    base = f"local/{unique()}"
    assert admin.put(f"/runs/{base}/r", json={"resume": "must"}).status_code == 404
    assert admin.put(f"/runs/{base}/r", json={"resume": "never"}).status_code == 201
    assert admin.put(f"/runs/{base}/r", json={"resume": "never"}).status_code == 409
    admin.ingest(f"{base}/r", "s", 0, [["exit", 0, {"exit_code": 0, "state": "finished"}]])
    assert admin.get(f"/runs/{base}/r").json()["state"] == "finished"
    resumed = admin.put(f"/runs/{base}/r", json={"resume": "allow"})
    assert resumed.status_code == 200 and resumed.json()["state"] == "running"
    assert resumed.json()["exit_code"] is None
    assert admin.put(f"/runs/{base}/r", json={"resume": "must"}).status_code == 200
    assert admin.put(f"/runs/{base}/r", json={"resume": "sometimes"}).status_code == 422


def test_fork_copies_history_up_to_the_step(admin: Client) -> None:
    base = f"local/{unique()}"
    admin.put(f"/runs/{base}/parent", json={"config": {"lr": 0.1, "bs": 8}})
    admin.ingest(f"{base}/parent", "s", 0, [["metric", 0, {"name": "loss", "summary": "min"}]])
    admin.log_rows(f"{base}/parent", [{"_step": s, "loss": 10.0 - s} for s in range(10)], first_seq=1)
    fork = admin.put(
        f"/runs/{base}/child", json={"fork_from": {"run_id": "parent", "step": 4}, "config": {"bs": 16}}
    )
    assert fork.status_code == 201, fork.text
    info = fork.json()
    assert info["fork_of"] == {"run_id": "parent", "step": 4}
    assert info["config"] == {"lr": 0.1, "bs": 16}
    assert info["last_step"] == 4
    assert info["summary"]["loss"] == {"min": 6.0}
    assert steps_of(admin, f"{base}/child") == [0, 1, 2, 3, 4]
    cols = admin.get(f"/runs/{base}/child/history/columns", params={"keys": "loss"}).json()
    assert cols == {"_step": [0, 1, 2, 3, 4], "loss": [10.0, 9.0, 8.0, 7.0, 6.0]}
    assert steps_of(admin, f"{base}/parent") == list(range(10))  # the parent is untouched
    again = admin.put(f"/runs/{base}/child", json={"fork_from": {"run_id": "parent", "step": 4}})
    assert again.status_code == 409
    missing = admin.put(f"/runs/{base}/c2", json={"fork_from": {"run_id": "nope", "step": 1}})
    assert missing.status_code == 404


def test_rewind_archives_history_after_the_step(admin: Client) -> None:
    path = f"local/{unique()}/r"
    admin.put(f"/runs/{path}", json={})
    admin.log_rows(path, [{"_step": s, "loss": float(s)} for s in range(10)])
    rewound = admin.put(f"/runs/{path}", json={"resume": "allow", "resume_from": {"step": 5}})
    assert rewound.status_code == 200
    info = rewound.json()
    assert info["last_step"] == 5
    assert info["summary"]["loss"] == 5.0
    assert [(r["id"], r["step"]) for r in info["rewinds"]] == [(1, 5)]
    assert steps_of(admin, path) == [0, 1, 2, 3, 4, 5]
    assert steps_of(admin, path, rewind=1) == [6, 7, 8, 9]
    archived = admin.get(f"/runs/{path}/history/columns", params={"rewind": 1, "keys": "loss"}).json()
    assert archived["loss"] == [6.0, 7.0, 8.0, 9.0]
    # the sender re-sends the same upsert after a reconnect: nothing more is archived
    admin.log_rows(path, [{"_step": 6, "loss": 60.0}], stream="s2")
    assert (
        admin.put(f"/runs/{path}", json={"resume": "allow", "resume_from": {"step": 5}}).json()["last_step"]
        == 6
    )
    assert steps_of(admin, path) == [0, 1, 2, 3, 4, 5, 6]
    assert admin.get(f"/runs/{path}/history", params={"rewind": 9}).status_code == 404


def test_patch_and_delete(admin: Client, run_path: str) -> None:
    admin.log_rows(run_path, [{"_step": 0, "loss": 1.0}])
    resp = admin.patch(f"/runs/{run_path}", json={"display_name": "nice", "tags": ["t"], "notes": "hi",
                                                   "config": {"only": 1}, "summary": {"loss": 0.5, "extra": 2}})  # fmt: skip
    assert resp.status_code == 200, resp.text
    info = resp.json()
    assert info["name"] == "nice" and info["tags"] == ["t"] and info["notes"] == "hi"
    assert info["config"] == {"only": 1}
    assert info["summary"] == {"loss": 0.5, "extra": 2}
    assert admin.patch(f"/runs/{run_path}", json={"state": "exploded"}).status_code == 422
    assert admin.patch(f"/runs/{run_path}", json={"bogus": 1}).status_code == 422
    # later rows fold into the edited summary
    admin.log_rows(run_path, [{"_step": 1, "loss": 0.25}], first_seq=1)
    assert admin.get(f"/runs/{run_path}").json()["summary"] == {"loss": 0.25, "extra": 2, "_step": 1}
    assert admin.delete(f"/runs/{run_path}").status_code == 204
    assert admin.get(f"/runs/{run_path}").status_code == 404
    assert admin.get(f"/runs/{run_path}/history").status_code == 404


def test_list_filters_order_and_pages(admin: Client) -> None:
    project = f"local/{unique()}"
    for i in range(7):
        admin.put(f"/runs/{project}/run{i}", json={"config": {"lr": i / 10, "opt": "adam" if i % 2 else "sgd"},
                                                   "tags": ["even"] if i % 2 == 0 else [], "start_time": 1e9 + i})  # fmt: skip
        admin.log_rows(f"{project}/run{i}", [{"_step": 0, "acc": (i * 37) % 11}])
    listed = admin.get(f"/runs/{project}").json()
    assert listed["total"] == 7
    assert [r["id"] for r in listed["runs"]] == [f"run{i}" for i in reversed(range(7))]  # -created_at
    adam = admin.get(
        f"/runs/{project}", params={"filters": '{"config.opt": "adam"}', "order": "+config.lr"}
    ).json()
    assert [r["id"] for r in adam["runs"]] == ["run1", "run3", "run5"]
    query = '{"$and": [{"config.lr": {"$gte": 0.2}}, {"tags": "even"}]}'
    even = admin.get(f"/runs/{project}", params={"filters": query, "order": "-summary_metrics.acc"}).json()
    accs = [r["summary"]["acc"] for r in even["runs"]]
    assert accs == sorted(accs, reverse=True) and {r["id"] for r in even["runs"]} == {"run2", "run4", "run6"}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"per_page": 3, "order": "+created_at", **({"cursor": cursor} if cursor else {})}
        page = admin.get(f"/runs/{project}", params=params).json()
        seen += [r["id"] for r in page["runs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"run{i}" for i in range(7)]
    for bad in ({"filters": "{not json"}, {"filters": "[1]"}, {"order": "bogus_field"}, {"per_page": 0},
                {"cursor": "x"}, {"filters": '{"state": {"$regex": "("}}'}):  # fmt: skip
        resp = admin.get(f"/runs/{project}", params=bad)
        assert resp.status_code == 422, (bad, resp.text)
        assert resp.json()["error"]["code"] == "invalid"


def test_heartbeat_keeps_a_run_alive_and_silence_crashes_it(tmp_path: Path) -> None:
    with start_server(tmp_path, heartbeat_timeout=1.0, crash_check_interval=0.1) as server:
        admin = Client(server, server.admin_key)
        admin.put("/runs/local/p/quiet", json={})
        admin.put("/runs/local/p/alive", json={})
        deadline = time.monotonic() + 20
        while admin.get("/runs/local/p/quiet").json()["state"] != "crashed":
            assert admin.post("/runs/local/p/alive/heartbeat").json() == {"state": "running"}
            assert time.monotonic() < deadline, "the silent run was never marked crashed"
            time.sleep(0.1)
        assert admin.get("/runs/local/p/alive").json()["state"] == "running"
        # a crashed run that speaks again is alive after all
        admin.log_rows("local/p/quiet", [{"_step": 0, "x": 1.0}])
        assert admin.get("/runs/local/p/quiet").json()["state"] == "running"


@pytest.mark.parametrize("path", ["local/p/-bad", "local/p/a%2Fb", "local/../etc", "local/p/" + "x" * 129])
def test_invalid_names_are_422(admin: Client, path: str) -> None:
    resp = admin.put(f"/runs/{path}", json={})
    assert resp.status_code in (404, 422), resp.text
    assert resp.json()["error"]["code"] in ("invalid", "not_found")


def test_concurrent_upserts_create_one_run(admin: Client) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = f"local/{unique()}/same"
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: admin.put(f"/runs/{path}", json={"name": "x"}).status_code, range(8)))
    assert sorted(codes) == [200] * 7 + [201]
    assert admin.get(f"/runs/{path.rsplit('/', 1)[0]}").json()["total"] == 1
