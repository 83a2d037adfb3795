"""System-metric column names as W&B's Public API shows them, shared by the local and server readers.

Runs store system samples under ``system/<name>`` (what the dashboard and server
read); W&B's ``run.history(stream="events")`` names the same columns
``system.<name>``, and calls system memory use ``memory`` where our psutil source
says ``memory_percent``. Renaming happens here, at read time, so the stored format
never changes and both readers name columns alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from trackwell.sysmetrics import PREFIX

#: Streams of ``history(stream=...)`` that mean system metrics (W&B calls them "events").
SYSTEM_STREAMS = ("events", "system")

_API_PREFIX = "system."
#: Stored source names whose W&B name differs (stored name after the prefix -> W&B's).
_RENAMES = {"memory_percent": "memory"}
_STORED = {wandb: stored for stored, wandb in _RENAMES.items()}


def api_name(stored: str) -> str:
    """W&B's column name for a stored key: ``system/memory_percent`` -> ``system.memory``,
    ``system/rank_1/cpu`` -> ``system.rank_1/cpu``; keys outside ``system/`` (``_runtime``,
    ``_timestamp``) are kept."""
    if not stored.startswith(PREFIX):
        return stored
    return _API_PREFIX + _rename(stored[len(PREFIX) :], _RENAMES)


def stored_name(key: str) -> str:
    """The stored key for a W&B column name (the inverse of ``api_name``), to filter by it."""
    if not key.startswith(_API_PREFIX):
        return key
    return PREFIX + _rename(key[len(_API_PREFIX) :], _STORED)


def _rename(name: str, names: dict[str, str]) -> str:
    """``name`` renamed by ``names``, past an attached process's label (``rank_1/memory_percent``);
    a label has no dot, which tells it from a disk path (``disk./.usageGB``)."""
    label, sep, rest = name.partition("/")
    if sep and label and "." not in label:
        return f"{label}/{names.get(rest, rest)}"
    return names.get(name, name)


def stored_keys(keys: Sequence[str] | None) -> list[str] | None:
    return None if keys is None else [stored_name(k) for k in keys]


def api_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """New rows with W&B's column names (the given rows are not changed)."""
    return [{api_name(k): v for k, v in row.items()} for row in rows]
