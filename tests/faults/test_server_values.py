"""Values the server cannot store: the same clear answer on SQLite and PostgreSQL, never a 500.

A record that cannot be stored (a step past 64 bits, a NUL in a key, a value over the
limit, a key past the run's key limit) is refused alone: the answer lists its seq and
why, the rest of the batch is stored, and the run keeps a trace of the refusal. Text
that UTF-8 cannot hold (JSON's lone surrogates) is stored escaped, as the SDK does.
Raw HTTP against a real server process, on both backends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import msgpack
import pytest

import trackwell
from trackwell import limits

from .conftest import Client, ServerProcess, unique


@pytest.fixture
def user(shared_server: ServerProcess, tmp_path: Path) -> Client:
    return Client(shared_server, tmp_path / "client")


def api(user: Client) -> httpx.Client:
    return httpx.Client(
        base_url=f"{user.server.url}/api/v1", headers={"Authorization": f"Bearer {user.key}"}, timeout=60
    )


def new_run(user: Client) -> str:
    path = f"{user.entity}/{unique('p')}/r1"
    with api(user) as http:
        assert http.put(f"/runs/{path}", json={}).status_code == 201
    return path


def post(user: Client, path: str, records: list[Any], first_seq: int = 0, as_json: bool = False) -> httpx.Response:
    body = {"stream": "s", "first_seq": first_seq, "records": records}
    with api(user) as http:
        if as_json:  # hand-written JSON: json.dumps would refuse nothing, but keep it literal
            data = json.dumps(body).encode()
            return http.post(f"/runs/{path}/ingest", content=data, headers={"Content-Type": "application/json"})
        return http.post(
            f"/runs/{path}/ingest",
            content=msgpack.packb(body, use_bin_type=True),
            headers={"Content-Type": "application/x-msgpack"},
        )


def rows(user: Client, path: str) -> list[dict[str, Any]]:
    with api(user) as http:
        resp = http.get(f"/runs/{path}/history")
        assert resp.status_code == 200, resp.text
        return [{k: v for k, v in r.items() if not k.startswith("_") or k == "_step"} for r in resp.json()["rows"]]


def the_run(user: Client, path: str) -> dict[str, Any]:
    with api(user) as http:
        info: dict[str, Any] = http.get(f"/runs/{path}").json()
        return info


def good(seq: int, step: int) -> list[Any]:
    return ["history", seq, {"_step": step, "ok": float(step)}]


@pytest.mark.parametrize("as_json", [False, True], ids=["msgpack", "json"])
def test_a_step_past_64_bits_is_refused_alone(user: Client, as_json: bool) -> None:
    path = new_run(user)
    resp = post(user, path, [good(0, 0), ["history", 1, {"_step": 2**63, "far": 1.0}], good(2, 1)], as_json=as_json)
    assert resp.status_code == 200, resp.text
    assert resp.json()["last_seq"] == 2
    (refused,) = resp.json()["refused"]
    assert refused["seq"] == 1 and refused["kind"] == "history" and "64-bit" in refused["reason"]
    assert rows(user, path) == [{"_step": 0, "ok": 0.0}, {"_step": 1, "ok": 1.0}]
    assert the_run(user, path)["last_step"] == 1


def test_a_nul_in_a_key_is_refused_alike_on_both_backends(user: Client) -> None:
    path = new_run(user)
    resp = post(user, path, [good(0, 0), ["history", 1, {"_step": 1, "a\x00b": 1.0}], good(2, 2)])
    assert resp.status_code == 200, resp.text
    (refused,) = resp.json()["refused"]
    assert refused["seq"] == 1 and refused["key"] == "a\x00b" and "NUL" in refused["reason"]
    assert [r["_step"] for r in rows(user, path)] == [0, 2]
    trace = the_run(user, path)["refused"]
    assert trace["count"] == 1 and trace["last"][0]["seq"] == 1 and trace["last"][0]["stream"] == "s"


def test_json_lone_surrogates_are_stored_escaped(user: Client) -> None:
    path = new_run(user)
    records = [
        ["run", 0, {"name": "run-\ud800", "notes": "n\ud800"}],
        ["config", 1, {"update": {"file\udc80": "w-\udc80.pt"}}],
        ["history", 2, {"_step": 0, "text": "\ud800", "k\udc80": 1.0, "list": ["\ud800"]}],
    ]
    resp = post(user, path, records, as_json=True)
    assert resp.status_code == 200, resp.text
    assert "refused" not in resp.json()
    run = the_run(user, path)
    assert run["name"] == "run-\\ud800" and run["notes"] == "n\\ud800"
    assert run["config"]["file\\udc80"] == "w-\\udc80.pt"
    assert rows(user, path) == [{"_step": 0, "text": "\\ud800", "k\\udc80": 1.0, "list": ["\\ud800"]}]


def test_json_integers_past_64_bits_are_stored_as_floats(user: Client) -> None:
    path = new_run(user)
    data = b'{"stream": "s", "first_seq": 0, "records": [["history", 0, {"_step": 0, "big": 1' + b"0" * 400 + b"}]]}"
    with api(user) as http:
        resp = http.post(f"/runs/{path}/ingest", content=data, headers={"Content-Type": "application/json"})
    assert resp.status_code == 200, resp.text
    assert rows(user, path)[0]["big"] in (float("inf"), "Infinity", "inf")  # JSON has no inf token


def test_values_and_keys_over_the_limits_are_refused_one_record_at_a_time(user: Client) -> None:
    path = new_run(user)
    lim = limits.DEFAULTS
    records = [
        good(0, 0),
        ["history", 1, {"_step": 1, "big": "x" * (lim.max_value_bytes + 1)}],
        ["history", 2, {"_step": 2, "rows": [[1.0] * 1000] * 200}],  # a list of lists: its whole encoding counts
        ["history", 3, {"_step": 3, "wide": {f"f{i}": 1.0 for i in range(lim.max_keys + 1)}}],
        ["history", 4, {"_step": 4, "k" * (lim.max_key_chars + 1): 1.0}],
        ["history", 5, {"_step": 5, "": 1.0}],
        good(6, 6),
    ]
    resp = post(user, path, records)
    assert resp.status_code == 200, resp.text
    assert resp.json()["last_seq"] == 6
    refused = {r["seq"]: r for r in resp.json()["refused"]}
    assert sorted(refused) == [1, 2, 3, 4, 5]
    assert refused[1]["key"] == "big" and refused[2]["key"] == "rows" and refused[3]["key"].startswith("wide.")
    assert [r["_step"] for r in rows(user, path)] == [0, 6]
    run = the_run(user, path)
    assert run["refused"]["count"] == 5 and len(run["refused"]["last"]) == 5
    assert run["last_step"] == 6 and run["history_keys"] == ["ok"]


def test_seqs_may_skip_and_records_already_held_are_not_refused_again(user: Client) -> None:
    path = new_run(user)
    assert post(user, path, [good(0, 0), ["history", 1, {"_step": 1, "": 1}]]).json()["last_seq"] == 1
    again = post(user, path, [good(0, 0), ["history", 1, {"_step": 1, "": 1}], good(5, 2)])
    assert again.json() == {"last_seq": 5}
    assert the_run(user, path)["refused"]["count"] == 1
    gap = post(user, path, [good(9, 3)], first_seq=7)
    assert gap.status_code == 409 and gap.json()["last_seq"] == 5


def test_a_stream_name_with_a_nul_is_a_422(user: Client) -> None:
    path = new_run(user)
    with api(user) as http:
        resp = http.post(f"/runs/{path}/ingest", json={"stream": "a\x00", "first_seq": 0, "records": []})
    assert resp.status_code == 422


def test_the_server_publishes_its_limits_without_a_key(shared_server: ServerProcess) -> None:
    resp = httpx.get(f"{shared_server.url}/api/v1/limits", timeout=30)
    assert resp.status_code == 200
    assert resp.json() == limits.DEFAULTS.as_dict()


def test_a_run_logging_what_the_server_refuses_warns_and_still_finishes(user: Client) -> None:
    """Item 3 end to end: an online run; the SDK refuses at log() what the server would."""
    out = user.run(
        """
        import warnings, trackwell
        warnings.simplefilter("always")
        run = trackwell.init(project="lim", id="r1")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run.log({"loss": 0.5})
            run.log({f"k{i}": 1.0 for i in range(10_001)})
            run.log({"d": {f"f{i}": 1.0 for i in range(20_000)}})
            run.log({"grid": [[0.5] * 1000] * 2300})
            run.log({"texts": ["t" * 2_700_000]})
            run.log({"loss": 0.25})
            run.finish()
        print(sum(issubclass(w.category, trackwell.errors.DataDroppedWarning) for w in caught))
        """
    )
    assert int(out.strip().splitlines()[-1]) >= 4
    info = user.server_run("lim", "r1")
    assert info["state"] == "finished"
    assert info["refused"]["count"] == 0, "the SDK refused them first: the server had nothing to refuse"
    assert [r["loss"] for r in user.server_rows("lim", "r1") if "loss" in r] == [0.5, 0.25]
    assert trackwell is not None


def test_a_refused_row_between_other_records_leaves_every_other_row_readable(user: Client) -> None:
    path = new_run(user)
    records = [
        good(0, 0),
        ["config", 1, {"update": {"lr": 0.1}}],
        ["history", 2, {"_step": 1, "ok": 1.0, "text": "a"}],
        ["history", 3, {"_step": 2, "bad\x00": 1.0}],
        ["stats", 4, {"system/cpu": 1.0, "_timestamp": 1e9}],
        ["history", 5, {"_step": 3, "ok": 3.0, "text": "b"}],
    ]
    resp = post(user, path, records)
    assert resp.status_code == 200 and [r["seq"] for r in resp.json()["refused"]] == [3]
    assert rows(user, path) == [
        {"_step": 0, "ok": 0.0},
        {"_step": 1, "ok": 1.0, "text": "a"},
        {"_step": 3, "ok": 3.0, "text": "b"},
    ]
    with api(user) as http:
        series = http.get(f"/runs/{path}/history", params={"keys": "ok"}).json()["rows"]
    assert [r["ok"] for r in series] == [0.0, 1.0, 3.0]
    run = the_run(user, path)
    assert run["config"] == {"lr": 0.1} and run["summary"]["ok"] == 3.0 and run["history_keys"] == ["ok", "text"]


def test_an_online_run_with_bad_values_uploads_every_other_row(user: Client) -> None:
    """Item 2 online: the bad values cost nothing else, locally or on the server."""
    user.run(
        """
        import os, warnings, trackwell
        warnings.simplefilter("ignore")
        run = trackwell.init(project="bad", id="r1", config={"lr": 0.1})
        for i in range(100):
            run.log({"x": i})
        run.log({"": 1.0})
        run.log({"file": os.fsdecode(b"w-\\x80.pt")})
        run.log({"far": 1.0}, step=2**63)
        for i in range(5):
            run.log({"y": i})
        run.finish()
        """
    )
    info = user.server_run("bad", "r1")
    assert info["state"] == "finished" and info["config"] == {"lr": 0.1}
    got = user.server_rows("bad", "r1")
    assert [r["x"] for r in got if "x" in r] == list(range(100))
    assert [r["y"] for r in got if "y" in r] == list(range(5))
    assert [r["file"] for r in got if "file" in r] == ["w-\\udc80.pt"]
    assert info["refused"]["count"] == 0
