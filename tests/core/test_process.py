"""Real processes: kill -9 and torn logs, final states at exit, console capture, import hygiene, the demo CLI."""

from __future__ import annotations

import importlib.util
import json
import os
import pkgutil
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import trackwell
from trackwell._pipeline.runlog import Record, read_log
from trackwell.errors import CorruptRunLog

TIMEOUT = 60


def child_env(cwd: Path, **extra: str) -> dict[str, str]:
    """The parent's environment without trackwell/W&B settings, isolated to ``cwd``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKWELL_", "WANDB_"))}
    env.update(
        TRACKWELL_SILENT="true",
        TRACKWELL_X_DISABLE_STATS="true",
        TRACKWELL_CONFIG_DIR=str(cwd / ".config"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def write_script(cwd: Path, source: str, name: str = "script.py") -> Path:
    path = cwd / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def run_script(cwd: Path, source: str, **env: str) -> subprocess.CompletedProcess[str]:
    script = write_script(cwd, source)
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd, env=child_env(cwd, **env), capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip


def the_run_dir(root: Path) -> Path:
    (run_dir,) = [p for p in (root / "trackwell").glob("offline-run-*") if not p.is_symlink()]
    return run_dir


def the_log(root: Path) -> Path:
    (log,) = the_run_dir(root).glob("run-*.twlog")
    return log


def kinds(records: list[Record], kind: str) -> list[Any]:
    return [r.body for r in records if r.kind == kind]


# -- (a) kill -9 ------------------------------------------------------------------------

KILLED_CHILD = """
import trackwell

N = {n}
run = trackwell.init(project="crash", id="killme")
run.config.update({{"lr": 0.5}})
for i in range(N):
    run.log({{"i": i, "sq": i * i, "f": i / 7}})
assert run.flush()
print("FLUSHED", flush=True)
i = N
while i < 50_000_000:  # keep logging until the parent kills us
    run.log({{"i": i, "sq": i * i, "f": i / 7}})
    i += 1
"""


def start_and_kill(cwd: Path, n: int) -> None:
    script = write_script(cwd, KILLED_CHILD.format(n=n))
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=cwd, env=child_env(cwd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "FLUSHED", proc.stderr.read() if proc.stderr else line
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert proc.returncode == -signal.SIGKILL


def check_rows(rows: list[dict[str, Any]], at_least: int) -> None:
    """Every row up to the last one recovered is there, in order, with exact values."""
    assert len(rows) >= at_least
    for expected, row in enumerate(rows):
        assert row["_step"] == expected
        assert row["i"] == expected
        assert row["sq"] == expected * expected
        assert row["f"] == expected / 7


def test_kill_9_after_flush_keeps_every_flushed_row(tmp_path: Path) -> None:
    n = 300
    start_and_kill(tmp_path, n)

    result = read_log(the_log(tmp_path))
    records = result.records
    assert records[0].kind == "run"
    assert [r.seq for r in records] == list(range(len(records)))
    check_rows(kinds(records, "history"), n)
    assert kinds(records, "exit") == []
    assert kinds(records, "config") == [{"update": {"lr": 0.5}, "remove": []}]


def test_kill_9_public_api_sees_a_crashed_run_with_its_rows(tmp_path: Path) -> None:
    n = 200
    start_and_kill(tmp_path, n)

    run = trackwell.Api(root=tmp_path).run("crash/killme")
    assert run.state == "crashed"
    rows = list(run.scan_history())
    check_rows(rows, n)
    assert run.lastHistoryStep == len(rows) - 1
    assert run.summary["i"] == rows[-1]["i"]  # replayed from the log: no summary.json needed
    assert run.config == {"lr": 0.5}
    assert run.exit_code is None


def test_a_killed_run_can_be_resumed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    start_and_kill(tmp_path, 100)
    recovered = len(kinds(read_log(the_log(tmp_path)).records, "history"))

    proc = run_script(
        tmp_path,
        """
        import trackwell
        run = trackwell.init(project="crash", id="killme", resume="must")
        print(run.step)
        run.log({"i": run.step, "sq": run.step ** 2, "f": run.step / 7})
        run.finish()
        """,
    )
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[0]) == recovered

    result = read_log(the_log(tmp_path))
    assert result.torn_bytes == 0  # the torn tail was cut off before appending
    check_rows(kinds(result.records, "history"), recovered + 1)
    assert kinds(result.records, "exit")[-1]["state"] == "finished"
    assert trackwell.Api(root=tmp_path).run("killme").state == "finished"


# -- (b) a torn tail ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run's log, written by a child process (so its pid is gone)."""
    cwd = tmp_path_factory.mktemp("torn")
    proc = run_script(
        cwd,
        """
        import trackwell
        with trackwell.init(project="torn", id="tornrun") as run:
            for i in range(20):
                run.log({"i": i, "nan": float("nan")})
        """,
    )
    assert proc.returncode == 0, proc.stderr
    return the_log(cwd)


@pytest.fixture
def torn_copy(finished_log: Path, tmp_path: Path) -> Path:
    run_dir = tmp_path / "trackwell" / finished_log.parent.name
    shutil.copytree(finished_log.parent, run_dir)
    return run_dir / finished_log.name


def same_records(a: list[Record], b: list[Record]) -> bool:
    def key(r: Record) -> str:
        return json.dumps([r.kind, r.seq, r.body], sort_keys=True, default=repr)

    return [key(r) for r in a] == [key(r) for r in b]


def test_reader_reads_a_clean_log_whole(finished_log: Path) -> None:
    result = read_log(finished_log)
    assert result.torn_bytes == 0
    assert result.good_bytes == finished_log.stat().st_size
    assert [r.kind for r in result.records][-1] == "exit"


@pytest.mark.parametrize(
    "tail",
    [
        b"garbage that is not a frame",
        b"\x01",
        b"\x05\x00\x00\x00",  # half a frame header
        b"\x10\x00\x00\x00\xde\xad\xbe\xef" + b"short",  # header promising more than is there
        b"\xff\xff\xff\x7f\x00\x00\x00\x00",  # an absurd length
        b"\x03\x00\x00\x00\x00\x00\x00\x00abc",  # complete frame, wrong checksum
    ],
    ids=["text", "one-byte", "half-header", "short-payload", "huge-length", "bad-crc"],
)
def test_garbage_after_the_last_record_is_dropped(finished_log: Path, torn_copy: Path, tail: bytes) -> None:
    with open(torn_copy, "ab") as fh:
        fh.write(tail)

    result = read_log(torn_copy)
    assert same_records(result.records, read_log(finished_log).records)
    assert result.torn_bytes == len(tail)
    assert result.good_bytes == finished_log.stat().st_size


def test_half_a_record_at_the_end_drops_only_that_record(finished_log: Path, torn_copy: Path) -> None:
    whole = read_log(finished_log)
    data = torn_copy.read_bytes()
    last_start = last_record_offset(finished_log)
    cut = last_start + (len(data) - last_start) // 2
    torn_copy.write_bytes(data[:cut])

    result = read_log(torn_copy)
    assert same_records(result.records, whole.records[:-1])
    assert result.torn_bytes == cut - last_start
    assert result.good_bytes == last_start


def test_a_half_written_record_appended_is_dropped(finished_log: Path, torn_copy: Path) -> None:
    data = finished_log.read_bytes()
    last_start = last_record_offset(finished_log)
    record = data[last_start:]
    with open(torn_copy, "ab") as fh:
        fh.write(record[: len(record) // 2])

    result = read_log(torn_copy)
    assert same_records(result.records, read_log(finished_log).records)
    assert result.torn_bytes == len(record) // 2


def test_a_flipped_byte_in_the_last_record_drops_only_it(finished_log: Path, torn_copy: Path) -> None:
    data = bytearray(torn_copy.read_bytes())
    data[-2] ^= 0xFF
    torn_copy.write_bytes(bytes(data))

    result = read_log(torn_copy)
    assert same_records(result.records, read_log(finished_log).records[:-1])
    assert result.torn_bytes > 0


def test_public_api_reads_a_torn_log(finished_log: Path, torn_copy: Path) -> None:
    data = torn_copy.read_bytes()
    torn_copy.write_bytes(data[: last_record_offset(finished_log) + 3])  # the exit record is torn

    run = trackwell.Api(root=torn_copy.parent.parent.parent).run("torn/tornrun")
    assert run.state == "crashed"
    assert [r["i"] for r in run.scan_history()] == list(range(20))


def test_not_a_run_log_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "run-x.twlog"
    path.write_bytes(b"hello world, not a log")
    with pytest.raises(CorruptRunLog):
        read_log(path)


def last_record_offset(log: Path) -> int:
    """File offset where the last complete record starts."""
    size = log.stat().st_size
    assert read_log(log).good_bytes == size
    data = log.read_bytes()
    offset = 8  # the file header; then <u32 length><u32 crc> frames
    starts = []
    while offset < len(data):
        starts.append(offset)
        length = int.from_bytes(data[offset : offset + 4], "little")
        offset += 8 + length
    assert offset == size
    return starts[-1]


# -- (c, d) final states at exit ------------------------------------------------------------

LOG_THEN = """
import trackwell
run = trackwell.init(project="states", id="staterun")
run.log({{"a": 1}})
run.log({{"a": 2}})
{then}
"""


def exit_record(cwd: Path) -> dict[str, Any]:
    records = read_log(the_log(cwd)).records
    exits = kinds(records, "exit")
    assert len(exits) == 1
    assert [b["a"] for b in kinds(records, "history")] == [1, 2]
    return exits[0]


def test_unhandled_exception_marks_the_run_failed(tmp_path: Path) -> None:
    proc = run_script(tmp_path, LOG_THEN.format(then="raise RuntimeError('training blew up')"))

    assert proc.returncode == 1
    assert "RuntimeError: training blew up" in proc.stderr  # the traceback is still printed
    body = exit_record(tmp_path)
    assert (body["state"], body["exit_code"]) == ("failed", 1)
    assert trackwell.Api(root=tmp_path).run("staterun").state == "failed"


def test_keyboard_interrupt_marks_the_run_killed(tmp_path: Path) -> None:
    proc = run_script(tmp_path, LOG_THEN.format(then="raise KeyboardInterrupt"))

    assert proc.returncode != 0
    assert "KeyboardInterrupt" in proc.stderr
    body = exit_record(tmp_path)
    assert body["state"] == "killed"
    assert trackwell.Api(root=tmp_path).run("staterun").state == "killed"


def test_ctrl_c_marks_the_run_killed(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        LOG_THEN.format(then="import time\nprint('READY', flush=True)\ntime.sleep(60)"),
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path, env=child_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "KeyboardInterrupt" in err
    assert exit_record(tmp_path)["state"] == "killed"


def test_script_that_never_calls_finish_is_finished_at_exit(tmp_path: Path) -> None:
    proc = run_script(tmp_path, LOG_THEN.format(then="run.summary['note'] = 'kept'"))

    assert proc.returncode == 0, proc.stderr
    body = exit_record(tmp_path)
    assert (body["state"], body["exit_code"]) == ("finished", 0)
    summary = json.loads((the_run_dir(tmp_path) / "files" / "summary.json").read_text())
    assert summary["a"] == 2
    assert summary["note"] == "kept"


def test_sys_exit_with_an_error_code_marks_the_run_failed(tmp_path: Path) -> None:
    # W&B records the code passed to sys.exit() as the run's exit code.
    proc = run_script(tmp_path, LOG_THEN.format(then="import sys\nsys.exit(3)"))

    assert proc.returncode == 3
    body = exit_record(tmp_path)
    assert (body["state"], body["exit_code"]) == ("failed", 3)


def test_sys_exit_zero_is_a_finished_run(tmp_path: Path) -> None:
    proc = run_script(tmp_path, LOG_THEN.format(then="import sys\nsys.exit(0)"))
    assert proc.returncode == 0
    body = exit_record(tmp_path)
    assert (body["state"], body["exit_code"]) == ("finished", 0)


# -- (e) console capture -------------------------------------------------------------------


def test_console_output_is_teed_to_output_log(tmp_path: Path) -> None:
    proc = run_script(
        tmp_path,
        """
        import sys
        import trackwell
        print("before init")
        run = trackwell.init()
        print("hello from stdout")
        print("hello from stderr", file=sys.stderr)
        sys.stdout.write("partial ")
        sys.stdout.writelines(["line one\\n", "line two\\n"])
        run.log({"a": 1})
        run.finish()
        print("after finish")
        """,
    )
    assert proc.returncode == 0, proc.stderr
    # the real streams still get everything
    assert proc.stdout.splitlines() == [
        "before init",
        "hello from stdout",
        "partial line one",
        "line two",
        "after finish",
    ]
    assert "hello from stderr" in proc.stderr

    output = (the_run_dir(tmp_path) / "files" / "output.log").read_text(encoding="utf-8")
    assert "hello from stdout\n" in output
    assert "hello from stderr\n" in output
    assert "partial line one\nline two\n" in output
    assert "after finish" not in output


def test_console_off_writes_no_output_log(tmp_path: Path) -> None:
    proc = run_script(
        tmp_path,
        """
        import trackwell
        run = trackwell.init()
        print("not captured")
        run.finish()
        """,
        TRACKWELL_CONSOLE="off",
    )
    assert proc.returncode == 0, proc.stderr
    assert "not captured" in proc.stdout
    assert not (the_run_dir(tmp_path) / "files" / "output.log").exists()


# -- (f, g) imports ----------------------------------------------------------------------------

HEAVY = ("numpy", "pandas", "torch", "requests", "urllib3", "pluggy", "psutil", "yaml", "click")


def test_import_is_light(tmp_path: Path) -> None:
    code = f"import sys, trackwell, json; print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=child_env(tmp_path),
        capture_output=True, text=True, timeout=TIMEOUT, check=True,
    )  # fmt: skip
    assert json.loads(proc.stdout) == []


#: init() may load pluggy and psutil (plugins, system metrics), never these: installed
#: plugins (the server, the integrations) are imported at init, so each must stay light;
#: an offline run never loads the HTTP client (requests, urllib3: trackwell._pipeline.httpclient)
INIT_HEAVY = ("numpy", "pandas", "torch", "requests", "urllib3", "trackwell._pipeline.httpclient", "click", "secrets",
              "trackwell.api", "trackwell_server.cli")  # fmt: skip


def test_init_with_every_installed_plugin_is_light(tmp_path: Path) -> None:
    code = (
        "import sys, json, trackwell\n"
        "run = trackwell.init(project='p', mode='offline')\n"
        f"print(json.dumps(sorted(m for m in {INIT_HEAVY!r} if m in sys.modules)))\n"
        "run.finish()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=child_env(tmp_path),
        capture_output=True, text=True, timeout=TIMEOUT, check=True,
    )  # fmt: skip
    assert json.loads(proc.stdout.splitlines()[0]) == []


def test_import_with_warnings_as_errors(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import trackwell; print(trackwell.__version__)"],
        cwd=tmp_path, env=child_env(tmp_path), capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == trackwell.__version__
    assert proc.stderr == ""


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(trackwell.__path__, prefix="trackwell."))


def test_walk_finds_the_core_modules() -> None:
    found = set(_modules())
    assert {
        "trackwell.session",
        "trackwell._pipeline.writer",
        "trackwell._pipeline.runlog",
        "trackwell.api",
        "trackwell.cli",
    } <= found


@pytest.mark.parametrize("module", _modules())
def test_every_module_imports_with_warnings_as_errors(module: str, tmp_path: Path) -> None:
    # like pytest's testing/test_meta.py: a fresh interpreter per module, so import
    # order cannot hide a missing import or a deprecation warning
    if module == "trackwell.apis.importers.mlflow" and importlib.util.find_spec("trackwell_mlflow") is None:
        pytest.skip("W&B's name for trackwell-mlflow's importer: without it, importing says how to install it")
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", f"import {module}"],
        cwd=tmp_path, env=child_env(tmp_path), capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr or proc.stdout


# -- (h) the CLI ------------------------------------------------------------------------------------


def trackwell_command() -> list[str]:
    script = Path(sys.executable).with_name("trackwell")
    return [str(script)] if script.exists() else [sys.executable, "-m", "trackwell"]


def test_demo_command_leaves_a_finished_run(tmp_path: Path) -> None:
    pytest.importorskip("trackwell_server", reason="`trackwell demo` comes with the server (pip install -e server-lite)")
    out_dir = tmp_path / "demo-out"
    proc = subprocess.run(
        [*trackwell_command(), "demo", "--steps", "50", "--dir", str(out_dir)],
        cwd=tmp_path, env=child_env(tmp_path), capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr

    run_dir = the_run_dir(out_dir)
    assert str(run_dir) in proc.stdout
    records = read_log(the_log(out_dir)).records
    assert len(kinds(records, "history")) == 50
    assert kinds(records, "exit")[0]["state"] == "finished"
    assert kinds(records, "metric")
    assert kinds(records, "alert")

    (api_run,) = trackwell.Api(root=out_dir).runs("demo")
    assert api_run.state == "finished"
    assert api_run.config["lr"] == 3e-4
    assert "train/loss" in api_run.summary
    assert not (tmp_path / "trackwell").exists()  # --dir was honoured


def test_version_flag(tmp_path: Path) -> None:
    for cmd in (trackwell_command(), [sys.executable, "-m", "trackwell"]):
        proc = subprocess.run(
            [*cmd, "--version"], cwd=tmp_path, env=child_env(tmp_path),
            capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert trackwell.__version__ in proc.stdout
