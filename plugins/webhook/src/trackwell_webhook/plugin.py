"""The hooks: one alert sink per configured URL, and a bounded wait for them at finish.

Configuration comes from ``TRACKWELL_WEBHOOK_*`` environment variables (see the
README), read when each run starts, so a process can change them between runs.
Sinks are kept per configuration for the whole process: their delivery thread and
their ``wait_duration`` memory outlive a run.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import trackwell

if TYPE_CHECKING:
    from trackwell.extend import Alert, Run
    from trackwell_webhook.sink import WebhookSink

_sinks: dict[tuple[Any, ...], WebhookSink] = {}
_lock = threading.Lock()


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {raw!r}")
    return value


def sinks_from_env(env: Mapping[str, str] | None = None) -> list[WebhookSink]:
    """The sinks ``TRACKWELL_WEBHOOK_*`` asks for (none when no URL is set)."""
    env = os.environ if env is None else env
    urls = [u for u in re.split(r"[,\s]+", env.get("TRACKWELL_WEBHOOK_URL", "")) if u]
    if not urls:
        return []
    from trackwell_webhook.sink import FORMATS, LEVELS, WebhookSink  # only when configured

    fmt = env.get("TRACKWELL_WEBHOOK_FORMAT", "json").strip().lower() or "json"
    if fmt not in FORMATS:
        raise ValueError(f"TRACKWELL_WEBHOOK_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    level = env.get("TRACKWELL_WEBHOOK_MIN_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in LEVELS:
        raise ValueError(f"TRACKWELL_WEBHOOK_MIN_LEVEL must be one of {', '.join(LEVELS)}, not {level!r}")
    options = {
        "format": fmt,
        "min_level": level,
        "retries": int(_number(env, "TRACKWELL_WEBHOOK_RETRIES", 3)),
        "backoff": _number(env, "TRACKWELL_WEBHOOK_BACKOFF", 1.0),
        "timeout": _number(env, "TRACKWELL_WEBHOOK_TIMEOUT", 10.0),
    }
    out = []
    with _lock:
        for url in urls:
            key = (url, *sorted(options.items()))
            if key not in _sinks:
                _sinks[key] = WebhookSink(url, **options)  # type: ignore[arg-type]
            out.append(_sinks[key])
    return out


@trackwell.hookimpl
def register_alert_sinks(register: Callable[[str, Callable[[Run, Alert], None]], None]) -> None:
    for sink in sinks_from_env():
        register(f"webhook:{sink.url}", sink.deliver)


@trackwell.hookimpl
def on_run_finish(run: Run) -> None:
    """Give alerts still being posted a bounded time, so a script's last alert arrives."""
    with _lock:
        sinks = list(_sinks.values())
    timeout = _number(os.environ, "TRACKWELL_WEBHOOK_FINISH_TIMEOUT", 15.0)
    for sink in sinks:
        if not sink.flush(timeout):
            sink.warn(f"gave up waiting {timeout:g} s at finish; alerts still queued may be lost")
