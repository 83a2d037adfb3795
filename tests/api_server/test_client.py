"""The Public API's request adapter on its own: 429 waits, NaN strings, and sharing between threads."""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest

from trackwell.api.remote_http import ServerClient, decode_floats, encode_floats
from trackwell.errors import CommError


def test_rate_limited_requests_wait_and_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    client = ServerClient("http://127.0.0.1:9", "key")
    answers: list[Any] = [
        CommError("slow down", status=429, retry_after=0.0),
        CommError("slow down", status=429, retry_after=0.0),
        {"ok": True},
    ]

    def get(path: str, params: Any = None) -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(client._transport, "get", get)
    assert client.get("/viewer") == {"ok": True} and answers == []


def test_rate_limiting_gives_up_after_a_few_tries(monkeypatch: pytest.MonkeyPatch) -> None:
    client = ServerClient("http://127.0.0.1:9", "key")
    calls = []

    def get(path: str, params: Any = None) -> Any:
        calls.append(path)
        raise CommError("slow down", status=429, retry_after=0.0)

    monkeypatch.setattr(client._transport, "get", get)
    with pytest.raises(CommError, match="slow down"):
        client.get("/viewer")
    assert len(calls) == 4


def test_other_errors_are_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    client = ServerClient("http://127.0.0.1:9", "key")
    calls = []

    def get(path: str, params: Any = None) -> Any:
        calls.append(path)
        raise CommError("broken", status=500)

    monkeypatch.setattr(client._transport, "get", get)
    with pytest.raises(CommError):
        client.get("/viewer")
    assert calls == ["/viewer"]


def test_one_request_at_a_time_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    client = ServerClient("http://127.0.0.1:9", "key")
    inside = []
    overlap = threading.Event()

    def get(path: str, params: Any = None) -> Any:
        inside.append(path)
        if len(inside) > 1:
            overlap.set()
        threading.Event().wait(0.01)
        inside.remove(path)
        return {}

    monkeypatch.setattr(client._transport, "get", get)
    threads = [threading.Thread(target=client.get, args=(f"/{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not overlap.is_set()  # the transport's one connection is never used by two threads


def test_non_finite_floats_round_trip() -> None:
    values = {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "n": [1.5, {"x": math.nan}], "s": "text"}
    wire = encode_floats(values)
    assert wire == {
        "nan": "NaN",
        "inf": "Infinity",
        "ninf": "-Infinity",
        "n": [1.5, {"x": "NaN"}],
        "s": "text",
    }
    back = decode_floats(wire)
    assert math.isnan(back["nan"]) and back["inf"] == math.inf and back["ninf"] == -math.inf
    assert math.isnan(back["n"][1]["x"]) and back["s"] == "text"
