"""Dashboard benchmarks: time to interactive in headless Chromium (Debian's, via Playwright).

Interactive means the page has rendered from the API and every chart it shows is
drawn: a run page (charts tab) of 50 metrics x 100,000 steps, and a project
workspace of 1,000 runs (the table, and the charts of the first 10 runs). Each page
is loaded once to warm the server, then timed ``loads`` times from navigation to
that state; the median is reported. The data goes in through the real ingest API
of a fresh server subprocess (no auth) before the clock starts.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import WorkloadError
from report import Check
from server import Client, _batches, _ingest, server

CHROMIUM = "/usr/bin/chromium"
TARGET_S = 2.0


@dataclass(frozen=True)
class DashPlan:
    metrics: int
    steps: int
    runs: int
    loads: int


FULL = DashPlan(metrics=50, steps=100_000, runs=1_000, loads=3)
QUICK = DashPlan(metrics=10, steps=5_000, runs=100, loads=2)


def available() -> str | None:
    """Why the benchmark cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (requirements-test.txt)"
    return None


def _time_to_interactive(page: Any, url: str, ready_js: str, loads: int) -> list[float]:
    page.goto(url)
    page.wait_for_function(ready_js, timeout=120_000)  # warm-up: server caches, browser caches
    times = []
    for _ in range(loads):
        t0 = time.perf_counter()
        page.goto(url)
        page.wait_for_function(ready_js, timeout=120_000, polling=10)
        times.append(time.perf_counter() - t0)
    return times


def bench_dashboard(plan: DashPlan, raw: dict[str, Any]) -> list[Check]:
    why = available()
    if why:
        return [Check("dashboard time to interactive", 0.0, "s", measured="skipped", detail=why)]
    from playwright.sync_api import sync_playwright

    keys = [f"{('train', 'val', 'system')[i % 3]}/m{i}" for i in range(plan.metrics)]
    with server() as port:
        client = Client(port)
        _ingest(client, "big", _batches(plan.steps, 5_000, keys, uuid.uuid4().hex))
        for i in range(plan.runs):
            config = {"lr": 10 ** -(i % 5), "layers": i % 7, "opt": ("adam", "sgd")[i % 2]}
            body = {"name": f"run-{i}", "config": config, "tags": [f"t{i % 3}"]}
            client.request("PUT", f"/runs/local/many/r{i:05d}", json.dumps(body).encode())
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            # bypass_csp: wait_for_function evaluates its predicate as a string, which the pages' CSP forbids
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
            run_ready = (
                "document.body.dataset.ready === '1' && "
                f"document.querySelectorAll('.panel[data-series] canvas').length >= {plan.metrics}"
            )
            run_times = _time_to_interactive(
                page, f"{base}/local/bench/runs/big?tab=charts", run_ready, plan.loads
            )
            project_ready = (
                "document.body.dataset.ready === '1' && "
                f"document.querySelectorAll('#runs tbody tr').length === {plan.runs}"
            )
            project_times = _time_to_interactive(page, f"{base}/local/many", project_ready, plan.loads)
            browser.close()
    raw["dashboard"] = {"plan": plan.__dict__, "run_page_s": run_times, "project_page_s": project_times}
    points = plan.metrics * plan.steps

    def loads(times: list[float]) -> str:
        return ", ".join(f"{t:.2f}" for t in times)

    run_name = f"dashboard run page TTI ({plan.metrics} metrics x {plan.steps:,} steps)"
    return [
        Check(run_name, statistics.median(run_times), "s", TARGET_S,
              detail=f"{points:,} points; loads {loads(run_times)} s"),
        Check(f"dashboard project page TTI ({plan.runs:,} runs)", statistics.median(project_times), "s",
              TARGET_S, detail=f"loads {loads(project_times)} s"),
    ]  # fmt: skip


if __name__ == "__main__":
    import sys

    quick = "--quick" in sys.argv
    try:
        checks = bench_dashboard(QUICK if quick else FULL, {})
    except WorkloadError as exc:
        sys.exit(str(exc))
    from report import table

    print(table(checks, gated=not quick))
    for c in checks:
        if c.detail:
            print(" ", c.detail)
