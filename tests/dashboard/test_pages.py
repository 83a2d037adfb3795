"""The dashboard in a real Chromium against a real server holding runs logged by the SDK."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

PROJECT = "dash"  # the conftest's logged runs
XSS = "<script>alert(1)</script>"
TIMEOUT_MS = 15_000


playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright_api.expect
expect.set_options(timeout=TIMEOUT_MS)


def assert_not_blank(path: Path) -> None:
    from PIL import Image, ImageStat

    with Image.open(path) as img:
        stat = ImageStat.Stat(img.convert("L"))
    assert img.size[0] > 600 and img.size[1] > 300, img.size
    assert stat.stddev[0] > 10, f"{path.name} looks blank (stddev {stat.stddev[0]:.1f})"


def last_values(page: Any, metric: str) -> dict[str, float]:
    panel = page.locator(f'.panel[data-metric="{metric}"]').first
    expect(panel.locator("canvas")).to_be_visible()
    data: dict[str, float] = json.loads(panel.get_attribute("data-last"))
    return data


def test_projects_page_lists_the_project(page: Any) -> None:
    p = page.goto("/")
    expect(p.locator("#projects a", has_text=PROJECT)).to_be_visible()
    assert_not_blank(page.shot("projects"))


def test_workspace_table_and_charts(page: Any, site: Any) -> None:
    p = page.goto(f"/local/{PROJECT}")
    expect(p.locator("#runs tbody tr")).to_have_count(4)
    panel = p.locator('.panel[data-metric="train/loss"]')
    expect(panel).to_have_attribute("data-series", "4")
    last = last_values(p, "train/loss")
    assert last == pytest.approx({"alpha": 1 / 50, "beta": 2 / 50, "gamma": 3 / 50, XSS: 4 / 50})
    sections = p.locator("details.section").evaluate_all("els => els.map(e => e.dataset.section)")
    assert sections == ["train", "val"]
    assert_not_blank(page.shot("workspace"))


def test_filter_search_and_sort_change_the_table(page: Any) -> None:
    p = page.goto(f"/local/{PROJECT}")
    names = p.locator("#runs tbody tr td.name a")
    p.fill("#filter", "config.optimizer = adam")
    p.press("#filter", "Enter")
    expect(names).to_have_text(["beta", "alpha"])
    assert "filter=config.optimizer" in p.url  # the view is in the URL
    p.fill("#filter", "summary.train/loss > 0.05")
    p.press("#filter", "Enter")
    expect(names).to_have_count(2)
    p.fill("#filter", "")
    p.press("#filter", "Enter")
    p.fill("#search", "gam")
    expect(names).to_have_text(["gamma"])
    p.fill("#search", "")
    header = p.locator('th[data-col="summary.train/loss"]')
    header.click()
    expect(names).to_have_text([XSS, "gamma", "beta", "alpha"])
    header.click()
    expect(names).to_have_text(["alpha", "beta", "gamma", XSS])
    # the URL alone reproduces the sorted, filtered view
    p2 = page.goto(f"/local/{PROJECT}?sort=%2Bsummary.train/loss&filter=config.optimizer%20%3D%20sgd")
    expect(p2.locator("#runs tbody tr td.name a")).to_have_text(["gamma", XSS])


def test_selection_grouping_and_smoothing(page: Any, site: Any) -> None:
    alpha, beta = site.runs["alpha"], site.runs["beta"]
    p = page.goto(f"/local/{PROJECT}?sel={alpha},{beta}&smooth=0.5")
    panel = p.locator('.panel[data-metric="train/loss"]')
    expect(panel).to_have_attribute("data-series", "2")
    p.select_option("#group", "optimizer")
    expect(p.locator("#runs tr.group")).to_have_count(2)
    p.goto(f"{site.url}/local/{PROJECT}?group=optimizer")
    expect(p.locator('.panel[data-metric="train/loss"]')).to_have_attribute("data-series", "2")
    last = last_values(p, "train/loss")
    assert last == pytest.approx({"optimizer=adam (2)": 3 / 100, "optimizer=sgd (2)": 7 / 100})
    # keyboard: j moves, x selects, and the selection lands in the URL
    p.goto(f"{site.url}/local/{PROJECT}")
    p.wait_for_selector("#runs tbody tr.focused")
    p.keyboard.press("j")
    p.keyboard.press("x")
    expect(p.locator('.panel[data-metric="train/loss"]')).to_have_attribute("data-series", "1")
    assert "sel=" in p.url


def test_xss_run_name_stays_text(page: Any, site: Any) -> None:
    run_id = site.runs[XSS]
    p = page.goto(f"/local/{PROJECT}")
    expect(p.locator("#runs td.name a", has_text=XSS)).to_have_text(XSS)
    p = page.goto(f"/local/{PROJECT}/runs/{run_id}")
    expect(p.locator("h1")).to_contain_text(XSS)
    assert p.evaluate("document.scripts.length") == 1  # only the app's own module
    assert p.evaluate("window.__xss === undefined")
    # page.errors (checked at teardown) would hold an 'unexpected dialog' had alert() run


def test_run_page_tabs(page: Any, site: Any) -> None:
    run_id = site.runs["gamma"]
    p = page.goto(f"/local/{PROJECT}/runs/{run_id}")
    expect(p.locator("#config")).to_contain_text("optimizer")
    expect(p.locator("#summary")).to_contain_text("train/loss")
    assert_not_blank(page.shot("run-overview"))
    p.click('a[data-tab="charts"]')
    expect(p.locator('.panel[data-metric="train/acc"]')).to_have_attribute("data-series", "1")
    assert last_values(p, "train/acc") == pytest.approx({"gamma": 0.75})
    assert "tab=charts" in p.url
    assert_not_blank(page.shot("run-charts"))
    p.select_option('select[name="x-axis"]', "_runtime")
    expect(p.locator('.panel[data-metric="train/acc"]')).to_have_attribute("data-series", "1")
    p.click('a[data-tab="files"]')
    expect(p.locator("#files")).to_contain_text("config.yaml")
    p.click('a[data-tab="logs"]')
    expect(p.locator("#log")).to_be_visible()


def test_compare_page(page: Any, site: Any) -> None:
    ids = ",".join(site.runs[n] for n in ("alpha", "gamma"))
    p = page.goto(f"/local/{PROJECT}/compare?runs={ids}")
    expect(p.locator("#config-diff tr.changed")).to_have_count(1)  # the optimizer (lr is 0.1 in both)
    expect(p.locator('.panel[data-metric="val/loss"]')).to_have_attribute("data-series", "2")
    assert_not_blank(page.shot("compare"))


def test_rename_and_tag_through_the_dialog(page: Any, site: Any) -> None:
    p = page.goto(f"/local/{PROJECT}")
    p.click('button[aria-label="edit beta"]')
    p.fill('input[name="tags"]', "adam, best")
    p.fill('input[name="name"]', "beta-renamed")
    p.click("#save")
    expect(p.locator("#runs td.name a", has_text="beta-renamed")).to_be_visible()
    p = page.goto(f"/local/{PROJECT}/runs/{site.runs['beta']}")
    expect(p.locator("#tags")).to_contain_text("best")
    p.goto(f"{site.url}/local/{PROJECT}")  # put the name back for the other tests
    p.click('button[aria-label="edit beta-renamed"]')
    p.fill('input[name="name"]', "beta")
    p.fill('input[name="tags"]', "adam")
    p.click("#save")
    expect(p.locator("#runs td.name a", has_text="beta")).to_have_count(1)


def test_live_run_updates_without_reload(
    page: Any, site: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trackwell

    for k, v in {"TRACKWELL_BASE_URL": site.url, "TRACKWELL_API_KEY": site.key, "TRACKWELL_SILENT": "true",
                 "TRACKWELL_CONFIG_DIR": str(tmp_path / ".config"), "TRACKWELL_X_DISABLE_STATS": "true"}.items():  # fmt: skip
        monkeypatch.setenv(k, v)
    run = trackwell.init(project="dash-live", name="live", dir=str(tmp_path), mode="online")
    try:
        for step in range(5):
            run.log({"loss": float(step)})
        p = page.page
        p.goto(f"{site.url}/local/dash-live/runs/{run.id}?tab=charts")
        # the first rows reach the server on the sender's next flush; the page polls
        expect(p.locator('.panel[data-metric="loss"]')).to_have_attribute(
            "data-series", "1", timeout=TIMEOUT_MS
        )
        for step in range(5, 10):
            run.log({"loss": float(step)})
        expect(p.locator('.panel[data-metric="loss"]')).to_have_attribute(
            "data-last", '{"live":9}', timeout=TIMEOUT_MS
        )
    finally:
        run.finish()
    expect(page.page.locator("#state")).to_have_text("finished", timeout=TIMEOUT_MS)


def test_login_page_and_logout(browser: Any, site: Any) -> None:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    p = context.new_page()
    p.goto(f"{site.url}/local/{PROJECT}")
    expect(p).to_have_url(f"{site.url}/login?next=%2Flocal%2F{PROJECT}")
    p.fill('input[name="api_key"]', "tw_wrongwrongwro_" + "x" * 40)
    p.click("button[type=submit]")
    expect(p.locator(".login .error")).to_contain_text("invalid API key")
    p.fill('input[name="api_key"]', site.key)
    p.click("button[type=submit]")
    expect(p.locator("#runs tbody tr")).to_have_count(4)
    cookie = next(c for c in context.cookies() if c["name"].startswith("tw_session_"))
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert p.evaluate("document.cookie") == ""  # the page cannot read its session
    p.click("#logout")
    expect(p).to_have_url(f"{site.url}/login")
    assert not [c for c in context.cookies() if c["name"].startswith("tw_session_")]
    context.close()


@pytest.mark.parametrize("target", ["/%5Cevil.example/x", "%2F%5Cevil.example/x", "/%09/evil.example/x",
                                    "/%0a/evil.example/x", "//evil.example/x", "https://evil.example/x"])
def test_login_never_leaves_the_dashboard(browser: Any, site: Any, target: str) -> None:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    p = context.new_page()
    p.goto(f"{site.url}/login?next={target}")
    p.fill('input[name="api_key"]', site.key)
    p.click("button[type=submit]")
    expect(p).to_have_url(site.url + "/")
    context.close()


def test_a_new_api_key_needs_a_key_entered_again(browser: Any, site: Any) -> None:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    assert context.request.post(site.url + "/_dash/login", data={"api_key": site.key}).ok
    p = context.new_page()
    p.goto(site.url + "/")
    p.fill('input[name="current_key"]', "tw_wrongwrongwro_" + "x" * 40)
    p.click("#keys button[type=submit]")
    expect(p.locator("#new-key")).to_contain_text("enter it again")
    expect(p).to_have_url(site.url + "/")  # still logged in, still here
    p.fill('input[name="current_key"]', site.key)
    p.click("#keys button[type=submit]")
    expect(p.locator("#new-key input")).to_have_value(re.compile(r"^tw_[A-Za-z0-9]{12}_"))
    context.close()


def test_session_writes_need_the_csrf_token(site: Any) -> None:
    def call(
        method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        req = urllib.request.Request(site.url + path, method=method, headers=headers or {},
                                     data=None if body is None else json.dumps(body).encode())  # fmt: skip
        if body is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                return res.status, (res.headers, res.read())
        except urllib.error.HTTPError as err:
            return err.code, (err.headers, err.read())

    status, (headers, raw) = call("POST", "/_dash/login", {"api_key": site.key})
    assert status == 200
    cookie = headers["Set-Cookie"].split(";")[0]
    csrf = json.loads(raw)["csrf"]
    path = f"/api/v1/runs/local/{PROJECT}/{site.runs['alpha']}"
    assert call("GET", path, headers={"Cookie": cookie})[0] == 200
    assert call("PATCH", path, {"notes": "x"}, {"Cookie": cookie})[0] == 403
    assert call("PATCH", path, {"notes": "x"}, {"Cookie": cookie, "X-CSRF-Token": "nope"})[0] == 403
    assert call("PATCH", path, {"notes": ""}, {"Cookie": cookie, "X-CSRF-Token": csrf})[0] == 200
    forged = cookie.split("=")[0] + "=" + "A" * 43  # a session id this server never issued
    assert call("GET", path, headers={"Cookie": forged})[0] == 401
    status, (headers, _) = call("GET", f"/local/{PROJECT}")
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]
    assert call("GET", "/api/v1/runs/nothing-here")[0] == 404
