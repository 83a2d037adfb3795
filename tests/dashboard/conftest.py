"""A real server holding real logged runs, and a real headless Chromium (Debian's) driving it.

The runs are logged with the SDK in online mode (the real sender, the real ingest), once
per session into project ``dash`` of the admin: a few finished runs with config and
train/val metrics, one named ``<script>alert(1)</script>``. Tests that need a browser
skip, saying why, only when Chromium or Playwright cannot be had (see ``CHROMIUM``).
Screenshots go to ``test-output/dashboard/`` under the repository (CI keeps it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("TRACKWELL_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "dashboard"
PROJECT = "dash"
XSS = "<script>alert(1)</script>"
#: Every wait in these tests is bounded by this (ms).
TIMEOUT_MS = 15_000


@dataclass
class Site:
    url: str
    key: str
    entity: str
    runs: dict[str, str]  # display name -> run id


def _log_runs(url: str, key: str, tmp: Path) -> dict[str, str]:
    import trackwell

    env = {"TRACKWELL_BASE_URL": url, "TRACKWELL_API_KEY": key, "TRACKWELL_CONFIG_DIR": str(tmp / ".config"),
           "TRACKWELL_SILENT": "true", "TRACKWELL_X_DISABLE_STATS": "true"}  # fmt: skip
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    ids: dict[str, str] = {}
    try:
        specs = [
            ("alpha", "adam", 0.1, 1.0),
            ("beta", "adam", 0.01, 2.0),
            ("gamma", "sgd", 0.1, 3.0),
            (XSS, "sgd", 0.5, 4.0),
        ]
        for name, opt, lr, scale in specs:
            run = trackwell.init(project=PROJECT, name=name, dir=str(tmp), mode="online",
                                 config={"optimizer": opt, "lr": lr}, tags=[opt])  # fmt: skip
            for step in range(50):
                run.log({"train/loss": scale / (step + 1), "train/acc": step / 49 * scale / 4})
                if step % 10 == 9:
                    run.log({"val/loss": scale / (step + 2)}, commit=False)
            run.finish()
            ids[name] = run.id
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return ids


@pytest.fixture(scope="session")
def site(trackwell_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Site:
    key = trackwell_server.admin_key
    ids = _log_runs(trackwell_server.url, key, tmp_path_factory.mktemp("dash-runs"))
    return Site(trackwell_server.url, key, "local", ids)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it when it can)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.skip(f"playwright is not installed (requirements-test.txt): {exc}")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


class Page:
    """A logged-in page that records console errors and page errors (each test asserts none)."""

    def __init__(self, page: Any, site: Site) -> None:
        self.page = page
        self.site = site
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        """alert() and friends never belong on these pages (the XSS test relies on it)."""
        self.errors.append(f"unexpected dialog: {dialog.message}")
        dialog.dismiss()

    def goto(self, path: str) -> Any:
        self.page.goto(self.site.url + path)
        self.page.wait_for_selector("body[data-ready='1']", timeout=TIMEOUT_MS)
        return self.page

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    res = context.request.post(site.url + "/_dash/login", data={"api_key": site.key})
    assert res.ok, res.text()
    p = Page(context.new_page(), site)
    yield p
    context.close()
    assert not p.errors, f"console errors: {p.errors}"
