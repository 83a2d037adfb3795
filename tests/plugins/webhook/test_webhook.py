"""trackwell-webhook end to end: real runs, alerts posted to a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import trackwell
from trackwell.errors import PluginWarning
from trackwell.plugins import get_plugin_manager

webhook = pytest.importorskip("trackwell_webhook", reason="pip install -e plugins/webhook")


class Hook:
    """A webhook endpoint: records every POST and answers from a script of statuses."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[tuple[int, dict[str, str]]] = []  # answered in order, then 200
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with hook.lock:
                    hook.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                    )
                    status, headers = hook.statuses.pop(0) if hook.statuses else (200, {})
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r["body"] for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def hook(trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hook]:
    server = Hook()
    monkeypatch.setenv("TRACKWELL_WEBHOOK_URL", server.url)
    monkeypatch.setenv("TRACKWELL_WEBHOOK_BACKOFF", "0.01")
    for var in ("TRACKWELL_WEBHOOK_FORMAT", "TRACKWELL_WEBHOOK_MIN_LEVEL", "TRACKWELL_WEBHOOK_RETRIES"):
        monkeypatch.delenv(var, raising=False)
    yield server
    while trackwell.run is not None:
        trackwell.finish()
    server.close()


def test_the_plugin_is_found_through_its_entry_point() -> None:
    pm = get_plugin_manager()
    assert pm.has_plugin("webhook")
    hooks = {c.name for c in pm.get_hookcallers(pm.get_plugin("webhook")) or ()}
    assert hooks == {"register_alert_sinks", "on_run_finish"}


def test_an_alert_is_posted_as_json_with_a_run_link(hook: Hook) -> None:
    run = trackwell.init(project="proj", name="my-run")
    run.alert(title="Loss is NaN", text="at step 3", level=trackwell.AlertLevel.ERROR, wait_duration=30)
    run.finish()  # waits for the post
    [request] = hook.requests
    assert request["path"] == "/hook"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["User-Agent"].startswith("trackwell-webhook/")
    body = request["body"]
    assert {k: body[k] for k in ("title", "text", "level", "wait_duration")} == {
        "title": "Loss is NaN",
        "text": "at step 3",
        "level": "ERROR",
        "wait_duration": 30.0,
    }
    assert body["run"]["id"] == run.id and body["run"]["name"] == "my-run"
    assert body["run"]["project"] == "proj"
    # Offline: the link is the run directory.
    assert body["run"]["url"] is None and body["run"]["link"] == str(run._run_dir)
    assert Path(body["run"]["link"]).is_dir()


def test_the_run_url_is_the_link_when_the_run_has_one(hook: Hook) -> None:
    run = trackwell.init(project="proj")
    run.url = "http://127.0.0.1:1/proj/runs/" + run.id  # what an online run gets
    run.alert(title="t", text="x")
    run.finish()
    assert hook.bodies[0]["run"]["link"] == run.url


def test_slack_payload(hook: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKWELL_WEBHOOK_FORMAT", "slack")
    run = trackwell.init(project="proj", name="r1")
    run.url = "https://example.invalid/r1"
    run.alert(title="Accuracy <0.5 & falling", text="acc 0.41", level="WARN")
    run.finish()
    [body] = hook.bodies
    assert set(body) == {"text", "blocks"}
    assert body["text"].startswith(":warning: *Accuracy &lt;0.5 &amp; falling*\nacc 0.41")
    assert "<https://example.invalid/r1|r1>" in body["text"]
    section, context = body["blocks"]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert context["elements"][0]["text"].startswith("WARN · run <https://example.invalid/r1|r1>")


def test_retries_until_the_endpoint_answers(hook: Hook) -> None:
    hook.statuses = [(503, {}), (500, {}), (429, {"Retry-After": "0"})]
    run = trackwell.init(project="proj")
    run.alert(title="t", text="x")
    run.finish()
    assert len(hook.requests) == 4
    assert len({json.dumps(b, sort_keys=True) for b in hook.bodies}) == 1  # the same alert each time


def test_gives_up_after_the_last_retry_with_one_warning(hook: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKWELL_WEBHOOK_RETRIES", "1")
    hook.statuses = [(502, {})] * 4
    with pytest.warns(PluginWarning, match=r"could not post an alert after 2 attempt\(s\): HTTP 502"):
        run = trackwell.init(project="proj")
        run.alert(title="a", text="x")
        run.alert(title="b", text="x")
        run.log({"loss": 1.0})
        run.finish()
    assert len(hook.requests) == 4
    assert run.summary["loss"] == 1.0


def test_a_client_error_is_not_retried(hook: Hook) -> None:
    hook.statuses = [(404, {})]
    with pytest.warns(PluginWarning, match="HTTP 404"):
        run = trackwell.init(project="proj")
        run.alert(title="t", text="x")
        run.finish()
    assert len(hook.requests) == 1


def test_wait_duration_is_honoured_per_title(hook: Hook) -> None:
    run = trackwell.init(project="proj")
    run.alert(title="slow", text="1", wait_duration=300)
    run.alert(title="slow", text="2", wait_duration=300)  # within 300 s: dropped
    run.alert(title="other", text="3", wait_duration=300)
    run.alert(title="fast", text="4", wait_duration=0)
    run.alert(title="fast", text="5", wait_duration=0)
    run.finish()
    assert sorted(b["text"] for b in hook.bodies) == ["1", "3", "4", "5"]


def test_wait_duration_holds_across_runs_of_a_process(hook: Hook) -> None:
    for text in ("first", "second"):
        run = trackwell.init(project="proj")
        run.alert(title="same", text=text, wait_duration=300)
        run.finish()
    assert [b["text"] for b in hook.bodies] == ["first"]


def test_min_level(hook: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKWELL_WEBHOOK_MIN_LEVEL", "warn")
    run = trackwell.init(project="proj")
    for level in ("INFO", "WARN", "ERROR"):
        run.alert(title=level, text="x", level=level)
    run.finish()
    assert sorted(b["level"] for b in hook.bodies) == ["ERROR", "WARN"]


def test_several_urls(hook: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    other = Hook()
    try:
        monkeypatch.setenv("TRACKWELL_WEBHOOK_URL", f"{hook.url}, {other.url}")
        run = trackwell.init(project="proj")
        run.alert(title="t", text="x")
        run.finish()
        assert len(hook.requests) == 1 and len(other.requests) == 1
    finally:
        other.close()


def test_an_unreachable_endpoint_never_breaks_the_run(
    trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = Hook()
    dead.close()  # nothing listens on that port any more
    monkeypatch.setenv("TRACKWELL_WEBHOOK_URL", dead.url)
    monkeypatch.setenv("TRACKWELL_WEBHOOK_RETRIES", "0")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        run = trackwell.init(project="proj")
        run.alert(title="t", text="x")
        for i in range(5):
            run.log({"i": i})
        run.finish()
    assert run.summary["i"] == 4
    assert any("could not post an alert" in str(w.message) for w in record)


def test_no_url_means_no_sink(trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKWELL_WEBHOOK_URL", raising=False)
    from trackwell_webhook.plugin import sinks_from_env

    assert sinks_from_env() == []
    run = trackwell.init(project="proj")
    run.alert(title="t", text="x")
    run.finish()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TRACKWELL_WEBHOOK_FORMAT": "xml"}, "TRACKWELL_WEBHOOK_FORMAT must be one of json, slack"),
        ({"TRACKWELL_WEBHOOK_RETRIES": "many"}, "TRACKWELL_WEBHOOK_RETRIES must be a number"),
        ({"TRACKWELL_WEBHOOK_MIN_LEVEL": "LOUD"}, "TRACKWELL_WEBHOOK_MIN_LEVEL must be one of"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    from trackwell_webhook.plugin import sinks_from_env

    with pytest.raises(ValueError, match=message):
        sinks_from_env({"TRACKWELL_WEBHOOK_URL": "http://127.0.0.1:9/x", **env})


def test_a_bad_setting_warns_and_the_run_goes_on(hook: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKWELL_WEBHOOK_FORMAT", "xml")
    with pytest.warns(PluginWarning, match=r"plugin 'webhook' raised in its register_alert_sinks hook"):
        run = trackwell.init(project="proj")
        run.alert(title="t", text="x")
        run.finish()
    assert hook.requests == []


def test_the_sink_can_be_used_directly(hook: Hook, offline_run: trackwell.Run) -> None:
    from trackwell.alerts import make_alert

    sink = webhook.WebhookSink(hook.url, format="json", retries=0)
    sink.deliver(offline_run, make_alert("direct", "text", "INFO", 0))
    assert sink.flush(timeout=30)
    assert sink.sent == 1 and hook.bodies[0]["title"] == "direct"


def test_an_online_run_links_to_its_page_on_the_server(hook: Hook, online_run: trackwell.Run) -> None:
    online_run.alert(title="online", text="x")
    online_run.finish()
    [body] = hook.bodies
    assert online_run.url and online_run.url.startswith("http://127.0.0.1:")
    assert body["run"]["url"] == body["run"]["link"] == online_run.url
