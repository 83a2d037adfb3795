"""trackwell-xgboost: real training on made data, read back through the Public API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trackwell
from trackwell.api.local import LocalApi
from trackwell.errors import UsageError

xgb = pytest.importorskip("xgboost")
pytest.importorskip("trackwell_xgboost")
pytest.importorskip("sklearn")

from sklearn.datasets import make_classification, make_regression  # noqa: E402

from trackwell_xgboost import TrackwellCallback, WandbCallback  # noqa: E402


@pytest.fixture(autouse=True)
def _finish(trackwell_dir: Path) -> Any:
    yield
    while trackwell.run is not None:
        trackwell.finish()


def read_back(run: trackwell.Run) -> Any:
    run.finish()
    return LocalApi(Path.cwd()).run(f"{run.project_name()}/{run.id}")


def binary_data() -> tuple[Any, Any]:
    X, y = make_classification(n_samples=400, n_features=6, n_informative=4, random_state=0)
    return xgb.DMatrix(X[:300], y[:300]), xgb.DMatrix(X[300:], y[300:])


def test_train_logs_every_eval_metric_per_round_and_the_best() -> None:
    dtrain, dvalid = binary_data()
    run = trackwell.init(project="xgb", mode="offline")
    evals_result: dict[str, Any] = {}
    booster = xgb.train(
        {"objective": "binary:logistic", "eval_metric": ["logloss", "auc"], "max_depth": 3, "eta": 0.3},
        dtrain,
        num_boost_round=60,
        evals=[(dtrain, "train"), (dvalid, "validation")],
        early_stopping_rounds=5,
        evals_result=evals_result,
        callbacks=[WandbCallback()],
        verbose_eval=False,
    )
    assert booster.best_iteration < 59  # early stopping did stop: the best is not the last round
    api_run = read_back(run)
    rows = [r for r in api_run.scan_history() if "epoch" in r]
    assert [r["epoch"] for r in rows] == list(range(len(evals_result["train"]["logloss"])))
    for data in ("train", "validation"):
        for metric in ("logloss", "auc"):
            assert [r[f"{data}-{metric}"] for r in rows] == evals_result[data][metric]
    summary = api_run.summary
    assert summary["best_iteration"] == booster.best_iteration
    assert summary["best_score"] == pytest.approx(booster.best_score)
    # define_metric: the summary is the best value, min for losses and max for auc
    assert summary["validation-logloss"]["min"] == min(evals_result["validation"]["logloss"])
    assert summary["validation-auc"]["max"] == max(evals_result["validation"]["auc"])
    # the booster's configuration is in the config
    assert api_run.config["learner"]["objective"]["name"] == "binary:logistic"
    # feature importance: the table equals booster.get_score, drawn as a bar chart
    [chart] = [r["Feature Importance"] for r in api_run.scan_history(keys=["Feature Importance"])]
    assert chart["spec"]["name"] == "wandb/bar/v0"
    table = api_run.table("Feature Importance")
    assert table.columns == ["Feature", "Importance"]
    assert dict(table.data) == pytest.approx(booster.get_score(importance_type="gain"))


def test_sklearn_api_with_weight_importance_and_no_define_metric() -> None:
    X, y = make_regression(n_samples=200, n_features=4, noise=1.0, random_state=0)
    run = trackwell.init(project="xgb", mode="offline")
    model = xgb.XGBRegressor(
        n_estimators=15,
        max_depth=2,
        callbacks=[TrackwellCallback(importance_type="weight", define_metric=False)],
    )
    model.fit(X[:150], y[:150], eval_set=[(X[150:], y[150:])], verbose=False)
    api_run = read_back(run)
    rmse = model.evals_result()["validation_0"]["rmse"]
    rows = [r for r in api_run.scan_history() if "validation_0-rmse" in r]
    assert [r["validation_0-rmse"] for r in rows] == rmse
    assert api_run.summary["validation_0-rmse"] == rmse[-1]  # last value: no define_metric
    assert "best_score" not in api_run.summary  # no early stopping
    assert dict(api_run.table("Feature Importance").data) == pytest.approx(
        model.get_booster().get_score(importance_type="weight")
    )


def test_classifier_multiclass_metrics() -> None:
    X, y = make_classification(n_samples=300, n_features=5, n_informative=3, n_classes=3, random_state=2)
    run = trackwell.init(project="xgb", mode="offline")
    model = xgb.XGBClassifier(
        n_estimators=8,
        eval_metric=["mlogloss", "merror"],
        callbacks=[WandbCallback(log_feature_importance=False)],
    )
    model.fit(X[:200], y[:200], eval_set=[(X[:200], y[:200]), (X[200:], y[200:])], verbose=False)
    api_run = read_back(run)
    result = model.evals_result()
    rows = [r for r in api_run.scan_history() if "epoch" in r]
    assert [r["validation_1-merror"] for r in rows] == result["validation_1"]["merror"]
    assert api_run.summary["validation_1-merror"]["min"] == min(result["validation_1"]["merror"])
    assert api_run.summary["validation_0-mlogloss"]["min"] == min(result["validation_0"]["mlogloss"])
    assert "Feature Importance" not in api_run.summary


def test_log_model_to_the_server_downloads_and_loads(online_run: trackwell.Run, tmp_path: Path) -> None:
    dtrain, dvalid = binary_data()
    callback = WandbCallback(log_model=True)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3},
        dtrain,
        num_boost_round=10,
        evals=[(dvalid, "validation")],
        callbacks=[callback],
        verbose_eval=False,
    )
    callback.model_artifact.wait(60)
    online_run.finish()
    name = f"{online_run.id}_model.json"
    artifact = trackwell.Api().artifact(f"{online_run.entity}/{online_run.project}/{name}:latest")
    assert artifact.type == "model"
    root = artifact.download(tmp_path / "dl")
    loaded = xgb.Booster(model_file=str(Path(root) / name))
    np.testing.assert_array_equal(loaded.predict(dvalid), booster.predict(dvalid))
    assert loaded.num_boosted_rounds() == booster.num_boosted_rounds() == 10
    rows = [r for r in trackwell.Api().run(online_run.path).scan_history() if "validation-logloss" in r]
    assert len(rows) == 10


def test_needs_a_run_and_a_known_importance_type(trackwell_dir: Path) -> None:
    with pytest.raises(UsageError, match=r"call trackwell.init\(\) before WandbCallback"):
        WandbCallback()
    trackwell.init(project="xgb", mode="offline")
    with pytest.raises(ValueError, match="importance_type must be one of weight, gain"):
        WandbCallback(importance_type="split")


def test_gblinear_has_no_gain_importance_warns_and_trains(trackwell_dir: Path) -> None:
    dtrain, _ = binary_data()
    run = trackwell.init(project="xgb", mode="offline")
    with pytest.warns(UserWarning, match="feature importance not logged"):
        xgb.train(
            {"booster": "gblinear", "objective": "binary:logistic"}, dtrain, 3, callbacks=[WandbCallback()]
        )
    assert "Feature Importance" not in read_back(run).summary


def test_w_and_b_import_paths() -> None:
    from trackwell.integration.xgboost import WandbCallback as Imported

    assert Imported is TrackwellCallback is trackwell.xgboost.WandbCallback
    assert issubclass(TrackwellCallback, xgb.callback.TrainingCallback)
