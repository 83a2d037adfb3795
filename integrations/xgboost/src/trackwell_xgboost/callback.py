"""``TrackwellCallback`` (``WandbCallback``): XGBoost training logged to the current run.

Works with ``xgboost.train(..., callbacks=[WandbCallback()])`` and with the scikit-learn
API (``XGBClassifier(callbacks=[WandbCallback()])``). Per boosting round every eval
metric is logged as ``<dataset>-<metric>`` (W&B's keys, e.g. ``validation_0-logloss``)
with ``epoch``; at the end the best score and iteration (early stopping) go to the
summary, the feature importances are logged as a table and bar chart, and with
``log_model=True`` the booster is saved as JSON and logged as a ``model`` artifact.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import xgboost as xgb

import trackwell
from trackwell.errors import UsageError, warn_user

#: eval metrics whose best value is the lowest / highest, as W&B's callback lists them
MINIMIZE_METRICS = ("rmse", "rmsle", "mae", "mape", "mphe", "logloss", "error", "error@t", "merror")
MAXIMIZE_METRICS = ("auc", "aucpr", "ndcg", "map", "ndcg@n", "map@n")

IMPORTANCE_TYPES = ("weight", "gain", "cover", "total_gain", "total_cover")


def _summary_for(metric: str) -> str | None:
    """``"min"``/``"max"``, or None for a metric whose direction is unknown. ``ndcg@5``
    and ``error@0.7`` count as ``ndcg``/``error``."""
    name = metric.lower()
    base = name.split("@", 1)[0]
    if "loss" in name or name in MINIMIZE_METRICS or base in MINIMIZE_METRICS:
        return "min"
    if name in MAXIMIZE_METRICS or base in MAXIMIZE_METRICS:
        return "max"
    return None


class TrackwellCallback(xgb.callback.TrainingCallback):
    """Log an XGBoost training to the current trackwell run (call ``trackwell.init()`` first).

    Arguments are W&B's: ``log_model`` logs the trained booster as an artifact of type
    ``model``; ``log_feature_importance`` logs ``booster.get_score(importance_type=...)``
    as a table and bar chart under ``Feature Importance``; ``define_metric`` makes the
    summary of each eval metric its best value (min for losses and errors, max for
    auc/ndcg/map) instead of its last.
    """

    def __init__(
        self,
        log_model: bool = False,
        log_feature_importance: bool = True,
        importance_type: str = "gain",
        define_metric: bool = True,
    ) -> None:
        if trackwell.run is None:
            raise UsageError("You must call trackwell.init() before WandbCallback()")
        if importance_type not in IMPORTANCE_TYPES:
            raise ValueError(
                f"importance_type must be one of {', '.join(IMPORTANCE_TYPES)}, not {importance_type!r}"
            )
        self.run: Any = trackwell.run
        self.log_model = log_model
        self.log_feature_importance = log_feature_importance
        self.importance_type = importance_type
        self.define_metric = define_metric
        self._defined: set[str] = set()
        self.model_artifact: Any = None  # the logged artifact, after training with log_model=True

    def before_training(self, model: xgb.Booster) -> xgb.Booster:
        """Record the booster's configuration (learner and objective parameters) in the config."""
        config = json.loads(model.save_config())
        self.run.config.update(config, allow_val_change=True)
        return model

    def after_iteration(self, model: xgb.Booster, epoch: int, evals_log: dict[str, dict[str, Any]]) -> bool:
        """Log this round's value of every eval metric with ``epoch``; never stops training."""
        row: dict[str, Any] = {}
        for data, metrics in evals_log.items():
            for metric_name, log in metrics.items():
                key = f"{data}-{metric_name}"
                if self.define_metric and key not in self._defined:
                    self._define(key, metric_name)
                value = log[-1]
                row[key] = float(value[0] if isinstance(value, tuple) else value)  # (mean, std) under cv
        row["epoch"] = epoch
        self.run.log(row)
        return False

    def after_training(self, model: xgb.Booster) -> xgb.Booster:
        """The model artifact, the feature importances, and the best score and iteration."""
        if self.log_model:
            self.model_artifact = self._log_model_as_artifact(model)
        if self.log_feature_importance:
            self._log_feature_importance(model)
        best_score = model.attr("best_score")
        if best_score is not None:
            self.run.summary["best_score"] = float(best_score)
            self.run.summary["best_iteration"] = int(model.attr("best_iteration") or 0)
        return model

    def _define(self, key: str, metric_name: str) -> None:
        self._defined.add(key)
        summary = _summary_for(metric_name)
        if summary is not None:
            self.run.define_metric(key, summary=summary)

    def _log_model_as_artifact(self, model: xgb.Booster) -> Any:
        if not callable(getattr(self.run, "log_artifact", None)) or not hasattr(trackwell, "Artifact"):
            raise UsageError(
                "log_model=True needs trackwell artifacts (trackwell.Artifact, run.log_artifact)"
            )
        name = f"{self.run.id}_model.json"
        sdk: Any = trackwell
        artifact = sdk.Artifact(name=name, type="model")
        with tempfile.TemporaryDirectory(prefix="trackwell-xgboost-") as tmp:
            path = Path(tmp) / name
            model.save_model(str(path))
            artifact.add_file(str(path), name=name)  # copied into the artifact's staging now
        return self.run.log_artifact(artifact)

    def _log_feature_importance(self, model: xgb.Booster) -> None:
        try:
            scores = model.get_score(importance_type=self.importance_type)
        except ValueError as exc:  # gblinear has only "weight"
            warn_user(f"trackwell: feature importance not logged: {exc}")
            return
        if not scores:
            return  # a booster without splits (gblinear, or no tree grew) has no importances
        # multi-target trees give one value per target: their sum ranks the feature
        rows = [[k, float(sum(v) if isinstance(v, list) else v)] for k, v in scores.items()]
        table = trackwell.Table(columns=["Feature", "Importance"], data=rows)
        chart = trackwell.plot.bar(table, "Feature", "Importance", title="Feature Importance")
        self.run.log({"Feature Importance": chart})


WandbCallback = TrackwellCallback
