"""define_metric rules and the run summary they shape, and the thinned history of a run.

One state machine, used by the writer thread while a run is live and by readers that
rebuild a crashed run's summary from its log, so both always agree. ``Sparks`` keeps a
few points of each metric as rows pass the writer, for the sparklines a run's report
shows at the end (``report_run_finish``).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Mapping
from typing import Any

from trackwell.errors import UsageError

SUMMARY_CHOICES = ("min", "max", "mean", "first", "last", "best", "none")
#: Points a sparkline shows; ``Sparks`` keeps up to twice as many per key.
SPARK_WIDTH = 40
#: Metrics that get a sparkline: the first this many numeric keys logged.
MAX_SPARK_KEYS = 30
GOALS = {"minimize": "minimize", "min": "minimize", "maximize": "maximize", "max": "maximize"}


class MetricRule:
    """One ``define_metric`` call, validated. ``name`` may be a glob like ``train/*``."""

    __slots__ = ("goal", "hidden", "name", "step_metric", "step_sync", "summary")

    def __init__(
        self,
        name: str,
        step_metric: str | None = None,
        step_sync: bool | None = None,
        hidden: bool = False,
        summary: str | Iterable[str] | None = None,
        goal: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise UsageError("define_metric() needs a metric name (a non-empty string)")
        if name.startswith("*") and name != "*" and "/" not in name:
            raise UsageError(f"define_metric({name!r}): a glob may only end with '*', as in 'train/*'")
        if step_metric is not None and not isinstance(step_metric, str):
            raise UsageError("define_metric(step_metric=...) must be a metric name")
        aggs: tuple[str, ...] = ()
        if summary is not None:
            parts = summary.split(",") if isinstance(summary, str) else list(summary)
            aggs = tuple(p.strip().lower() for p in parts if p.strip())
            bad = [a for a in aggs if a not in SUMMARY_CHOICES]
            if bad:
                raise UsageError(
                    f"define_metric({name!r}, summary=...): unknown summary {bad[0]!r}; "
                    f"choose from {', '.join(SUMMARY_CHOICES)}"
                )
        if goal is not None:
            if str(goal).lower() not in GOALS:
                raise UsageError(f"define_metric({name!r}, goal=...): use 'minimize' or 'maximize'")
            goal = GOALS[str(goal).lower()]
        if "best" in aggs and goal is None:
            raise UsageError(
                f"define_metric({name!r}, summary='best') needs goal='minimize' or goal='maximize'"
            )
        self.name = name
        self.step_metric = step_metric
        self.step_sync = bool(step_metric) if step_sync is None else bool(step_sync)
        self.hidden = bool(hidden)
        self.summary = aggs
        self.goal = goal

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if k != "summary"} | {
            "summary": list(self.summary)
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MetricRule:
        return cls(
            d["name"],
            step_metric=d.get("step_metric"),
            step_sync=d.get("step_sync"),
            hidden=d.get("hidden", False),
            summary=d.get("summary") or None,
            goal=d.get("goal"),
        )


class _Agg:
    """Running aggregates of one metric."""

    __slots__ = ("count", "first", "last", "max", "min", "total")

    def __init__(self, value: Any) -> None:
        self.first = self.last = value
        self.count = 0
        self.total = 0.0
        self.min = self.max = None
        self.add(value, first=True)

    def add(self, value: Any, first: bool = False) -> None:
        if not first:
            self.last = value
        t = type(value)
        if t is float or t is int:
            if t is float and math.isnan(value):
                return
            self.count += 1
            self.total += value
            if self.min is None or value < self.min:
                self.min = value
            if self.max is None or value > self.max:
                self.max = value

    def view(self, aggs: tuple[str, ...], goal: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for agg in aggs:
            if agg == "min":
                out["min"] = self.min
            elif agg == "max":
                out["max"] = self.max
            elif agg == "mean":
                out["mean"] = self.total / self.count if self.count else None
            elif agg == "first":
                out["first"] = self.first
            elif agg == "last":
                out["last"] = self.last
            elif agg == "best":
                out["best"] = self.min if goal == "minimize" else self.max
        return out


class SummaryState:
    """Rules, running aggregates and the summary they produce."""

    def __init__(self) -> None:
        self.rules: dict[str, MetricRule] = {}
        self._globs: list[MetricRule] = []
        self._rule_cache: dict[str, MetricRule | None] = {}
        self._step_metrics: set[str] = set()
        self._last: dict[str, Any] = {}
        self._aggs: dict[str, _Agg] = {}
        self.values: dict[str, Any] = {}  # key -> last value, or user-set value

    # -- rules ---------------------------------------------------------------
    def define(self, rule: MetricRule) -> None:
        self.rules[rule.name] = rule
        if "*" in rule.name or "?" in rule.name:
            self._globs = [g for g in self._globs if g.name != rule.name] + [rule]
        self._rule_cache.clear()
        if rule.step_metric:
            self._step_metrics.add(rule.step_metric)

    def rule_for(self, key: str) -> MetricRule | None:
        try:
            return self._rule_cache[key]
        except KeyError:
            pass
        rule = self.rules.get(key)
        if rule is None:
            for glob in reversed(self._globs):
                if fnmatch.fnmatchcase(key, glob.name):
                    rule = glob
                    break
        self._rule_cache[key] = rule
        return rule

    # -- rows ----------------------------------------------------------------
    def apply_row(self, row: dict[str, Any]) -> dict[str, Any]:
        """Fold one committed history row into the summary (``sync_steps`` + ``fold``)."""
        self.sync_steps(row)
        self.fold(row)
        return row

    def sync_steps(self, row: dict[str, Any]) -> None:
        """Add the last value of a step metric where a rule asks for ``step_sync``.

        W&B's behaviour: a row logging ``val/loss`` without ``epoch`` gets the last
        ``epoch``, so charts against ``epoch`` line up.
        """
        if not self.rules:
            return
        for key in list(row):
            rule = self.rule_for(key)
            if (
                rule is not None
                and rule.step_sync
                and rule.step_metric
                and rule.step_metric not in row
                and rule.step_metric in self._last
            ):
                row[rule.step_metric] = self._last[rule.step_metric]
        for key in self._step_metrics:
            if key in row:
                self._last[key] = row[key]

    def fold(self, row: dict[str, Any]) -> None:
        """Update last values and running aggregates with one row."""
        if not self.rules:
            self.values.update(row)
            return
        values = self.values
        aggs = self._aggs
        rule_for = self.rule_for
        for key, value in row.items():
            rule = rule_for(key)
            if rule is None or not rule.summary:
                values[key] = value
                continue
            t = type(value)
            if t is not float and t is not int and "none" not in rule.summary:
                # a histogram, image or table record (or a string) has no min or mean:
                # the summary keeps the last one, as with no rule
                values[key] = value
                continue
            agg = aggs.get(key)
            if agg is None:
                agg = aggs[key] = _Agg(value)
            else:
                agg.add(value)
            if "none" in rule.summary:
                values.pop(key, None)
            else:
                values[key] = agg.view(rule.summary, rule.goal)

    def edit(self, update: Mapping[str, Any] | None, remove: Iterable[str] | None) -> None:
        """Apply a user's explicit summary edit (it wins until the key is logged again)."""
        if update:
            self.values.update(update)
        for key in remove or ():
            self.values.pop(key, None)

    def snapshot(self) -> dict[str, Any]:
        return dict(self.values)

    # -- persistence ---------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """Everything needed to continue folding later, as plain values.

        The server keeps this per run, so each ingest batch folds into it instead of
        replaying the run's whole history.
        """
        return {
            "rules": [rule.to_dict() for rule in self.rules.values()],
            "last": dict(self._last),
            "aggs": {
                key: [a.first, a.last, a.count, a.total, a.min, a.max] for key, a in self._aggs.items()
            },
            "values": dict(self.values),
        }

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> SummaryState:
        """The inverse of ``to_state``."""
        state = cls()
        for rule in data.get("rules") or ():
            state.define(MetricRule.from_dict(rule))
        state._last.update(data.get("last") or {})
        for key, (first, last, count, total, lo, hi) in (data.get("aggs") or {}).items():
            agg = state._aggs[key] = _Agg(first)
            agg.last, agg.count, agg.total, agg.min, agg.max = last, count, total, lo, hi
        state.values.update(data.get("values") or {})
        return state


class Sparks:
    """A thinned history of the first numeric metrics, enough for one sparkline each.

    Each key keeps at most ``2 * SPARK_WIDTH`` points: when full, every other point
    is dropped and the key's stride doubles, so the cost per row stays constant and
    the line covers the whole run.
    """

    def __init__(self) -> None:
        self.series: dict[str, list[Any]] = {}  # key -> [count, stride - 1, points]
        self._full = False

    def add(self, row: dict[str, Any]) -> None:
        series = self.series
        for key, value in row.items():
            entry = series.get(key)
            if entry is None:
                if self._full or key[0] == "_" or not (type(value) is float or type(value) is int):
                    continue
                entry = series[key] = [0, 0, []]
                self._full = len(series) >= MAX_SPARK_KEYS
            elif not (type(value) is float or type(value) is int):
                continue
            count = entry[0] = entry[0] + 1
            if count & entry[1]:  # strides are powers of two: keep every stride-th point
                continue
            points = entry[2]
            points.append(value)
            if len(points) >= 2 * SPARK_WIDTH:
                entry[2] = points[1::2]
                entry[1] = entry[1] * 2 + 1

    def history(self) -> dict[str, list[Any]]:
        """Each key's thinned points, oldest first (what ``report_run_finish`` gets)."""
        return {key: entry[2] for key, entry in self.series.items()}
