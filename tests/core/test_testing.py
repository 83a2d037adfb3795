"""The helpers trackwell.testing ships for tests: each does what its docstring promises, for real."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import trackwell
from trackwell.testing import FaultProxy, HookRecorder, ScriptRunner, free_port, wait_until


def test_wait_until_returns_once_the_condition_holds_and_names_it_when_it_never_does() -> None:
    start = time.monotonic()
    wait_until(lambda: time.monotonic() - start > 0.05, timeout=5)
    with pytest.raises(AssertionError, match=r"the sky falling: not met within 0\.1 s"):
        wait_until(lambda: False, timeout=0.1, what="the sky falling")


def test_free_port_is_free() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_script_runner_reports_how_a_script_ended(tmp_path: Path) -> None:
    runner = ScriptRunner(tmp_path)
    runner.run("print('hello')").assert_outcome(stdout="hello")
    failed = runner.run("import sys; sys.exit('no luck')")
    failed.assert_outcome(ret=1, stderr="no luck")
    with pytest.raises(AssertionError, match="expected exit 0, got:"):
        failed.assert_outcome()


def test_a_spawned_script_gets_ctrl_c_even_when_this_process_ignores_it(tmp_path: Path) -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as under `nohup ... &`
    try:
        proc = ScriptRunner(tmp_path).spawn("import time\nprint('ready', flush=True)\ntime.sleep(60)")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGINT and "KeyboardInterrupt" in err  # Python re-raises it to exit


def test_hook_recorder_records_the_hooks_a_run_calls(trackwell_dir: Path, hook_recorder: HookRecorder) -> None:
    with trackwell.init(project="p", mode="offline") as run:
        run.log({"x": 1})
    assert hook_recorder.getcall("on_run_start").run is run
    hook_recorder.assert_called("on_run_finish", times=1)
    assert hook_recorder.getcall("on_run_finish").state == "finished"


@pytest.fixture
def upstream() -> Iterator[str]:
    """A tiny real HTTP server answering every GET with its path as JSON."""

    class Echo(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            data = json.dumps({"path": self.path}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _get(url: str, timeout: float = 10) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_fault_proxy_forwards_fails_and_stalls(upstream: str) -> None:
    proxy = FaultProxy(upstream)
    try:
        assert _get(f"{proxy.url}/api/v1/a") == 200
        proxy.fail(1, status=429, retry_after="1")
        assert _get(f"{proxy.url}/api/v1/b") == 429
        proxy.stall(1, "/c")
        with pytest.raises(OSError):  # a hung upstream: the client's read timeout ends it
            _get(f"{proxy.url}/api/v1/c", timeout=0.3)
        proxy.heal()
        assert _get(f"{proxy.url}/api/v1/c") == 200
        assert [(e.path, e.status) for e in proxy.requests(contains="/")] == [
            ("/a", 200), ("/b", 429), ("/c", 200), ("/c", 200)
        ]
    finally:
        proxy.stop()
