"""``WebhookSink``: builds the payload on the writer thread, posts it from its own thread.

A post that fails with a connection error, a timeout, HTTP 429 or a 5xx answer is
retried with exponential backoff (a ``Retry-After`` header wins); other 4xx answers
are permanent. After the last try the sink warns once per URL and keeps going.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import warnings
from typing import TYPE_CHECKING, Any

from trackwell.extend import run_directory

if TYPE_CHECKING:
    from trackwell.extend import Alert, Run

logger = logging.getLogger("trackwell.webhook")

FORMATS = ("json", "slack")
LEVELS = ("INFO", "WARN", "ERROR")
MAX_BACKOFF = 30.0
#: Longest the delivery thread waits for an online run's page URL (known once the server
#: has answered), so an alert raised right after init() still links to the run's page.
LINK_WAIT = 5.0
_EMOJI = {"INFO": ":information_source:", "WARN": ":warning:", "ERROR": ":rotating_light:"}
_USER_AGENT = "trackwell-webhook/0.1.0"


def _run_info(run: Run) -> dict[str, Any]:
    url = getattr(run, "url", None)  # set when the run is online
    run_dir = str(run_directory(run))
    return {
        "id": run.id,
        "name": run.name,
        "project": run.project,
        "entity": run.entity,
        "url": url,
        "dir": run_dir,
        "link": url or run_dir,
    }


def json_payload(run: Run, alert: Alert) -> dict[str, Any]:
    """The ``json`` format: the alert's fields and where its run is."""
    return {
        "title": alert.title,
        "text": alert.text,
        "level": str(alert.level),
        "timestamp": alert.timestamp,
        "wait_duration": alert.wait_duration,
        "run": _run_info(run),
    }


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(run: Run, alert: Alert) -> dict[str, Any]:
    """The ``slack`` format: an incoming-webhook message with ``text`` and ``blocks``."""
    info = _run_info(run)
    level = str(alert.level)
    head = f"{_EMOJI.get(level, '')} *{_slack_escape(alert.title)}*".strip()
    body = _slack_escape(alert.text)
    name = _slack_escape(str(info["name"]))
    run_ref = f"<{info['url']}|{name}>" if info["url"] else f"{name} (`{_slack_escape(info['dir'])}`)"
    context = f"{level} · run {run_ref} · project {_slack_escape(str(info['project']))}"
    return {
        "text": f"{head}\n{body}\n{context}" if body else f"{head}\n{context}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{head}\n{body}" if body else head}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


class _Failed(Exception):
    def __init__(self, message: str, retry: bool, after: float | None = None) -> None:
        super().__init__(message)
        self.retry = retry
        self.after = after


class WebhookSink:
    """Posts alerts to one URL from a daemon thread; ``deliver`` only queues."""

    def __init__(
        self,
        url: str,
        format: str = "json",
        min_level: str = "INFO",
        retries: int = 3,
        backoff: float = 1.0,
        timeout: float = 10.0,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL must start with http:// or https://, not {url!r}")
        if format not in FORMATS:
            raise ValueError(f"webhook format must be one of {', '.join(FORMATS)}, not {format!r}")
        self.url = url
        self.format = format
        self.min_level = LEVELS.index(min_level.upper())
        self.retries = max(0, int(retries))
        self.backoff = max(0.0, float(backoff))
        self.timeout = float(timeout)
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue[tuple[Run, Alert]] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._last: dict[str, float] = {}  # title -> time it was last posted (wait_duration)
        self._warned = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    # -- the alert sink (writer thread) ------------------------------------------
    def deliver(self, run: Run, alert: Alert) -> None:
        level = str(alert.level)
        if level in LEVELS and LEVELS.index(level) < self.min_level:
            return
        last = self._last.get(alert.title)
        if last is not None and alert.timestamp - last < alert.wait_duration:
            return
        self._last[alert.title] = alert.timestamp
        with self._idle:
            self._pending += 1
        self._ensure_thread()
        self._queue.put((run, alert))  # the payload is built on the sink's thread

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued alert is posted or given up; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def warn(self, message: str) -> None:
        text = f"trackwell-webhook: {self.url}: {message}"
        logger.warning(text)
        try:
            from trackwell.errors import PluginWarning

            warnings.warn(text, PluginWarning, stacklevel=2)
        except Exception:  # -W error must not kill the delivery thread
            pass

    # -- the delivery thread -----------------------------------------------------
    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="trackwell-webhook", daemon=True)
                self._thread.start()

    def payload(self, run: Run, alert: Alert) -> dict[str, Any]:
        """The body posted for ``alert``; for an online run, once its page URL is known."""
        if not run.offline and not run.disabled and getattr(run, "url", None) is None:
            deadline = time.monotonic() + LINK_WAIT
            while getattr(run, "url", None) is None and time.monotonic() < deadline:
                time.sleep(0.05)  # the sink's own thread; the link is worth a moment
        return slack_payload(run, alert) if self.format == "slack" else json_payload(run, alert)

    def _loop(self) -> None:
        while True:
            run, alert = self._queue.get()
            try:
                self._post_with_retries(self.payload(run, alert))
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _post_with_retries(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, default=str).encode("utf-8")
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                self._post(body)
            except _Failed as exc:
                if not exc.retry or attempt == self.retries:
                    self.failed += 1
                    if not self._warned:  # once per URL: a dead endpoint must not flood stderr
                        self._warned = True
                        tries = attempt + 1
                        self.warn(f"could not post an alert after {tries} attempt(s): {exc}")
                    return
                wait = exc.after if exc.after is not None else delay
                logger.debug("webhook %s: %s; retrying in %.2f s", self.url, exc, wait)
                time.sleep(min(wait, MAX_BACKOFF))  # this is the sink's own thread, not training
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            self.sent += 1
            return

    def _post(self, body: bytes) -> None:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": _USER_AGENT},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
            retry = status == 429 or status >= 500
            after = _retry_after(exc.headers.get("Retry-After"))
            raise _Failed(f"HTTP {status} {exc.reason}", retry, after) from None
        except (urllib.error.URLError, OSError) as exc:  # refused, DNS, timeout
            reason = getattr(exc, "reason", exc)
            raise _Failed(f"{type(exc).__name__}: {reason}", True) from None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
