"""The numbers behind each scikit-learn chart, as plain columns and rows.

Each chart keeps W&B's history key and table columns, and is drawn by one of
``trackwell.plot``'s built-in Vega-Lite specs (bar, line, scatter, confusion matrix) so
the dashboard can draw it without W&B's server-side presets.

Kept apart from logging so each chart's table can be checked against scikit-learn's own
metric functions, and so every input is validated and every number computed before
anything reaches the run (a bad argument logs nothing). Each function returns a
``ChartData``; ``plots.py`` turns it into a ``trackwell.plot_table`` chart.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn import metrics, model_selection
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

#: rows above this are sampled evenly for point charts (residuals, outliers), as W&B caps them
CHART_LIMIT = 1000


class PlotSkipped(Exception):
    """The model cannot give what a plot needs (no ``predict_proba``, no importances)."""


@dataclass
class ChartData:
    """One chart: its history key, table (columns, rows) and the built-in spec drawing it."""

    key: str
    spec: str
    columns: list[str]
    rows: list[list[Any]]
    fields: dict[str, str | None]
    string_fields: dict[str, Any] = field(default_factory=dict)


# -- validation ---------------------------------------------------------------------
def as_array(value: Any, name: str, what: str, ndim: tuple[int, ...] = (1, 2)) -> np.ndarray:
    """``value`` as a numpy array, or a ValueError naming the argument and the plot."""
    if value is None:
        raise ValueError(f"{what}: {name} is required")
    if hasattr(value, "to_numpy"):  # pandas
        value = value.to_numpy()
    arr = np.asarray(value)
    if arr.ndim not in ndim:
        raise ValueError(
            f"{what}: {name} must have {' or '.join(map(str, ndim))} dimensions, got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{what}: {name} is empty")
    return arr


def same_length(what: str, **arrays: np.ndarray) -> None:
    """A ValueError when the arrays (samples on the first axis) differ in length."""
    lengths = {name: len(arr) for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"{what}: the inputs must have one row per sample: {shown}")


def check_fitted(model: Any, name: str, what: str) -> None:
    """A ValueError when ``model`` is not a fitted scikit-learn estimator."""
    if model is None:
        raise ValueError(f"{what}: {name} is required")
    if not hasattr(model, "fit"):
        raise TypeError(f"{what}: {name} must be a scikit-learn estimator, got {type(model).__name__}")
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise ValueError(
            f"{what}: the {type(model).__name__} passed as {name} is not fitted; call {name}.fit(X, y) first"
        ) from None


def check_features(model: Any, X: np.ndarray, name: str, what: str) -> None:
    """A ValueError when ``X`` has another number of features than ``model`` was fitted on."""
    expected = getattr(model, "n_features_in_", None)
    if expected is not None and X.ndim == 2 and X.shape[1] != expected:
        raise ValueError(
            f"{what}: {name} has {X.shape[1]} features but the {type(model).__name__} "
            f"was fitted on {expected}"
        )


def class_names(classes: np.ndarray, labels: Sequence[Any] | None, what: str) -> list[str]:
    """Display names for ``classes``: ``labels[c]`` for integer classes, as W&B, else ``str(c)``."""
    if labels is None:
        return [str(c) for c in classes]
    labels = list(labels)
    if np.issubdtype(classes.dtype, np.integer):
        if classes.min() < 0 or classes.max() >= len(labels):
            raise ValueError(
                f"{what}: labels has {len(labels)} names but the classes run "
                f"from {classes.min()} to {classes.max()}"
            )
        return [str(labels[int(c)]) for c in classes]
    if len(labels) != len(classes):
        raise ValueError(f"{what}: labels has {len(labels)} names for {len(classes)} classes")
    return [str(n) for n in labels]


# -- classifiers ----------------------------------------------------------------------
def confusion_matrix(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    labels: Sequence[Any] | None = None,
    true_labels: Sequence[Any] | None = None,
    pred_labels: Sequence[Any] | None = None,
    normalize: bool = False,
) -> ChartData:
    """Counts (or row fractions with ``normalize``) per (actual, predicted) class pair.

    ``true_labels``/``pred_labels`` restrict the rows/columns to those classes, as W&B.
    """
    what = "plot_confusion_matrix"
    same_length(what, y_true=y_true, y_pred=y_pred)
    classes = np.unique(np.concatenate([y_true, y_pred]))
    names = class_names(classes, labels, what)
    cm = metrics.confusion_matrix(y_true, y_pred, labels=classes)
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        cm = np.divide(cm, totals, out=np.zeros(cm.shape, dtype=float), where=totals > 0)
    keep_true = _pick(classes, names, true_labels, "true_labels", what)
    keep_pred = _pick(classes, names, pred_labels, "pred_labels", what)
    rows = [
        [names[i], names[j], cm[i, j].item()]
        for i in range(len(classes))
        if i in keep_true
        for j in range(len(classes))
        if j in keep_pred
    ]
    return ChartData(
        "confusion_matrix",
        "wandb/confusion_matrix/v1",
        ["Actual", "Predicted", "nPredictions"],
        rows,
        {"Actual": "Actual", "Predicted": "Predicted", "nPredictions": "nPredictions"},
        {"title": "Confusion Matrix" + (" (normalized)" if normalize else "")},
    )


def _pick(
    classes: np.ndarray, names: list[str], wanted: Sequence[Any] | None, arg: str, what: str
) -> set[int]:
    """Indices of ``classes`` named (by class value or display name) in ``wanted``; all when None."""
    if wanted is None:
        return set(range(len(classes)))
    index = {str(c): i for i, c in enumerate(classes)} | {n: i for i, n in enumerate(names)}
    missing = [w for w in wanted if str(w) not in index]
    if missing:
        raise ValueError(f"{what}: {arg} names classes that are not in the data: {missing}")
    return {index[str(w)] for w in wanted}


def summary_metrics(model: Any, X_test: np.ndarray, y_test: np.ndarray, model_name: str) -> ChartData:
    """Accuracy, precision, recall and F1 (classifiers) or MAE, MSE and R² (regressors) on the test set."""
    y_pred = model.predict(X_test)
    if is_classifier(model):
        values = {
            "accuracy": metrics.accuracy_score(y_test, y_pred),
            "precision": metrics.precision_score(y_test, y_pred, average="weighted", zero_division=0),
            "recall": metrics.recall_score(y_test, y_pred, average="weighted", zero_division=0),
            "f1": metrics.f1_score(y_test, y_pred, average="weighted", zero_division=0),
        }
    else:
        values = {
            "mae": metrics.mean_absolute_error(y_test, y_pred),
            "mse": metrics.mean_squared_error(y_test, y_pred),
            "r2_score": metrics.r2_score(y_test, y_pred),
        }
    rows = [[name, round(float(v), 6), model_name] for name, v in values.items()]
    return ChartData(
        "summary_metrics",
        "wandb/bar/v0",
        ["metric_name", "metric_value", "model_name"],
        rows,
        {"label": "metric_name", "value": "metric_value"},
        {"title": "Summary Metrics"},
    )


def class_proportions(y_train: np.ndarray, y_test: np.ndarray, labels: Sequence[Any] | None) -> ChartData:
    """How many samples of each class the train and the test set hold."""
    classes = np.unique(np.concatenate([y_train, y_test]))
    names = class_names(classes, labels, "plot_class_proportions")
    rows = []
    for dataset, y in (("train", y_train), ("test", y_test)):
        counts = {c: int(n) for c, n in zip(*np.unique(y, return_counts=True), strict=True)}
        rows += [
            [name, dataset, counts.get(c, 0), f"{name} ({dataset})"]
            for c, name in zip(classes, names, strict=True)
        ]
    return ChartData(
        "class_proportions",
        "wandb/bar/v0",
        ["class", "dataset", "count", "label"],
        rows,
        {"label": "label", "value": "count"},
        {"title": "Class Proportions"},
    )


def feature_importances(
    model: Any,
    feature_names: Sequence[Any] | None,
    max_num_features: int = 50,
    title: str = "Feature Importance",
) -> ChartData:
    """``feature_importances_`` (trees) or the mean absolute ``coef_`` (linear models), largest first.

    Raises ``PlotSkipped`` when the model has neither.
    """
    importances = getattr(model, "feature_importances_", None)
    if importances is None:
        coef = getattr(model, "coef_", None)
        if coef is None:
            raise PlotSkipped(f"{type(model).__name__} has no feature_importances_ or coef_")
        coef = np.abs(np.asarray(coef, dtype=float))
        importances = coef.mean(axis=0) if coef.ndim == 2 else coef
    importances = np.asarray(importances, dtype=float)
    if feature_names is None:
        found = getattr(model, "feature_names_in_", None)
        feature_names = list(found) if found is not None else [str(i) for i in range(len(importances))]
    if len(feature_names) != len(importances):
        raise ValueError(
            f"plot_feature_importances: feature_names has {len(feature_names)} names "
            f"for {len(importances)} features"
        )
    order = np.argsort(-importances, kind="stable")[:max_num_features]
    rows = [[str(feature_names[i]), float(importances[i])] for i in order]
    return ChartData(
        "feature_importances",
        "wandb/bar/v0",
        ["feature_names", "importance"],
        rows,
        {"label": "feature_names", "value": "importance"},
        {"title": title},
    )


def learning_curve(model: Any, X: np.ndarray, y: np.ndarray, cv: int = 5) -> ChartData:
    """Mean train and cross-validated score of clones of ``model`` fitted on growing subsets."""
    sizes, train_scores, test_scores = model_selection.learning_curve(
        clone(model), X, y, cv=cv, train_sizes=np.linspace(0.1, 1.0, 5)
    )
    rows = []
    for dataset, scores in (("train", train_scores), ("test", test_scores)):
        rows += [[dataset, float(s), int(n)] for n, s in zip(sizes, scores.mean(axis=1), strict=True)]
    return ChartData(
        "learning_curve",
        "wandb/line/v0",
        ["dataset", "score", "train_size"],
        rows,
        {"x": "train_size", "y": "score", "stroke": "dataset"},
        {"title": "Learning Curve"},
    )


def calibration_curve(
    model: Any, X: np.ndarray, y: np.ndarray, model_name: str, n_bins: int = 10
) -> ChartData:
    """Fraction of positives per bin of predicted probability, for a clone of ``model``
    fitted on half of ``X`` and scored on the other half (``random_state=42``), next to
    the perfectly calibrated diagonal.

    Binary classifiers only: raises ``PlotSkipped`` for more classes or without
    ``predict_proba``.
    """
    from sklearn.calibration import calibration_curve as sk_calibration_curve

    if not hasattr(model, "predict_proba"):
        raise PlotSkipped(f"{type(model).__name__} has no predict_proba")
    if len(np.unique(y)) != 2:
        raise PlotSkipped("the calibration curve is drawn for binary classifiers only")
    X_train, X_test, y_train, y_test = model_selection.train_test_split(
        X, y, test_size=0.5, random_state=42, stratify=y
    )
    fitted = clone(model).fit(X_train, y_train)
    prob_pos = fitted.predict_proba(X_test)[:, 1]
    positive = fitted.classes_[1]
    frac, mean_pred = sk_calibration_curve(y_test == positive, prob_pos, n_bins=n_bins)
    rows: list[list[Any]] = [["Perfectly calibrated", 0.0, 0.0], ["Perfectly calibrated", 1.0, 1.0]]
    rows += [[model_name, float(f), float(m)] for f, m in zip(frac, mean_pred, strict=True)]
    return ChartData(
        "calibration_curve",
        "wandb/line/v0",
        ["model", "fraction_of_positives", "mean_predicted_value"],
        rows,
        {"x": "mean_predicted_value", "y": "fraction_of_positives", "stroke": "model"},
        {"title": "Calibration Curve"},
    )


# -- regressors -----------------------------------------------------------------------
def _sample(n: int) -> np.ndarray:
    """Indices of at most ``CHART_LIMIT`` rows, evenly spread, so charts stay drawable."""
    if n <= CHART_LIMIT:
        return np.arange(n)
    return np.linspace(0, n - 1, CHART_LIMIT).round().astype(int)


def residuals(model: Any, X: np.ndarray, y: np.ndarray) -> ChartData:
    """Predicted value and residual (``y - y_pred``) per sample for a clone of ``model``
    fitted on 80% of the data (``random_state=42``), for the train and the test part,
    with each part's R² in ``score``."""
    X_train, X_test, y_train, y_test = model_selection.train_test_split(X, y, test_size=0.2, random_state=42)
    fitted = clone(model).fit(X_train, y_train)
    rows: list[list[Any]] = []
    for dataset, Xp, yp in (("train", X_train, y_train), ("test", X_test, y_test)):
        pred = fitted.predict(Xp)
        score = float(metrics.r2_score(yp, pred))
        rows += [[dataset, float(pred[i]), float(yp[i] - pred[i]), score] for i in _sample(len(yp))]
    return ChartData(
        "residuals",
        "wandb/scatter/v0",
        ["dataset", "y_pred", "residuals", "score"],
        rows,
        {"x": "y_pred", "y": "residuals"},
        {"title": "Residuals Plot"},
    )


def outlier_candidates(model: Any, X: np.ndarray, y: np.ndarray) -> ChartData:
    """Cook's distance of every sample, with the 4/n cut-off above which W&B calls a
    sample an outlier candidate.

    As W&B: the residuals are those of the fitted ``model``, the leverage that of a
    linear fit on ``X`` (with intercept); for a linear regressor this is exactly the
    influence of each sample on the fit.
    """
    n, p = X.shape[0], X.shape[1] + 1
    if n <= p:
        raise ValueError(
            f"plot_outlier_candidates: Cook's distance needs more samples ({n}) than features + 1 ({p})"
        )
    design = np.column_stack([np.ones(n), X.astype(float)])
    leverage = np.einsum("ij,ji->i", design, np.linalg.pinv(design))
    resid = y.astype(float) - np.asarray(model.predict(X), dtype=float)
    mse = float(resid @ resid) / (n - p)
    distance = resid**2 / (p * mse) * leverage / (1 - leverage) ** 2
    threshold = 4.0 / n
    rows = [[int(i), float(distance[i]), threshold, bool(distance[i] > threshold)] for i in _sample(n)]
    return ChartData(
        "outlier_candidates",
        "wandb/scatter/v0",
        ["instance_index", "distance", "influence_threshold", "outlier"],
        rows,
        {"x": "instance_index", "y": "distance"},
        {"title": "Cook's Distance Outlier Detection"},
    )


# -- clusterers -----------------------------------------------------------------------
def elbow_curve(
    model: Any, X: np.ndarray, cluster_ranges: Sequence[int] | None, n_jobs: int = 1
) -> ChartData:
    """Sum of squared distances (``-score``) and fit time of clones of a KMeans-like
    ``model`` for each number of clusters in ``cluster_ranges`` (default 1 to 9)."""
    if not hasattr(model, "n_clusters") or not hasattr(model, "score"):
        raise PlotSkipped(
            f"{type(model).__name__} has no n_clusters and score() (the elbow curve needs KMeans-like models)"
        )
    ks = list(cluster_ranges) if cluster_ranges is not None else list(range(1, 10, 2))
    if not ks or any(not isinstance(k, (int, np.integer)) or k < 1 for k in ks):
        raise ValueError(f"plot_elbow_curve: cluster_ranges must be positive integers, got {ks}")
    if max(ks) > len(X):
        raise ValueError(
            f"plot_elbow_curve: {max(ks)} clusters need at least as many samples, X has {len(X)}"
        )
    rows = []
    for k in ks:
        est = clone(model).set_params(n_clusters=int(k))
        start = time.perf_counter()
        est.fit(X)
        rows.append([int(k), float(-est.score(X)), time.perf_counter() - start])
    return ChartData(
        "elbow_curve",
        "wandb/line/v0",
        ["cluster_ranges", "errors", "clustering_time"],
        rows,
        {"x": "cluster_ranges", "y": "errors", "stroke": None},
        {"title": "Elbow Plot - Errors vs Cluster Size"},
    )


def silhouette(
    X: np.ndarray, cluster_labels: np.ndarray, labels: Sequence[Any] | None, metric: str = "euclidean"
) -> ChartData:
    """Silhouette coefficient of every sample (sorted within each cluster, as the chart
    stacks them) and the mean over all samples in ``silhouette_avg``."""
    clusters = np.unique(cluster_labels)
    if not 2 <= len(clusters) <= len(X) - 1:
        raise ValueError(
            f"plot_silhouette: the silhouette needs 2 to n_samples - 1 clusters, got {len(clusters)}"
        )
    values = metrics.silhouette_samples(X, cluster_labels, metric=metric)
    avg = float(values.mean())
    names = class_names(clusters, labels, "plot_silhouette")
    rows = []
    for c, name in zip(clusters, names, strict=True):
        idx = np.flatnonzero(cluster_labels == c)
        idx = idx[np.argsort(values[idx], kind="stable")]
        rows += [[int(i), name, float(values[i]), avg] for i in idx]
    return ChartData(
        "silhouette_plot",
        "wandb/bar/v0",
        ["instance", "cluster", "silhouette", "silhouette_avg"],
        rows,
        {"label": "instance", "value": "silhouette"},
        {"title": "Silhouette Plot"},
    )


def is_regressor_model(model: Any) -> bool:
    """``sklearn.base.is_regressor``, re-exported so ``plots.py`` imports sklearn in one place."""
    return bool(is_regressor(model))
