"""Checks against targets, and the table and JSON they are reported as.

A check keeps the raw number and its limit, not only the formatted text, so the
JSON output can be compared across commits and machines by a script.
"""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: How each unit is printed: (decimal digits, suffix). Values are kept in these units.
UNITS = {
    "us": (2, " µs"),
    "ms": (1, " ms"),
    "s": (3, " s"),
    "MB": (1, " MB"),
    "rows": (0, " rows"),
    "pts/s": (0, " pts/s"),
    "MB/s": (0, " MB/s"),
    "%": (2, " %"),
}


def fmt(value: float, unit: str) -> str:
    digits, suffix = UNITS[unit]
    return f"{value:,.{digits}f}{suffix}"


@dataclass
class Check:
    """One line of the table. ``limit`` None means the line is for information."""

    metric: str
    value: float | None  # None: the workload crashed, so nothing was measured
    unit: str
    limit: float | None = None
    measured: str = ""  # text for the measured column; derived from value if empty
    target: str = ""  # text for the target column; derived from limit if empty
    detail: str = ""  # a line printed under the table: spread, context, caveats
    ok: bool | None = field(default=None)

    def __post_init__(self) -> None:
        if not self.measured:
            self.measured = "CRASHED" if self.value is None else fmt(self.value, self.unit)
        if not self.target:
            self.target = "info" if self.limit is None else "≤ " + fmt(self.limit, self.unit)
        if self.ok is None and self.limit is not None:
            self.ok = self.value is not None and self.value <= self.limit

    def verdict(self, gated: bool = True) -> str:
        """pass/FAIL; a missed target that does not fail the run (``--quick``) says so."""
        if self.value is None:
            return "CRASH"
        if self.ok is None:
            return ""
        return "pass" if self.ok else "FAIL" if gated else "miss (not gated)"


def table(checks: list[Check], gated: bool = True) -> str:
    """A plain-text table that reads well in a terminal and in a CI log."""
    head = ("metric", "measured", "target", "result")
    rows = [(c.metric, c.measured, c.target, c.verdict(gated)) for c in checks]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)

    def render(r: tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(w) if i in (1, 2) else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()

    notes = [f"  {c.metric}: {c.detail}" for c in checks if c.detail]
    return "\n".join([render(head), line, *map(render, rows), line, *(["notes:", *notes] if notes else [])])


def write_json(path: Path, checks: list[Check], quick: bool, raw: dict[str, Any]) -> None:
    """Everything measured, machine-readable: for comparing commits and machines."""
    doc = {
        "quick": quick,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "checks": [{**asdict(c), "verdict": c.verdict(not quick)} for c in checks],
        "raw": raw,
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
