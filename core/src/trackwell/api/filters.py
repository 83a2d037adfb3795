"""``api.runs(filters=..., order=...)`` over local runs: the MongoDB-style subset W&B documents.

Supported: field equality (``{"config.lr": 0.1}``), ``$and`` / ``$or`` / ``$nor``, and
per-field operators ``$eq $ne $in $nin $gt $gte $lt $lte $exists $regex``. Fields are
``config.<key>``, ``summary.<key>`` (or W&B's ``summary_metrics.<key>``), ``tags``,
``state``, ``id``, ``name`` / ``display_name``, ``project``, ``entity``, ``group``,
``job_type``, ``created_at`` (ISO string, so ``$gt``/``$lt`` compare dates), and
``metadata.<key>``. W&B's filters say ``name`` for the run id; locally ``name`` matches
the id or the display name, since both are unambiguous on disk.

``$regex`` patterns are RE2 syntax, matched by RE2 (``google-re2``) whenever it is
installed, as it always is with the server: its time grows linearly with the text, so
no pattern can make a filter run for minutes (Python's ``re`` backtracks:
``^(a+)+$`` over 28 ``a``s and a ``!`` takes seconds). Without it, a local ``Api``
falls back to ``re``, whose syntax is a superset; that only ever costs the user's
own machine.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from trackwell.errors import UsageError

if TYPE_CHECKING:
    from trackwell.api.runs import Run

_MISSING = object()
_SIMPLE = ("state", "id", "project", "entity", "group", "job_type", "created_at", "notes")


def field(run: Run, name: str) -> Any:
    """The value of filter/order field ``name`` for ``run``; ``_MISSING`` if it has none."""
    head, _, rest = name.partition(".")
    if head == "config" and rest:
        return _lookup(run.config, rest)
    if head in ("summary", "summary_metrics") and rest:
        return _lookup(run.summary._json_dict, rest)
    if head == "metadata" and rest:
        return _lookup(run.metadata, rest)
    if name in ("display_name", "displayName"):
        return run.name
    if name == "tags":
        return list(run.tags)
    if name in ("createdAt",):
        return run.created_at
    if name in _SIMPLE:
        return getattr(run, name)
    if name in ("jobType",):
        return run.job_type
    if name == "name":
        return run.name
    raise UsageError(
        f"api.runs(): cannot filter or order by {name!r}; use config.<key>, summary.<key>, "
        "tags, state, id, name, project, entity, group, job_type or created_at"
    )


def _lookup(mapping: Mapping[str, Any], dotted: str) -> Any:
    """``a.b`` is the key ``a.b`` if present, else ``a`` then ``b`` in nested dicts."""
    if dotted in mapping:
        return mapping[dotted]
    node: Any = mapping
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def matches(run: Run, query: Mapping[str, Any]) -> bool:
    """Whether ``run`` satisfies the filter document ``query``."""
    if not isinstance(query, Mapping):
        raise UsageError("api.runs(filters=...) must be a dict, e.g. {'config.lr': 0.1}")
    for key, cond in query.items():
        if key == "$and":
            if not all(matches(run, q) for q in cond):
                return False
        elif key == "$or":
            if not any(matches(run, q) for q in cond):
                return False
        elif key == "$nor":
            if any(matches(run, q) for q in cond):
                return False
        elif key.startswith("$"):
            raise UsageError(f"api.runs(filters=...): unsupported operator {key!r} at the top level")
        elif not _test(run, key, cond):
            return False
    return True


def _test(run: Run, name: str, cond: Any) -> bool:
    if name == "name":  # W&B means the id here; a local user often means the name
        return _test_value(run.id, cond) or _test_value(run.name, cond)
    return _test_value(field(run, name), cond, is_tags=name == "tags")


def _test_value(value: Any, cond: Any, is_tags: bool = False) -> bool:
    if isinstance(cond, Mapping) and cond and all(str(k).startswith("$") for k in cond):
        return all(_op(value, op, arg, is_tags) for op, arg in cond.items())
    return _eq(value, cond, is_tags)


def _eq(value: Any, arg: Any, is_tags: bool) -> bool:
    if value is _MISSING:
        return arg is None
    if is_tags and not isinstance(arg, list):
        return arg in value  # {"tags": "baseline"}: the run carries that tag
    return bool(value == arg)


def _op(value: Any, op: str, arg: Any, is_tags: bool) -> bool:
    if op == "$eq":
        return _eq(value, arg, is_tags)
    if op == "$ne":
        return not _eq(value, arg, is_tags)
    if op == "$in":
        if is_tags:
            return any(tag in value for tag in arg)
        return value is not _MISSING and value in arg
    if op == "$nin":
        if is_tags:
            return not any(tag in value for tag in arg)
        return value is _MISSING or value not in arg
    if op == "$exists":
        return (value is not _MISSING and value is not None) == bool(arg)
    if op == "$regex":
        search = _regex(arg)  # first, so a bad pattern is an error whatever the runs hold
        return isinstance(value, str) and search(value) is not None
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if value is _MISSING or value is None:
            return False
        try:
            if op == "$gt":
                return bool(value > arg)
            if op == "$gte":
                return bool(value >= arg)
            if op == "$lt":
                return bool(value < arg)
            return bool(value <= arg)
        except TypeError:
            return False
    raise UsageError(f"api.runs(filters=...): unsupported operator {op!r}")


def _regex(pattern: Any) -> Callable[[str], Any]:
    """The ``search`` of ``pattern``, compiled once per pattern (a filter tests every run)."""
    if not isinstance(pattern, str):
        raise UsageError(f"$regex needs a string pattern, got {type(pattern).__name__}")
    return _compile(pattern)


@functools.lru_cache(maxsize=16)
def _compile(pattern: str) -> Callable[[str], Any]:
    """RE2 when installed; its own parse errors are not logged (the caller reports them)."""
    shown = repr(pattern if len(pattern) <= 80 else pattern[:80] + "...")
    try:
        import re2
    except ImportError:
        try:
            return re.compile(pattern).search
        except re.error as exc:
            raise UsageError(f"invalid $regex {shown}: {exc}") from None
    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options).search
    except re2.error as exc:
        why = exc.args[0] if exc.args else exc
        why = why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why)
        hint = "RE2 syntax, no lookaround or backreferences"
        raise UsageError(f"invalid $regex {shown} ({hint}): {why}") from None


def sort_runs(runs: list[Run], order: str | None) -> list[Run]:
    """Sort by ``order`` (``-created_at``, ``+summary.loss``, ``config.lr``, ...).

    Runs missing the field go last in either direction; values of different types sort
    by type name first, so one odd run cannot make the whole listing fail.
    """
    if not order:
        return runs
    descending = order.startswith("-")
    name = order.lstrip("+-")
    if name in ("created_at", "createdAt"):  # the float, not the ISO string: sub-second order
        keyed = [(run.start_time, run) for run in runs]
    else:
        keyed = [(field(run, name), run) for run in runs]
    present = [(v, r) for v, r in keyed if not _absent(v)]
    absent = [r for v, r in keyed if _absent(v)]
    present.sort(key=lambda vr: _sort_key(vr[0]), reverse=descending)
    return [r for _, r in present] + absent


def _absent(value: Any) -> bool:
    return value is _MISSING or value is None or (isinstance(value, float) and math.isnan(value))


def _sort_key(value: Any) -> tuple[str, Any]:
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, str):
        return ("str", value)
    return ("~" + type(value).__name__, repr(value))
