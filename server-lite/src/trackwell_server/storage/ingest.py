"""Ingest: fold a batch of run-log records into a run, exactly once.

The caller holds the run's row lock (``FOR UPDATE`` on PostgreSQL; SQLite's write
transaction is already exclusive) and commits once at the end, so a batch's records,
its history chunks and the stream's new ``last_seq`` become visible together or not
at all. A resent batch finds its records at or below ``last_seq`` and stores nothing.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from trackwell.errors import UsageError
from trackwell.extend import MetricRule, flatten
from trackwell.limits import key_problem
from trackwell.records import Kind
from trackwell_server.config import ServerConfig
from trackwell_server.db.schema import runs, streams
from trackwell_server.errors import ApiError
from trackwell_server.names import clean_text
from trackwell_server.storage import history
from trackwell_server.storage.runs import dump_summary, load_summary
from trackwell_server.storage.values import add_refusals, refusal, step_ok

_END_STATES = ("finished", "failed", "killed")


def held_seq(conn: sa.Connection, run_pk: int, stream: str) -> int:
    """The last seq held for ``stream`` of run ``run_pk``; -1 when none."""
    last = conn.execute(
        sa.select(streams.c.last_seq).where(streams.c.run_pk == run_pk, streams.c.stream == stream)
    ).scalar()
    return -1 if last is None else int(last)


def _seqs(records: Sequence[Any], first_seq: int) -> list[int]:
    """Each record's seq: strictly increasing from ``first_seq`` on, but it may skip
    (records a corrupt local log lost). A record whose seq cannot be told makes the
    batch a 422; one that is otherwise malformed is refused alone later."""
    if not set(map(type, records)) - {list} and not set(map(len, records)) - {3}:  # C-level checks first
        seqs = list(map(itemgetter(1), records))
        if seqs == list(range(first_seq, first_seq + len(records))):
            return seqs
    seqs = []
    for i, rec in enumerate(records):
        if type(rec) is not list or len(rec) < 2 or type(rec[1]) is not int:
            raise ApiError(422, f"records[{i}] must be [kind, seq, body] with an integer seq")
        seq = rec[1]
        if seq < (seqs[-1] + 1 if seqs else first_seq) or seq >= 2**62:
            raise ApiError(
                422,
                f"records[{i}] has seq {seq}; seqs must increase strictly from first_seq ({first_seq})",
            )
        seqs.append(seq)
    return seqs


def ingest(
    conn: sa.Connection, run: Any, stream: str, first_seq: int, records: Sequence[Any], cfg: ServerConfig
) -> tuple[int, list[dict[str, Any]]]:
    """Store the records above the stream's last seq (409 on a gap).

    Returns the new last seq and the records refused, each alone: a refused record is
    not stored but counts as held, so the sender moves past it.
    """
    seqs = _seqs(records, first_seq)
    held = held_seq(conn, run.pk, stream)
    now = time.time()
    if first_seq > held + 1:
        raise ApiError(
            409,
            f"sequence gap: stream {stream!r} holds up to seq {held}, this batch starts at {first_seq}",
            code="sequence_gap",
            extra={"last_seq": held},
        )
    start = bisect.bisect_right(seqs, held)
    fresh, fresh_seqs = records[start:], seqs[start:]
    if not fresh:
        conn.execute(sa.update(runs).where(runs.c.pk == run.pk).values(heartbeat_at=now))
        return held, []
    folder = _Folder(conn, run, cfg, now)
    if set(map(type, fresh)) == {list} and set(map(len, fresh)) == {3} and set(
        map(type, map(itemgetter(0), fresh))
    ) == {str}:
        folder.fold(fresh, fresh_seqs)
    else:
        good = []
        for rec, seq in zip(fresh, fresh_seqs, strict=True):
            if type(rec) is list and len(rec) == 3 and type(rec[0]) is str:
                good.append((rec, seq))
            else:
                kind = rec[0] if type(rec) is list and rec else None
                why = "a record must be [kind, seq, body] with a string kind"
                folder.refused.append(refusal(seq, kind, why))
        folder.fold([rec for rec, _ in good], [seq for _, seq in good])
    new_last = max(held, seqs[-1])
    if held < 0:
        conn.execute(sa.insert(streams).values(run_pk=run.pk, stream=stream, last_seq=new_last))
    else:
        conn.execute(
            sa.update(streams)
            .where(streams.c.run_pk == run.pk, streams.c.stream == stream)
            .values(last_seq=new_last)
        )
    if folder.refused:
        folder.refused.sort(key=itemgetter("seq"))
        conn.execute(
            sa.update(runs)
            .where(runs.c.pk == run.pk)
            .values(refused=add_refusals(run.refused, stream, folder.refused, now))
        )
    return new_last, folder.refused


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
        self.lim = cfg.limits()
        self.refused: list[dict[str, Any]] = []  # records refused alone, as the answer lists them
        self.history_keys = set(run.history_keys or [])  # the run's keys, this batch's added
        self.keys_before = len(self.history_keys)
        #: per run of history records: its rows as stored (flattened), columns, residual rows
        self.chunks: list[tuple[list[dict[str, Any]], history.Columns, list[dict[str, Any]]]] = []
        self.last_runtime: Any = None
        self.system: list[dict[str, Any]] = []

    def fold(self, records: Sequence[Any], seqs: Sequence[int]) -> None:
        kinds = list(map(itemgetter(0), records))
        # runs of history records go in bulk, in log order, between the other records
        others = (
            [i for i, kind in enumerate(kinds) if kind != Kind.HISTORY]
            if kinds.count(Kind.HISTORY) != len(kinds)
            else []
        )
        start = 0
        for i in [*others, len(records)]:
            if i > start:
                self._history(list(map(itemgetter(2), records[start:i])), list(seqs[start:i]))
            start = i + 1
            if i == len(records):
                break
            body = records[i][2]
            kind = kinds[i]
            if kind == Kind.STATS:
                if isinstance(body, dict):
                    self.system.append(flatten(body))
            else:
                try:
                    self._other(kind, body)
                except (TypeError, ValueError, AttributeError, KeyError, OverflowError, UsageError):
                    pass  # a malformed record is skipped, as the SDK's own reader does
        if isinstance(self.last_runtime, (int, float)) and Kind.EXIT not in kinds:
            self.runtime = float(self.last_runtime)  # an EXIT in the batch has the final runtime
        if self.state == "crashed":  # it was only silent: data arriving means it is alive
            self.state = "running"
        self._write()

    def _refuse(self, seq: int, reason: str, key: Any = None) -> None:
        self.refused.append(refusal(seq, Kind.HISTORY, reason, key))

    def _history(self, bodies: list[Any], seqs: list[int]) -> None:
        """Fold a run of history rows: per batch where possible, per row only where needed.

        The checks cost a few C-level passes over a batch of good rows; only a batch
        with a bad row pays for finding it, and only that row is refused.
        """
        if set(map(type, bodies)) != {dict}:
            for body, seq in zip(bodies, seqs, strict=True):
                if type(body) is not dict:
                    self._refuse(seq, "a history record's body must be a map")
            seqs = [seq for body, seq in zip(bodies, seqs, strict=True) if type(body) is dict]
            bodies = [b for b in bodies if type(b) is dict]
        rows: list[dict[Any, Any]] = bodies
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
        max_chars = self.lim.max_key_chars
        bad = {k: why for k in merged if k not in self.history_keys and (why := key_problem(k, max_chars))}
        bad.pop("_step", None)
        try:
            steps: list[Any] = list(map(itemgetter("_step"), rows))
        except KeyError:
            steps = [row.get("_step") for row in rows]
        ints = steps if set(map(type, steps)) == {int} else [s for s in steps if type(s) is int]
        if bad or (ints and not (step_ok(min(ints)) and step_ok(max(ints)))):
            rows, seqs = self._drop_bad(rows, seqs, bad)
            if not rows:
                return
            merged = {}
            deque(map(merged.update, rows), maxlen=0)
            steps = [row.get("_step") for row in rows]
        if {type(step) for step in steps} != {int}:  # rows without a step get the next one
            for i, row in enumerate(rows):
                if type(steps[i]) is not int:
                    steps[i] = row["_step"] = (steps[i - 1] if i else self.last_step) + 1
        kept = self._split(rows, seqs, set(merged))
        if not kept:
            return
        if len(kept) != len(rows):  # some rows were refused: fold only the others
            rows = [rows[i] for i in kept]
            steps = [steps[i] for i in kept]
            merged = {}
            deque(map(merged.update, rows), maxlen=0)
        self.last_step = max(self.last_step, max(steps))
        self.last_runtime = rows[-1].get("_runtime")
        summary = self.summary
        if summary.rules:
            for row in rows:
                summary.apply_row(dict(row))
        else:  # apply_row without rules is values.update(row), for every row in turn
            merged["_step"] = rows[-1]["_step"]  # rows without a step got theirs after the merge
            summary.values.update(merged)

    def _drop_bad(
        self, rows: list[dict[str, Any]], seqs: list[int], bad: dict[str, str]
    ) -> tuple[list[dict[str, Any]], list[int]]:
        """The rows without a bad key or step; each other one is refused."""
        keep_rows, keep_seqs = [], []
        for row, seq in zip(rows, seqs, strict=True):
            key = next((k for k in row if k in bad), None)
            if key is not None:
                self._refuse(seq, bad[key], key)
            elif not step_ok(row.get("_step")):
                self._refuse(seq, f"the step {row.get('_step')} is not a signed 64-bit integer", "_step")
            else:
                keep_rows.append(row)
                keep_seqs.append(seq)
        return keep_rows, keep_seqs

    def _split(
        self, rows: list[dict[str, Any]], seqs: list[int], keys: set[str]
    ) -> list[int]:
        """Add the columns and residual rows of ``rows`` to the batch's chunks, refusing
        each row with a value over the size limit or a key past the run's key limit;
        returns the indexes of the rows kept."""
        kept = list(range(len(rows)))
        stored = rows
        for _ in range(5):  # at most: flatten, oversized rows, rows past the key limit, done
            try:
                cols, residual, nested = history.split_rows(stored, self.lim.max_value_bytes, keys)
            except history.ValueTooLarge:
                kept = self._drop(rows, seqs, kept, self._oversized)
                stored, keys = self._stored([rows[i] for i in kept])
                continue
            if nested:  # as the SDK's reader: nested keys become "a.b"
                stored, keys = self._stored(stored)
                continue
            new = keys - self.history_keys
            new.discard("_step")
            if new and len(self.history_keys) + len(new) > self.lim.max_keys:
                kept = self._drop(rows, seqs, kept, self._over_key_limit)
                stored, keys = self._stored([rows[i] for i in kept])
                continue
            if stored:
                self.history_keys |= new
                self.chunks.append((stored, cols, residual))
            return kept
        raise AssertionError("unreachable: each pass removes what the next would find")

    @staticmethod
    def _stored(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], set[str]]:
        flat = [flatten(r) if dict in map(type, r.values()) else r for r in rows]
        return flat, set().union(*flat) if flat else set()

    def _drop(self, rows: list[dict[str, Any]], seqs: list[int], kept: list[int], check: Any) -> list[int]:
        out = []
        for i in kept:
            problem = check(flatten(rows[i]))
            if problem is None:
                out.append(i)
            else:
                self._refuse(seqs[i], *problem)
        return out

    def _oversized(self, row: dict[str, Any]) -> tuple[str, str] | None:
        limit = self.lim.max_value_bytes
        for key, value in row.items():
            if type(value) in (str, bytes, list) and (size := history.value_size(value)) > limit:
                return f"the value is {size:,} bytes, over the {limit:,}-byte limit for one value", key
        return None

    def _over_key_limit(self, row: dict[str, Any]) -> tuple[str, str] | None:
        new = [k for k in row if k != "_step" and k not in self.history_keys]
        if len(self.history_keys) + len(new) > self.lim.max_keys:
            return (
                f"the run would have more than {self.lim.max_keys:,} distinct history keys (max_metrics)",
                new[0],
            )
        self.history_keys.update(new)  # the next rows are counted with this one's keys
        return None

    def _other(self, kind: str, body: Any) -> None:
        if not isinstance(body, dict):
            return
        if kind == Kind.RUN:
            for field, column in (("name", "name"), ("group", "group_name"), ("job_type", "job_type"),
                                  ("notes", "notes")):  # fmt: skip
                if isinstance(body.get(field), str):
                    self.values[column] = clean_text(body[field])
            if isinstance(body.get("tags"), list):
                self.values["tags"] = [str(t) for t in body["tags"]]
            if body.get("resumed"):
                self.state = "running"
                self.values.update(finished_at=None, exit_code=None)
        elif kind == Kind.META:
            self.metadata.update(body)
        elif kind == Kind.CONFIG:
            update = body.get("update")
            if isinstance(update, dict):
                self.config.update(update)
            for key in body.get("remove") or ():
                self.config.pop(key, None)
        elif kind == Kind.SUMMARY:
            self.summary.edit(body.get("update"), body.get("remove"))
        elif kind == Kind.METRIC:
            self.summary.define(MetricRule.from_dict(body))
        elif kind == Kind.ALERT:
            self.alerts.append(body)
        elif kind == Kind.FINAL_SUMMARY:
            self.summary.edit(body, [k for k in self.summary.values if k not in body])
        elif kind == Kind.EXIT:
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
        # Kind.FILES: the files arrive by upload; unknown kinds come from newer SDKs: skipped

    def _write(self) -> None:
        run = self.run
        if self.chunks:
            rows, cols, residual = self.chunks[0]
            if len(self.chunks) > 1:  # history records between other records: one write for all
                rows, residual, cols = list(rows), list(residual), dict(cols)
                for more_rows, more_cols, more_residual in self.chunks[1:]:
                    rows += more_rows
                    residual += more_residual
                    for key, column in more_cols.items():
                        had = cols.get(key)
                        cols[key] = column if had is None else (
                            had[0] + column[0], had[1] + column[1], had[2] and column[2]
                        )
            steps = [r["_step"] for r in rows]
            history.write_rows(
                self.conn, run.pk, history.HISTORY, residual, len(rows), min(steps), max(steps)
            )
            history.write_series(self.conn, run.pk, cols)
        if self.system:
            stamps = [int(1000 * r["_timestamp"]) if isinstance(r.get("_timestamp"), (int, float)) else 0
                      for r in self.system]  # fmt: skip
            history.write_rows(
                self.conn, run.pk, history.SYSTEM, self.system, len(stamps), min(stamps), max(stamps)
            )
        values = dict(self.values)
        values.update(
            state=self.state,
            config=self.config,
            metadata=self.metadata,
            alerts=self.alerts,
            summary=self.summary.snapshot(),
            summary_state=dump_summary(self.summary),
            history_keys=sorted(self.history_keys) if len(self.history_keys) != self.keys_before
            else run.history_keys,
            last_step=self.last_step,
            runtime=self.runtime,
            heartbeat_at=self.now,
        )
        self.conn.execute(sa.update(runs).where(runs.c.pk == run.pk).values(**values))
