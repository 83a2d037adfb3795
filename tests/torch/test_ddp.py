"""Distributed logging with real torch.distributed (gloo) processes and a real server.

Each test starts its ranks as subprocesses (tests/torch/ddp_worker.py, with the
variables torchrun sets) and reads the runs back through the Public API. Every wait
has a deadline: a hang fails the test, it never blocks the suite.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

import trackwell

WORKER = Path(__file__).with_name("ddp_worker.py")
pytestmark = pytest.mark.skipif(
    not __import__("torch").distributed.is_gloo_available(), reason="torch.distributed has no gloo backend"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def launch(spec: dict[str, Any], world: int, server: Any, timeout: float = 120.0) -> list[tuple[int, str, str]]:
    """Run ``world`` ranks of the worker; (returncode, stdout, stderr) per rank, killed at the deadline."""
    spec = {**spec, "init_method": f"tcp://127.0.0.1:{free_port()}"}
    env = {**os.environ, "TRACKWELL_BASE_URL": server.url, "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1", "TRACKWELL_LOAD_PLUGINS": "torch", "WORLD_SIZE": str(world)}
    if server.admin_key:
        env["TRACKWELL_API_KEY"] = server.admin_key
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), json.dumps(spec)],
            env={**env, "RANK": str(rank), "LOCAL_RANK": str(rank)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(world)
    ]
    deadline = time.monotonic() + timeout
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
            results.append((proc.returncode, out, err))
    except subprocess.TimeoutExpired:
        for proc in procs:
            proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        errors = [proc.communicate(timeout=10)[1][-4000:] for proc in procs]
        pytest.fail(f"the ranks did not finish within {timeout:g} s (a hang); stderr: {errors}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results


def reports(results: list[tuple[int, str, str]]) -> dict[int, dict[str, Any]]:
    out = {}
    for code, stdout, stderr in results:
        if code == 0:
            line = json.loads(stdout.strip().splitlines()[-1])
            out[line["rank"]] = line
    return out


def api(server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TRACKWELL_BASE_URL", server.url)
    if server.admin_key:
        monkeypatch.setenv("TRACKWELL_API_KEY", server.admin_key)
    return trackwell.Api()


def project() -> str:
    return f"ddp-{uuid.uuid4().hex[:8]}"


def test_rank_zero_only_logs_one_run_and_other_ranks_get_a_disabled_one(
    trackwell_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project()
    results = launch({"mode": "rank_zero", "project": proj, "steps": 5, "watch": True}, 2, trackwell_server)
    assert [r[0] for r in results] == [0, 0], [r[2] for r in results]
    info = reports(results)
    assert info[0]["disabled"] is False and info[1]["disabled"] is True
    runs = list(api(trackwell_server, monkeypatch).runs(proj))
    assert [r.id for r in runs] == [info[0]["id"]]
    rows = list(runs[0].scan_history())
    assert [r["rank"] for r in rows] == [0] * 5
    assert runs[0].state == "finished"
    assert any(k.startswith("gradients/module.weight") for k in runs[0].history_keys)  # watch under DDP


def test_one_run_per_rank_in_a_group_and_a_killed_rank_is_marked_crashed(
    fast_crash_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj, group = project(), f"grp-{uuid.uuid4().hex[:6]}"
    spec = {"mode": "per_rank", "project": proj, "group": group, "steps": 4, "after": 3, "kill_rank": 1}
    results = launch(spec, 2, fast_crash_server)
    assert results[0][0] == 0, results[0][2]
    assert results[1][0] == -9  # SIGKILL, after its rows reached the server
    runs = {r.name: r for r in api(fast_crash_server, monkeypatch).runs(proj)}
    assert set(runs) == {f"{group}-rank0", f"{group}-rank1"}
    for rank, run in enumerate(sorted(runs.values(), key=lambda r: r.name)):
        assert (run.group, run.job_type, run.config["rank"], run.config["world_size"]) == (group, "train", rank, 2)
    alive = runs[f"{group}-rank0"]
    assert alive.state == "finished"
    assert len(list(alive.scan_history())) == 4 + 3
    killed = runs[f"{group}-rank1"]
    assert len(list(killed.scan_history())) == 4
    deadline = time.monotonic() + 20
    while killed.load(force=True).state != "crashed":
        assert time.monotonic() < deadline, f"the killed rank's run stayed {killed.state!r}"
        time.sleep(0.1)


def test_a_shared_run_gets_rows_and_labelled_system_metrics_from_every_rank(
    trackwell_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKWELL_X_DISABLE_STATS", "false")
    monkeypatch.setenv("TRACKWELL_X_STATS_SAMPLING_INTERVAL", "0.5")
    proj, run_id = project(), uuid.uuid4().hex[:10]
    spec = {"mode": "shared", "project": proj, "run_id": run_id, "name": "shared-ddp", "steps": 5, "after": 2}
    results = launch(spec, 2, trackwell_server)
    assert [r[0] for r in results] == [0, 0], [r[2] for r in results]
    runs = list(api(trackwell_server, monkeypatch).runs(proj))
    assert [r.id for r in runs] == [run_id]
    run = runs[0]
    assert (run.name, run.state) == ("shared-ddp", "finished")  # the primary's name and end state
    # the attached rank's keys carry its label: both ranks log "loss" at the same steps
    # (server-lite returns a step that two streams wrote once per stream, with the same merged values)
    rows = list({r["_step"]: r for r in run.scan_history()}.values())
    assert [r["rank"] for r in rows if "rank" in r] == [0] * 7
    assert [r["rank_1/rank"] for r in rows if "rank_1/rank" in r] == [1] * 7
    assert [r["rank_1/rank_step"] for r in rows if "rank_1/rank_step" in r] == list(range(5))
    assert len([r for r in rows if "loss" in r]) == len([r for r in rows if "rank_1/loss" in r]) == 5
    system = run.history(stream="events", pandas=False, samples=None)
    keys = {k for row in system for k in row}
    assert any(k.startswith("system/rank_0/") for k in keys), sorted(keys)
    assert any(k.startswith("system/rank_1/") for k in keys), sorted(keys)
    files = {f.name for f in run.files()}
    assert "config.yaml" in files and "rank_1/config.yaml" in files  # the attached rank's files beside


def test_exit_with_an_unfinished_run_and_a_destroyed_group_is_quick(
    trackwell_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project()
    spec = {"mode": "per_rank", "project": proj, "group": "g", "steps": 3, "exit_unfinished": True}
    started = time.monotonic()
    results = launch(spec, 2, trackwell_server, timeout=60)
    assert [r[0] for r in results] == [0, 0], [r[2] for r in results]
    assert time.monotonic() - started < 60  # generous: the CI machine is small and busy
    runs = list(api(trackwell_server, monkeypatch).runs(proj))
    assert sorted(r.state for r in runs) == ["finished", "finished"]
    assert all(len(list(r.scan_history())) == 3 for r in runs)


def test_twenty_start_finish_cycles_on_every_rank_never_hang(
    trackwell_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project()
    results = launch({"mode": "cycles", "project": proj, "group": "c", "cycles": 20}, 2, trackwell_server, 180)
    assert [r[0] for r in results] == [0, 0], [r[2] for r in results]
    runs = list(api(trackwell_server, monkeypatch).runs(proj, per_page=100))
    assert len(runs) == 40
    assert {r.state for r in runs} == {"finished"}
