"""The local Public API: trackwell.Api over run directories written by hand and by real runs."""

from __future__ import annotations

import itertools
import math
import os
import socket
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from trackwell._pipeline import runlog
from trackwell._pipeline.runlog import Kind
from trackwell.api import Api, Run, RunNotFoundError, SkippedRunWarning
from trackwell.errors import CorruptRunLog, UsageError

HOST = socket.gethostname()
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
DEAD_PID = 2**22 + 12345  # above pid_max on Linux defaults: no such process


# -- helpers: write run logs record by record -------------------------------------------------
def run_body(run_id: str, **fields: Any) -> dict[str, Any]:
    body = {
        "id": run_id,
        "name": f"name-{run_id}",
        "project": "p",
        "entity": None,
        "group": None,
        "job_type": None,
        "tags": [],
        "notes": None,
        "mode": "offline",
        "start_time": T0,
        "pid": DEAD_PID,
        "host": HOST,
        "resumed": False,
        "sweep_id": None,
    }
    body.update(fields)
    return body


def row(step: int, **values: Any) -> dict[str, Any]:
    return {"_step": step, "_timestamp": T0 + step, "_runtime": float(step), **values}


def write_run(
    root: Path,
    run_id: str,
    records: list[tuple[str, Any]],
    stamp: str = "20260101_000000",
    tail: bytes = b"",
) -> Path:
    """Write ``root/trackwell/offline-run-<stamp>-<id>/run-<id>.twlog``; returns the run dir."""
    run_dir = root / "trackwell" / f"offline-run-{stamp}-{run_id}"
    (run_dir / "files").mkdir(parents=True, exist_ok=True)
    (run_dir / "logs").mkdir(exist_ok=True)
    packer = runlog.new_packer()
    with open(run_dir / f"run-{run_id}.twlog", "wb") as fh:
        fh.write(runlog.MAGIC)
        fh.writelines(
            runlog.encode_record(packer, kind, seq, body) for seq, (kind, body) in enumerate(records)
        )
        fh.write(tail)
    return run_dir


def append(run_dir: Path, records: list[tuple[str, Any]], first_seq: int = 1000) -> None:
    packer = runlog.new_packer()
    log = next(run_dir.glob("run-*.twlog"))
    with open(log, "ab") as fh:
        fh.writelines(
            runlog.encode_record(packer, kind, first_seq + i, body) for i, (kind, body) in enumerate(records)
        )


def finished_records(run_id: str = "fin1", **run_fields: Any) -> list[tuple[str, Any]]:
    return [
        (Kind.RUN, run_body(run_id, **run_fields)),
        (
            Kind.META,
            {
                "host": HOST,
                "python": "3.11",
                "program": "train.py",
                "args": ["--x"],
                "git": {"commit": "abc123", "remote": None, "branch": "main"},
            },
        ),
        (Kind.CONFIG, {"update": {"lr": 0.1, "layers": 3, "drop": True}, "remove": []}),
        (Kind.CONFIG, {"update": {"lr": 0.01}, "remove": ["drop"]}),
        (Kind.HISTORY, row(0, loss=1.0)),
        (Kind.HISTORY, row(1, loss=0.5, acc=0.7)),
        (Kind.HISTORY, row(2, loss=0.25, acc=0.9, nested={"a": 1, "b": {"c": 2}})),
        (Kind.STATS, {"_timestamp": T0 + 1, "_runtime": 1.0, "system/cpu": 10.0}),
        (Kind.STATS, {"_timestamp": T0 + 2, "_runtime": 2.0, "system/cpu": 30.0, "system/mem": 5.0}),
        (
            Kind.ALERT,
            {"title": "low", "text": "loss low", "level": "INFO", "wait_duration": 0, "_timestamp": T0 + 2},
        ),
        (Kind.FILES, {"paths": ["model.txt"], "policy": "now"}),
        (Kind.FINAL_SUMMARY, {"loss": 0.25, "acc": 0.9, "_step": 2, "best": 42}),
        (Kind.EXIT, {"exit_code": 0, "state": "finished", "runtime": 12.5, "_timestamp": T0 + 12.5}),
    ]


# -- one finished run ----------------------------------------------------------------------------
def test_finished_run_attributes(tmp_path: Path) -> None:
    run_dir = write_run(
        tmp_path,
        "fin1",
        finished_records(tags=["a", "b"], group="g", job_type="train", notes="hello", entity="me"),
    )
    run = Api(root=tmp_path).run("fin1")
    assert isinstance(run, Run)
    assert (run.id, run.name, run.project, run.entity) == ("fin1", "name-fin1", "p", "me")
    assert (run.group, run.job_type, run.notes, run.tags) == ("g", "train", "hello", ["a", "b"])
    assert run.display_name == "name-fin1"
    assert run.state == "finished"
    assert run.exit_code == 0
    assert run.runtime == 12.5
    assert run.config == {"lr": 0.01, "layers": 3}
    assert dict(run.summary) == {"loss": 0.25, "acc": 0.9, "_step": 2, "best": 42}
    assert run.summary["loss"] == 0.25 and run.summary.best == 42
    assert run.summary.get("missing") is None
    assert run.created_at == "2026-01-01T00:00:00"
    assert run.metadata["program"] == "train.py"
    assert run.commit == "abc123"
    assert run.dir == str(run_dir)
    assert run.path == ["me", "p", "fin1"]
    assert run.url is None
    assert run.lastHistoryStep == 2
    assert run.history_length == 3
    assert run.alerts == [
        {"title": "low", "text": "loss low", "level": "INFO", "wait_duration": 0, "_timestamp": T0 + 2}
    ]
    assert run.system_metrics == {
        "_timestamp": T0 + 2,
        "_runtime": 2.0,
        "system/cpu": 30.0,
        "system/mem": 5.0,
    }
    assert run.saved_files == ["model.txt"]
    assert repr(run) == "<Run me/p/fin1 (finished)>"


def test_run_is_read_only_and_owns_its_copies(tmp_path: Path) -> None:
    write_run(tmp_path, "fin1", finished_records())
    api = Api(root=tmp_path)
    run = api.run("fin1")
    run.config["lr"] = 99
    run.tags.append("x")
    with pytest.raises(UsageError, match="read-only"):
        run.summary["loss"] = 1
    with pytest.raises(UsageError, match="read-only"):
        run.summary.update({"loss": 1})
    with pytest.raises(UsageError, match="read-only"):
        run.update()
    with pytest.raises(AttributeError):
        _ = run.summary.nope
    again = api.run("fin1")  # from the cache: must not see the edits above
    assert again.config["lr"] == 0.01 and again.tags == []
    plain = run.summary._json_dict
    plain["loss"] = 7
    assert run.summary["loss"] == 0.25


def test_run_paths(tmp_path: Path) -> None:
    write_run(tmp_path, "fin1", finished_records(entity="me"))
    api = Api(root=tmp_path)
    for path in ("fin1", "p/fin1", "me/p/fin1", "me/p/runs/fin1", "/p/fin1/"):
        assert api.run(path).id == "fin1", path
    with pytest.raises(RunNotFoundError, match="belongs to project 'p'"):
        api.run("other/fin1")
    with pytest.raises(RunNotFoundError, match="no run 'zzz'"):
        api.run("zzz")
    with pytest.raises(UsageError):
        api.run("a/b/c/d/e")
    with pytest.raises(LookupError):  # RunNotFoundError is a LookupError for generic handlers
        api.run("zzz")


def no_server_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No server URL from the environment or a `trackwell login` file: Api() reads local runs."""
    monkeypatch.setenv("TRACKWELL_CONFIG_DIR", str(tmp_path / ".config"))
    for var in ("TRACKWELL_BASE_URL", "WANDB_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


def test_root_forms_and_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_server_configured(tmp_path, monkeypatch)
    run_dir = write_run(tmp_path, "fin1", finished_records())
    for root in (tmp_path, tmp_path / "trackwell", run_dir):
        assert [r.id for r in Api(root=root).runs()] == ["fin1"], root
    monkeypatch.delenv("TRACKWELL_DIR", raising=False)
    monkeypatch.delenv("WANDB_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Api().root == tmp_path and len(Api().runs()) == 1
    monkeypatch.chdir(tmp_path / "trackwell" / run_dir.name / "files")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    assert Api().root == tmp_path
    monkeypatch.setenv("TRACKWELL_DIR", str(tmp_path / "trackwell"))
    assert Api().root == tmp_path / "trackwell" and len(Api().runs()) == 1
    assert Api(root=tmp_path / "does-not-exist").runs().length == 0


# -- state ---------------------------------------------------------------------------------------
def test_state_comes_from_exit(tmp_path: Path) -> None:
    records = finished_records()
    records[-1] = (Kind.EXIT, {"exit_code": 3, "state": "failed", "runtime": 1.0, "_timestamp": T0})
    write_run(tmp_path, "fail1", records)
    run = Api(root=tmp_path).run("fail1")
    assert (run.state, run.exit_code) == ("failed", 3)


def test_running_when_its_process_is_alive_here(tmp_path: Path) -> None:
    write_run(
        tmp_path,
        "live1",
        [
            (Kind.RUN, run_body("live1", pid=os.getpid(), start_time=time.time())),
            (Kind.HISTORY, row(0, loss=1.0)),
        ],
    )
    run = Api(root=tmp_path).run("live1")
    assert run.state == "running"
    assert run.exit_code is None
    assert 0 <= run.runtime < 3600


def test_crashed_when_process_gone_or_elsewhere(tmp_path: Path) -> None:
    write_run(tmp_path, "dead1", [(Kind.RUN, run_body("dead1")), (Kind.HISTORY, row(0, x=1))])
    write_run(tmp_path, "away1", [(Kind.RUN, run_body("away1", pid=os.getpid(), host="not-" + HOST))])
    api = Api(root=tmp_path)
    assert api.run("dead1").state == "crashed"
    assert api.run("dead1").runtime == 0.0  # the last _runtime it wrote
    assert api.run("away1").state == "crashed"


def test_recycled_pid_is_not_mistaken_for_the_run(tmp_path: Path) -> None:
    import psutil

    run_dir = write_run(tmp_path, "old1", [(Kind.RUN, run_body("old1", pid=os.getpid()))])
    # The log was last written before this process existed: the pid must have been reused.
    before = psutil.Process().create_time() - 100
    os.utime(next(run_dir.glob("*.twlog")), (before, before))
    assert Api(root=tmp_path).run("old1").state == "crashed"


def test_zombie_process_counts_as_dead(tmp_path: Path) -> None:
    import psutil

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "child never exited"
            time.sleep(0.01)
        write_run(tmp_path, "zomb1", [(Kind.RUN, run_body("zomb1", pid=child.pid))])
        assert Api(root=tmp_path).run("zomb1").state == "crashed"
    finally:
        child.wait()


# -- crash recovery: summary replay and torn tails -------------------------------------------------
def crashed_records(run_id: str = "crash1") -> list[tuple[str, Any]]:
    return [
        (Kind.RUN, run_body(run_id)),
        (
            Kind.METRIC,
            {
                "name": "loss",
                "step_metric": None,
                "step_sync": False,
                "hidden": False,
                "summary": ["min", "last"],
                "goal": None,
            },
        ),
        (Kind.METRIC, {"name": "acc", "summary": ["max"], "goal": "maximize"}),
        (Kind.HISTORY, row(0, loss=3.0, acc=0.1)),
        (Kind.HISTORY, row(1, loss=1.0, acc=0.6)),
        (Kind.SUMMARY, {"update": {"note": "hi", "tmp": 1}, "remove": []}),
        (Kind.HISTORY, row(2, loss=2.0, acc=0.4, other=5)),
        (Kind.SUMMARY, {"update": {}, "remove": ["tmp"]}),
    ]


def test_crashed_run_summary_is_replayed_with_metric_rules(tmp_path: Path) -> None:
    write_run(tmp_path, "crash1", crashed_records())
    run = Api(root=tmp_path).run("crash1")
    assert run.state == "crashed"
    assert dict(run.summary) == {
        "_step": 2,
        "_timestamp": T0 + 2,
        "_runtime": 2.0,
        "loss": {"min": 1.0, "last": 2.0},
        "acc": {"max": 0.6},
        "note": "hi",
        "other": 5,
    }
    assert run.runtime == 2.0


def test_torn_tail_is_dropped_not_raised(tmp_path: Path) -> None:
    packer = runlog.new_packer()
    whole = runlog.encode_record(packer, Kind.HISTORY, 99, row(3, loss=0.1))
    write_run(tmp_path, "torn1", crashed_records("torn1"), tail=whole[: len(whole) // 2])
    run = Api(root=tmp_path).run("torn1")
    assert run.state == "crashed"
    assert [r["_step"] for r in run.scan_history()] == [0, 1, 2]
    assert run._data.torn_bytes == len(whole) // 2
    # garbage with a plausible frame but a wrong checksum is torn too
    write_run(tmp_path, "torn2", crashed_records("torn2"), tail=b"\x05\x00\x00\x00\x00\x00\x00\x00abcde")
    assert Api(root=tmp_path).run("torn2").history_length == 3


def test_resumed_run_merges_sessions(tmp_path: Path) -> None:
    first = finished_records("res1")
    records = [
        *first,
        (Kind.RUN, run_body("res1", name="renamed", resumed=True, start_time=T0 + 100, tags=["r"])),
        (Kind.HISTORY, row(3, loss=0.125)),
    ]
    write_run(tmp_path, "res1", records)
    run = Api(root=tmp_path).run("res1")
    assert run.state == "crashed"  # the first EXIT ended the first session only
    assert run.exit_code is None
    assert run.name == "renamed" and run.tags == ["r"]
    assert run.created_at == "2026-01-01T00:00:00"  # start_time of the first session
    assert run.summary["loss"] == 0.125 and run.summary["best"] == 42  # final summary kept, then folded
    assert run.lastHistoryStep == 3


def test_header_only_log_uses_the_directory_name(tmp_path: Path) -> None:
    write_run(tmp_path, "empty1", [], stamp="20250102_030405")
    run = Api(root=tmp_path).run("empty1")
    assert (run.id, run.name, run.project, run.state) == ("empty1", "empty1", None, "crashed")
    expected = time.mktime(time.strptime("20250102_030405", "%Y%m%d_%H%M%S"))
    assert run.start_time == expected
    assert run.lastHistoryStep == -1 and run.history_length == 0
    assert run.history(pandas=False) == []


def test_unknown_kinds_and_bad_bodies_are_skipped(tmp_path: Path) -> None:
    write_run(
        tmp_path,
        "odd1",
        [
            (Kind.RUN, run_body("odd1")),
            ("from-the-future", {"x": 1}),
            (Kind.HISTORY, "not a dict"),
            (Kind.METRIC, {"name": "bad", "summary": ["nonsense"]}),
            (Kind.CONFIG, ["not", "a", "dict"]),
            (Kind.HISTORY, row(0, x=1)),
        ],
    )
    run = Api(root=tmp_path).run("odd1")
    assert run.history(pandas=False) == [row(0, x=1)]
    assert run.config == {}


def test_corrupt_header(tmp_path: Path) -> None:
    write_run(tmp_path, "good1", finished_records("good1"))
    bad_dir = write_run(tmp_path, "bad1", [], stamp="20260101_000001")
    (bad_dir / "run-bad1.twlog").write_bytes(b"NOTALOG\n" + b"x" * 20)
    write_run(tmp_path, "nolog1", [], stamp="20260101_000002")
    (tmp_path / "trackwell" / "offline-run-20260101_000002-nolog1" / "run-nolog1.twlog").unlink()
    api = Api(root=tmp_path)
    with pytest.warns(SkippedRunWarning) as caught:
        runs = api.runs()
    assert [r.id for r in runs] == ["good1"]
    messages = " ".join(str(w.message) for w in caught)
    assert "bad1" in messages and "nolog1" in messages
    with pytest.raises(CorruptRunLog, match=r"run-bad1\.twlog is not a readable trackwell run log"):
        api.run("bad1")
    with pytest.raises(RunNotFoundError, match="no run log"):
        api.run("nolog1")


# -- history ---------------------------------------------------------------------------------------
def test_history_dataframe(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    write_run(tmp_path, "fin1", finished_records())
    run = Api(root=tmp_path).run("fin1")
    df = run.history()
    assert isinstance(df, pd.DataFrame)
    assert len(df) == 3
    assert list(df["_step"]) == [0, 1, 2]
    assert list(df["loss"]) == [1.0, 0.5, 0.25]
    assert math.isnan(df["acc"][0]) and df["acc"][2] == 0.9
    assert df["nested.a"][2] == 1 and df["nested.b.c"][2] == 2
    df = run.history(keys=["acc"])
    assert list(df.columns) == ["_step", "acc"]
    assert list(df["_step"]) == [1, 2]
    df = run.history(keys=["acc", "loss"], x_axis="_runtime")
    assert list(df.columns) == ["_runtime", "acc", "loss"]
    df = run.history(keys=["never_logged"])
    assert list(df.columns) == ["_step", "never_logged"] and len(df) == 0


def test_history_list_and_keys(tmp_path: Path) -> None:
    write_run(tmp_path, "fin1", finished_records())
    run = Api(root=tmp_path).run("fin1")
    rows = run.history(pandas=False)
    assert rows[0] == row(0, loss=1.0)
    assert rows[2]["nested.b.c"] == 2 and "nested" not in rows[2]
    rows[0]["loss"] = 123  # the caller's copy: the cached rows stay intact
    assert run.history(pandas=False)[0]["loss"] == 1.0
    assert run.history(keys=["acc"], pandas=False) == [{"_step": 1, "acc": 0.7}, {"_step": 2, "acc": 0.9}]
    assert run.history(keys="acc", pandas=False) == run.history(keys=["acc"], pandas=False)
    assert run.history(keys=["_step", "loss"], pandas=False)[0] == {"_step": 0, "loss": 1.0}


def test_history_samples_evenly_keeping_first_and_last(tmp_path: Path) -> None:
    write_run(
        tmp_path,
        "long1",
        [(Kind.RUN, run_body("long1"))] + [(Kind.HISTORY, row(i, v=i)) for i in range(2000)],
    )
    run = Api(root=tmp_path).run("long1")
    default = run.history(pandas=False)
    assert len(default) == 500
    assert default[0]["_step"] == 0 and default[-1]["_step"] == 1999
    steps = [r["_step"] for r in default]
    assert steps == sorted(set(steps))
    gaps = {b - a for a, b in itertools.pairwise(steps)}
    assert gaps <= {3, 4, 5}  # even spacing: 1999 / 499 ~ 4
    ten = [r["_step"] for r in run.history(samples=10, pandas=False)]
    assert ten == [0, 222, 444, 666, 888, 1111, 1333, 1555, 1777, 1999]
    assert len(run.history(samples=5000, pandas=False)) == 2000
    assert [r["_step"] for r in run.history(samples=1, pandas=False)] == [1999]
    assert len(run.history(samples=None, pandas=False)) == 2000  # every row, as on a server
    with pytest.raises(UsageError, match="samples"):
        run.history(samples=0)
    with pytest.raises(UsageError, match="samples"):
        run.history(samples=2.5)  # type: ignore[arg-type]


def test_history_system_stream(tmp_path: Path) -> None:
    write_run(tmp_path, "fin1", finished_records())
    run = Api(root=tmp_path).run("fin1")
    for stream in ("events", "system"):
        rows = run.history(stream=stream, pandas=False)
        assert [r["system.cpu"] for r in rows] == [10.0, 30.0]  # W&B's column names
    assert run.history(stream="events", keys=["system.mem"], pandas=False) == [
        {"_runtime": 2.0, "system.mem": 5.0}
    ]
    with pytest.raises(UsageError, match="stream"):
        run.history(stream="bogus")


def test_history_without_pandas_says_how_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_run(tmp_path, "fin1", finished_records())
    run = Api(root=tmp_path).run("fin1")
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` raise ImportError
    with pytest.raises(ImportError, match="pip install pandas"):
        run.history()
    assert len(run.history(pandas=False)) == 3


def test_scan_history(tmp_path: Path) -> None:
    write_run(
        tmp_path,
        "long1",
        [(Kind.RUN, run_body("long1"))]
        + [(Kind.HISTORY, row(i, v=i, **({"even": True} if i % 2 == 0 else {}))) for i in range(1500)],
    )
    run = Api(root=tmp_path).run("long1")
    rows = list(run.scan_history())
    assert len(rows) == 1500 and rows[-1]["v"] == 1499
    assert [r["_step"] for r in run.scan_history(min_step=10, max_step=13)] == [10, 11, 12]
    evens = list(run.scan_history(keys=["v", "even"], page_size=100))
    assert len(evens) == 750 and evens[1] == {"v": 2, "even": True}
    with pytest.raises(UsageError, match="page_size"):
        run.scan_history(page_size=0)


# -- files -----------------------------------------------------------------------------------------
def test_files(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path, "fin1", finished_records())
    (run_dir / "files" / "config.yaml").write_text("lr: 0.01\n")
    (run_dir / "files" / "sub").mkdir()
    (run_dir / "files" / "sub" / "model.txt").write_text("weights")
    run = Api(root=tmp_path).run("fin1")
    files = run.files()
    assert [f.name for f in files] == ["config.yaml", "sub/model.txt"]
    assert files[1].size == 7
    assert [f.name for f in run.files(names=["sub/model.txt"])] == ["sub/model.txt"]
    out = tmp_path / "out"
    with run.file("sub/model.txt").download(root=str(out)) as fh:
        assert fh.read() == "weights"
    with pytest.raises(FileExistsError):
        run.file("sub/model.txt").download(root=str(out))
    run.file("sub/model.txt").download(root=str(out), exist_ok=True).close()
    with pytest.raises(FileNotFoundError):
        run.file("nope.txt")


# -- runs(): selection, filters, order -------------------------------------------------------------
@pytest.fixture
def three_runs(tmp_path: Path) -> Path:
    specs = [
        ("r1", "20260101_000001", T0 + 1, "p", {"lr": 0.1, "opt": {"name": "adam"}}, 0.5, ["base"]),
        ("r2", "20260101_000002", T0 + 2, "p", {"lr": 0.01, "opt": {"name": "sgd"}}, 0.2, ["base", "x"]),
        ("r3", "20260101_000003", T0 + 3, "q", {"lr": 0.001}, None, []),
    ]
    for run_id, stamp, start, project, config, loss, tags in specs:
        records: list[tuple[str, Any]] = [
            (
                Kind.RUN,
                run_body(
                    run_id,
                    start_time=start,
                    project=project,
                    tags=tags,
                    entity="team" if run_id == "r2" else None,
                ),
            ),
            (Kind.CONFIG, {"update": config, "remove": []}),
        ]
        if loss is not None:
            records += [
                (Kind.HISTORY, row(0, loss=loss)),
                (Kind.EXIT, {"exit_code": 0, "state": "finished", "runtime": 1.0, "_timestamp": start + 1}),
            ]
        write_run(tmp_path, run_id, records, stamp=stamp)
    return tmp_path


def ids(runs: Any) -> list[str]:
    return [r.id for r in runs]


def test_runs_collection(three_runs: Path) -> None:
    runs = Api(root=three_runs).runs()
    assert len(runs) == 3
    assert ids(runs) == ["r3", "r2", "r1"]  # -created_at: newest first
    assert runs[0].id == "r3" and runs[-1].id == "r1"
    assert ids(runs[1:]) == ["r2", "r1"]
    assert all(isinstance(r, Run) for r in runs)
    assert "3 runs" in repr(runs)


def test_runs_by_project_and_entity(three_runs: Path) -> None:
    api = Api(root=three_runs)
    assert ids(api.runs("p")) == ["r2", "r1"]
    assert ids(api.runs("team/p")) == ["r2", "r1"]  # r1 has no entity: matches any
    assert ids(api.runs("other/p")) == ["r1"]
    assert ids(api.runs("q")) == ["r3"]
    assert len(api.runs("nope")) == 0
    assert ids(Api(root=three_runs, overrides={"project": "q"}).runs()) == ["r3"]
    with pytest.raises(UsageError):
        api.runs("a/b/c")


def test_runs_order(three_runs: Path) -> None:
    api = Api(root=three_runs)
    assert ids(api.runs(order="+created_at")) == ["r1", "r2", "r3"]
    assert ids(api.runs(order="created_at")) == ["r1", "r2", "r3"]
    assert ids(api.runs(order="summary.loss")) == ["r2", "r1", "r3"]  # missing goes last
    assert ids(api.runs(order="-summary.loss")) == ["r1", "r2", "r3"]
    assert ids(api.runs(order="-config.lr")) == ["r1", "r2", "r3"]
    assert ids(api.runs(order="config.opt.name")) == ["r1", "r2", "r3"]
    assert ids(api.runs(order=None)) == ["r1", "r2", "r3"]  # directory order
    with pytest.raises(UsageError, match="cannot filter or order"):
        api.runs(order="bogus")


def test_runs_filters(three_runs: Path) -> None:
    api = Api(root=three_runs)

    def q(filters: dict[str, Any]) -> list[str]:
        return sorted(ids(api.runs(filters=filters)))

    assert q({"config.lr": 0.01}) == ["r2"]
    assert q({"config.opt.name": "adam"}) == ["r1"]
    assert q({"summary.loss": {"$lt": 0.3}}) == ["r2"]
    assert q({"summary_metrics.loss": {"$gte": 0.2, "$lte": 0.5}}) == ["r1", "r2"]
    assert q({"state": "finished"}) == ["r1", "r2"]
    assert q({"state": "crashed"}) == ["r3"]
    assert q({"tags": "x"}) == ["r2"]
    assert q({"tags": {"$in": ["base"]}}) == ["r1", "r2"]
    assert q({"tags": {"$nin": ["x"]}}) == ["r1", "r3"]
    assert q({"$or": [{"config.lr": 0.1}, {"project": "q"}]}) == ["r1", "r3"]
    assert q({"$and": [{"project": "p"}, {"config.lr": {"$ne": 0.1}}]}) == ["r2"]
    assert q({"$nor": [{"project": "p"}]}) == ["r3"]
    assert q({"summary.loss": {"$exists": False}}) == ["r3"]
    assert q({"display_name": "name-r1"}) == ["r1"]
    assert q({"name": "r1"}) == ["r1"]  # W&B's filters call the id "name"
    assert q({"name": "name-r2"}) == ["r2"]
    assert q({"config.lr": {"$in": [0.1, 0.001]}}) == ["r1", "r3"]
    assert q({"created_at": {"$gt": "2026-01-01T00:00:01"}}) == ["r2", "r3"]
    assert q({"entity": "team"}) == ["r2"]
    assert q({"id": {"$regex": "^r[12]$"}}) == ["r1", "r2"]
    assert q({"config.missing": None}) == ["r1", "r2", "r3"]
    with pytest.raises(UsageError, match="operator"):
        q({"config.lr": {"$near": 1}})
    with pytest.raises(UsageError, match="operator"):
        q({"$where": "1"})


# -- caching ---------------------------------------------------------------------------------------
def test_parsed_logs_are_cached_until_the_log_changes(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path, "grow1", [(Kind.RUN, run_body("grow1")), (Kind.HISTORY, row(0, x=0))])
    api = Api(root=tmp_path)
    cache = api._cache
    assert api.run("grow1").history_length == 1
    api.run("grow1")
    api.runs()
    assert cache.misses == 1
    run = api.run("grow1")
    append(run_dir, [(Kind.HISTORY, row(1, x=1))])
    assert run.history_length == 1  # a Run is a snapshot ...
    assert run.load(force=True).history_length == 2  # ... until it is reloaded
    assert api.run("grow1").history_length == 2
    assert cache.misses == 2
    api.flush()
    api.run("grow1")
    assert cache.misses == 3


# -- the rules of the house ------------------------------------------------------------------------
def test_importing_trackwell_does_not_import_pandas_or_numpy() -> None:
    code = textwrap.dedent("""
        import sys
        import trackwell
        import trackwell.api
        from trackwell.api import Api
        Api(root=".").runs()
        bad = sorted({"pandas", "numpy"} & set(sys.modules))
        assert not bad, bad
        print("ok")
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_no_warnings_on_clean_runs(three_runs: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(Api(root=three_runs).runs()) == 3


# -- real runs, written by trackwell.init() ------------------------------------------------------
def test_real_finished_run(trackwell_dir: Path) -> None:
    import trackwell

    run = trackwell.init(
        project="p",
        dir=str(trackwell_dir),
        mode="offline",
        name="real",
        tags=["t1"],
        config={"lr": 0.1, "opt": {"name": "adam"}},
    )
    run.define_metric("loss", summary="min")
    for i in range(20):
        run.log({"loss": 1 / (i + 1), "acc": i / 20, "n": {"a": i}})
    run.config.update({"batch": 32})
    run.summary["extra"] = 1
    run.finish()

    got = Api(root=trackwell_dir).run(f"p/{run.id}")
    assert (got.id, got.name, got.project, got.tags, got.state) == (run.id, "real", "p", ["t1"], "finished")
    assert got.config == {"lr": 0.1, "opt": {"name": "adam"}, "batch": 32}
    assert got.summary["loss"] == {"min": 1 / 20}
    assert got.summary["acc"] == 19 / 20 and got.summary["extra"] == 1
    assert got.lastHistoryStep == 19 and got.history_length == 20
    rows = got.history(pandas=False)
    assert rows[5]["n.a"] == 5 and rows[5]["loss"] == 1 / 6
    assert [r["_step"] for r in got.scan_history(keys=["_step"])] == list(range(20))
    assert "config.yaml" in [f.name for f in got.files()]
    assert got.exit_code == 0 and got.runtime > 0
    assert time.strftime("%Y-%m-%dT", time.gmtime(got.start_time)) in got.created_at


def test_real_live_run_is_running_then_finished(trackwell_dir: Path) -> None:
    import trackwell

    run = trackwell.init(project="p", dir=str(trackwell_dir), mode="offline")
    try:
        for i in range(10):
            run.log({"x": i})
        assert run.flush()
        api = Api(root=trackwell_dir)
        live = api.run(run.id)
        assert live.state == "running"
        assert [r["x"] for r in live.scan_history()] == list(range(10))
        run.log({"x": 10})
        assert run.flush()
        assert live.load(force=True).history_length == 11
    finally:
        run.finish()
    assert live.load(force=True).state == "finished"


CHILD = """
import sys
import trackwell

run = trackwell.init(project="p", dir=sys.argv[1], mode="offline", config={"lr": 0.5})
run.define_metric("loss", summary="min")
i = 0
while True:
    run.log({"loss": 1.0 / (i + 1), "i": i})
    i += 1
    if i % 50 == 0:
        run.flush()
        print(f"flushed {i} {run.id}", flush=True)
"""


def test_sigkilled_run_is_crashed_and_keeps_every_flushed_row(trackwell_dir: Path) -> None:
    import selectors
    import signal

    env = dict(os.environ, TRACKWELL_SILENT="true", TRACKWELL_X_DISABLE_STATS="true")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(trackwell_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    flushed, run_id = 0, ""
    try:
        sel = selectors.DefaultSelector()
        sel.register(child.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        deadline = time.monotonic() + 60
        while flushed < 200:
            assert time.monotonic() < deadline, (
                f"child made no progress: {child.stderr.read() if child.poll() is not None else ''}"
            )
            if sel.select(timeout=1.0):
                line = child.stdout.readline()  # type: ignore[union-attr]
                assert line, f"child exited early: {child.stderr.read()}"  # type: ignore[union-attr]
                _, count, run_id = line.split()
                flushed = int(count)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
        child.stdout.close()  # type: ignore[union-attr]
        child.stderr.close()  # type: ignore[union-attr]
    assert child.returncode == -signal.SIGKILL

    run = Api(root=trackwell_dir).run(f"p/{run_id}")
    assert run.state == "crashed"
    assert run.exit_code is None
    rows = list(run.scan_history())
    assert len(rows) >= flushed  # nothing flushed before the kill is lost
    assert [r["i"] for r in rows] == list(range(len(rows)))
    assert [r["_step"] for r in rows] == list(range(len(rows)))
    assert run.config == {"lr": 0.5}
    assert run.summary["loss"] == {"min": 1.0 / len(rows)}  # replayed with the define_metric rule
    assert run.summary["i"] == len(rows) - 1
    assert run.lastHistoryStep == len(rows) - 1
    assert run.runtime > 0


def test_host_override_still_counts_as_this_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_run(tmp_path, "live2", [(Kind.RUN, run_body("live2", pid=os.getpid(), host="display-name"))])
    monkeypatch.delenv("TRACKWELL_HOST", raising=False)
    monkeypatch.delenv("WANDB_HOST", raising=False)
    assert Api(root=tmp_path).run("live2").state == "crashed"
    monkeypatch.setenv("WANDB_HOST", "display-name")
    assert Api(root=tmp_path).run("live2").state == "running"


def test_a_server_is_used_only_when_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trackwell.api import LocalApi
    from trackwell.api.remote import ServerApi

    no_server_configured(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert type(Api()) is LocalApi and isinstance(Api(), Api)
    url = "http://127.0.0.1:9"  # never contacted: making an Api sends nothing
    assert type(Api(overrides={"base_url": url})) is ServerApi
    assert type(Api(root=tmp_path, overrides={"base_url": url})) is LocalApi  # root= is always local
    monkeypatch.setenv("WANDB_BASE_URL", url)
    assert type(Api()) is ServerApi and isinstance(Api(), Api)
    assert Api().client.base_url == url


def test_exported_from_the_package() -> None:
    import trackwell
    import trackwell.api

    assert trackwell.Api is Api
    assert set(trackwell.api.__all__) == {
        "Api",
        "LocalApi",
        "LocalFile",
        "Run",
        "RunNotFoundError",
        "Runs",
        "SkippedRunWarning",
        "Summary",
    }
