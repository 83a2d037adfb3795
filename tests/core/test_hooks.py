"""One test per SDK hook: each is called when, where and with what its spec says."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

import trackwell
from trackwell import rundir
from trackwell._pipeline.runlog import Kind, read_log
from trackwell.errors import PluginWarning
from trackwell.run import Run


class Recorder:
    """Records every run hook call: (hook name, thread name, details)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    @trackwell.hookimpl
    def on_run_start(self, run: Run) -> None:
        self.calls.append(("on_run_start", threading.current_thread().name, run.id))
        run.log({"from_start_hook": 1})

    @trackwell.hookimpl
    def on_log(self, run: Run, rows: Sequence[dict[str, Any]]) -> None:
        self.calls.append(("on_log", threading.current_thread().name, [dict(r) for r in rows]))

    @trackwell.hookimpl
    def on_run_finish(self, run: Run, exit_code: int, state: str) -> None:
        self.calls.append(("on_run_finish", threading.current_thread().name, (exit_code, state)))
        run.log({"from_finish_hook": 2})

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]


def _history(run: Run) -> list[dict[str, Any]]:
    log = rundir.find_log(Path(run._run_dir))
    assert log is not None
    return [r.body for r in read_log(log).records if r.kind == Kind.HISTORY]


def test_hook_on_run_start(register_plugin: Callable[..., str]) -> None:
    recorder = Recorder()
    register_plugin(recorder)
    run = trackwell.init(project="p")
    run.log({"x": 1})
    run.finish()
    starts = [c for c in recorder.calls if c[0] == "on_run_start"]
    assert starts == [("on_run_start", "trackwell-writer", run.id)]
    # called before any row is written: the rows it logs are still recorded
    assert any("from_start_hook" in row for row in _history(run))


def test_hook_on_log(register_plugin: Callable[..., str]) -> None:
    recorder = Recorder()
    register_plugin(recorder)
    run = trackwell.init(project="p")
    for i in range(50):
        run.log({"loss": 1 / (i + 1)})
    assert run.flush()
    batches = [c for c in recorder.calls if c[0] == "on_log"]
    assert batches and {thread for _, thread, _ in batches} == {"trackwell-writer"}
    rows = [row for _, _, batch in batches for row in batch]
    losses = [row for row in rows if "loss" in row]
    assert [row["_step"] for row in losses] == list(range(1, 51))  # step 0 is the start hook's row
    assert all({"_timestamp", "_runtime"} <= set(row) for row in rows)
    run.finish()


def test_on_log_is_skipped_entirely_when_no_plugin_implements_it(trackwell_dir: Path) -> None:
    run = trackwell.init(project="p")
    assert run.flush()
    assert run._writer is not None and run._writer._on_log is False
    run.finish()


def test_hook_on_run_finish(register_plugin: Callable[..., str]) -> None:
    recorder = Recorder()
    register_plugin(recorder)
    with pytest.raises(RuntimeError), trackwell.init(project="p") as run:
        run.log({"x": 1})
        raise RuntimeError("boom")
    finishes = [c for c in recorder.calls if c[0] == "on_run_finish"]
    assert finishes == [("on_run_finish", "trackwell-writer", (1, "failed"))]
    # rows logged from the hook still reach the log, before the exit record
    log = rundir.find_log(Path(run._run_dir))
    assert log is not None
    kinds = [r.kind for r in read_log(log).records]
    assert kinds[-1] == Kind.EXIT
    assert any("from_finish_hook" in row for row in _history(run))


def test_run_hooks_are_called_in_lifecycle_order(register_plugin: Callable[..., str]) -> None:
    recorder = Recorder()
    register_plugin(recorder)
    run = trackwell.init(project="p")
    run.log({"x": 1})
    run.finish()
    names = recorder.names()
    assert names[0] == "on_run_start"
    assert names[-1] == "on_run_finish" or names[-2:] == ["on_run_finish", "on_log"]
    assert "on_log" in names[1:]


def test_a_failing_hook_does_not_cost_the_run_its_data(register_plugin: Callable[..., str]) -> None:
    class Broken:
        @trackwell.hookimpl
        def on_run_start(self, run: Run) -> None:
            raise RuntimeError("plugin bug")

        @trackwell.hookimpl
        def on_log(self, run: Run, rows: Sequence[dict[str, Any]]) -> None:
            raise RuntimeError("plugin bug")

    register_plugin(Broken())
    with pytest.warns(PluginWarning, match="plugin bug") as caught:
        run = trackwell.init(project="p")
        for i in range(5):
            run.log({"x": i})
        run.finish()
    messages = " ".join(str(w.message) for w in caught)
    assert "in its on_run_start hook" in messages and "in its on_log hook" in messages
    assert [row["x"] for row in _history(run)] == list(range(5))
    assert run.state == "finished"


def test_hook_register_commands(tmp_path: Path) -> None:
    """A command from an installed plugin (real entry point) shows up in the CLI."""
    site = tmp_path / "site"
    (site / "hello_plugin").mkdir(parents=True)
    (site / "hello_plugin" / "__init__.py").write_text(
        textwrap.dedent(
            """
            import click
            import trackwell

            @trackwell.hookimpl
            def register_commands(cli):
                @cli.command()
                @click.argument("who")
                def hello(who):
                    '''Say hello.'''
                    click.echo(f"hello {who}")
            """
        )
    )
    dist = site / "hello_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hello-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[trackwell]\nhello = hello_plugin\n")
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "trackwell", "hello", "world"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "hello world"
    listing = subprocess.run(
        [sys.executable, "-m", "trackwell", "--help"], capture_output=True, text=True, env=env, check=False
    )
    assert "hello" in listing.stdout


def test_hooks_may_read_the_summary_and_flush_without_deadlock(register_plugin: Callable[..., str]) -> None:
    seen: list[Any] = []

    class Reader:
        @trackwell.hookimpl
        def on_log(self, run: Run, rows: Sequence[dict[str, Any]]) -> None:
            seen.append(run.summary.get("x"))
            run.flush()

        @trackwell.hookimpl
        def on_run_finish(self, run: Run, exit_code: int, state: str) -> None:
            seen.append(("finish", dict(run.summary).get("x")))

    register_plugin(Reader())
    run = trackwell.init(project="p", settings={"finish_timeout": 5})
    run.log({"x": 7})
    assert run.flush(timeout=5)
    run.finish()
    assert 7 in seen
    assert ("finish", 7) in seen
