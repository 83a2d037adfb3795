"""The sender against the real server: streaming, outages, gaps, rate limits, lost answers, files, settings.

Faults are real where cheap (a stopped server, a tiny rate limit, a data directory
restored from a snapshot) and otherwise injected by ``FaultProxy`` in front of the
real server (see conftest.py). Results are read back from the server.
"""

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
from trackwell._pipeline import fileupload, marker, uploader
from trackwell._pipeline.runlog import read_log
from trackwell.errors import UsageError
from trackwell.settings import Settings

if TYPE_CHECKING:
    from conftest import Account, FaultProxy, LocalServer


def wait_until(check: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def log_records(run: trackwell.Run) -> int:
    return len(read_log(next(run._run_dir.glob("*.twlog"))).records)


def upserts(proxy: FaultProxy, account: Account, run_id: str) -> list[dict[str, object]]:
    """The run upserts the server answered (through the proxy), in order."""
    path = f"/runs/{account.name}/p/{run_id}"
    return [e.body for e in proxy.requests("PUT") if e.path == path and e.status in (200, 201)]


def last_step(account: Account, run_id: str) -> int:
    """The server's last history step of the run; -1 when it has none (or no run)."""
    if not account.has_run(run_id):
        return -1
    step = account.run(run_id)["last_step"]
    return -1 if step is None else int(step)


def test_an_online_run_streams_its_log_and_files_and_marks_the_directory(
    online: Account, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRACKWELL_SILENT")
    run = trackwell.init(project="p", config={"lr": 0.5}, tags=["a"])
    assert run.settings.mode == "online"
    assert run._run_dir.name.startswith("run-")
    for i in range(500):
        run.log({"loss": 1 / (i + 1), "nan": float("nan")})
    run.finish()
    info = online.run(run.id)
    assert online.steps(run.id) == list(range(500))
    assert online.history(run.id)[3]["nan"] == "NaN"
    assert info["config"] == {"lr": 0.5}
    assert info["state"] == "finished"
    assert info["tags"] == ["a"]
    assert {"config.yaml", "summary.json", "metadata.json"} <= online.files(run.id)
    assert json.loads(online.file(run.id, "summary.json"))["_step"] == 499
    assert online.records_held(run.id) == {run.stream: log_records(run)}  # every record, each once
    marker = json.loads((run._run_dir / "sync.json").read_text())
    assert marker["complete"] is True
    assert marker["stream"] == run.stream
    assert marker["acked_seq"] == log_records(run) - 1
    assert marker["base_url"] == online.url
    url = f"{online.url}/{online.name}/p/runs/{run.id}"
    assert run.url == url
    assert f"Run page: {url}" in capfd.readouterr().err


def test_init_does_not_wait_for_an_absent_server_and_the_run_catches_up_later(
    own_online: tuple[LocalServer, Account],
) -> None:
    server, account = own_online
    server.stop()  # nothing listens at the URL: connections are refused
    start = time.monotonic()
    run = trackwell.init(project="p")
    for i in range(2000):
        run.log({"i": i})
    assert run.flush()
    assert time.monotonic() - start < 10  # nothing on the caller's side waited on the network
    assert marker.read_marker(run._run_dir).get("acked_seq") in (None, -1)  # the server never answered
    server.start()  # the same port, the same data
    run.finish()
    assert account.steps(run.id) == list(range(2000))
    assert json.loads((run._run_dir / "sync.json").read_text())["complete"] is True


def test_a_server_outage_mid_run_loses_and_repeats_nothing(
    own_online: tuple[LocalServer, Account], fault_proxy: Callable[[str], FaultProxy]
) -> None:
    server, account = own_online
    proxy = fault_proxy(server.url)  # only watches: the outage is the server's
    run = trackwell.init(project="p")
    run.log({"i": 0})
    wait_until(lambda: last_step(account, run.id) == 0)
    server.stop()
    seen = len(proxy.log)
    for i in range(1, 1000):
        run.log({"i": i})
    run.flush()
    wait_until(lambda: any(e.status >= 500 for e in proxy.log[seen:]))  # the sender met the outage
    server.start()
    run.finish()
    assert account.steps(run.id) == list(range(1000))
    assert account.records_held(run.id) == {run.stream: log_records(run)}
    bodies = upserts(proxy, account, run.id)
    assert len(bodies) >= 2  # upserted again after reconnecting
    assert all("resume" not in u and "config" not in u for u in bodies)  # idempotent, never a reset


def test_a_sequence_gap_makes_the_sender_resend_what_the_server_lacks(
    own_online: tuple[LocalServer, Account],
    fault_proxy: Callable[[str], FaultProxy],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    server, account = own_online
    proxy = fault_proxy(server.url)  # only watches, and keeps the sender's connection across restarts
    monkeypatch.setattr(uploader, "HEARTBEAT_INTERVAL", 3600.0)  # idle while the server is restored:
    monkeypatch.setattr(uploader, "FILES_INTERVAL", 3600.0)  # its next request is the next batch
    run = trackwell.init(project="p")
    for i in range(100):
        run.log({"i": i})
    wait_until(lambda: last_step(account, run.id) == 99)
    # the META record (written by a thread of its own) triggers a files round: let it go up
    # now, or it may meet the server down and reconnecting would learn the gap without a 409
    wait_until(lambda: "metadata.json" in account.files(run.id))
    server.stop()
    server.snapshot(tmp_path / "backup")  # taken mid-run
    server.start()
    for i in range(100, 300):
        run.log({"i": i})
    wait_until(lambda: last_step(account, run.id) == 299)
    server.stop()
    server.restore(tmp_path / "backup")  # the server loses the newest records
    server.start()
    assert last_step(account, run.id) == 99
    (held,) = account.records_held(run.id).values()
    for i in range(300, 400):
        run.log({"i": i})
    run.finish()
    assert account.steps(run.id) == list(range(400))
    assert [r["i"] for r in account.history(run.id)] == list(range(400))
    assert account.records_held(run.id) == {run.stream: log_records(run)}
    ingests = proxy.requests("POST", "/ingest")
    gap = next((i for i, e in enumerate(ingests) if e.status == 409), None)
    assert gap is not None, "the server never answered sequence_gap"
    assert ingests[gap].reply["error"]["code"] == "sequence_gap"
    assert ingests[gap].reply["last_seq"] == held - 1
    acked = max(e.reply["last_seq"] for e in ingests[:gap] if e.status == 200)
    assert acked > held - 1  # the sender had been told the lost records were held


def test_429_answers_are_retried_after_retry_after(
    local_server: Callable[..., LocalServer],
    fault_proxy: Callable[[str], FaultProxy],
    trackwell_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = local_server(rate_limit=1.0, rate_burst=2.0)  # a real limit: 1 request a second, bursts of 2
    account = server.account("tester")
    proxy = fault_proxy(server.url)  # only watches
    monkeypatch.setenv("TRACKWELL_API_KEY", account.key)
    run = trackwell.init(project="p")
    run.log({"a": 1})
    run.finish()
    admin = account.with_key(server.admin_key)  # the user's own quota is spent
    assert admin.steps(run.id) == [0]
    assert admin.run(run.id)["state"] == "finished"
    log = proxy.requests()
    limited = [i for i, e in enumerate(log) if e.status == 429]
    assert limited, "the server's rate limit was never met"
    assert all(log[i].reply["error"]["code"] == "rate_limited" for i in limited)  # the server's own
    assert all(log[i].headers.get("retry-after") for i in limited)
    waits = [log[i + 1].at - log[i].at for i in limited if i + 1 < len(log)]
    assert any(wait >= 0.9 * float(log[limited[0]].headers["retry-after"]) for wait in waits)


def test_a_response_lost_after_the_server_stored_the_batch_stores_nothing_twice(
    online: Account, proxy: FaultProxy
) -> None:
    proxy.lose_responses(2, "/ingest")  # processed by the server, the answers never arrive
    run = trackwell.init(project="p")
    for i in range(150):
        run.log({"i": i})
    deadline = time.monotonic() + 30
    while not any(e.status == 0 for e in proxy.requests("POST", "/ingest")):
        # the first answer lost before the rest is logged: two batches, two losses
        assert time.monotonic() < deadline, "no ingest request reached the proxy"
        time.sleep(0.01)
    for i in range(150, 300):
        run.log({"i": i})
    run.finish()
    assert len([e for e in proxy.requests("POST", "/ingest") if e.status == 0]) == 2
    assert online.steps(run.id) == list(range(300))
    assert online.records_held(run.id) == {run.stream: log_records(run)}
    assert online.run(run.id)["state"] == "finished"


def test_a_rejected_key_stops_the_upload_not_the_training(
    online: Account, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRACKWELL_API_KEY", "tw_wrong")
    run = trackwell.init(project="p")
    for i in range(100):
        run.log({"i": i})
    run.finish()
    err = capfd.readouterr().err
    assert "rejected the API key" in err
    assert f"trackwell sync {run._run_dir}" in err
    assert log_records(run) > 100  # all of it kept locally
    assert marker.read_marker(run._run_dir).get("complete") is not True
    assert not online.has_run(run.id)


def test_finish_waits_only_upload_timeout_then_says_how_to_sync(
    online: Account, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    proxy.fail(None, 503)  # the gateway: the server is unavailable
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
    assert f"trackwell sync {run._run_dir}" in err
    assert not online.has_run(run.id)


def test_finish_stops_waiting_early_when_nothing_gets_through(
    own_online: tuple[LocalServer, Account], monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    server, account = own_online
    server.stop()  # down for good: every retry fails
    monkeypatch.setattr(uploader, "STALL_TIMEOUT", 1.0)
    monkeypatch.setenv("TRACKWELL_UPLOAD_TIMEOUT", "120")
    monkeypatch.delenv("TRACKWELL_SILENT")
    run = trackwell.init(project="p")
    run.log({"a": 1})
    start = time.monotonic()
    run.finish()
    assert time.monotonic() - start < 30  # not the 120 s upload_timeout
    err = capfd.readouterr().err
    assert "did not reach the server: nothing went through for 1 s (retries failing; last error:" in err
    assert f"trackwell sync {run._run_dir}" in err
    server.start()
    assert not account.has_run(run.id)


def test_big_saved_files_go_up_in_parts(
    online: Account, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fileupload, "FILE_PART_BYTES", 1000)
    monkeypatch.setattr(fileupload, "BATCH_FILE_BYTES", 1000)  # bigger files go alone, in parts
    data = bytes(range(256)) * 20
    Path("weights.bin").write_bytes(data)
    run = trackwell.init(project="p")
    run.save("weights.bin", policy="now")
    run.finish()
    assert online.file(run.id, "weights.bin") == data
    parts = {e.path for e in proxy.requests("PUT", "/files/weights.bin?") if e.status == 200}
    assert len(parts) == 6


def test_an_idle_live_run_sends_heartbeats(
    online: Account, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uploader, "HEARTBEAT_INTERVAL", 0.05)
    run = trackwell.init(project="p")
    beats = f"/runs/{online.name}/p/{run.id}/heartbeat"
    wait_until(lambda: len([e for e in proxy.requests("POST", beats) if e.status == 200]) >= 2)
    assert online.run(run.id)["heartbeat_at"] is not None
    assert online.run(run.id)["state"] == "running"
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
    assert run._run_dir.name.startswith("offline-run-")
    assert any("trackwell login" in str(w.message) for w in caught)


@pytest.mark.parametrize("arg", ["fork_from", "resume_from"])
def test_fork_and_rewind_need_a_server(trackwell_dir: Path, arg: str) -> None:
    with pytest.raises(UsageError, match="server"):
        trackwell.init(project="p", mode="offline", **{arg: "abc?_step=3"})


def test_online_runs_import_no_http_code_until_init(tmp_path: Path) -> None:
    import subprocess

    code = (
        "import sys, trackwell; "
        "print(sorted(m for m in ('http.client', 'trackwell._pipeline.sender', 'trackwell._pipeline.uploader', "
        "'trackwell._pipeline.transport') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.strip() == "[]"


def test_the_sender_is_not_started_for_offline_runs(trackwell_dir: Path) -> None:
    run = trackwell.init(project="p", mode="offline")
    assert run._sender is None
    run.finish()
    assert not (run._run_dir / "sync.json").exists()


def test_ctrl_c_while_finish_waits_stops_the_wait_and_keeps_the_data(proxy: FaultProxy) -> None:
    import os
    import subprocess

    proxy.fail(None, 503)
    script = Path("script.py")
    script.write_text(
        "import os, signal, threading, trackwell\n"
        "run = trackwell.init(project='p')\n"
        "run.log({'a': 1})\n"
        "import time\n"
        "deadline = time.monotonic() + 30\n"
        "while run._sender.uploader.error is None:  # the first 503 seen, so finish() can name it\n"
        "    assert time.monotonic() < deadline\n"
        "    time.sleep(0.01)\n"
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


def test_a_script_that_never_calls_finish_is_uploaded_at_exit(online: Account) -> None:
    import subprocess

    script = Path("script.py")
    script.write_text(
        "import trackwell\nrun = trackwell.init(project='p', id='atexit')\nfor i in range(100):\n    run.log({'i': i})\n",
        encoding="utf-8",
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert online.steps("atexit") == list(range(100))
    assert online.run("atexit")["state"] == "finished"


def test_log_enforces_the_limits_the_server_publishes(
    trackwell_dir: Path, local_server: Callable[..., LocalServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from trackwell import limits
    from trackwell.errors import DataDroppedWarning

    server = local_server(max_value_bytes=1000)  # stricter than the SDK's default
    account = server.account("tester")
    monkeypatch.setenv("TRACKWELL_BASE_URL", server.url)
    monkeypatch.setenv("TRACKWELL_API_KEY", account.key)
    try:
        run = trackwell.init(project="p")
        deadline = time.monotonic() + 30
        while limits.current().max_value_bytes != 1000:  # the sender asks GET /limits at connect
            assert time.monotonic() < deadline, "the server's limits never reached the SDK"
            time.sleep(0.01)
        with pytest.warns(DataDroppedWarning, match="'text'"):
            run.log({"text": "x" * 5000, "loss": 0.5})
        run.finish()
    finally:
        limits.reset()
    assert account.history(run.id)[0]["loss"] == 0.5
