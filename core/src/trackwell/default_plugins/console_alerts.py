"""Alerts on the terminal: the built-in alert sink, so run.alert() is never silent."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from trackwell.plugins import hookimpl

if TYPE_CHECKING:
    from trackwell.alerts import Alert
    from trackwell.run import Run


def _deliver(run: Run, alert: Alert) -> None:
    if run.settings.silent:
        return
    print(f"trackwell: ALERT [{alert.level}] {alert.title}: {alert.text}", file=sys.__stderr__)


@hookimpl(trylast=True)
def register_alert_sinks(register: Callable[[str, Callable[[Run, Alert], None]], None]) -> None:
    register("console", _deliver)
