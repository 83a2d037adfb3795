"""trackwell-sklearn: real fits on made data, charts read back through the Public API and
checked against scikit-learn's own metric functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trackwell
from trackwell.api.local import LocalApi
from trackwell.errors import UsageError

sklearn = pytest.importorskip("sklearn")
pytest.importorskip("trackwell_sklearn")

from sklearn import metrics  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.datasets import make_blobs, make_classification, make_regression  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

import trackwell_sklearn  # noqa: E402


@pytest.fixture(autouse=True)
def _finish(trackwell_dir: Path) -> Any:
    yield
    while trackwell.run is not None:
        trackwell.finish()


def read_back(run: trackwell.Run) -> Any:
    """The finished run through LocalApi."""
    run.finish()
    return LocalApi(Path.cwd()).run(f"{run.project_name()}/{run.id}")


def chart_record(api_run: Any, key: str) -> dict[str, Any]:
    [record] = [row[key] for row in api_run.scan_history(keys=[key])]
    return record


def classifier_data(n_classes: int = 3) -> tuple[Any, ...]:
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=n_classes, random_state=0
    )
    return train_test_split(X, y, test_size=0.3, random_state=0)


def test_plot_classifier_logs_every_chart_with_sklearns_numbers() -> None:
    X_train, X_test, y_train, y_test = classifier_data(2)
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(X_train, y_train)
    y_pred, y_probas = model.predict(X_test), model.predict_proba(X_test)
    run = trackwell.init(project="sk", mode="offline")
    trackwell.sklearn.plot_classifier(
        model, X_train, X_test, y_train, y_test, y_pred, y_probas, ["no", "yes"], model_name="RF"
    )
    api_run = read_back(run)
    keys = {"feature_importances", "confusion_matrix", "summary_metrics", "class_proportions",
            "calibration_curve", "roc", "precision_recall"}  # fmt: skip
    rows = list(api_run.scan_history())
    assert len(rows) == 1 and keys <= set(rows[0])  # one history row
    for key in keys:
        record = chart_record(api_run, key)
        assert record["_type"] == "plot-table" and record["table"]["_type"] == "table-file"

    cm = metrics.confusion_matrix(y_test, y_pred)
    got = {(a, p): n for a, p, n in api_run.table("confusion_matrix").data}
    assert got == {(a, p): cm[i, j] for i, a in enumerate(["no", "yes"]) for j, p in enumerate(["no", "yes"])}

    summary = {name: value for name, value, _ in api_run.table("summary_metrics").data}
    assert summary["accuracy"] == pytest.approx(metrics.accuracy_score(y_test, y_pred), abs=1e-6)
    assert summary["f1"] == pytest.approx(metrics.f1_score(y_test, y_pred, average="weighted"), abs=1e-6)

    fi = api_run.table("feature_importances")
    assert fi.columns == ["feature_names", "importance"]
    expected = sorted(enumerate(model.feature_importances_), key=lambda t: -t[1])
    assert [(int(n), v) for n, v in fi.data] == [(i, pytest.approx(v)) for i, v in expected]

    roc = api_run.table("roc")
    fpr, tpr, _ = metrics.roc_curve(y_test, y_probas[:, 1])
    got_yes = [(f, t) for cls, f, t in roc.data if cls == "yes"]
    assert got_yes == [
        (pytest.approx(f, abs=1e-3), pytest.approx(t, abs=1e-3)) for f, t in zip(fpr, tpr, strict=True)
    ]

    props = api_run.table("class_proportions").get_dataframe()
    train = props[props.dataset == "train"].set_index("class")["count"].to_dict()
    assert train == {"no": int((y_train == 0).sum()), "yes": int((y_train == 1).sum())}

    # the calibration curve: a clone fitted on half of X_train, as documented
    X_a, X_b, y_a, y_b = train_test_split(X_train, y_train, test_size=0.5, random_state=42, stratify=y_train)
    clone = RandomForestClassifier(n_estimators=20, random_state=0).fit(X_a, y_a)
    frac, mean = calibration_curve(y_b == 1, clone.predict_proba(X_b)[:, 1], n_bins=10)
    cal = [(f, m) for model_name, f, m in api_run.table("calibration_curve").data if model_name == "RF"]
    assert cal == [(pytest.approx(a), pytest.approx(b)) for a, b in zip(frac, mean, strict=True)]


def test_multiclass_confusion_matrix_normalize_and_label_subsets(offline_run: trackwell.Run) -> None:
    y_true = np.array([0, 1, 2, 2, 1, 0, 2, 2])
    y_pred = np.array([0, 2, 2, 1, 1, 0, 2, 0])
    trackwell.sklearn.plot_confusion_matrix(y_true, y_pred, ["a", "b", "c"], normalize=True)
    trackwell_sklearn.plot_confusion_matrix(y_true, y_pred, ["a", "b", "c"], true_labels=["c"])
    api_run = read_back(offline_run)
    cm = metrics.confusion_matrix(y_true, y_pred, normalize="true")
    names = ["a", "b", "c"]
    got = {(a, p): v for a, p, v in api_run.table("confusion_matrix", step=0).data}
    assert got == {(names[i], names[j]): pytest.approx(cm[i, j]) for i in range(3) for j in range(3)}
    subset = api_run.table("confusion_matrix", step=1).data
    assert [row[:2] for row in subset] == [["c", "a"], ["c", "b"], ["c", "c"]]
    assert [row[2] for row in subset] == [1, 1, 2]


def test_precision_recall_and_roc_for_multiclass(offline_run: trackwell.Run) -> None:
    X_train, X_test, y_train, y_test = classifier_data(3)
    probas = LogisticRegression(max_iter=500).fit(X_train, y_train).predict_proba(X_test)
    trackwell.sklearn.plot_precision_recall(y_test, probas, ["a", "b", "c"])
    trackwell.sklearn.plot_roc(y_test, probas, ["a", "b", "c"], classes_to_plot=[2])
    api_run = read_back(offline_run)
    pr = api_run.table("precision_recall")
    assert {row[0] for row in pr.data} == {"a", "b", "c"}
    assert {row[0] for row in api_run.table("roc").data} == {"c"}
    fpr, tpr, _ = metrics.roc_curve(y_test == 2, probas[:, 2])
    got = [(f, t) for _, f, t in api_run.table("roc").data]
    assert got == [
        (pytest.approx(f, abs=1e-3), pytest.approx(t, abs=1e-3)) for f, t in zip(fpr, tpr, strict=True)
    ]


def test_learning_curve(offline_run: trackwell.Run) -> None:
    X, y = make_classification(n_samples=200, n_features=5, random_state=1)
    model = LogisticRegression(max_iter=500)
    trackwell.sklearn.plot_learning_curve(model, X, y)
    api_run = read_back(offline_run)
    df = api_run.table("learning_curve").get_dataframe()
    sizes, _, test = sklearn.model_selection.learning_curve(
        LogisticRegression(max_iter=500), X, y, cv=5, train_sizes=np.linspace(0.1, 1.0, 5)
    )
    assert df[df.dataset == "train"].train_size.tolist() == sizes.tolist()
    assert df[df.dataset == "test"].score.tolist() == pytest.approx(test.mean(axis=1).tolist())
    assert not hasattr(model, "coef_")  # the model itself is not fitted


def test_plot_regressor_residuals_and_cooks_distance() -> None:
    X, y = make_regression(n_samples=120, n_features=3, noise=10.0, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    model = LinearRegression().fit(X_train, y_train)
    run = trackwell.init(project="sk", mode="offline")
    trackwell.sklearn.plot_regressor(model, X_train, X_test, y_train, y_test, model_name="OLS")
    api_run = read_back(run)
    assert {"summary_metrics", "learning_curve", "outlier_candidates", "residuals"} <= set(
        next(iter(api_run.scan_history()))
    )

    summary = {name: value for name, value, _ in api_run.table("summary_metrics").data}
    assert summary["r2_score"] == pytest.approx(metrics.r2_score(y_test, model.predict(X_test)), abs=1e-6)
    assert summary["mae"] == pytest.approx(
        metrics.mean_absolute_error(y_test, model.predict(X_test)), abs=1e-6
    )

    # Cook's distance by its definition: how far all fitted values move when sample i is left out
    n, p = X_train.shape[0], X_train.shape[1] + 1
    s2 = np.sum((y_train - model.predict(X_train)) ** 2) / (n - p)
    outliers = api_run.table("outlier_candidates").get_dataframe()
    for i in (0, 7, 42):
        keep = np.arange(n) != i
        loo = LinearRegression().fit(X_train[keep], y_train[keep])
        expected = np.sum((model.predict(X_train) - loo.predict(X_train)) ** 2) / (p * s2)
        assert outliers.distance[i] == pytest.approx(expected, rel=1e-6)
    assert outliers.influence_threshold[0] == pytest.approx(4 / n)

    res = api_run.table("residuals").get_dataframe()
    Xa, Xb, ya, yb = train_test_split(X_train, y_train, test_size=0.2, random_state=42)
    refit = LinearRegression().fit(Xa, ya)
    test_rows = res[res.dataset == "test"]
    assert test_rows.y_pred.tolist() == pytest.approx(refit.predict(Xb).tolist())
    assert test_rows.residuals.tolist() == pytest.approx((yb - refit.predict(Xb)).tolist())
    assert test_rows.score.iloc[0] == pytest.approx(metrics.r2_score(yb, refit.predict(Xb)))


def test_plot_clusterer_elbow_and_silhouette() -> None:
    X, _ = make_blobs(n_samples=150, centers=3, n_features=2, random_state=0)
    model = KMeans(n_clusters=3, n_init=3, random_state=0).fit(X)
    run = trackwell.init(project="sk", mode="offline")
    trackwell.sklearn.plot_clusterer(model, X, model.labels_, labels=["x", "y", "z"])
    trackwell.sklearn.plot_elbow_curve(model, X, cluster_ranges=[2, 4])
    api_run = read_back(run)
    sil = api_run.table("silhouette_plot").get_dataframe()
    expected = metrics.silhouette_samples(X, model.labels_)
    assert sorted(sil.instance) == list(range(150))
    assert sil.silhouette.tolist() == pytest.approx(expected[sil.instance].tolist())
    assert sil.silhouette_avg[0] == pytest.approx(metrics.silhouette_score(X, model.labels_))
    assert set(sil.cluster) == {"x", "y", "z"}
    elbow = api_run.table("elbow_curve", step=1).get_dataframe()
    assert elbow.cluster_ranges.tolist() == [2, 4]
    for k, err in zip(elbow.cluster_ranges, elbow.errors, strict=True):
        inertia = KMeans(n_clusters=int(k), n_init=3, random_state=0).fit(X).inertia_
        assert err == pytest.approx(inertia, rel=1e-6)
    assert model.n_clusters == 3  # clones were refitted, not the model


def test_what_a_model_cannot_give_is_skipped_with_a_warning(offline_run: trackwell.Run) -> None:
    X_train, X_test, y_train, y_test = classifier_data(2)
    model = SVC(kernel="rbf").fit(X_train, y_train)  # no predict_proba, no importances
    with pytest.warns(UserWarning) as caught:
        trackwell.sklearn.plot_classifier(
            model, X_train, X_test, y_train, y_test, model.predict(X_test), None, None
        )
    text = " ".join(str(w.message) for w in caught)
    assert "feature_importances_" in text and "predict_proba" in text and "y_probas" in text
    logged = set(next(iter(read_back(offline_run).scan_history())))
    assert {"confusion_matrix", "summary_metrics", "class_proportions"} <= logged
    assert not logged & {"feature_importances", "calibration_curve", "roc"}


def test_bad_inputs_raise_and_log_nothing(offline_run: trackwell.Run) -> None:
    X_train, X_test, y_train, y_test = classifier_data(2)
    fitted = LogisticRegression().fit(X_train, y_train)
    y_pred, probas = fitted.predict(X_test), fitted.predict_proba(X_test)
    args = (X_train, X_test, y_train, y_test, y_pred, probas, None)
    with pytest.raises(ValueError, match=r"not fitted; call model\.fit"):
        trackwell.sklearn.plot_classifier(LogisticRegression(), *args)
    with pytest.raises(ValueError, match="one row per sample: X_test has 90, y_test has 89"):
        trackwell.sklearn.plot_classifier(fitted, X_train, X_test, y_train, y_test[:-1], y_pred, probas, None)
    with pytest.raises(ValueError, match="X_test has 5 features but the LogisticRegression was fitted on 6"):
        trackwell.sklearn.plot_classifier(
            fitted, X_train, X_test[:, :5], y_train, y_test, y_pred, probas, None
        )
    with pytest.raises(ValueError, match="y_probas"):
        trackwell.sklearn.plot_classifier(fitted, X_train, X_test, y_train, y_test, y_pred, probas[:-1], None)
    with pytest.raises(ValueError, match="feature_names has 2 names for 6 features"):
        trackwell.sklearn.plot_feature_importances(fitted, ["a", "b"])
    with pytest.raises(ValueError, match="labels has 1 names"):
        trackwell.sklearn.plot_confusion_matrix(y_test, y_pred, ["only"])
    with pytest.raises(ValueError, match="y_true must have 1 dimensions"):
        trackwell.sklearn.plot_confusion_matrix(probas, y_pred)
    with pytest.raises(ValueError, match="2 to n_samples - 1 clusters"):
        trackwell.sklearn.plot_silhouette(None, X_train, np.zeros(len(X_train), dtype=int))
    with pytest.raises(ValueError, match="cluster_ranges must be positive integers"):
        trackwell.sklearn.plot_elbow_curve(KMeans(n_init=1), X_train, cluster_ranges=[0, 2])
    assert list(read_back(offline_run).scan_history()) == []


def test_no_run_is_a_clear_error(trackwell_dir: Path) -> None:
    with pytest.raises(UsageError, match=r"plot_roc: no run .* call trackwell.init\(\) first"):
        trackwell_sklearn.plot_roc([0, 1], [[0.2, 0.8], [0.6, 0.4]])


def test_w_and_b_import_paths() -> None:
    from trackwell.integration.sklearn import plot_classifier

    assert plot_classifier is trackwell.sklearn.plot_classifier is trackwell_sklearn.plot_classifier
    assert "plot_silhouette" in dir(trackwell.integration.sklearn)


def test_server_round_trip(online_run: trackwell.Run) -> None:
    X_train, X_test, y_train, y_test = classifier_data(3)
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X_train, y_train)
    trackwell.sklearn.plot_confusion_matrix(y_test, model.predict(X_test), ["a", "b", "c"])
    trackwell.sklearn.plot_feature_importances(model, [f"f{i}" for i in range(6)], max_num_features=3)
    online_run.finish()
    api_run = trackwell.Api().run(online_run.path)
    cm = metrics.confusion_matrix(y_test, model.predict(X_test))
    assert [row[2] for row in api_run.table("confusion_matrix").data] == cm.ravel().tolist()
    top = np.argsort(-model.feature_importances_)[:3]
    assert api_run.table("feature_importances").data == [
        [f"f{i}", pytest.approx(model.feature_importances_[i])] for i in top
    ]
