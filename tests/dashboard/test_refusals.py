"""The run page shows the records the server refused: how many, and the last few with why."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import PROJECT

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright_api.expect


def test_the_run_page_lists_refused_records(page: Any, site: Any) -> None:
    path = f"/api/v1/runs/local/{PROJECT}/refusals"
    headers = {"Authorization": f"Bearer {site.key}"}
    assert httpx.put(site.url + path, json={}, headers=headers, timeout=30).status_code == 201
    records = [["history", 0, {"_step": 0, "ok": 1.0}], ["history", 1, {"_step": 1, "a\u0000b": 2.0}]]
    resp = httpx.post(site.url + path + "/ingest", json={"stream": "s", "first_seq": 0, "records": records},
                      headers=headers, timeout=30)  # fmt: skip
    assert resp.status_code == 200 and resp.json()["refused"][0]["seq"] == 1
    p = page.goto(f"/local/{PROJECT}/runs/refusals")
    expect(p.locator("#refused-count")).to_contain_text("1 record was refused")
    expect(p.locator("#refused")).to_contain_text("NUL")
    # the run page without refusals has no such section
    p = page.goto(f"/local/{PROJECT}/runs/{site.runs['gamma']}")
    expect(p.locator("#config")).to_contain_text("optimizer")
    expect(p.locator("#refused")).to_have_count(0)
