"""Limits: value size and metric count (the record refused alone), body size (413), rate limit (429),
JSON errors everywhere."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from trackwell_server.testing import ServerHandle, start_server

from .conftest import Client


def test_every_response_has_rate_limit_headers(server: ServerHandle, admin: Client) -> None:
    for resp in (admin.get("/viewer"), admin.get("/no/such/route"), httpx.get(f"{server.api_url}/viewer"),
                 httpx.get(f"{server.url}/openapi.json")):  # fmt: skip
        assert resp.headers["RateLimit-Limit"] == "1000"
        assert 0 <= int(resp.headers["RateLimit-Remaining"]) <= 1000
        assert int(resp.headers["RateLimit-Reset"]) >= 0
    unknown = admin.get("/no/such/route")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    wrong_method = admin.delete("/viewer")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()


def test_value_over_1mb_refuses_that_record_alone(admin: Client, run_path: str) -> None:
    records = [
        ["history", 0, {"_step": 0, "ok": 1.0}],
        ["history", 1, {"_step": 1, "blob": "x" * (1024 * 1024 + 1)}],
        ["history", 2, {"_step": 2, "ok": 2.0}],
    ]
    resp = admin.ingest(run_path, "s", 0, records)
    assert resp.status_code == 200 and resp.json()["last_seq"] == 2
    (refused,) = resp.json()["refused"]
    assert refused["seq"] == 1 and refused["key"] == "blob" and "limit" in refused["reason"]
    assert [r["ok"] for r in admin.get(f"/runs/{run_path}/history").json()["rows"]] == [1.0, 2.0]


def test_body_over_25mb_is_413(server: ServerHandle, admin: Client, run_path: str) -> None:
    big = b"x" * (25 * 1024 * 1024 + 1)
    resp = admin.put(f"/runs/{run_path}/files/big.bin", content=big)
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "too_large"

    def stream() -> Iterator[bytes]:  # no Content-Length: the cap applies while reading
        for _ in range(26):
            yield b"y" * (1024 * 1024)

    streamed = admin.put(f"/runs/{run_path}/files/big.bin", content=stream())
    assert streamed.status_code == 413
    lying = admin.post(
        f"/runs/{run_path}/ingest", content=stream(), headers={"Content-Type": "application/json"}
    )
    assert lying.status_code == 413
    assert admin.get(f"/runs/{run_path}/files").json()["files"] == []


def test_too_many_metrics_refuses_the_record_that_adds_them(tmp_path: Path) -> None:
    with start_server(tmp_path, max_metrics=5) as server:
        admin = Client(server, server.admin_key)
        admin.put("/runs/local/p/r", json={})
        ok = admin.ingest(
            "local/p/r", "s", 0, [["history", 0, {"_step": 0, **{f"k{i}": 1.0 for i in range(5)}}]]
        )
        assert ok.status_code == 200 and "refused" not in ok.json()
        resp = admin.ingest(
            "local/p/r", "s", 1, [["history", 1, {"_step": 1, "k9": 1.0}], ["history", 2, {"_step": 2, "k0": 2.0}]]
        )
        assert resp.status_code == 200 and resp.json()["last_seq"] == 2
        (refused,) = resp.json()["refused"]
        assert refused["seq"] == 1 and refused["key"] == "k9" and "max_metrics" in refused["reason"]
        run = admin.get("/runs/local/p/r").json()
        assert run["refused"]["count"] == 1 and run["refused"]["last"][0]["key"] == "k9"
        assert run["last_step"] == 2 and "k9" not in run["history_keys"]


def test_rate_limit_gives_429_with_retry_after(tmp_path: Path) -> None:
    with start_server(tmp_path, rate_limit=0.5, rate_burst=3) as server:
        client = Client(server, server.admin_key)
        statuses = [client.get("/viewer") for _ in range(5)]
        assert [r.status_code for r in statuses[:3]] == [200, 200, 200]
        limited = statuses[-1]
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.headers["RateLimit-Remaining"] == "0"
        # buckets are per key (or address without one): another caller is not limited
        assert httpx.get(f"{server.api_url}/health").status_code == 200


@pytest.mark.parametrize("body", [b"{", b'{"name": 5}', b"[]", b'{"tags": "x"}', b'{"start_time": "NaN"}'])
def test_bad_json_is_422_never_500(admin: Client, body: bytes) -> None:
    resp = admin.put("/runs/local/p/r-bad-json", content=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "invalid"


def test_raw_garbage_request_line(server: ServerHandle) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/api/v1/runs/%ZZ/%00/x")
    resp = conn.getresponse()
    assert resp.status in (400, 401, 404, 422)
    resp.read()
    conn.close()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/teams", {"name": "nul-team", "members": ["a\x00b"]}),  # found by schemathesis on PostgreSQL
        ("patch", "RUN", {"notes": "before\x00after"}),
        ("put", "RUN", {"name": "n\x00ame"}),
    ],
)
def test_nul_characters_are_422_or_stored_never_500(
    admin: Client, run_path: str, method: str, path: str, body: dict[str, Any]
) -> None:
    """PostgreSQL cannot store NUL in text; SQLite can. Either answer is fine, a 500 is not."""
    resp = getattr(admin, method)(f"/runs/{run_path}" if path == "RUN" else path, json=body)
    assert resp.status_code in (200, 201, 422), resp.text
    if resp.status_code == 422:
        assert resp.json()["error"]["code"] == "invalid"
