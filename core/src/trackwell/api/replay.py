"""Turn a run log's records into the state a reader sees (config, summary, history, ...).

The log is the source of truth, so readers rebuild everything from it rather than
trusting side files (``summary.json`` exists only when a run finished). A crashed run
has no ``final_summary`` record; its summary is replayed with the same
``SummaryState`` the writer uses, so both agree on every ``define_metric`` rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trackwell._pipeline.runlog import Kind, Record
from trackwell.errors import UsageError
from trackwell.flatten import flatten
from trackwell.metrics import MetricRule, SummaryState


def _has_nested(row: Mapping[str, Any]) -> bool:
    return any(type(v) is dict for v in row.values())


class RunData:
    """Everything one run log says, in plain Python values. Shared by cache readers: never mutate."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}  # the RUN records merged: id, name, project, pid, ...
        self.meta: dict[str, Any] = {}
        self.config: dict[str, Any] = {}
        self.summary: dict[str, Any] = {}
        self.history: list[dict[str, Any]] = []  # flattened rows, in log order
        self.system: list[dict[str, Any]] = []  # flattened system-metrics samples
        self.alerts: list[dict[str, Any]] = []
        self.saved_files: list[str] = []  # paths named by FILES records, relative to files/
        self.rules: list[dict[str, Any]] = []
        self.exit: dict[str, Any] | None = None  # the EXIT of the latest session, if it ended
        self.has_final_summary = False
        self.last_timestamp: float | None = None  # newest _timestamp of any record
        self.last_runtime: float | None = None  # newest _runtime of any record
        self.torn_bytes = 0
        self.skipped: list[tuple[int, int]] = []  # (offset, length) of corrupt bytes the reader stepped over
        self.records = 0
        #: the live state machine after the last record: resume keeps folding rows into it
        self.summary_state = SummaryState()
        self.log_mtime: float | None = None  # set by the cache: tells a live pid from a recycled one


def replay(records: Iterable[Record], torn_bytes: int = 0) -> RunData:
    """Fold records, in file order, into a ``RunData``.

    A resumed run appends another RUN record: its non-empty fields win but the first
    start_time stays, and an EXIT or final summary written before it no longer ends
    the run (the new session may still be live).
    """
    data = RunData()
    data.torn_bytes = torn_bytes
    summary = SummaryState()
    for rec in records:
        data.records += 1
        body = rec.body
        kind = rec.kind
        if kind == Kind.HISTORY:
            if not isinstance(body, dict):
                continue
            summary.apply_row(dict(body))
            data.history.append(flatten(body) if _has_nested(body) else body)
            _note_time(data, body)
        elif kind == Kind.STATS:
            if isinstance(body, dict):
                data.system.append(flatten(body) if _has_nested(body) else body)
                _note_time(data, body)
        elif kind == Kind.RUN:
            _merge_run(data, body)
        elif kind == Kind.CONFIG:
            _merge_edit(data.config, body)
        elif kind == Kind.SUMMARY:
            if isinstance(body, dict):
                summary.edit(body.get("update"), body.get("remove"))
        elif kind == Kind.METRIC:
            rule = _rule(body)
            if rule is not None:  # a rule this version rejects must not hide the run
                summary.define(rule)
                data.rules.append(body)
        elif kind == Kind.META:
            if isinstance(body, dict):
                data.meta.update(body)
        elif kind == Kind.ALERT:
            if isinstance(body, dict):
                data.alerts.append(body)
                _note_time(data, body)
        elif kind == Kind.FILES:
            if isinstance(body, dict):
                for path in body.get("paths") or ():
                    if path not in data.saved_files:
                        data.saved_files.append(path)
        elif kind == Kind.FINAL_SUMMARY:
            if isinstance(body, dict):
                # Adopt it wholesale: it is authoritative, and rows logged after a resume
                # keep folding into it through the same state machine.
                summary.edit(body, [k for k in summary.values if k not in body])
                data.has_final_summary = True
        elif kind == Kind.EXIT and isinstance(body, dict):
            data.exit = body
            _note_time(data, body)
        # unknown kinds come from newer writers: skipped, so old readers keep working
    data.summary = summary.snapshot()
    data.summary_state = summary
    return data


def _rule(body: Any) -> MetricRule | None:
    if not isinstance(body, dict):
        return None
    try:
        return MetricRule.from_dict(body)
    except (UsageError, KeyError, TypeError, ValueError):
        return None


def _note_time(data: RunData, body: Mapping[str, Any]) -> None:
    ts = body.get("_timestamp")
    if isinstance(ts, (int, float)) and (data.last_timestamp is None or ts > data.last_timestamp):
        data.last_timestamp = float(ts)
    rt = body.get("_runtime", body.get("runtime"))
    if isinstance(rt, (int, float)) and (data.last_runtime is None or rt > data.last_runtime):
        data.last_runtime = float(rt)


def _merge_run(data: RunData, body: Any) -> None:
    if not isinstance(body, dict):
        return
    first_start = data.info.get("start_time")
    if data.info:  # a resumed session: it is live again until its own EXIT
        data.exit = None
        data.has_final_summary = False
    data.info.update({k: v for k, v in body.items() if v is not None})
    if first_start is not None:
        data.info["start_time"] = first_start


def _merge_edit(target: dict[str, Any], body: Any) -> None:
    if not isinstance(body, dict):
        return
    update = body.get("update")
    if isinstance(update, dict):
        target.update(update)
    for key in body.get("remove") or ():
        target.pop(key, None)
