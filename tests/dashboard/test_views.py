"""The media, tables, custom charts, artifact and sweep views against real logged data.

One module-scoped set of runs, logged online with the SDK into project ``views``: a
run with images (masks, boxes) over 3 steps, an HTML file whose script tries to
reach the parent page, a 45-row table with image cells, two custom charts; an
artifact it logs that a second run uses; a grid sweep of 4 runs run by the agent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

PROJECT = "views"
TIMEOUT_MS = 15_000
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright_api.expect
expect.set_options(timeout=TIMEOUT_MS)
#: The conftest's classes (a conftest is not importable by name).
Page = Any
Site = Any
#: What the logged HTML's script tries to do to the page around it.
EVIL = (
    "<p id='inner'>inside</p><script>document.body.dataset.ran = '1';"
    "try { parent.document.title = 'pwned'; parent.document.body.append('pwned'); } catch (e) {}"
    "try { document.cookie; localStorage.setItem('x', '1'); } catch (e) {}</script>"
)


@contextmanager
def _online(site: Site, tmp: Path) -> Iterator[None]:
    env = {"TRACKWELL_BASE_URL": site.url, "TRACKWELL_API_KEY": site.key, "TRACKWELL_CONFIG_DIR": str(tmp / ".config"),
           "TRACKWELL_SILENT": "true", "TRACKWELL_X_DISABLE_STATS": "true", "TRACKWELL_DIR": str(tmp)}  # fmt: skip
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def views(site: Site, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    import trackwell

    tmp = tmp_path_factory.mktemp("views")
    rng = np.random.default_rng(0)
    ids: dict[str, str] = {}
    with _online(site, tmp):
        run = trackwell.init(project=PROJECT, name="media", dir=str(tmp))
        for step in range(3):
            mask = np.zeros((24, 32), dtype=np.uint8)
            mask[4:12, 6:20] = 1
            image = trackwell.Image(
                rng.integers(0, 255, (24, 32, 3), dtype=np.uint8), caption=f"step {step}",
                masks={"pred": {"mask_data": mask, "class_labels": {0: "bg", 1: "cat"}}},
                boxes={"gt": {"box_data": [{"position": {"minX": 0.1, "maxX": 0.6, "minY": 0.2, "maxY": 0.7},
                                            "class_id": 1, "box_caption": "cat"}], "class_labels": {1: "cat"}}},
            )  # fmt: skip
            run.log(
                {
                    "samples": image,
                    "weights": trackwell.Histogram(rng.normal(step, 1, 200)),
                    "loss": 1 / (step + 1),
                }
            )
        rows = [[i, f"name-{i:02d}", float(i % 7), trackwell.Image(np.full((4, 4, 3), i * 5, dtype=np.uint8))]
                for i in range(45)]  # fmt: skip
        run.log({
            "preds": trackwell.Table(columns=["id", "name", "score", "image"], data=rows),
            "page": trackwell.Html(EVIL),  # the default inject: an inline base style, allowed by the CSP
            "cm": trackwell.plot.confusion_matrix(y_true=[0, 1, 1, 2, 2, 2], preds=[0, 1, 2, 2, 2, 1],
                                                  class_names=["a", "b", "c"]),
            "curve": trackwell.plot.line(trackwell.Table(columns=["x", "y"], data=[[i, i * i] for i in range(10)]),
                                         "x", "y", title="squares"),
        })  # fmt: skip
        data = tmp / "data.txt"
        data.write_text("hello")
        art = trackwell.Artifact("dataset-v", type="dataset", metadata={"rows": 45})
        art.add_file(str(data))
        run.log_artifact(art, aliases=["best"])
        run.finish()
        ids["media"] = run.id
        user = trackwell.init(project=PROJECT, name="consumer", dir=str(tmp))
        user.use_artifact("dataset-v:latest")
        user.finish()
        ids["consumer"] = user.id

        def train() -> None:
            r = trackwell.init()
            r.log({"score": r.config["lr"] * 10 + (1 if r.config["opt"] == "adam" else 0)})

        sweep_id = trackwell.sweep(
            {"method": "grid", "metric": {"name": "score", "goal": "maximize"},
             "parameters": {"lr": {"values": [0.1, 0.2]}, "opt": {"values": ["adam", "sgd"]}}},
            project=PROJECT,
        )  # fmt: skip
        trackwell.agent(sweep_id, function=train)
        ids["sweep"] = sweep_id
    return ids


def _blank(path: Path) -> bool:
    from PIL import Image

    with Image.open(path) as im:
        lo, hi = im.convert("L").getextrema()
    return lo == hi


def test_media_slider_and_mask_toggle(page: Page, views: dict[str, str]) -> None:
    p = page.goto(f"/local/{PROJECT}/runs/{views['media']}?tab=media")
    panel = p.locator(".media-panel[data-key='samples']")
    img = panel.locator("img.media-img")
    expect(img).to_have_count(1)
    expect(panel.locator(".step-label")).to_have_text("step 2")
    last = img.get_attribute("src")
    panel.locator("input.step-slider").fill("0")
    expect(panel.locator(".step-label")).to_have_text("step 0")
    assert img.get_attribute("src") != last
    assert "m.samples=0" in p.url  # the step is in the URL
    p.wait_for_function("img => img.complete && img.naturalWidth === 32", arg=img.element_handle())
    mask = panel.locator("canvas.overlay[data-layer='mask:pred']")
    expect(mask).to_have_attribute("data-drawn", "1")
    expect(mask).to_be_visible()
    panel.locator("label.layer-toggle", has_text="mask: pred").locator("input").uncheck()
    expect(mask).to_be_hidden()
    expect(panel.locator("svg.overlay[data-layer='boxes:gt'] rect")).to_have_count(1)
    expect(p.locator(".media-panel[data-key='weights'] canvas.heat")).to_have_count(1)
    assert not _blank(page.shot("media"))


def test_html_media_cannot_touch_the_parent(page: Page, views: dict[str, str]) -> None:
    p = page.goto(f"/local/{PROJECT}/runs/{views['media']}?tab=media")
    frame_el = p.locator(".media-panel[data-key='page'] iframe")
    expect(frame_el).to_have_attribute("sandbox", "allow-scripts")
    frame = frame_el.element_handle().content_frame()
    assert frame is not None
    frame.wait_for_selector("body[data-ran='1']", timeout=TIMEOUT_MS)  # its script did run...
    assert frame.evaluate("origin") == "null"  # ...in an opaque origin
    assert "pwned" not in p.title() and "pwned" not in p.locator("body").inner_text()
    res = p.context.request.get(page.site.url + (frame_el.get_attribute("src") or ""))
    assert "sandbox allow-scripts" in res.headers["content-security-policy"]
    assert res.headers["content-type"].startswith("text/html")


def test_table_sorts_filters_and_pages(page: Page, views: dict[str, str]) -> None:
    p = page.goto(f"/local/{PROJECT}/runs/{views['media']}?tab=tables")
    info = p.locator("#table-info")
    expect(info).to_have_text("rows 1–20 of 45")
    first = p.locator("#table-rows tbody tr").first.locator("td").first
    expect(first).to_have_text("0")
    expect(p.locator("#table-rows tbody img.thumb")).to_have_count(20)
    p.locator("#table-rows th[data-col='id']").click()  # ascending (already), then:
    p.locator("#table-rows th[data-col='id']").click()
    expect(first).to_have_text("44")
    assert "t.desc=1" in p.url
    p.locator("#table-next").click()
    expect(info).to_have_text("rows 21–40 of 45")
    expect(first).to_have_text("24")
    p.locator("#table-next").click()
    expect(info).to_have_text("rows 41–45 of 45")
    expect(p.locator("#table-next")).to_be_disabled()
    p.locator("#table-where").select_option("score")
    p.locator("#table-op").select_option(">=")
    p.locator("#table-value").fill("6")
    p.locator("#table-apply").click()
    expect(info).to_have_text("rows 1–6 of 6 (filtered from 45)")
    page.shot("tables")


def test_table_endpoint_errors(page: Page, views: dict[str, str], site: Site) -> None:
    req = page.page.context.request
    base = f"{site.url}/api/v1/runs/local/{PROJECT}/{views['media']}/table"
    summary = req.get(f"{site.url}/api/v1/runs/local/{PROJECT}/{views['media']}").json()["summary"]
    path = summary["preds"]["path"]
    res = req.get(base, params={"path": path, "sort": "nope"})
    assert res.status == 422 and "no column 'nope'" in res.json()["error"]["message"]
    res = req.get(base, params={"path": path, "where": "score", "op": ">", "value": "x"})
    assert res.status == 422 and "not a number" in res.json()["error"]["message"]
    res = req.get(base, params={"path": "media/none.parquet"})
    assert res.status == 404
    res = req.get(base, params={"path": path, "where": "name", "op": "~", "value": "NAME-1", "limit": 100})
    assert res.json()["total"] == 10


def test_custom_charts(page: Page, views: dict[str, str]) -> None:
    p = page.goto(f"/local/{PROJECT}/runs/{views['media']}?tab=plots")
    cm = p.locator(".plot-panel[data-key='cm'] svg.confusion rect.cell")
    expect(cm).to_have_count(9)
    expect(p.locator(".plot-panel[data-key='curve'] polyline.series")).to_have_count(1)
    assert not _blank(page.shot("custom-charts"))


def test_artifact_lineage(page: Page, views: dict[str, str]) -> None:
    p = page.goto(f"/local/{PROJECT}/runs/{views['media']}?tab=artifacts")
    p.locator("#logged-artifacts a", has_text="dataset-v:v0").click()
    p.wait_for_selector("#lineage")
    expect(p.locator("#lineage .logged-by")).to_contain_text("media")
    expect(p.locator("#lineage .used-by")).to_contain_text("consumer")
    expect(p.locator("#aliases")).to_contain_text("best")
    expect(p.locator("#manifest a", has_text="data.txt")).to_have_count(1)
    href = p.locator("#manifest a").first.get_attribute("href") or ""
    assert p.context.request.get(page.site.url + href).text() == "hello"
    assert not _blank(page.shot("artifact"))
    p = page.goto(f"/local/{PROJECT}")
    p.locator("#artifacts-link").click()
    p.wait_for_selector("body[data-ready='1']")
    expect(p.locator(".artifact-collections a", has_text="dataset-v")).to_have_count(1)


def test_sweep_page(page: Page, views: dict[str, str]) -> None:
    p = page.goto(f"/local/{PROJECT}/sweeps/{views['sweep']}")
    expect(p.locator("#parallel polyline.pc-line")).to_have_count(4)
    expect(p.locator("#importance tr.importance-row")).to_have_count(2)
    expect(p.locator("#sweep-runs tbody tr")).to_have_count(4)
    best = p.locator("#best-runs tbody tr").first.locator("td").nth(2)
    expect(best).to_have_text("3")  # lr 0.2 * 10 + adam
    assert not _blank(page.shot("sweep"))
    p = page.goto(f"/local/{PROJECT}/sweeps")
    expect(p.locator("#sweeps tbody tr")).to_have_count(1)


def test_importance_ranks_the_parameter_that_matters() -> None:
    from trackwell_server.dashboard.views import importance

    rng = np.random.default_rng(1)
    configs = [{"a": float(x), "b": float(y), "c": str(z)} for x, y, z in
               zip(rng.normal(size=40), rng.normal(size=40), rng.integers(0, 3, 40), strict=True)]  # fmt: skip
    metric = [3 * float(str(c["a"])) + 0.1 * float(str(c["b"])) for c in configs]
    rows = importance(["a", "b", "c"], configs, metric)
    assert rows[0]["name"] == "a" and rows[0]["importance"] > 0.8
    assert rows[0]["correlation"] > 0.9
    assert next(r for r in rows if r["name"] == "c")["correlation"] is None
    assert importance(["a"], configs[:2], metric[:2]) == [
        {"name": "a", "correlation": None, "importance": None}
    ]
