"""Reading MLflow: one run (``MlflowRun``), its metric points, params and artifact tree.

Metric points come straight from a SQL store's ``metrics`` table where it can (see
``_sql_points``), else through MLflow's client; ``client_history`` is the reference path
the validation reads through.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from trackwell_mlflow.rows import LOG_VERSION, history_rows, rows_from_points

#: MLflow run status -> trackwell state; RUNNING and SCHEDULED runs get no EXIT record.
STATES = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed"}
_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


class MlflowRun:
    """One MLflow run and the client that reads it (W&B's ``MlflowRun(run, client)``)."""

    def __init__(self, run: Any, mlflow_client: Any) -> None:
        self.run = run
        self.mlflow_client = mlflow_client
        #: metric points read by the last ``history_rows()`` (the count the report adds)
        self.points_read = 0
        self._experiment: Any = None

    def __repr__(self) -> str:
        return f"<MlflowRun {self.run_id()} {self.display_name()!r}>"

    def run_id(self) -> str:
        return str(self.run.info.run_id)

    def display_name(self) -> str:
        return str(self.run.info.run_name or self.run.data.tags.get("mlflow.runName") or self.run_id())

    def experiment(self) -> Any:
        if self._experiment is None:
            self._experiment = self.mlflow_client.get_experiment(self.run.info.experiment_id)
        return self._experiment

    def project(self) -> str:
        """The experiment's name made a valid project name (the original is in metadata)."""
        return safe_name(str(self.experiment().name), "mlflow")

    def history(self) -> dict[str, list[Point]]:
        """Every point of every metric, by key, in MLflow's order (read anew each call).

        From a SQL store (``sqlite:``, ``postgresql:``, ``mysql:``...) one query per run
        reads the ``metrics`` table through the store's own engine (see ``_sql_points``);
        any other store goes through MLflow's client, one ``get_metric_history`` per key.
        """
        points = _sql_points(self.mlflow_client, self.run_id(), sorted(self.run.data.metrics))
        if points is None:
            return self.client_history()
        out: dict[str, list[Point]] = {key: [] for key in sorted(self.run.data.metrics)}
        for step, key, value, ts in points:
            out[key].append(Point(value, ts, step))
        for pts in out.values():  # MLflow's order: timestamp, step, value (stable: value kept)
            pts.sort(key=_time_step)
        return out

    def client_history(self) -> dict[str, list[Point]]:
        """Every point of every metric through MLflow's client (``get_metric_history`` per key).

        The reference path: ``validate`` reads through it, so a check of an import does
        not depend on the fast SQL reader that made it.
        """
        return {
            key: [Point(m.value, m.timestamp, m.step)
                  for m in self.mlflow_client.get_metric_history(self.run_id(), key)]
            for key in sorted(self.run.data.metrics)
        }  # fmt: skip

    def history_rows(self, start: float) -> list[dict[str, Any]]:
        """The run's history rows (see ``history_rows``), counting the points in ``points_read``.

        The import's hot path: from a SQL store the points arrive sorted by step and go
        straight into rows, with no per-key lists or point objects in between.
        """
        points = _sql_points(self.mlflow_client, self.run_id(), sorted(self.run.data.metrics))
        if points is None:
            history = self.client_history()
            self.points_read = sum(len(v) for v in history.values())
            return history_rows(history, start)
        self.points_read = len(points)
        return rows_from_points(points, start)

    def point_count(self) -> int:
        """How many metric points the run has (one ``COUNT`` from a SQL store)."""
        n = _sql_count(self.mlflow_client, self.run_id())
        return n if n is not None else sum(len(v) for v in self.client_history().values())

    def fingerprint(self) -> str:
        """Changes when the run changes in MLflow (status, end, params, tags, latest metrics)."""
        info, data = self.run.info, self.run.data
        doc = [LOG_VERSION, info.status, info.start_time, info.end_time, info.lifecycle_stage,
               sorted(data.params.items()), sorted(data.tags.items()),
               sorted((k, repr(v)) for k, v in data.metrics.items())]  # fmt: skip
        return hashlib.sha256(json.dumps(doc, default=str).encode()).hexdigest()[:32]


class Point(NamedTuple):
    """One metric point as MLflow keeps it (``value`` NaN where MLflow stored ``is_nan``)."""

    value: float
    timestamp: int
    step: int


def _sql_engine(client: Any) -> Any:
    """The SQLAlchemy engine of a SQL tracking store, or None (file store, tracking server)."""
    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    return getattr(store, "engine", None)


def _sql_points(client: Any, run_id: str, keys: list[str]) -> list[tuple[int, str, float, int]] | None:
    """A run's points of metrics ``keys`` as (step, key, value, timestamp), straight from a SQL store.

    Why: MLflow's client reads a run's history one ``get_metric_history`` per key and
    builds an ORM object per point (~5,000 points/s); one query per run over MLflow's
    own ``metrics`` table (its ``SqlMetric`` model, through the store's own engine)
    reads ~1,000,000 points/s. The points come as the client would give them: NaN
    where MLflow set ``is_nan`` (+/-Inf are stored as +/-max float by MLflow and come
    back so from either path), and each (step, key) group in MLflow's order
    (timestamp, then stored value). None for a store that is not SQL, or whose schema
    the query does not fit: the caller then reads through MLflow's client.
    """
    engine = _sql_engine(client)
    if engine is None:
        return None
    if not keys:
        return []
    try:
        from mlflow.store.tracking.dbmodels.models import SqlMetric
        from sqlalchemy import select, true

        m = SqlMetric.__table__.c
        where = [m.run_uuid == run_id]
        if len(keys) <= 500:  # else filtered below: a long IN list may pass a driver's limit
            where.append(m.key.in_(keys))
        order = (m.step, m.key, m.timestamp, m.value)
        with engine.connect() as conn:
            nan = conn.execute(select(m.step).where(*where, m.is_nan == true()).limit(1)).first()
            if nan is None:  # the common case: the driver's own tuples, nothing to map
                rows = conn.execute(select(m.step, m.key, m.value, m.timestamp).where(*where)
                                    .order_by(*order)).cursor.fetchall()  # fmt: skip
            else:
                rows = [(step, key, float("nan") if is_nan else value, ts) for step, key, value, ts, is_nan in
                        conn.execute(select(m.step, m.key, m.value, m.timestamp, m.is_nan).where(*where)
                                     .order_by(*order)).cursor.fetchall()]  # fmt: skip
    except Exception:  # an unexpected schema or driver: MLflow's client still reads it
        return None
    if len(keys) > 500:
        wanted = set(keys)
        rows = [r for r in rows if r[1] in wanted]
    return rows


def _sql_count(client: Any, run_id: str) -> int | None:
    engine = _sql_engine(client)
    if engine is None:
        return None
    try:
        from mlflow.store.tracking.dbmodels.models import SqlMetric
        from sqlalchemy import func, select

        m = SqlMetric.__table__.c
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(m.run_uuid == run_id)).scalar_one())
    except Exception:
        return None


def _time_step(p: Point) -> tuple[int, int]:
    return p.timestamp, p.step


def safe_name(name: str, fallback: str) -> str:
    """A trackwell entity/project/artifact name: ``^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$``."""
    clean = _NAME.sub("-", name).strip("-.")[:128]
    if not clean or not clean[0].isalnum():
        clean = (fallback + "-" + clean)[:128] if clean else fallback
    return clean


def parse_param(value: str) -> Any:
    """An MLflow param value (always a string) as the number/bool/None it was, if it was one."""
    text = value.strip()
    if text in ("True", "true"):
        return True
    if text in ("False", "false"):
        return False
    if text == "None":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(number) or text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            return number
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            pass
    return value


def walk_artifacts(client: Any, run_id: str, path: str) -> Iterator[tuple[str, int]]:
    for fi in client.list_artifacts(run_id, path or None):
        if fi.is_dir:
            yield from walk_artifacts(client, run_id, fi.path)
        else:
            yield fi.path, int(fi.file_size or 0)


def pages(fetch: Callable[[str | None], Any]) -> Iterator[Any]:
    token: str | None = None
    while True:
        page = fetch(token)
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return
