"""What a run prints on the terminal: the start banner, and history sparklines and the
summary at the end. A built-in plugin like any other (``report_run_start`` and
``report_run_finish``): ``TRACKWELL_DISABLE_PLUGINS=terminal`` silences it, and a plugin
may print its own report instead.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from trackwell.metrics import SPARK_WIDTH
from trackwell.plugins import hookimpl

if TYPE_CHECKING:
    from trackwell.run import Run

MAX_SUMMARY_LINES = 30
_TICKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = SPARK_WIDTH) -> str:
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [values[int(i * step)] for i in range(width)]
    lo, hi = min(finite), max(finite)
    span = hi - lo
    out = []
    for v in values:
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            out.append(" ")
        elif span == 0:
            out.append(_TICKS[0])
        else:
            out.append(_TICKS[min(len(_TICKS) - 1, int((v - lo) / span * (len(_TICKS) - 1) + 0.5))])
    return "".join(out)


#: Short names of typed records (media, tables, charts) for the summary: W&B prints a
#: media value as its kind, not its record (a histogram's record is hundreds of numbers).
_RECORD_NAMES = {
    "image-file": "Image",
    "images/separated": "Images",
    "audio-file": "Audio",
    "video-file": "Video",
    "histogram": "Histogram",
    "html-file": "Html",
    "object3D-file": "Object3D",
    "plotly-file": "Plotly",
    "table-file": "Table",
    "plot-table": "Chart",
}


def _record_label(record: dict[str, Any]) -> str:
    """``Image 32x32``, ``Table 100000x10``, ``Histogram``: a typed record in a few words."""
    kind = str(record["_type"])
    name = _RECORD_NAMES.get(kind, kind)
    if isinstance(record.get("width"), int) and isinstance(record.get("height"), int):
        return f"{name} {record['width']}x{record['height']}"
    if isinstance(record.get("nrows"), int) and isinstance(record.get("ncols"), int):
        return f"{name} {record['nrows']}x{record['ncols']}"
    if kind == "images/separated" and isinstance(record.get("count"), int):
        return f"{name} x{record['count']}"
    if kind == "plot-table":
        spec = record.get("spec")
        title = record.get("title") or (spec.get("name") if isinstance(spec, dict) else None)
        return f"{name} {title}" if title else name
    return name


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.5g}"
    if isinstance(value, dict) and isinstance(value.get("_type"), str):
        return _record_label(value)
    if isinstance(value, dict):
        return " ".join(f"{k}={_fmt(v)}" for k, v in value.items())
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _stream(settings: Any) -> TextIO | None:
    if settings.silent:
        return None
    return sys.__stderr__ or sys.stderr


def _run_dir(run: Run) -> Path:
    return Path(run.dir).parent  # run.dir is W&B's: the run's files/ folder


@hookimpl
def report_run_start(run: Run) -> None:
    out = _stream(run.settings)
    if out is None or run.settings.quiet:
        return
    verb = "Resuming" if run.resumed else "Tracking"
    print(f"trackwell: {verb} run {run.name} ({run.id}) in project {run.project}", file=out)
    print(f"trackwell: Run data is saved locally in {_run_dir(run)}", file=out)
    if run.settings.mode == "offline":
        print("trackwell: Offline run: nothing leaves this machine", file=out)
    elif run.settings.mode == "online":
        where = f"View run at {run.url}" if run.url else f"Streaming to {run.settings.base_url}"
        print(f"trackwell: {where}", file=out)


@hookimpl
def report_run_finish(
    run: Run, summary: Mapping[str, Any], history: Mapping[str, Sequence[float]], alerts: int
) -> None:
    out = _stream(run.settings)
    if out is None:
        return
    lines = []
    if not run.settings.quiet:
        series = [(k, list(v)) for k, v in history.items() if len(v) > 1]
        if series:
            lines.append("Run history:")
            width = max(len(k) for k, _ in series)
            lines += [f"  {k:>{width}} {sparkline(v)}" for k, v in series]
        shown = [(k, v) for k, v in summary.items() if not k.startswith("_")]
        if shown:
            lines.append("Run summary:")
            width = max(len(k) for k, _ in shown[:MAX_SUMMARY_LINES])
            lines += [f"  {k:>{width}} {_fmt(v)}" for k, v in shown[:MAX_SUMMARY_LINES]]
            if len(shown) > MAX_SUMMARY_LINES:
                lines.append(f"  ... and {len(shown) - MAX_SUMMARY_LINES} more in summary.json")
    steps = summary.get("_step")
    done = f"{steps + 1} steps" if isinstance(steps, int) else "no history"
    alert_note = f", {alerts} alert(s)" if alerts else ""
    lines.append(f"Run {run.name} ({run.id}) {run.state}: {done}{alert_note}")
    lines.append(f"Run data: {_run_dir(run)}")
    if run.url:
        lines.append(f"Run page: {run.url}")
    if run.settings.mode == "offline":  # as W&B ends an offline run: the command that uploads it
        lines.append("You can sync this run to a server by running:")
        lines.append(f"trackwell sync {_run_dir(run)}")
    for line in lines:
        print(f"trackwell: {line}", file=out)
