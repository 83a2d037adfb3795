"""``sync.json``: how far the upload of a run directory got, left in the directory.

It only saves reading: where an upload goes on is always the server's answer (see
``uploader.py``); the marker names the offset of the last acknowledged record, used
once checked against the log, and which files went up.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

MARKER = "sync.json"


def read_marker(run_dir: Path) -> dict[str, Any]:
    """The run directory's upload marker, or ``{}`` when it has none (or a broken one)."""
    try:
        with open(run_dir / MARKER, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_marker(run_dir: Path, data: dict[str, Any]) -> None:
    tmp = run_dir / f".{MARKER}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, run_dir / MARKER)
    except OSError:
        pass  # a convenience: without it the next sync asks the server where to go on
