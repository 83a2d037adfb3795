"""End to end with the real server (server-lite): scripts in real processes.

The fault cases (outages, kill -9 of either side, concurrent writers) are in
tests/faults/, on SQLite and PostgreSQL.

Data is read back with plain HTTP GETs (not the Public API) so these tests check the
SDK's upload by itself. Waits poll with deadlines; nothing sleeps a fixed time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from trackwell._pipeline.runlog import read_log
from trackwell.testing import free_port

pytest.importorskip("trackwell_server.testing", reason="the trackwell server (server-lite) is not installed")

TIMEOUT = 300  # generous: CI machines are small and shared


# -- helpers ---------------------------------------------------------------------------------


def get(url: str, path: str, key: str | None = None) -> Any:
    req = urllib.request.Request(f"{url}/api/v1{path}")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def history(url: str, key: str | None, path: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = get(url, f"/runs/{path}/history?page_size=5000" + (f"&cursor={cursor}" if cursor else ""), key)
        rows += page["rows"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


def child_env(cwd: Path, url: str, key: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKWELL_", "WANDB_"))}
    env.update(
        TRACKWELL_SILENT="true", TRACKWELL_X_DISABLE_STATS="true", TRACKWELL_CONFIG_DIR=str(cwd / ".config"),
        TRACKWELL_BASE_URL=url, PYTHONUNBUFFERED="1",
    )  # fmt: skip
    if key:
        env["TRACKWELL_API_KEY"] = key
    env.update(extra)
    return env


def spawn(cwd: Path, source: str, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    script = cwd / "script.py"
    script.write_text(textwrap.dedent(source), encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, str(script), *args], cwd=cwd, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    return out


def local_log(cwd: Path) -> Path:
    (log,) = (cwd / "trackwell").glob("run-*/run-*.twlog")
    return log


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start server-lite as a real process (no auth, loopback) on a given port; stopped at teardown."""
    from trackwell_server.testing import start_server_process

    started: list[subprocess.Popen[bytes]] = []

    def start(port: int) -> subprocess.Popen[bytes]:
        _handle, proc = start_server_process(tmp_path / "server-data", port=port, auth=False)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- a plain online script -----------------------------------------------------------------


def test_an_online_script_lands_on_the_server(tmp_path: Path, trackwell_server: Any) -> None:
    key = trackwell_server.create_user("scripter")
    proc = spawn(tmp_path, """
        import trackwell
        run = trackwell.init(project="e2e", mode="online", config={"lr": 0.01, "arch": "mlp"})
        for i in range(1000):
            run.log({"loss": 1 / (i + 1), "acc": i / 1000, "odd": float("nan") if i % 2 else 1.0})
        run.summary["best"] = 0.99
        run.finish()
        print(run.id, run.entity, run.url)  # the entity is the key's, learned by the sender
    """, child_env(tmp_path, trackwell_server.url, key))  # fmt: skip
    run_id, entity, url = finish(proc).split()
    assert entity == "scripter"
    assert url == f"{trackwell_server.url}/scripter/e2e/runs/{run_id}"
    info = get(trackwell_server.url, f"/runs/scripter/e2e/{run_id}", key)
    assert info["state"] == "finished"
    assert info["config"] == {"lr": 0.01, "arch": "mlp"}
    assert info["last_step"] == 999
    assert info["summary"]["best"] == 0.99
    rows = history(trackwell_server.url, key, f"scripter/e2e/{run_id}")
    assert [r["_step"] for r in rows] == list(range(1000))
    assert rows[1]["odd"] == "NaN"
    log = local_log(tmp_path)
    assert info["streams"] == {read_log(log).records[0].body["stream"]: len(read_log(log).records) - 1}
    files = {f["path"] for f in get(trackwell_server.url, f"/runs/scripter/e2e/{run_id}/files", key)["files"]}
    assert {"config.yaml", "summary.json", "metadata.json"} <= files
    assert json.loads((log.parent / "sync.json").read_text())["complete"] is True


def test_the_online_run_fixture_streams_to_the_server_fixture(online_run: Any, trackwell_server: Any) -> None:
    online_run.log({"x": 1})
    online_run.finish()
    info = get(trackwell_server.url, f"/runs/{online_run.path}", trackwell_server.admin_key)
    assert info["state"] == "finished"
    assert info["last_step"] == 0


def test_resume_fork_and_rewind_round_trips(tmp_path: Path, trackwell_server: Any) -> None:
    key = trackwell_server.create_user("rounds")
    url = trackwell_server.url

    def step(name: str, source: str) -> str:
        cwd = tmp_path / name  # each process in its own directory: nothing local to resume from
        cwd.mkdir()
        return finish(spawn(cwd, source, child_env(cwd, url, key))).strip()

    step("first", """
        import trackwell
        run = trackwell.init(project="rt", id="base", config={"lr": 1})
        for i in range(10):
            run.log({"v": i})
        run.finish()
    """)  # fmt: skip
    out = step("resume", """
        import trackwell
        run = trackwell.init(project="rt", id="base", resume="must")
        print(run.step, run.config["lr"], run.summary["v"])
        for i in range(10, 15):
            run.log({"v": i})
        run.finish()
    """)  # fmt: skip
    assert out == "10 1 9"
    assert [r["v"] for r in history(url, key, "rounds/rt/base")] == list(range(15))
    fork_id = step("fork", """
        import trackwell
        run = trackwell.init(project="rt", fork_from="base?_step=4")
        assert run.step == 5, run.step
        run.log({"v": 100})
        run.finish()
        print(run.id)
    """)  # fmt: skip
    assert [r["v"] for r in history(url, key, f"rounds/rt/{fork_id}")] == [0, 1, 2, 3, 4, 100]
    assert get(url, f"/runs/rounds/rt/{fork_id}", key)["fork_of"] == {"run_id": "base", "step": 4}
    step("rewind", """
        import trackwell
        run = trackwell.init(project="rt", resume_from="base?_step=7")
        assert (run.id, run.step) == ("base", 8), (run.id, run.step)
        run.log({"v": -8})
        run.finish()
    """)  # fmt: skip
    assert [r["v"] for r in history(url, key, "rounds/rt/base")] == [0, 1, 2, 3, 4, 5, 6, 7, -8]
    info = get(url, "/runs/rounds/rt/base", key)
    assert info["summary"]["v"] == -8
    assert len(info["rewinds"]) == 1
    never = subprocess.run(
        [sys.executable, "-c", "import trackwell; trackwell.init(project='rt', id='base', resume='never')"],
        cwd=tmp_path, env=child_env(tmp_path, url, key), capture_output=True, text=True, timeout=TIMEOUT,
        check=False,
    )  # fmt: skip
    assert never.returncode == 1
    assert "resume='never' but run rounds/rt/base already exists" in never.stderr


def test_login_to_a_server_without_auth_needs_no_key(
    tmp_path: Path, server_process: Callable[..., Any]
) -> None:
    port = free_port()
    server_process(port)
    url = f"http://127.0.0.1:{port}"
    env = child_env(tmp_path, url, None)
    del env["TRACKWELL_BASE_URL"]
    proc = subprocess.run(
        [sys.executable, "-m", "trackwell", "login", "--host", url], cwd=tmp_path, env=env,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "as local (entity local)" in proc.stdout
    saved = (tmp_path / ".config" / "settings").read_text()
    assert f"base_url = {url}" in saved
    assert "entity = local" in saved
