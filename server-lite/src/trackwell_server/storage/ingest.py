"""Ingest: fold a batch of run-log records into a run, exactly once.

The caller holds the run's row lock (``FOR UPDATE`` on PostgreSQL; SQLite's write
transaction is already exclusive) and commits once at the end, so a batch's records,
its history chunks and the stream's new ``last_seq`` become visible together or not
at all. A resent batch finds its records at or below ``last_seq`` and stores nothing.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from trackwell.api.replay import flatten
from trackwell.errors import UsageError
from trackwell.metrics import MetricRule
from trackwell_server.config import ServerConfig
from trackwell_server.db.schema import runs, streams
from trackwell_server.errors import ApiError
from trackwell_server.names import clean_text
from trackwell_server.storage import history
from trackwell_server.storage.runs import dump_summary, load_summary

_END_STATES = ("finished", "failed", "killed")


def held_seq(conn: sa.Connection, run_pk: int, stream: str) -> int:
    """The last seq held for ``stream`` of run ``run_pk``; -1 when none."""
    last = conn.execute(
        sa.select(streams.c.last_seq).where(streams.c.run_pk == run_pk, streams.c.stream == stream)
    ).scalar()
    return -1 if last is None else int(last)


def _check(records: Sequence[Any], first_seq: int) -> None:
    """Records are ``[kind, seq, body]`` with seqs counting up from ``first_seq`` (422 otherwise)."""
    if set(map(type, records)) - {list} or set(map(len, records)) - {3}:  # C-level checks first
        i = next(i for i, rec in enumerate(records) if type(rec) is not list or len(rec) != 3)
        raise ApiError(422, f"records[{i}] must be [kind, seq, body]")
    seqs = list(map(itemgetter(1), records))
    if seqs != list(range(first_seq, first_seq + len(records))):
        i = next(i for i, seq in enumerate(seqs) if type(seq) is not int or seq != first_seq + i)
        raise ApiError(
            422, f"records[{i}] has seq {seqs[i]!r}; seqs must count up from first_seq ({first_seq})"
        )


def ingest(
    conn: sa.Connection, run: Any, stream: str, first_seq: int, records: Sequence[Any], cfg: ServerConfig
) -> int:
    """Store the records above the stream's last seq; return the new last seq (409 on a gap)."""
    _check(records, first_seq)
    held = held_seq(conn, run.pk, stream)
    now = time.time()
    if first_seq > held + 1:
        raise ApiError(
            409,
            f"sequence gap: stream {stream!r} holds up to seq {held}, this batch starts at {first_seq}",
            code="sequence_gap",
            extra={"last_seq": held},
        )
    fresh = records[held + 1 - first_seq :]
    if not fresh:
        conn.execute(sa.update(runs).where(runs.c.pk == run.pk).values(heartbeat_at=now))
        return held
    _Folder(conn, run, cfg, now).fold(fresh)
    new_last = first_seq + len(records) - 1
    if held < 0:
        conn.execute(sa.insert(streams).values(run_pk=run.pk, stream=stream, last_seq=new_last))
    else:
        conn.execute(
            sa.update(streams)
            .where(streams.c.run_pk == run.pk, streams.c.stream == stream)
            .values(last_seq=new_last)
        )
    return new_last


class _Folder:
    """One batch's effect on one run, written with one UPDATE at the end."""

    def __init__(self, conn: sa.Connection, run: Any, cfg: ServerConfig, now: float) -> None:
        self.conn = conn
        self.run = run
        self.cfg = cfg
        self.now = now
        self.summary = load_summary(run)
        self.values: dict[str, Any] = {}
        self.config = dict(run.config or {})
        self.metadata = dict(run.metadata or {})
        self.alerts = list(run.alerts or [])
        self.state = run.state
        self.last_step = int(run.last_step)
        self.runtime = run.runtime
        self.rows: list[dict[str, Any]] = []
        self.keys: set[str] = set()  # every key of self.rows
        self.system: list[dict[str, Any]] = []

    def fold(self, records: Sequence[Any]) -> None:
        kinds = list(map(itemgetter(0), records))
        # runs of history records go in bulk, in log order, between the other records
        others = (
            [i for i, kind in enumerate(kinds) if kind != "history"]
            if kinds.count("history") != len(kinds)
            else []
        )
        start = 0
        for i in [*others, len(records)]:
            if i > start:
                self._history(list(map(itemgetter(2), records[start:i])))
            start = i + 1
            if i == len(records):
                break
            body = records[i][2]
            kind = kinds[i]
            if kind == "stats":
                if isinstance(body, dict):
                    self.system.append(flatten(body))
            else:
                try:
                    self._other(kind, body)
                except (TypeError, ValueError, AttributeError, KeyError, UsageError):
                    pass  # a malformed record is skipped, as the SDK's own reader does
        if self.rows and isinstance(self.rows[-1].get("_runtime"), (int, float)) and "exit" not in kinds:
            self.runtime = float(self.rows[-1]["_runtime"])  # an EXIT in the batch has the final runtime
        if self.state == "crashed":  # it was only silent: data arriving means it is alive
            self.state = "running"
        self._write()

    def _history(self, bodies: list[Any]) -> None:
        """Fold a run of history rows: per batch where possible, per row only where needed."""
        rows = bodies if set(map(type, bodies)) == {dict} else [b for b in bodies if type(b) is dict]
        if not rows:
            return
        # one C-level pass gives every key with its last value: the keys for the columns
        # and, without define_metric rules, exactly what folding row by row would leave
        merged: dict[Any, Any] = {}
        deque(map(merged.update, rows), maxlen=0)
        if set(map(type, merged)) != {str}:  # msgpack maps may have other keys
            rows = [{str(k): v for k, v in row.items()} for row in rows]
            merged = {}
            deque(map(merged.update, rows), maxlen=0)
        self.keys.update(merged)
        try:
            steps: list[Any] = list(map(itemgetter("_step"), rows))
        except KeyError:
            steps = [row.get("_step") for row in rows]
        if {type(step) for step in steps} != {int}:  # rows without a step get the next one
            for i, row in enumerate(rows):
                if type(steps[i]) is not int:
                    steps[i] = row["_step"] = (steps[i - 1] if i else self.last_step) + 1
        self.last_step = max(self.last_step, max(steps))
        summary = self.summary
        if summary.rules:
            for row in rows:
                summary.apply_row(dict(row))
        else:  # apply_row without rules is values.update(row), for every row in turn
            merged["_step"] = rows[-1]["_step"]  # rows without a step got theirs after the merge
            summary.values.update(merged)
        self.rows.extend(rows)

    def _other(self, kind: str, body: Any) -> None:
        if not isinstance(body, dict):
            return
        if kind == "run":
            for field, column in (("name", "name"), ("group", "group_name"), ("job_type", "job_type"),
                                  ("notes", "notes")):  # fmt: skip
                if isinstance(body.get(field), str):
                    self.values[column] = clean_text(body[field])
            if isinstance(body.get("tags"), list):
                self.values["tags"] = [str(t) for t in body["tags"]]
            if body.get("resumed"):
                self.state = "running"
                self.values.update(finished_at=None, exit_code=None)
        elif kind == "meta":
            self.metadata.update(body)
        elif kind == "config":
            update = body.get("update")
            if isinstance(update, dict):
                self.config.update(update)
            for key in body.get("remove") or ():
                self.config.pop(key, None)
        elif kind == "summary":
            self.summary.edit(body.get("update"), body.get("remove"))
        elif kind == "metric":
            self.summary.define(MetricRule.from_dict(body))
        elif kind == "alert":
            self.alerts.append(body)
        elif kind == "final_summary":
            self.summary.edit(body, [k for k in self.summary.values if k not in body])
        elif kind == "exit":
            if body.get("primary") is False:  # a process attached to a shared run ended, not the run
                return
            state = body.get("state")
            self.state = state if state in _END_STATES else "finished"
            code = body.get("exit_code")
            self.values["exit_code"] = code if type(code) is int and -(2**31) <= code < 2**31 else None
            at = body.get("_timestamp")
            self.values["finished_at"] = float(at) if isinstance(at, (int, float)) else self.now
            if isinstance(body.get("runtime"), (int, float)):
                self.runtime = float(body["runtime"])
        # "files": the files arrive by upload; unknown kinds come from newer SDKs: skipped

    def _write(self) -> None:
        run, cfg = self.run, self.cfg
        keys = set(run.history_keys or [])
        before = len(keys)
        if self.rows:
            rows = self.rows
            try:
                cols, residual, nested = history.split_rows(rows, cfg.max_value_bytes, self.keys)
                if nested:  # as the SDK's reader: nested keys become "a.b"
                    rows = [flatten(r) if dict in map(type, r.values()) else r for r in rows]
                    cols, residual, _ = history.split_rows(rows, cfg.max_value_bytes)
            except history.ValueTooLarge as exc:
                raise ApiError(413, str(exc)) from None
            keys.update(cols)
            for row in residual:
                keys.update(row)
            keys.discard("_step")
            if len(keys) > cfg.max_metrics and len(keys) > before:
                raise ApiError(
                    422,
                    f"run {run.run_id} would have {len(keys):,} distinct history keys, "
                    f"over the limit of {cfg.max_metrics:,} (max_metrics)",
                )
            steps = [r["_step"] for r in rows]
            history.write_rows(self.conn, run.pk, "history", residual, len(rows), min(steps), max(steps))
            history.write_series(self.conn, run.pk, cols)
        if self.system:
            stamps = [int(1000 * r["_timestamp"]) if isinstance(r.get("_timestamp"), (int, float)) else 0
                      for r in self.system]  # fmt: skip
            history.write_rows(
                self.conn, run.pk, "system", self.system, len(stamps), min(stamps), max(stamps)
            )
        values = dict(self.values)
        values.update(
            state=self.state,
            config=self.config,
            metadata=self.metadata,
            alerts=self.alerts,
            summary=self.summary.snapshot(),
            summary_state=dump_summary(self.summary),
            history_keys=sorted(keys) if len(keys) != before else run.history_keys,
            last_step=self.last_step,
            runtime=self.runtime,
            heartbeat_at=self.now,
        )
        self.conn.execute(sa.update(runs).where(runs.c.pk == run.pk).values(**values))
