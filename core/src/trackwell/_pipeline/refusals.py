"""What the console says about records the server refuses: they stay in the local log,
the rest of the run goes on, and the user is told which ones (by kind and step).
"""

from __future__ import annotations

import contextlib
from typing import Any

import msgpack

from trackwell._pipeline.runlog import Record
from trackwell._pipeline.say import stderr

#: Refused records reported one by one on the console; more are counted in one line.
REFUSED_SHOWN = 5


def say_refused(refused: list[Any], pending: list[Record], run_id: str | None) -> None:
    """One console line per record the server refused in a batch (``refused`` in its
    answer), looked up in ``pending``; a count past the first few."""
    by_seq = {rec.seq: rec for rec in pending}
    for i, item in enumerate(refused):
        if i == REFUSED_SHOWN:
            stderr(
                f"trackwell: WARNING the server refused {len(refused) - i} more record(s) of run "
                f"{run_id} in the same batch"
            )
            break
        item = item if isinstance(item, dict) else {}
        seq = item.get("seq")
        rec = by_seq.get(seq) if isinstance(seq, int) else None
        what = describe(rec) if rec is not None else str(item.get("kind") or "record")
        key = f", key {item['key']!r}" if item.get("key") is not None else ""
        stderr(
            f"trackwell: WARNING the server refused record {seq} ({what}{key}) of run {run_id}: "
            f"{item.get('reason') or 'no reason given'}. It stays in the local log; the rest goes on."
        )


def say_too_large(rec: Record, reason: str, run_id: str | None) -> None:
    """A record the server will not take even alone (413)."""
    stderr(
        f"trackwell: WARNING the server refused record {rec.seq} ({describe(rec)}) of run "
        f"{run_id}: {reason}. It stays in the local log; the rest of the run goes on."
    )


def describe(rec: Record) -> str:
    """"history, step 12" for a console line about a record (its kind, and its step when it has one)."""
    body = rec.body
    if body is None and rec.raw is not None:  # decoded only for this warning: rare
        with contextlib.suppress(Exception):
            body = msgpack.unpackb(rec.raw, raw=False, strict_map_key=False)[2]
    step = body.get("_step") if isinstance(body, dict) else None
    return f"{rec.kind}, step {step}" if isinstance(step, int) else rec.kind
