"""History reads: sampling keeps peaks, columns for DataFrames, paged scans, small-batch chunking."""

from __future__ import annotations

import math

import msgpack
import numpy as np

from .conftest import Client


def log_series(admin: Client, path: str, values: np.ndarray, batch: int = 5000) -> None:
    seq = 0
    for start in range(0, len(values), batch):
        chunk = values[start : start + batch]
        rows = [{"_step": start + i, "y": float(v), "z": float(-v)} for i, v in enumerate(chunk)]
        admin.log_rows(path, rows, first_seq=seq)
        seq += len(rows)


def test_samples_keep_the_peaks(admin: Client, run_path: str) -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=20_000)
    values[12_345] = 50.0  # a spike that plain every-nth sampling would miss
    values[777] = -40.0
    log_series(admin, run_path, values)
    resp = admin.get(f"/runs/{run_path}/history", params={"keys": "y", "samples": 100})
    rows = resp.json()["rows"]
    assert 50 <= len(rows) <= 102
    ys = {r["_step"]: r["y"] for r in rows}
    assert ys[12_345] == 50.0 and ys[777] == -40.0
    assert 0 in ys and 19_999 in ys
    assert [r["_step"] for r in rows] == sorted(r["_step"] for r in rows)
    assert all(set(r) == {"_step", "y"} for r in rows)
    both = admin.get(f"/runs/{run_path}/history", params={"keys": "y,z", "samples": 100}).json()["rows"]
    assert all(r["z"] == -r["y"] for r in both)
    ranged = admin.get(f"/runs/{run_path}/history", params={"keys": "y", "samples": 10, "min_step": 100,
                                                            "max_step": 199}).json()["rows"]  # fmt: skip
    assert all(100 <= r["_step"] <= 199 for r in ranged) and len(ranged) <= 12


def test_columns_msgpack_and_json(admin: Client, run_path: str) -> None:
    rows = [{"_step": s, "a": float(s)} for s in range(10)] + [{"_step": 10, "b": 5}]
    rows[3]["a"] = float("inf")
    admin.log_rows(run_path, rows)
    packed = admin.get(f"/runs/{run_path}/history/columns", params={"keys": "a,b"},
                       headers={"Accept": "application/x-msgpack"})  # fmt: skip
    assert packed.headers["content-type"] == "application/x-msgpack"
    cols = msgpack.unpackb(packed.content)
    steps = np.frombuffer(cols["_step"], "<i8")
    a, b = np.frombuffer(cols["a"], "<f8"), np.frombuffer(cols["b"], "<f8")
    assert steps.tolist() == list(range(11))
    assert math.isinf(a[3]) and math.isnan(a[10]) and b[10] == 5.0 and np.isnan(b[:10]).all()
    as_json = admin.get(f"/runs/{run_path}/history/columns", params={"keys": "b", "min_step": 9}).json()
    assert as_json == {"_step": [10], "b": [5.0]}
    default = admin.get(f"/runs/{run_path}/history/columns").json()
    assert {"_step", "a", "b"} <= set(default)
    assert admin.get(f"/runs/{run_path}/history/columns", params={"keys": "missing"}).json() == {"_step": []}


def test_scan_pages_with_a_cursor(admin: Client, run_path: str) -> None:
    admin.log_rows(run_path, [{"_step": s, "x": s, "label": f"s{s}"} for s in range(25)])
    seen, cursor = [], None
    while True:
        params: dict[str, object] = {"page_size": 10}
        if cursor:
            params["cursor"] = cursor
        page = admin.get(f"/runs/{run_path}/history", params=params).json()
        seen += page["rows"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [r["_step"] for r in seen] == list(range(25))
    assert seen[7]["label"] == "s7" and seen[7]["x"] == 7
    only = admin.get(f"/runs/{run_path}/history", params={"keys": "label", "min_step": 20}).json()["rows"]
    assert only == [{"label": f"s{s}", "_step": s} for s in range(20, 25)]
    texts = admin.get(f"/runs/{run_path}/history", params={"keys": "label", "samples": 5}).json()["rows"]
    assert 1 <= len(texts) <= 5 and all("label" in r for r in texts)
    assert admin.get(f"/runs/{run_path}/history", params={"cursor": "abc"}).status_code == 422


def test_small_batches_are_merged_into_chunks(admin: Client, run_path: str) -> None:
    seq = 0
    for start in range(0, 300, 3):  # a sender posting a few rows at a time
        seq = (
            admin.log_rows(
                run_path, [{"_step": s, "v": float(s)} for s in range(start, start + 3)], first_seq=seq
            )
            + 1
        )
    cols = admin.get(f"/runs/{run_path}/history/columns", params={"keys": "v"}).json()
    assert cols["_step"] == list(range(300)) and cols["v"] == [float(s) for s in range(300)]
    rows = admin.get(f"/runs/{run_path}/history", params={"page_size": 1000}).json()["rows"]
    assert [r["_step"] for r in rows] == list(range(300))


def test_system_metrics_sampled(admin: Client, run_path: str) -> None:
    records = [
        ["stats", i, {"system/cpu": float(i), "_timestamp": 1e9 + i, "_runtime": float(i)}] for i in range(50)
    ]
    admin.ingest(run_path, "s", 0, records)
    assert len(admin.get(f"/runs/{run_path}/system").json()["rows"]) == 50
    sampled = admin.get(f"/runs/{run_path}/system", params={"samples": 10}).json()["rows"]
    assert len(sampled) == 10 and sampled[0]["system/cpu"] == 0.0 and sampled[-1]["system/cpu"] == 49.0


def test_scan_rebuilds_rows_exactly(admin: Client, run_path: str) -> None:
    rows = [
        {"_step": 0, "epoch": 1, "loss": 0.5, "ok": True, "note": "a", "nothing": None},
        {"_step": 1, "epoch": 1, "loss": float("inf"), "mixed": 3},
        {"_step": 2},  # an empty row is still a row
        {"_step": 3, "mixed": "three", "deep": {"a": {"b": 2.5}}, "big": 2**40},
        {"_step": 4, "epoch": 2, "mixed": 4.5, "list": [1, 2]},
    ]
    admin.log_rows(run_path, [dict(r) for r in rows])
    packed = admin.get(f"/runs/{run_path}/history", headers={"Accept": "application/x-msgpack"}).content
    got = msgpack.unpackb(packed)["rows"]
    expected = [dict(r) for r in rows]
    expected[3] = {"_step": 3, "mixed": "three", "deep.a.b": 2.5, "big": 2**40}
    assert got == expected
    assert [type(r.get("epoch")) for r in got] == [int, int, type(None), type(None), int]
    # a key whose numbers mix ints and floats reads back as floats (as in a DataFrame column)
    assert type(got[4]["mixed"]) is float and type(got[1]["mixed"]) is float
    # a rewind inside the batch splits numbers and residual values alike
    admin.put(f"/runs/{run_path}", json={"resume_from": {"step": 1}})
    live = admin.get(f"/runs/{run_path}/history", headers={"Accept": "application/x-msgpack"}).content
    archived = admin.get(
        f"/runs/{run_path}/history", params={"rewind": 1}, headers={"Accept": "application/x-msgpack"}
    ).content
    assert msgpack.unpackb(live)["rows"] == expected[:2]
    assert msgpack.unpackb(archived)["rows"] == expected[2:]


def test_cached_series_follow_every_change(admin: Client, run_path: str) -> None:
    def column() -> list[float]:
        values: list[float] = admin.get(f"/runs/{run_path}/history/columns", params={"keys": "v"}).json()["v"]
        return values

    admin.log_rows(run_path, [{"_step": s, "v": float(s)} for s in range(6)])
    assert column() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]  # now cached
    admin.log_rows(run_path, [{"_step": 6, "v": 6.0}], first_seq=6)  # the tail chunk grows
    assert column()[-1] == 6.0
    admin.put(f"/runs/{run_path}", json={"resume_from": {"step": 2}})
    assert column() == [0.0, 1.0, 2.0]
    admin.log_rows(run_path, [{"_step": s, "v": -float(s)} for s in range(3, 7)], stream="after-rewind")
    assert column() == [0.0, 1.0, 2.0, -3.0, -4.0, -5.0, -6.0]  # same steps as before, new values
    admin.delete(f"/runs/{run_path}")
    admin.put(f"/runs/{run_path}", json={})
    admin.log_rows(run_path, [{"_step": s, "v": 10.0 + s} for s in range(6)])
    assert column() == [10.0, 11.0, 12.0, 13.0, 14.0, 15.0]


def test_two_streams_at_the_same_steps_read_back_as_one_row_per_step(admin: Client, run_path: str) -> None:
    """Shared mode: each process has its own stream; a step both wrote is one merged row."""
    admin.log_rows(
        run_path, [{"_step": s, "loss": float(s), "tag": f"a{s}"} for s in range(6)], stream="primary"
    )
    admin.log_rows(run_path, [{"_step": s, "rank_1/loss": -float(s)} for s in range(2, 9)], stream="rank_1")
    admin.log_rows(run_path, [{"_step": s, "rank_1/img": {"_type": "histogram", "values": [1.0], "bins": [0.0, 1.0]}}
                              for s in (3, 20)], stream="rank_1", first_seq=7)  # fmt: skip
    rows = admin.get(f"/runs/{run_path}/history", params={"page_size": 1000}).json()["rows"]
    assert [r["_step"] for r in rows] == [*range(9), 20]
    by_step = {r["_step"]: r for r in rows}
    assert by_step[3] == {
        "_step": 3, "loss": 3.0, "tag": "a3", "rank_1/loss": -3.0,
        "rank_1/img": {"_type": "histogram", "values": [1.0], "bins": [0.0, 1.0]},
    }  # fmt: skip
    assert by_step[0] == {"_step": 0, "loss": 0.0, "tag": "a0"} and by_step[8] == {
        "_step": 8,
        "rank_1/loss": -8.0,
    }
    seen, cursor = [], None  # pages cut inside the merged steps still yield each step once
    while True:
        params: dict[str, object] = {"page_size": 3, **({"cursor": cursor} if cursor else {})}
        page = admin.get(f"/runs/{run_path}/history", params=params).json()
        seen += page["rows"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == rows
