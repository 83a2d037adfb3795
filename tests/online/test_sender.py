"""The sender against the in-process fake server: streaming, outages, gaps, limits, files, settings."""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import trackwell
from trackwell import sender
from trackwell.errors import UsageError
from trackwell.runlog import read_log
from trackwell.settings import Settings

if TYPE_CHECKING:
    from conftest import FakeServer


def wait_until(check: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def history_steps(server: FakeServer, run_id: str) -> list[int]:
    return [row["_step"] for row in server.run(run_id).history]


def log_records(run: trackwell.Run) -> int:
    return len(read_log(next(run.dir.glob("*.twlog"))).records)


def test_an_online_run_streams_its_log_and_files_and_marks_the_directory(
    fake_online: FakeServer, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRACKWELL_SILENT")
    run = trackwell.init(project="p", config={"lr": 0.5}, tags=["a"])
    assert run.settings.mode == "online"
    assert run.dir.name.startswith("run-")
    for i in range(500):
        run.log({"loss": 1 / (i + 1), "nan": float("nan")})
    run.finish()
    server_run = fake_online.run(run.id)
    assert history_steps(fake_online, run.id) == list(range(500))
    assert server_run.config == {"lr": 0.5}
    assert server_run.info["state"] == "finished"
    assert server_run.info["tags"] == ["a"]
    assert {"config.yaml", "summary.json", "metadata.json"} <= set(server_run.files)
    assert json.loads(server_run.files["summary.json"])["_step"] == 499
    (stream,) = server_run.streams
    assert stream == run.stream
    assert len(server_run.streams[stream]) == log_records(run)  # every record, each once
    marker = json.loads((run.dir / "sync.json").read_text())
    assert marker["complete"] is True
    assert marker["stream"] == run.stream
    assert marker["acked_seq"] == log_records(run) - 1
    assert marker["base_url"] == fake_online.url
    url = f"{fake_online.url}/tester/p/runs/{run.id}"
    assert run.url == url
    assert f"Run page: {url}" in capfd.readouterr().err


def test_init_does_not_wait_for_an_absent_server_and_the_run_catches_up_later(
    fake_online: FakeServer,
) -> None:
    fake_online.down = True
    start = time.monotonic()
    run = trackwell.init(project="p")
    for i in range(2000):
        run.log({"i": i})
    assert run.flush()
    assert ("PUT", f"/api/v1/runs/tester/p/{run.id}") not in fake_online.requests
    assert time.monotonic() - start < 10  # nothing on the caller's side waited on the network
    fake_online.down = False
    run.finish()
    assert history_steps(fake_online, run.id) == list(range(2000))
    assert json.loads((run.dir / "sync.json").read_text())["complete"] is True


def test_a_server_outage_mid_run_loses_and_repeats_nothing(fake_online: FakeServer) -> None:
    run = trackwell.init(project="p")
    run.log({"i": 0})
    wait_until(lambda: (run.id and ("tester", "p", run.id) in fake_online.runs
                        and bool(fake_online.run(run.id).history)))  # fmt: skip
    seen = len(fake_online.requests)
    fake_online.down = True
    for i in range(1, 1000):
        run.log({"i": i})
    run.flush()
    wait_until(lambda: len(fake_online.requests) > seen)  # the sender met the outage
    fake_online.down = False
    run.finish()
    assert history_steps(fake_online, run.id) == list(range(1000))
    upserts = fake_online.run(run.id).upserts
    assert len(upserts) >= 2  # upserted again after reconnecting
    assert all("resume" not in u and "config" not in u for u in upserts)  # idempotent, never a reset


def test_a_sequence_gap_makes_the_sender_resend_what_the_server_lacks(fake_online: FakeServer) -> None:
    run = trackwell.init(project="p")
    for i in range(300):
        run.log({"i": i})
    wait_until(lambda: ("tester", "p", run.id) in fake_online.runs
               and len(fake_online.run(run.id).history) == 300)  # fmt: skip
    server_run = fake_online.run(run.id)
    with fake_online.lock:  # the server loses the newest records (restored from a backup)
        records = server_run.streams[run.stream or ""]
        for seq in [s for s in records if s > 100]:
            del records[seq]
        server_run.history = [records[s][2] for s in sorted(records) if records[s][0] == "history"]
    for i in range(300, 400):
        run.log({"i": i})
    run.finish()
    assert history_steps(fake_online, run.id) == list(range(400))
    assert len(server_run.streams[run.stream or ""]) == log_records(run)


def test_429_answers_are_retried_after_retry_after(fake_online: FakeServer) -> None:
    fake_online.retry_after = "0.2"
    fake_online.fail(3, status=429)
    run = trackwell.init(project="p")
    run.log({"a": 1})
    run.finish()
    assert history_steps(fake_online, run.id) == [0]


def test_a_rejected_key_stops_the_upload_not_the_training(
    fake_online: FakeServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRACKWELL_API_KEY", "tw_wrong")
    run = trackwell.init(project="p")
    for i in range(100):
        run.log({"i": i})
    run.finish()
    err = capfd.readouterr().err
    assert "rejected the API key" in err
    assert f"trackwell sync {run.dir}" in err
    assert log_records(run) > 100  # all of it kept locally
    assert sender.read_marker(run.dir).get("complete") is not True


def test_finish_waits_only_upload_timeout_then_says_how_to_sync(
    fake_online: FakeServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    fake_online.down = True
    monkeypatch.setenv("TRACKWELL_UPLOAD_TIMEOUT", "2.5")
    monkeypatch.delenv("TRACKWELL_SILENT")
    run = trackwell.init(project="p")
    run.log({"a": 1})
    start = time.monotonic()
    run.finish()
    assert time.monotonic() - start < 10
    err = capfd.readouterr().err
    assert f"uploading run {run.id}: " in err  # progress, after 2 s
    assert "records left (retrying: the server answered 503" in err
    assert "did not reach the server within 2.5 s (upload_timeout; last error: the server answered 503" in err
    assert f"trackwell sync {run.dir}" in err
    assert ("tester", "p", run.id) not in fake_online.runs


def test_big_saved_files_go_up_in_parts(fake_online: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sender, "FILE_PART_BYTES", 1000)
    data = bytes(range(256)) * 20
    Path("weights.bin").write_bytes(data)
    run = trackwell.init(project="p")
    run.save("weights.bin", policy="now")
    run.finish()
    server_run = fake_online.run(run.id)
    assert server_run.files["weights.bin"] == data
    assert len(server_run.parts["weights.bin"]) == 6


def test_an_idle_live_run_sends_heartbeats(fake_online: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sender, "HEARTBEAT_INTERVAL", 0.05)
    run = trackwell.init(project="p")
    wait_until(
        lambda: ("tester", "p", run.id) in fake_online.runs and fake_online.run(run.id).heartbeats >= 2
    )
    run.finish()


def test_a_configured_server_makes_online_the_default_mode(trackwell_dir: Path) -> None:
    env = {"TRACKWELL_BASE_URL": "http://127.0.0.1:9"}
    assert Settings.resolve(environ=env).mode == "online"
    assert Settings.resolve({"mode": "offline"}, environ=env).mode == "offline"
    assert Settings.resolve(environ={"WANDB_BASE_URL": "http://h:1"}).base_url == "http://h:1"
    assert Settings.resolve(environ={}).mode == "offline"


def test_online_without_a_server_logs_offline_with_a_warning(trackwell_dir: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = trackwell.init(project="p", mode="online")
    run.finish()
    assert run.dir.name.startswith("offline-run-")
    assert any("trackwell login" in str(w.message) for w in caught)


@pytest.mark.parametrize("arg", ["fork_from", "resume_from"])
def test_fork_and_rewind_need_a_server(trackwell_dir: Path, arg: str) -> None:
    with pytest.raises(UsageError, match="server"):
        trackwell.init(project="p", mode="offline", **{arg: "abc?_step=3"})


def test_online_runs_import_no_http_code_until_init(tmp_path: Path) -> None:
    import subprocess

    code = (
        "import sys, trackwell; "
        "print(sorted(m for m in ('http.client', 'trackwell.sender', 'trackwell.transport') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.strip() == "[]"


def test_the_sender_is_not_started_for_offline_runs(trackwell_dir: Path) -> None:
    run = trackwell.init(project="p", mode="offline")
    assert run._sender is None
    run.finish()
    assert not (run.dir / "sync.json").exists()


def test_ctrl_c_while_finish_waits_stops_the_wait_and_keeps_the_data(fake_online: FakeServer) -> None:
    import os
    import subprocess

    fake_online.down = True
    script = Path("script.py")
    script.write_text(
        "import os, signal, threading, trackwell\n"
        "run = trackwell.init(project='p')\n"
        "run.log({'a': 1})\n"
        "def interrupt():\n"
        "    run._sender._closing.wait()  # finish() is waiting for the upload\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "threading.Thread(target=interrupt, daemon=True).start()\n"
        "run.finish()\n"
        "print('finish returned', run.state)\n",
        encoding="utf-8",
    )
    env = {**os.environ, "TRACKWELL_UPLOAD_TIMEOUT": "60"}
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "finish returned finished" in proc.stdout
    assert "did not reach the server (upload interrupted; last error: the server answered 503" in proc.stderr
    assert "trackwell sync" in proc.stderr


def test_a_script_that_never_calls_finish_is_uploaded_at_exit(fake_online: FakeServer) -> None:
    import subprocess

    script = Path("script.py")
    script.write_text(
        "import trackwell\nrun = trackwell.init(project='p', id='atexit')\nfor i in range(100):\n    run.log({'i': i})\n",
        encoding="utf-8",
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert history_steps(fake_online, "atexit") == list(range(100))
    assert fake_online.run("atexit").info["state"] == "finished"
