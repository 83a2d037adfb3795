"""What one logged row or value may hold: the one table the SDK and the server share.

The server (``trackwell_server``) builds its defaults from ``DEFAULTS`` and publishes its
effective limits at ``GET /api/v1/limits``; the sender calls ``update()`` with that
answer at connect, so a run enforces at ``log()`` exactly what its server would refuse.
Anything over a limit is refused alone, with a ``DataDroppedWarning`` naming the key
and the step, instead of being found out by the server with the rest of a batch.

Reading a limit is one attribute access on the module-level ``Limits`` value, cheap
enough for the caller's thread; ``update()`` swaps the whole value at once, so a reader
never sees half of an update.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

#: Distinct history keys of one run (nested dicts count as their flattened "a.b" keys).
MAX_KEYS = 10_000
#: Characters of one history key (a flattened nested key included).
MAX_KEY_CHARS = 1024
#: Size of one non-numeric value: a string's characters, bytes' length, a list's
#: msgpack encoding (W&B documents 1 MB).
MAX_VALUE_BYTES = 1_000_000
#: Encoded bytes of one run-log record (one log() call): must fit one ingest request,
#: with room for its envelope.
MAX_RECORD_BYTES = 25_000_000
#: Bytes of one ingest request body.
MAX_BODY_BYTES = 25 * 1024 * 1024
#: Steps are signed 64-bit integers in every store (SQLite, PostgreSQL, numpy).
MAX_STEP = 2**63 - 1


@dataclass(frozen=True)
class Limits:
    """One consistent set of limits; ``trackwell.limits.current()`` is the one in force."""

    max_keys: int = MAX_KEYS
    max_key_chars: int = MAX_KEY_CHARS
    max_value_bytes: int = MAX_VALUE_BYTES
    max_record_bytes: int = MAX_RECORD_BYTES
    max_body_bytes: int = MAX_BODY_BYTES
    max_step: int = MAX_STEP

    def as_dict(self) -> dict[str, int]:
        """The JSON shape of ``GET /api/v1/limits``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


DEFAULTS = Limits()
#: An ingest request's bytes besides its records (stream, seqs, framing).
ENVELOPE_BYTES = 64 * 1024
_NAMES = frozenset(f.name for f in fields(Limits))
_current = DEFAULTS


def current() -> Limits:
    """The limits in force in this process."""
    return _current


def update(mapping: Mapping[str, Any]) -> Limits:
    """Apply the limits a server published; return the new value.

    Unknown names (a newer server's) are ignored, and so is any value that is not a
    positive integer: a malformed answer must not lift or zero a limit. A record must
    fit one request, so ``max_record_bytes`` stays under ``max_body_bytes``.
    """
    global _current
    known = {
        name: value
        for name, value in mapping.items()
        if name in _NAMES and type(value) is int and value > 0
    }
    new = replace(_current, **known)
    if new.max_record_bytes > new.max_body_bytes - ENVELOPE_BYTES:
        new = replace(new, max_record_bytes=new.max_body_bytes - ENVELOPE_BYTES)
    _current = new
    return new


def reset() -> None:
    """Back to ``DEFAULTS`` (tests, and a process that connects to another server)."""
    global _current
    _current = DEFAULTS


def key_problem(key: Any, max_chars: int) -> str | None:
    """Why ``key`` cannot be a history key (None when it can): the SDK's writer and the
    server's ingest ask the same question, so they refuse the same keys alike."""
    if type(key) is not str or not key:
        return "a key must be a non-empty string"
    if len(key) > max_chars:
        return f"the key is {len(key):,} characters, over the {max_chars:,} limit"
    if "\x00" in key:
        return "the key contains a NUL character"
    return None
