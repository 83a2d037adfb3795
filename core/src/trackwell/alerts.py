"""``run.alert()``: levels, the alert record, and rate limiting by title."""

from __future__ import annotations

import enum
import time
from datetime import timedelta
from typing import Any

from trackwell.errors import UsageError

DEFAULT_WAIT_SECONDS = 60.0


class AlertLevel(str, enum.Enum):
    """Severity of an alert; the values match W&B's."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"

    def __str__(self) -> str:
        return self.value


class Alert:
    """One alert, as handed to alert sinks."""

    __slots__ = ("level", "text", "timestamp", "title", "wait_duration")

    def __init__(
        self, title: str, text: str, level: AlertLevel, wait_duration: float, timestamp: float
    ) -> None:
        self.title = title
        self.text = text
        self.level = level
        self.wait_duration = wait_duration
        self.timestamp = timestamp

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "text": self.text,
            "level": self.level.value,
            "wait_duration": self.wait_duration,
            "_timestamp": self.timestamp,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Alert:
        return cls(d["title"], d["text"], AlertLevel(d["level"]), d["wait_duration"], d["_timestamp"])

    def __repr__(self) -> str:
        return f"Alert({self.level.value}, {self.title!r}, {self.text!r})"


def make_alert(
    title: str,
    text: str,
    level: AlertLevel | str | None,
    wait_duration: float | timedelta | None,
) -> Alert:
    if not isinstance(title, str) or not title:
        raise UsageError("alert() needs a non-empty title")
    if not isinstance(text, str):
        raise UsageError("alert(text=...) must be a string")
    if level is None:
        level = AlertLevel.INFO
    try:
        level = AlertLevel(level.value if isinstance(level, AlertLevel) else str(level).upper())
    except ValueError:
        raise UsageError(f"alert level must be one of INFO, WARN, ERROR (got {level!r})") from None
    if wait_duration is None:
        wait = DEFAULT_WAIT_SECONDS
    elif isinstance(wait_duration, timedelta):
        wait = wait_duration.total_seconds()
    elif isinstance(wait_duration, (int, float)) and wait_duration >= 0:
        wait = float(wait_duration)
    else:
        raise UsageError("alert(wait_duration=...) must be seconds (a number) or a timedelta")
    return Alert(title, text, level, wait, time.time())


class AlertThrottle:
    """Drops an alert whose title was sent less than its ``wait_duration`` ago."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def allow(self, alert: Alert) -> bool:
        last = self._last.get(alert.title)
        if last is not None and alert.timestamp - last < alert.wait_duration:
            return False
        self._last[alert.title] = alert.timestamp
        return True
