"""What a run prints: the start banner, and the history sparklines and summary at the end."""

from __future__ import annotations

import math
import sys
from typing import Any, TextIO

SPARK_WIDTH = 40
MAX_SPARK_KEYS = 30
MAX_SUMMARY_LINES = 30
_TICKS = "▁▂▃▄▅▆▇█"


class Sparks:
    """A thinned history of the first numeric metrics, enough for one sparkline each.

    Each key keeps at most ``2 * SPARK_WIDTH`` points: when full, every other point
    is dropped and the key's stride doubles, so the cost per row stays constant and
    the line covers the whole run.
    """

    def __init__(self) -> None:
        self.series: dict[str, list[Any]] = {}  # key -> [count, stride - 1, points]
        self._full = False

    def add(self, row: dict[str, Any]) -> None:
        series = self.series
        for key, value in row.items():
            entry = series.get(key)
            if entry is None:
                if self._full or key[0] == "_" or not (type(value) is float or type(value) is int):
                    continue
                entry = series[key] = [0, 0, []]
                self._full = len(series) >= MAX_SPARK_KEYS
            elif not (type(value) is float or type(value) is int):
                continue
            count = entry[0] = entry[0] + 1
            if count & entry[1]:  # strides are powers of two: keep every stride-th point
                continue
            points = entry[2]
            points.append(value)
            if len(points) >= 2 * SPARK_WIDTH:
                entry[2] = points[1::2]
                entry[1] = entry[1] * 2 + 1


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


def print_start(run: Any) -> None:
    out = _stream(run.settings)
    if out is None or run.settings.quiet:
        return
    verb = "Resuming" if run.resumed else "Tracking"
    print(f"trackwell: {verb} run {run.name} ({run.id}) in project {run.project}", file=out)
    print(f"trackwell: Run data is saved locally in {run._run_dir}", file=out)
    if run.settings.mode == "offline":
        print("trackwell: Offline run: nothing leaves this machine", file=out)
    elif run.settings.mode == "online":
        where = f"View run at {run.url}" if run.url else f"Streaming to {run.settings.base_url}"
        print(f"trackwell: {where}", file=out)


def print_finish(run: Any, sparks: Sparks, summary: dict[str, Any], alerts: int) -> None:
    out = _stream(run.settings)
    if out is None:
        return
    lines = []
    if not run.settings.quiet:
        history = [(k, e[2]) for k, e in sparks.series.items() if len(e[2]) > 1]
        if history:
            lines.append("Run history:")
            width = max(len(k) for k, _ in history)
            lines += [f"  {k:>{width}} {sparkline(v)}" for k, v in history]
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
    lines.append(f"Run data: {run._run_dir}")
    if run.url:
        lines.append(f"Run page: {run.url}")
    if run.settings.mode == "offline":  # as W&B ends an offline run: the command that uploads it
        lines.append("You can sync this run to a server by running:")
        lines.append(f"trackwell sync {run._run_dir}")
    for line in lines:
        print(f"trackwell: {line}", file=out)
