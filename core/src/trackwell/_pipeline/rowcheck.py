"""What a history row may hold: its keys admitted against the run's limits, its values
sized, and the warnings that say what was dropped.

The limits are the server's (``trackwell.limits``), so a row the writer keeps is a row
the server stores; what is refused is said once, naming the keys and the step, and the
rest of the row (or the rows around it) is kept.
"""

from __future__ import annotations

from typing import Any

import msgpack

from trackwell import limits
from trackwell._pipeline import runlog
from trackwell.errors import DataDroppedWarning, warn_user
from trackwell.flatten import flatten
from trackwell.records import Kind


class KeyCheck:
    """The history keys a run has admitted so far: a row of known keys skips every key
    check; the flattened names count toward the run's key limit as the server counts them."""

    def __init__(self) -> None:
        self.known: set[str] = {"_step"}
        self.nested: set[str] = set()  # top-level keys holding plain dicts (rechecked per row)
        self._flat: set[str] = set()

    def admit(self, row: dict[str, Any]) -> None:
        """Check the keys this run has not seen yet; drop (with a warning) those it can't store.

        Runs once per new key, so a row of known keys costs one set comparison. The
        limits are the server's (``trackwell.limits``): key length, no NUL (PostgreSQL
        cannot store one) and the run's number of distinct keys, nested dicts counted as
        their flattened ``a.b`` names.
        """
        lim = limits.current()
        nested = self.nested
        refused: list[tuple[Any, str]] = []
        for key in [k for k in row if k not in self.known or k in nested]:
            value = row[key]
            if type(value) is dict and value and "_type" not in value:
                flat: Any = flatten({key: value})
                nested.add(key)
            else:
                flat = (key,)
            new = [name for name in flat if name not in self._flat]
            problem = next(
                (why for name in new if (why := limits.key_problem(name, lim.max_key_chars))), None
            )
            held = len(self._flat)
            if problem is None and held + len(new) > lim.max_keys:
                problem = f"the run already has {held:,} distinct keys, the limit is {lim.max_keys:,}"
            if problem is not None:
                del row[key]
                refused.append((key, problem))
                continue
            self._flat.update(new)
            if key not in nested:
                self.known.add(key)
        if len(refused) == 1:
            warn_key(short(repr(refused[0][0])), row.get("_step"), refused[0][1])
        elif refused:  # one warning for the row, not one per key (a 20,000-key dict)
            warn_key(
                f"{len(refused):,} keys ({names([k for k, _ in refused])})",
                row.get("_step"),
                "; ".join(sorted({why for _, why in refused})),
            )


def check_sizes(row: dict[str, Any], packer: msgpack.Packer, seq: int) -> bytes | None:
    """A row whose record is past the value limit: drop each value over it, then
    refuse the row if its record is still past the record limit.

    Sized as the server sizes them: a string or bytes by its length, anything else
    by its msgpack encoding; a plain dict's values one by one, as they are flattened.
    """
    lim = limits.current()
    for key in list(row):
        value = row[key]
        if type(value) in SCALARS and type(value) is not str:
            continue
        leaves = flatten({key: value}) if type(value) is dict and "_type" not in value else {key: value}
        for name, leaf in leaves.items():
            size = value_size(leaf)
            if size > lim.max_value_bytes:
                del row[key]
                limit = lim.max_value_bytes
                why = f"the value is {size:,} bytes, over the {limit:,}-byte limit for one value"
                warn_key(repr(name), row.get("_step"), why)
                break
    data = runlog.encode_record(packer, Kind.HISTORY, seq, row)
    if len(data) > lim.max_record_bytes:
        refuse(row, f"its record is {len(data):,} bytes, over the {lim.max_record_bytes:,}-byte limit")
        return None
    return data


#: Types a row value has when it needs no encoding (and, but for str, no size check).
SCALARS = frozenset((float, int, bool, str, type(None)))


def value_size(value: Any) -> int:
    """A value's size as the server measures it (``storage/history.py``)."""
    if isinstance(value, (str, bytes)):
        return len(value)
    return len(msgpack.packb(value, use_bin_type=True, default=repr, unicode_errors="backslashreplace"))


def names(keys: list[Any], most: int = 5) -> str:
    shown = ", ".join(short(repr(k)) for k in keys[:most])
    return shown + (f" and {len(keys) - most} more" if len(keys) > most else "")


def refuse(row: dict[str, Any], why: str) -> None:
    """Warn that this history row is not recorded, naming its keys and step."""
    keys = [k for k in row if not (type(k) is str and k[:1] == "_")]
    warn_user(
        f"trackwell.log(): the row at step {row.get('_step')} (keys {names(keys)}) was not recorded: "
        f"{why}; the rows before and after it are kept",
        DataDroppedWarning,
    )


def short(text: str, most: int = 60) -> str:
    return text if len(text) <= most else f"{text[: most - 5]}...{text[-2:]}"


def warn_key(what: str, step: Any, problem: str) -> None:
    """One warning naming the refused key(s) (``what``, already quoted) and the step."""
    warn_user(
        f"trackwell.log(): {what} at step {step} was not recorded: {problem}; "
        "the rest of the row was kept",
        DataDroppedWarning,
    )
