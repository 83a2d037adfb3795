"""A ``$regex`` filter costs time linear in the text it reads: a backtracking pattern over a run's
name answers at once (with the right runs), the server goes on answering ``/health`` meanwhile,
and a pattern the engine cannot take is a 422 that says why."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from .conftest import ServerProcess, unique

#: ``^(a+)+$`` backtracks 2**28 ways over this before it fails (13 s of CPU with Python's ``re``)
EVIL_NAME = "a" * 28 + "!"
EVIL = {"display_name": {"$regex": "^(a+)+$"}}
#: a filter answering later than this is not "at once" (a 2-core CI machine included)
PROMPT = 1.0


def request(server: ServerProcess, key: str, path: str, method: str = "GET", body: Any = None,
            timeout: float = 5.0) -> tuple[int, Any]:  # fmt: skip
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{server.url}/api/v1{path}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def listing(server: ServerProcess, key: str, entity: str, filters: Any) -> tuple[int, Any, float]:
    """``GET /runs/{entity}/p?filters=...``: status, answer and how long it took."""
    raw = filters if isinstance(filters, str) else json.dumps(filters)
    started = time.monotonic()
    status, answer = request(server, key, f"/runs/{entity}/p?" + urllib.parse.urlencode({"filters": raw}))
    return status, answer, time.monotonic() - started


@pytest.fixture
def project(shared_server: ServerProcess) -> tuple[str, str]:
    """A user with project ``p`` of three runs: the evil name, one that matches, one that does not."""
    entity = unique("u")
    key = shared_server.create_user(entity)
    for run_id, name in (("evil", EVIL_NAME), ("match", "aaaa"), ("other", "b")):
        status, answer = request(shared_server, key, f"/runs/{entity}/p/{run_id}", "PUT", {"name": name})
        assert status == 201, answer
    return entity, key


def test_a_backtracking_regex_answers_at_once_and_right(shared_server: ServerProcess,
                                                         project: tuple[str, str]) -> None:  # fmt: skip
    entity, key = project
    status, answer, took = listing(shared_server, key, entity, EVIL)
    assert status == 200, answer
    assert [r["id"] for r in answer["runs"]] == ["match"]
    assert took < PROMPT, f"the filter took {took:.2f} s"
    status, answer, _ = listing(shared_server, key, entity, {"display_name": {"$regex": "!$"}})
    assert [r["id"] for r in answer["runs"]] == ["evil"]


def test_health_answers_while_evil_filters_run(shared_server: ServerProcess, project: tuple[str, str]) -> None:
    entity, key = project
    results: list[tuple[int, list[str], float]] = []
    lock = threading.Lock()

    def attack() -> None:
        for _ in range(5):
            try:
                status, answer, took = listing(shared_server, key, entity, EVIL)
                ids = [r["id"] for r in answer["runs"]] if status == 200 else []
            except OSError as exc:  # a client timeout: the server did not answer in 5 s
                status, ids, took = 0, [str(exc)], 5.0
            with lock:
                results.append((status, ids, took))

    attackers = [threading.Thread(target=attack) for _ in range(4)]
    for thread in attackers:
        thread.start()
    health: list[float] = []
    while any(t.is_alive() for t in attackers) or not health:
        started = time.monotonic()
        with urllib.request.urlopen(f"{shared_server.url}/api/v1/health", timeout=10) as resp:
            assert resp.status == 200
        health.append(time.monotonic() - started)
    for thread in attackers:
        thread.join()
    assert max(health) < PROMPT, f"/health took up to {max(health):.2f} s"
    assert len(results) == 20
    assert all(status == 200 and ids == ["match"] for status, ids, _ in results), results
    assert max(took for _, _, took in results) < 2 * PROMPT


@pytest.mark.parametrize(
    ("filters", "says"),
    [
        ({"display_name": {"$regex": "(a)\\1"}}, "RE2"),  # a backreference: not linear-time
        ({"display_name": {"$regex": "(?=a)"}}, "RE2"),  # lookahead, likewise
        ({"display_name": {"$regex": "(unclosed"}}, "invalid $regex"),
        ({"display_name": {"$regex": "a{1001}"}}, "invalid $regex"),  # RE2's repetition bound
        ({"display_name": {"$regex": 5}}, "string pattern"),
        ("[" * 2000, "JSON object"),  # nested past the JSON parser's recursion limit
    ],
)
def test_a_pattern_the_engine_refuses_is_a_422_that_says_why(
    shared_server: ServerProcess, project: tuple[str, str], filters: Any, says: str
) -> None:
    entity, key = project
    status, answer, took = listing(shared_server, key, entity, filters)
    assert status == 422, answer
    assert says in json.dumps(answer), answer
    assert took < PROMPT


def test_the_local_api_filters_in_linear_time_with_the_same_syntax(trackwell_dir: Path) -> None:
    import trackwell
    from trackwell.errors import UsageError

    for name in (EVIL_NAME, "aaaa"):
        trackwell.init(project="p", mode="offline", name=name).finish()
    api = trackwell.Api(root=trackwell_dir)
    started = time.monotonic()
    assert [r.name for r in api.runs("p", filters=EVIL)] == ["aaaa"]
    assert time.monotonic() - started < PROMPT
    with pytest.raises(UsageError, match="RE2"):
        list(api.runs("p", filters={"display_name": {"$regex": "(?=a)"}}))
