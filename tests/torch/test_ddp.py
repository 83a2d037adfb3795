"""Distributed logging with real torch.distributed (gloo) processes and a real server.

The ranks are subprocesses (tests/torch/ddp_worker.py, with the variables torchrun
sets). Starting a pair costs seconds of imports on a small machine, so two jobs do all
the work: one DDP job runs the rank-0, shared, 20-cycle and exit-unfinished phases in
order (module fixture ``job``), and one job kills a rank on a server that notices
silence within 2 s. The tests read the runs back through the Public API. Every wait
has a deadline: a hang fails the test, it never blocks the suite.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import trackwell
from trackwell.testing import free_port

WORKER = Path(__file__).with_name("ddp_worker.py")
pytestmark = pytest.mark.skipif(
    not __import__("torch").distributed.is_gloo_available(), reason="torch.distributed has no gloo backend"
)
#: A hang fails at this deadline; a normal job takes 15-60 s on a loaded 2-core machine.
JOB_TIMEOUT = 240.0
#: Interpreter exit with an unfinished run and a destroyed group (a finish() and the teardown);
#: 26 s was seen at a load of 14 on 2 cores; a hang (no exit at all) still fails.
EXIT_WITHIN = 60.0


@dataclass
class Rank:
    code: int
    lines: dict[str, dict[str, Any]]  # phase -> its JSON report
    stderr: str
    ended_at: float  # time.time() when the process was seen gone


def launch(spec: dict[str, Any], world: int, server: Any, timeout: float = JOB_TIMEOUT) -> list[Rank]:
    """Run ``world`` ranks of the worker to the end, killed (and the test failed) at the deadline."""
    spec = {**spec, "init_method": f"tcp://127.0.0.1:{free_port()}"}
    env = {
        **os.environ,
        "TRACKWELL_BASE_URL": server.url,
        "OMP_NUM_THREADS": "1",
        "PYTHONFAULTHANDLER": "1",
        "TRACKWELL_LOAD_PLUGINS": "torch",  # no other integration's imports in the workers
        "WORLD_SIZE": str(world),
        "TRACKWELL_X_DISABLE_STATS": "true",
        "TRACKWELL_SILENT": "true",
    }
    if server.admin_key:
        env["TRACKWELL_API_KEY"] = server.admin_key
    with tempfile.TemporaryDirectory() as tmp:
        env.update(TRACKWELL_DIR=tmp, TRACKWELL_CONFIG_DIR=str(Path(tmp) / ".config"))  # never the user's
        outs = [open(Path(tmp) / f"{r}.{s}", "w+") for r in range(world) for s in ("out", "err")]  # noqa: SIM115
        procs = [
            subprocess.Popen(
                [sys.executable, str(WORKER), json.dumps(spec)],
                env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
                stdout=outs[2 * r],
                stderr=outs[2 * r + 1],
                text=True,
                cwd=tmp,
            )
            for r in range(world)
        ]
        ended: dict[int, float] = {}
        deadline = time.monotonic() + timeout
        try:
            while len(ended) < world:
                for r, proc in enumerate(procs):
                    if r not in ended and proc.poll() is not None:
                        ended[r] = time.time()
                if time.monotonic() > deadline:
                    for proc in procs:
                        if proc.poll() is None:
                            proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
                    for proc in procs:
                        proc.wait(timeout=10)
                    errors = [_read(outs[2 * r + 1])[-3000:] for r in range(world)]
                    pytest.fail(f"the ranks did not finish within {timeout:g} s (a hang); stderr: {errors}")
                time.sleep(0.05)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        ranks = []
        for r, proc in enumerate(procs):
            lines = [json.loads(x) for x in _read(outs[2 * r]).splitlines() if x.startswith("{")]
            ranks.append(
                Rank(proc.returncode, {x["phase"]: x for x in lines}, _read(outs[2 * r + 1]), ended[r])
            )
        for f in outs:
            f.close()
    return ranks


def _read(f: Any) -> str:
    f.seek(0)
    return str(f.read())


def api_of(server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TRACKWELL_BASE_URL", server.url)
    if server.admin_key:
        monkeypatch.setenv("TRACKWELL_API_KEY", server.admin_key)
    return trackwell.Api()


@pytest.fixture
def api(trackwell_dir: Path, trackwell_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The Public API of the job's server (after ``trackwell_dir`` cleared the environment)."""
    return api_of(trackwell_server, monkeypatch)


@pytest.fixture(scope="module")
def job(trackwell_server: Any) -> dict[str, Any]:
    """One 2-rank DDP job: rank 0 only (watched), a shared run, 20 cycles, an unfinished exit."""
    project, run_id = f"ddp-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:10]
    phases = [
        {"mode": "rank_zero", "steps": 5, "watch": True},
        {"mode": "shared", "run_id": run_id, "name": "shared-ddp", "steps": 5, "after": 2},
        {"mode": "cycles", "group": "c", "cycles": 20},
        {"mode": "per_rank", "group": "g", "steps": 3, "exit_unfinished": True},
    ]
    ranks = launch({"project": project, "ddp": True, "phases": phases}, 2, trackwell_server)
    assert [r.code for r in ranks] == [0, 0], [r.stderr[-3000:] for r in ranks]
    return {"project": project, "run_id": run_id, "ranks": ranks}


def runs_of(api: Any, job: dict[str, Any], group: str | None = None) -> list[Any]:
    runs = api.runs(job["project"], per_page=100)
    return [r for r in runs if group is None or r.group == group]


def test_rank_zero_only_logs_one_run_and_other_ranks_get_a_disabled_one(
    job: dict[str, Any], api: Any
) -> None:
    zero, one = (r.lines["rank_zero"] for r in job["ranks"])
    assert zero["disabled"] is False and one["disabled"] is True
    run = api.run(f"{job['project']}/{zero['id']}")
    assert [r["rank"] for r in run.scan_history()] == [0] * 5
    assert run.state == "finished"
    assert any(k.startswith("gradients/module.weight") for k in run.history_keys)  # watch under DDP
    assert not [
        r for r in runs_of(api, job) if r.id == one["id"]
    ]  # the disabled run never reached the server


def test_a_shared_run_gets_one_merged_row_per_step_and_labelled_system_metrics(
    job: dict[str, Any], api: Any
) -> None:
    run = api.run(f"{job['project']}/{job['run_id']}")
    assert (run.name, run.state) == ("shared-ddp", "finished")  # the primary's name and end state
    rows = list(run.scan_history())
    # both ranks log "loss" at steps 0..6 (then wait for a system sample, logging "waiting"):
    # one row per step holding both ranks' values, the attached rank's keys carrying its label
    steps = [r["_step"] for r in rows]
    assert steps == list(range(len(steps))), steps
    main = [r for r in rows if "waiting" not in r and "rank_1/waiting" not in r]
    assert [r["_step"] for r in main[:7]] == list(range(7))
    assert [r["rank"] for r in main[:7]] == [0] * 7 and [r["rank_1/rank"] for r in main[:7]] == [1] * 7
    assert [r.get("rank_1/rank_step") for r in main[:7]] == [0, 1, 2, 3, 4, None, None]
    assert [r.get("rank_1/after") for r in main[:7]] == [None] * 5 + [0, 1]
    assert all(("loss" in r) == ("rank_1/loss" in r) == (r["_step"] < 5) for r in rows)
    system = run.history(stream="events", pandas=False, samples=None)
    keys = {k for row in system for k in row}
    assert any(k.startswith("system.rank_0/") for k in keys), sorted(keys)
    assert any(k.startswith("system.rank_1/") for k in keys), sorted(keys)
    files = {f.name for f in run.files()}
    assert "config.yaml" in files and "rank_1/config.yaml" in files  # the attached rank's files beside


def test_twenty_start_finish_cycles_on_every_rank_never_hang(job: dict[str, Any], api: Any) -> None:
    assert [r.lines["cycles"]["cycles"] for r in job["ranks"]] == [20, 20]
    runs = runs_of(api, job, group="c")
    assert len(runs) == 40
    assert {r.state for r in runs} == {"finished"}
    assert sorted(r.name for r in runs) == sorted(f"cycle{i}-rank{r}" for i in range(20) for r in (0, 1))


def test_exit_with_an_unfinished_run_and_a_destroyed_group_is_quick(job: dict[str, Any], api: Any) -> None:
    for rank in job["ranks"]:
        exit_at = rank.lines["per_rank"]["exit_at"]
        assert rank.ended_at - exit_at < EXIT_WITHIN, (rank.ended_at - exit_at, rank.stderr[-2000:])
    runs = runs_of(api, job, group="g")
    assert sorted(r.state for r in runs) == ["finished", "finished"]
    assert all(len(list(r.scan_history())) == 3 for r in runs)


def test_one_run_per_rank_in_a_group_and_a_killed_rank_is_marked_crashed(
    fast_crash_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The senders' heartbeat comes every 30 s and this server calls 2 s of silence a
    # crash: a live rank stalled by a busy machine may be marked crashed for a moment,
    # but its next batch (at the latest its exit) revives it, and the end state is checked.
    proj, group = f"ddp-{uuid.uuid4().hex[:8]}", f"grp-{uuid.uuid4().hex[:6]}"
    phase = {"mode": "per_rank", "group": group, "steps": 4, "after": 3, "kill_rank": 1}
    ranks = launch({"project": proj, "phases": [phase]}, 2, fast_crash_server)
    assert ranks[0].code == 0, ranks[0].stderr[-3000:]
    assert ranks[1].code == -9, ranks[1].stderr[-3000:]  # SIGKILL, after its rows reached the server
    runs = {r.name: r for r in api_of(fast_crash_server, monkeypatch).runs(proj)}
    assert set(runs) == {f"{group}-rank0", f"{group}-rank1"}
    for rank, run in enumerate(sorted(runs.values(), key=lambda r: r.name)):
        assert (run.group, run.job_type, run.config["rank"], run.config["world_size"]) == (
            group,
            "train",
            rank,
            2,
        )
    alive = runs[f"{group}-rank0"]
    assert alive.state == "finished"
    assert len(list(alive.scan_history())) == 4 + 3
    killed = runs[f"{group}-rank1"]
    assert len(list(killed.scan_history())) == 4
    deadline = time.monotonic() + 20
    while killed.load(force=True).state != "crashed":
        assert time.monotonic() < deadline, f"the killed rank's run stayed {killed.state!r}"
        time.sleep(0.1)
