"""What ingest can store: the one place that checks and normalises what a client sent.

Both databases must answer the same input the same way, and never with a 500. What
differs between them, or breaks a driver, is settled here before anything is written:

- text with lone surrogates (JSON allows ``"\\ud800"``; UTF-8, SQLite's driver and
  PostgreSQL do not) is stored as the SDK stores it, each surrogate written as its
  backslash escape (``trackwell.normalize.storable``);
- integers past 64 bits (JSON allows them) become floats, as the SDK's log does;
- a history key must be a non-empty string without NUL (PostgreSQL's text cannot hold
  one; SQLite's can, which is how the two used to disagree) and within the key length
  limit; a step must be a signed 64-bit integer. A record that breaks one of these is
  refused alone (``refusal``), the rest of its batch is stored.
"""

from __future__ import annotations

import json
from typing import Any

from trackwell.extend import storable

_INT64 = (-(2**63), 2**63 - 1)
#: How many refusals a run keeps the reasons of (its count keeps going).
KEEP_REFUSALS = 10


def decode_json(data: bytes) -> Any:
    """JSON as ingest stores it: big integers as floats, lone surrogates escaped."""
    payload = json.loads(data, parse_int=_json_int)
    # A lone surrogate can only come from a \uXXXX escape: skip the walk without one.
    if b"\\ud" in data or b"\\uD" in data:
        payload = storable(payload)
    return payload


def _json_int(text: str) -> int | float:
    value = int(text)
    return value if -(2**63) <= value < 2**64 else float(text)  # inf past the float range


def step_ok(step: Any) -> bool:
    return type(step) is not int or _INT64[0] <= step <= _INT64[1]


def refusal(seq: int, kind: Any, reason: str, key: Any = None) -> dict[str, Any]:
    """One entry of an ingest answer's ``refused`` list."""
    entry: dict[str, Any] = {"seq": seq, "kind": kind if isinstance(kind, str) else repr(kind)}
    entry["reason"] = reason
    if key is not None:
        entry["key"] = key if isinstance(key, str) else repr(key)
    return entry


def add_refusals(trace: Any, stream: str, refused: list[dict[str, Any]], now: float) -> dict[str, Any]:
    """The run's ``refused`` trace with this batch's refusals added: a count and the last few."""
    count = trace.get("count", 0) if isinstance(trace, dict) else 0
    last = list(trace.get("last", [])) if isinstance(trace, dict) else []
    last += [{**entry, "stream": stream, "at": now} for entry in refused]
    return {"count": count + len(refused), "last": last[-KEEP_REFUSALS:]}
