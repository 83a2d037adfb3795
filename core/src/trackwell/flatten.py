"""Nested history values flattened to dotted keys, as W&B's history shows them.

A leaf module (standard library only): the writer counts a run's keys by their flattened
names when it admits them, and the Public API's replay flattens rows it reads back, so
both sides name the same columns without the writer importing the Public API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts with ``.`` ({"b": {"c": 1}} -> {"b.c": 1}), as W&B's history does.

    Typed records (dicts with a ``_type``: images, tables, histograms, charts) stay whole,
    as in W&B, so a reader gets the record ``from_record`` needs."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and "_type" not in value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out
