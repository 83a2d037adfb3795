"""`trackwell runs [DIR]`: the table, --project/--state, --json, and the empty case."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from trackwell._pipeline import runlog
from trackwell._pipeline.runlog import Kind
from trackwell.cli import COMMAND_MODULES
from trackwell.cli.runs import format_duration, register

T0 = 1_767_225_600.0
DEAD_PID = 2**22 + 12345


def write_run(
    root: Path,
    run_id: str,
    project: str,
    start: float,
    rows: int,
    exit_state: str | None,
    name: str | None = None,
) -> Path:
    stamp = time.strftime("%Y%m%d_%H%M%S", time.localtime(start))
    run_dir = root / "trackwell" / f"offline-run-{stamp}-{run_id}"
    (run_dir / "files").mkdir(parents=True)
    records: list[tuple[str, Any]] = [
        (
            Kind.RUN,
            {
                "id": run_id,
                "name": name or f"name-{run_id}",
                "project": project,
                "entity": None,
                "tags": [],
                "start_time": start,
                "pid": DEAD_PID,
                "host": "elsewhere",
                "resumed": False,
            },
        )
    ]
    records += [
        (Kind.HISTORY, {"_step": i, "_timestamp": start + i, "_runtime": float(i), "loss": 1 / (i + 1)})
        for i in range(rows)
    ]
    if exit_state:
        records.append(
            (
                Kind.EXIT,
                {
                    "exit_code": 0 if exit_state == "finished" else 1,
                    "state": exit_state,
                    "runtime": 63.4,
                    "_timestamp": start + 63.4,
                },
            )
        )
    packer = runlog.new_packer()
    with open(run_dir / f"run-{run_id}.twlog", "wb") as fh:
        fh.write(runlog.MAGIC)
        fh.writelines(
            runlog.encode_record(packer, kind, seq, body) for seq, (kind, body) in enumerate(records)
        )
    return run_dir


@pytest.fixture
def cli() -> click.Group:
    group = click.Group("trackwell")
    register(group)
    return group


@pytest.fixture
def runs_root(tmp_path: Path) -> Path:
    write_run(tmp_path, "aaa111", "vision", T0, rows=5, exit_state="finished")
    write_run(tmp_path, "bbb222", "vision", T0 + 10, rows=3, exit_state=None, name="x" * 50)
    write_run(tmp_path, "ccc333", "nlp", T0 + 20, rows=0, exit_state="failed")
    return tmp_path


def invoke(cli: click.Group, *args: str) -> Any:
    return CliRunner().invoke(cli, ["runs", *args], catch_exceptions=False)


def test_registered_with_the_main_cli() -> None:
    assert "trackwell.cli.runs" in COMMAND_MODULES


def test_table(cli: click.Group, runs_root: Path) -> None:
    result = invoke(cli, str(runs_root))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "PROJECT", "STATE", "STEPS", "START", "DURATION"]
    assert [line.split()[0] for line in lines[1:]] == ["ccc333", "bbb222", "aaa111"]  # newest first
    first = lines[3].split()
    assert first[:5] == ["aaa111", "name-aaa111", "vision", "finished", "5"]
    assert " ".join(first[5:7]) == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(T0))
    assert " ".join(first[7:]) == "1m 03s"
    crashed = lines[2]
    assert "crashed" in crashed and "x" * 31 + "…" in crashed and "x" * 32 not in crashed
    assert crashed.rstrip().endswith("2s")  # last _runtime it logged
    # columns line up: every row puts STATE where the header does
    col = lines[0].index("STATE")
    assert all(line[col:].split()[0] in ("finished", "crashed", "failed") for line in lines[1:])


def test_project_and_state_filters(cli: click.Group, runs_root: Path) -> None:
    out = invoke(cli, str(runs_root), "--project", "vision").stdout
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["bbb222", "aaa111"]
    out = invoke(cli, str(runs_root), "--state", "failed").stdout
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["ccc333"]


def test_json(cli: click.Group, runs_root: Path) -> None:
    result = invoke(cli, str(runs_root), "--json", "-p", "vision")
    data = json.loads(result.stdout)
    assert [d["id"] for d in data] == ["bbb222", "aaa111"]
    aaa = data[1]
    assert aaa["state"] == "finished" and aaa["steps"] == 5 and aaa["last_step"] == 4
    assert aaa["runtime"] == 63.4 and aaa["start_time"] == T0 and aaa["exit_code"] == 0
    assert aaa["created_at"] == "2026-01-01T00:00:00"
    assert Path(aaa["dir"]).name.endswith("-aaa111")


def test_no_runs(cli: click.Group, tmp_path: Path) -> None:
    result = invoke(cli, str(tmp_path))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "No runs found under" in result.stderr and "trackwell.init()" in result.stderr
    assert "of project 'zz'" in invoke(cli, str(tmp_path), "--project", "zz").stderr
    assert json.loads(invoke(cli, str(tmp_path), "--json").stdout) == []


def test_default_dir_and_missing_dir(
    cli: click.Group, runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WANDB_DIR", raising=False)
    monkeypatch.setenv("TRACKWELL_DIR", str(runs_root))
    assert len(invoke(cli).stdout.splitlines()) == 4
    result = CliRunner().invoke(cli, ["runs", str(runs_root / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_unreadable_runs_are_reported_not_fatal(cli: click.Group, runs_root: Path) -> None:
    bad = runs_root / "trackwell" / "offline-run-20260101_000000-bad999"
    bad.mkdir()
    (bad / "run-bad999.twlog").write_bytes(b"garbage!")
    result = invoke(cli, str(runs_root))
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 4
    assert "warning: skipping" in result.stderr and "bad999" in result.stderr


def test_help(cli: click.Group) -> None:
    out = invoke(cli, "--help").stdout
    for word in ("DIR", "--project", "--state", "--json", "TRACKWELL_DIR", "crashed"):
        assert word in out


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.7, "0s"),
        (45, "45s"),
        (63.4, "1m 03s"),
        (3600, "1h 00m 00s"),
        (7509, "2h 05m 09s"),
        (3 * 86400 + 4 * 3600 + 600, "3d 04h 10m"),
        (-5, "0s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
