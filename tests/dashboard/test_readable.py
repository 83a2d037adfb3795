"""What a new user reads on the dashboard: small values' axis labels, nested summary values,
a run shorter than one system-metrics interval, and a login page with a quiet console.

One run of its own project (``readable``): an lr schedule in [1e-4, 5e-4], a summary value
``{"max": 1}`` and system metrics sampled once (the monitor samples at start, then every
15 s; the run ends long before the second sample).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from tests.dashboard.conftest import TIMEOUT_MS, Page, Site

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright_api.expect
expect.set_options(timeout=TIMEOUT_MS)

PROJECT = "readable"
DEADLINE_S = 30.0


def _system_rows(site: Site, run_id: str) -> list[dict[str, Any]]:
    req = urllib.request.Request(f"{site.url}/api/v1/runs/local/{PROJECT}/{run_id}/system",
                                 headers={"Authorization": f"Bearer {site.key}"})  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            rows: list[dict[str, Any]] = json.load(resp)["rows"]
    except urllib.error.HTTPError as exc:
        if exc.code == 404:  # the run is not on the server yet
            return []
        raise
    return rows


@pytest.fixture(scope="module")
def short_run(site: Site, tmp_path_factory: pytest.TempPathFactory) -> str:
    import trackwell

    tmp = tmp_path_factory.mktemp("readable")
    env = {"TRACKWELL_BASE_URL": site.url, "TRACKWELL_API_KEY": site.key, "TRACKWELL_CONFIG_DIR": str(tmp / ".config"),
           "TRACKWELL_SILENT": "true", "TRACKWELL_X_DISABLE_STATS": "false"}  # fmt: skip
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        run = trackwell.init(project=PROJECT, name="short", dir=str(tmp), mode="online")
        for step in range(20):
            run.log({"lr": 1e-4 + 4e-4 * step / 19})
        run.summary["x"] = {"max": 1}
        # The first system sample is taken when the monitor starts; wait for it to reach the server.
        deadline = time.monotonic() + DEADLINE_S
        while not _system_rows(site, run.id):
            assert time.monotonic() < deadline, "no system sample reached the server"
            time.sleep(0.2)
        run.finish()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return str(run.id)


def _ticks(panel: Any, axis: str) -> list[str]:
    expect(panel.locator("canvas")).to_be_visible()
    raw = panel.get_attribute(f"data-{axis}-ticks")
    assert raw, f"no {axis} ticks recorded on the panel"
    ticks: list[str] = json.loads(raw)
    return ticks


def test_small_values_have_distinct_unclipped_axis_labels(page: Page, short_run: str) -> None:
    p = page.goto(f"/local/{PROJECT}/runs/{short_run}?tab=charts")
    panel = p.locator('.panel[data-metric="lr"]')
    ticks = _ticks(panel, "y")
    assert len(ticks) >= 2, ticks
    assert len(set(ticks)) == len(ticks), ticks
    assert all(float(t) > 0 for t in ticks if t != "0"), ticks
    steps = [float(t) / 5e-5 for t in ticks]  # the ticks' own values, not rounded to 1e-4
    assert all(abs(s - round(s)) < 1e-6 for s in steps), ticks
    # The axis is wide enough for its widest label in the font it is drawn in.
    widest = p.evaluate(
        """(labels) => { const c = document.createElement("canvas").getContext("2d");
           c.font = "12px system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', sans-serif";
           return Math.max(...labels.map((l) => c.measureText(l).width)); }""",
        ticks,
    )
    assert float(panel.get_attribute("data-y-axis-width")) >= widest + 10, (widest, ticks)
    page.shot("readable-lr")


def test_the_tick_formatter_keeps_neighbours_apart(page: Page, short_run: str) -> None:
    p = page.goto(f"/local/{PROJECT}/runs/{short_run}")
    got = p.evaluate(
        """async () => { const m = await import("/_dash/static/js/dom.js");
           return [m.fmtTicks([0.0001, 0.0002, 0.0003, 0.0004, 0.0005]), m.fmtTicks([0.00015, 0.0002, 0.00025]),
                   m.fmtTicks([0.5, 1, 1.5, 2]), m.fmtTicks([1000000, 2000000]), m.fmtTicks([0.1 + 0.2, 0.4]),
                   m.fmtDurationTicks([0, 0.25, 0.5, 0.75]), m.fmtDurationTicks([0, 60, 120]),
                   [m.fmt({max: 1}), m.fmt({a: {b: [1, 2]}, c: "d"}), m.fmt(0.00012345678), m.fmt(Infinity)]]; }"""
    )
    assert got == [["1e-4", "2e-4", "3e-4", "4e-4", "5e-4"], ["1.5e-4", "2e-4", "2.5e-4"], ["0.5", "1", "1.5", "2"],
                   ["1e6", "2e6"], ["0.3", "0.4"], ["0s", "0.25s", "0.5s", "0.75s"], ["0s", "1m 0s", "2m 0s"],
                   ["max: 1", "a: {b: [1, 2]}, c: d", "1.23457e-4", "Infinity"]]  # fmt: skip


def test_a_nested_summary_value_reads_as_text(page: Page, short_run: str) -> None:
    p = page.goto(f"/local/{PROJECT}/runs/{short_run}")
    row = p.locator("#summary tr", has=p.locator("td", has_text="x")).filter(has_text="max")
    expect(row.locator("td").nth(1)).to_have_text("max: 1")
    p = page.goto(f"/local/{PROJECT}?cols=summary.x")
    expect(p.locator('#runs tbody td[data-col="summary.x"]')).to_have_text("max: 1")


def test_a_run_shorter_than_one_interval_shows_its_system_sample(
    page: Page, site: Site, short_run: str
) -> None:
    assert len(_system_rows(site, short_run)) == 1
    p = page.goto(f"/local/{PROJECT}/runs/{short_run}?tab=charts")
    panel = p.locator("#system-panels .panel").first
    ticks = _ticks(panel, "x")
    assert len(ticks) >= 2 and len(set(ticks)) == len(ticks), ticks
    # uPlot draws no line through one point: the sample shows as a dot, i.e. some pixels
    # of the plot area are the run's colour.
    coloured = panel.evaluate(
        """(el) => { const c = el.querySelector("canvas"); const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
           let n = 0; for (let i = 0; i < d.length; i += 4) { const [r, g, b, a] = [d[i], d[i+1], d[i+2], d[i+3]];
             if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 60) n++; } return n; }"""
    )
    assert coloured >= 9, f"no sample drawn ({coloured} coloured pixels)"
    page.shot("readable-system")


def test_the_login_page_logs_no_console_error(browser: Any, site: Site) -> None:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    p = context.new_page()
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.goto(f"{site.url}/local/{PROJECT}")  # not logged in: on to the login page
    expect(p).to_have_url(f"{site.url}/login?next=%2Flocal%2F{PROJECT}")
    expect(p.locator('input[name="api_key"]')).to_be_visible()
    p.goto(f"{site.url}/login")
    expect(p.locator('input[name="api_key"]')).to_be_visible()
    p.wait_for_load_state("networkidle")
    context.close()
    assert not errors, errors
