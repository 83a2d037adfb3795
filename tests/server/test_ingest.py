"""Ingest: exactly once per (stream, seq), gaps answered with 409, what each record kind does."""

from __future__ import annotations

import math

import msgpack

from .conftest import Client


def rows(start: int, n: int) -> list[dict[str, float | int]]:
    return [
        {"_step": s, "_timestamp": 1e9 + s, "_runtime": float(s), "loss": 1.0 / (s + 1)}
        for s in range(start, start + n)
    ]


def history_steps(admin: Client, run_path: str) -> list[int]:
    resp = admin.get(f"/runs/{run_path}/history", params={"page_size": 10000})
    assert resp.status_code == 200
    return [row["_step"] for row in resp.json()["rows"]]


def test_resend_stores_nothing_twice(admin: Client, run_path: str) -> None:
    records = [["history", i, row] for i, row in enumerate(rows(0, 10))]
    assert admin.ingest(run_path, "s", 0, records).json() == {"last_seq": 9}
    assert admin.ingest(run_path, "s", 0, records).json() == {"last_seq": 9}
    assert history_steps(admin, run_path) == list(range(10))


def test_overlap_stores_only_the_new_records(admin: Client, run_path: str) -> None:
    all_records = [["history", i, row] for i, row in enumerate(rows(0, 20))]
    assert admin.ingest(run_path, "s", 0, all_records[:12]).json() == {"last_seq": 11}
    assert admin.ingest(run_path, "s", 5, all_records[5:]).json() == {"last_seq": 19}
    assert history_steps(admin, run_path) == list(range(20))
    info = admin.get(f"/runs/{run_path}").json()
    assert info["streams"] == {"s": 19}
    assert info["last_step"] == 19


def test_gap_is_409_with_the_last_seq_held(admin: Client, run_path: str) -> None:
    records = [["history", i, row] for i, row in enumerate(rows(0, 5))]
    admin.ingest(run_path, "s", 0, records)
    resp = admin.ingest(run_path, "s", 7, [["history", 7, rows(7, 1)[0]]])
    assert resp.status_code == 409
    body = resp.json()
    assert body["error"]["code"] == "sequence_gap"
    assert body["last_seq"] == 4
    assert admin.get(f"/runs/{run_path}/streams/s").json() == {"last_seq": 4}
    assert admin.get(f"/runs/{run_path}/streams/other").json() == {"last_seq": -1}


def test_streams_are_independent(admin: Client, run_path: str) -> None:
    admin.log_rows(run_path, rows(0, 3), stream="a")
    admin.log_rows(run_path, rows(3, 3), stream="b")
    assert admin.get(f"/runs/{run_path}").json()["streams"] == {"a": 2, "b": 2}


def test_bad_batches_are_422(admin: Client, run_path: str) -> None:
    url = f"/runs/{run_path}/ingest"
    assert (
        admin.post(url, content=b"\xc1garbage", headers={"Content-Type": "application/x-msgpack"}).status_code
        == 422
    )
    assert admin.post(url, json={"stream": "s", "first_seq": -1, "records": []}).status_code == 422
    # seqs may skip (records a corrupt log lost) but must increase strictly from first_seq
    for records in ([["history", 3, {}], ["history", 2, {}]], [["history", 1, {}], ["history", 1, {}]]):
        assert admin.post(url, json={"stream": "s", "first_seq": 0, "records": records}).status_code == 422
    assert admin.post(url, json={"stream": "s", "first_seq": 3, "records": [["history", 1, {}]]}).status_code == 422
    # a record whose seq cannot be told fails the batch; one whose seq can is refused alone
    assert admin.post(url, json={"stream": "s", "first_seq": 0, "records": [[1, "x"]]}).status_code == 422
    resp = admin.post(url, json={"stream": "s", "first_seq": 0, "records": [[1, 2], ["history", 3, {"_step": 0}]]})
    assert resp.status_code == 200 and resp.json()["last_seq"] == 3
    assert [(r["seq"], r["kind"]) for r in resp.json()["refused"]] == [(2, "1")]
    assert admin.post(url, json=[1, 2]).status_code == 422
    resp = admin.post(
        "/runs/local/nope-project/r/ingest", json={"stream": "s", "first_seq": 0, "records": []}
    )
    assert resp.status_code == 404


def test_record_kinds_shape_the_run(admin: Client, run_path: str) -> None:
    records = [
        [
            "run",
            0,
            {
                "id": "r1",
                "name": "renamed",
                "tags": ["a", "b"],
                "group": "g",
                "job_type": "train",
                "notes": "n",
            },
        ],
        ["meta", 1, {"host": "h", "python": "3.11"}],
        ["config", 2, {"update": {"batch": 32, "lr": 0.2}, "remove": []}],
        ["metric", 3, {"name": "loss", "summary": ["min"], "goal": "minimize"}],
        ["history", 4, {"_step": 0, "loss": 3.0, "acc": 0.1}],
        ["history", 5, {"_step": 1, "loss": 1.0, "acc": 0.5, "nested": {"a": 1, "b": {"c": 2}}}],
        ["history", 6, {"_step": 2, "loss": 2.0, "acc": float("nan"), "text": "hello"}],
        ["stats", 7, {"system/cpu": 12.5, "_timestamp": 1e9, "_runtime": 1.0}],
        ["alert", 8, {"title": "t", "text": "x", "level": "WARN", "_timestamp": 1e9}],
        ["summary", 9, {"update": {"best_note": "ok"}, "remove": []}],
        ["files", 10, {"paths": ["a.txt"], "policy": "now"}],
        ["future_kind", 11, {"whatever": 1}],
        ["exit", 12, {"exit_code": 0, "state": "finished", "runtime": 9.5, "_timestamp": 1e9 + 10}],
    ]
    assert admin.ingest(run_path, "s", 0, records).json() == {"last_seq": 12}
    info = admin.get(f"/runs/{run_path}").json()
    assert info["name"] == info["display_name"] == "renamed"
    assert info["tags"] == ["a", "b"] and info["group"] == "g" and info["job_type"] == "train"
    assert info["metadata"]["host"] == "h"
    assert info["config"] == {"lr": 0.2, "batch": 32}
    assert info["summary"]["loss"] == {"min": 1.0}
    assert info["summary"]["acc"] == "NaN"
    assert info["summary"]["best_note"] == "ok"
    assert info["state"] == "finished" and info["exit_code"] == 0 and info["runtime"] == 9.5
    assert info["last_step"] == 2
    assert {"loss", "acc", "nested.a", "nested.b.c", "text"} <= set(info["history_keys"])
    scan = admin.get(f"/runs/{run_path}/history").json()["rows"]
    assert scan[1]["nested.b.c"] == 2 and scan[2]["text"] == "hello"
    packed = admin.get(f"/runs/{run_path}/history", headers={"Accept": "application/x-msgpack"})
    assert math.isnan(msgpack.unpackb(packed.content)["rows"][2]["acc"])
    system = admin.get(f"/runs/{run_path}/system").json()["rows"]
    assert system == [{"system/cpu": 12.5, "_timestamp": 1e9, "_runtime": 1.0}]


def test_final_summary_wins(admin: Client, run_path: str) -> None:
    records = [
        ["history", 0, {"_step": 0, "loss": 3.0}],
        ["final_summary", 1, {"loss": 2.5, "extra": 1}],
        ["exit", 2, {"exit_code": 1, "state": "failed"}],
    ]
    admin.ingest(run_path, "s", 0, records)
    info = admin.get(f"/runs/{run_path}").json()
    assert info["summary"] == {"loss": 2.5, "extra": 1}
    assert info["state"] == "failed" and info["exit_code"] == 1


def test_summary_continues_across_batches(admin: Client, run_path: str) -> None:
    admin.ingest(run_path, "s", 0, [["metric", 0, {"name": "acc", "summary": "max,mean"}]])
    admin.log_rows(run_path, [{"_step": 0, "acc": 0.5}, {"_step": 1, "acc": 0.9}], first_seq=1)
    admin.log_rows(run_path, [{"_step": 2, "acc": 0.1}], first_seq=3)
    assert admin.get(f"/runs/{run_path}").json()["summary"]["acc"] == {"max": 0.9, "mean": 0.5}


def test_malformed_records_are_skipped_not_500(admin: Client, run_path: str) -> None:
    records = [
        ["summary", 0, {"update": [1, 2], "remove": [[1]]}],
        ["config", 1, {"update": {"ok": 1}, "remove": [[1]]}],
        ["metric", 2, {"name": "x", "summary": [1, 2]}],
        ["history", 3, {"_step": 0, "huge": 2**70, "x": 1.0}],
        ["exit", 4, {"exit_code": 2**40, "state": "weird"}],
        ["run", 5, "not a dict"],
    ]
    resp = admin.post(f"/runs/{run_path}/ingest", json={"stream": "s", "first_seq": 0, "records": records})
    assert resp.status_code == 200, resp.text
    info = admin.get(f"/runs/{run_path}").json()
    assert info["summary"]["huge"] == 2**70 and info["config"]["ok"] == 1
    assert info["state"] == "finished" and info["exit_code"] is None
    packed = msgpack.packb(
        {"stream": "s2", "first_seq": 0, "records": [["history", 0, {"_step": 0, 7: 1.5}]]}
    )
    resp = admin.post(
        f"/runs/{run_path}/ingest", content=packed, headers={"Content-Type": "application/x-msgpack"}
    )
    assert resp.status_code == 200
    assert admin.get(f"/runs/{run_path}/history/columns", params={"keys": "7"}).json()["7"] == [1.5]


def test_summary_without_rules_is_each_keys_last_value(admin: Client, run_path: str) -> None:
    admin.log_rows(run_path, [{"_step": 0, "a": 1, "b": "x"}, {"_step": 1, "a": 2}, {"c": 3.5}])
    summary = admin.get(f"/runs/{run_path}").json()["summary"]
    assert summary == {"_step": 2, "a": 2, "b": "x", "c": 3.5}


def test_nul_characters_never_make_a_run_unstorable(admin: Client, run_path: str) -> None:
    """PostgreSQL cannot store NUL in text: names lose the character, the data all arrives."""
    records = [
        ["run", 0, {"name": "a\x00b", "notes": "n\x00", "tags": ["t\x00"]}],
        ["config", 1, {"update": {"k\x00": "x\x00y"}}],
        ["history", 2, {"_step": 0, "text": "v\x00", "x": 1.0}],
    ]
    assert admin.ingest(run_path, "s-nul", 0, records).json() == {"last_seq": 2}
    info = admin.get(f"/runs/{run_path}").json()
    assert (info["name"], info["notes"], info["tags"]) == ("ab", "n", ["t\x00"])
    assert info["config"]["k\x00"] == "x\x00y"  # JSON documents keep it, escaped
    rows = admin.get(f"/runs/{run_path}/history").json()["rows"]
    assert [(r["_step"], r["x"], r["text"]) for r in rows] == [(0, 1.0, "v\x00")]
