"""Column types shared by the schema and the migrations."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


def _fallback(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return repr(obj)


def dumps(value: Any) -> str:
    """JSON that keeps NaN and ±Inf (as the tokens Python's json reads back)."""
    return json.dumps(value, allow_nan=True, separators=(",", ":"), default=_fallback)


class JsonText(sa.types.TypeDecorator[Any]):
    """JSON kept as text.

    Not the dialects' JSON types: PostgreSQL's ``json`` rejects NaN and Infinity,
    which are ordinary values of a loss curve's summary, and integers past 64 bits.
    Nothing queries inside these documents (filters run in Python), so text loses
    nothing.
    """

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else dumps(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)
