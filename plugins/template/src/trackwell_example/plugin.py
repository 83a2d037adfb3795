"""The plugin: functions marked ``@trackwell.hookimpl``, named after the hooks they implement.

Keep the imports at the top of this module light: trackwell imports it at the first
``init()`` of every process. Import heavy libraries inside the hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trackwell

if TYPE_CHECKING:
    from trackwell.extend import Run


@trackwell.hookimpl
def on_run_finish(run: Run, exit_code: int, state: str) -> None:
    """Record how the run ended in its summary.

    Called on trackwell's writer thread as the run ends; the run still accepts
    ``log()`` and summary updates here.
    """
    run.summary["example/final_state"] = state
