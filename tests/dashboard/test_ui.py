"""``trackwell ui DIR``: a real subprocess serving offline run directories in the dashboard.

The run directories must come out byte-for-byte as they went in (the private server's
copy lives in the cache; ``sync.json`` markers belong to the user's real server), and a
run still logging must show its new rows without a restart.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT = "local-ui"
TIMEOUT_S = 30.0

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright_api.expect


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


@pytest.fixture
def ui(trackwell_dir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """Two finished offline runs (one with a marker from a "real" server), then ``trackwell ui``."""
    import trackwell

    for name, scale in (("first", 1.0), ("second", 2.0)):
        with trackwell.init(project=PROJECT, name=name, mode="offline", config={"scale": scale}) as run:
            for step in range(30):
                run.log({"train/loss": scale / (step + 1)})
    run_dirs = sorted((trackwell_dir / "trackwell").iterdir())
    (run_dirs[0] / "sync.json").write_text('{"base_url": "https://real.example", "complete": true}')
    out = trackwell_dir / "ui.out"
    with open(out, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "trackwell", "ui", str(trackwell_dir), "--interval", "0.2"],
            stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not (m := re.search(r"dashboard: (http://127\.0\.0\.1:\d+)", out.read_text())):
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, f"no URL printed: {out.read_text()}"
            time.sleep(0.05)
        yield m.group(1), proc, out
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_ui_serves_local_runs_and_leaves_them_unchanged(ui: Any, trackwell_dir: Path, browser: Any) -> None:
    url, proc, out = ui
    before = snapshot(trackwell_dir / "trackwell")
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    page.locator("#projects a", has_text=PROJECT).first.click()
    rows = page.locator("#runs tbody tr td.name a")
    expect(rows).to_have_count(2, timeout=15_000)
    assert sorted(rows.all_inner_texts()) == ["first", "second"]
    context.close()
    assert not errors
    assert "cache" in out.read_text()  # the copy's data dir is under TRACKWELL_CACHE_DIR
    proc.terminate()
    assert proc.wait(timeout=15) == 0 or proc.returncode < 0
    assert snapshot(trackwell_dir / "trackwell") == before
    assert not list((trackwell_dir / "trackwell").glob("*/.sync.json.*"))


def test_ui_shows_new_rows_of_a_live_run(ui: Any, trackwell_dir: Path) -> None:
    import trackwell

    url, _proc, _out = ui
    run = trackwell.init(project=PROJECT, name="live", mode="offline")
    try:
        entity = get_json(url + "/api/v1/viewer")["entity"]
        info_url = f"{url}/api/v1/runs/{entity}/{PROJECT}/{run.id}"
        for step in range(5):
            run.log({"loss": float(step)})
        for want in (4, 14):
            run.flush()
            deadline = time.monotonic() + TIMEOUT_S
            while True:
                try:
                    info = get_json(info_url)
                except OSError:
                    info = {}
                if info.get("last_step") == want:
                    break
                assert time.monotonic() < deadline, f"last_step {info.get('last_step')}, wanted {want}"
                time.sleep(0.1)
            assert info["state"] == "running"
            for step in range(10):
                run.log({"loss": float(step)})
    finally:
        run.finish()
    assert not (run._run_dir / "sync.json").exists()
