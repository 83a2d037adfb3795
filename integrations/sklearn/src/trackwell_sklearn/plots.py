"""``plot_*``: scikit-learn charts logged to the current run, with ``wandb.sklearn``'s names.

Every function validates all of its inputs and computes every chart before it logs
anything, so a bad argument raises a clear error and leaves the run as it was. A chart
the model cannot give (no ``predict_proba``, no ``feature_importances_``) is skipped
with a warning, as W&B does, and the rest are still logged. The composite plots
(``plot_classifier``, ``plot_regressor``, ``plot_clusterer``) log all their charts in one
history row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import trackwell
from trackwell.errors import UsageError, warn_user
from trackwell_sklearn import calculate
from trackwell_sklearn.calculate import ChartData, PlotSkipped

Chart = Any  # trackwell.plot's CustomChart


def _current_run(what: str) -> Any:
    run = trackwell.run
    if run is None:
        raise UsageError(f"{what}: no run to log the chart to; call trackwell.init() first")
    return run


def _chart(data: ChartData) -> Chart:
    table = trackwell.Table(columns=data.columns, data=data.rows)
    return trackwell.plot_table(data.spec, table, data.fields, data.string_fields)


def _maybe(what: str, build: Callable[[], ChartData]) -> dict[str, Chart]:
    """``{key: chart}`` from ``build()``, or nothing (with a warning) when the model cannot give it."""
    try:
        data = build()
    except PlotSkipped as exc:
        warn_user(f"trackwell: {what} skipped: {exc}")
        return {}
    return {data.key: _chart(data)}


def _log(run: Any, charts: dict[str, Chart]) -> None:
    if charts:
        run.log(charts)


def _X(value: Any, name: str, what: str) -> np.ndarray:
    return calculate.as_array(value, name, what, ndim=(2,))


def _y(value: Any, name: str, what: str) -> np.ndarray:
    return calculate.as_array(value, name, what, ndim=(1,))


def _Xy(model: Any, X: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``X`` (2-D, the model's feature count) and ``y`` (1-D, same length)."""
    Xa, ya = _X(X, "X", what), _y(y, "y", what)
    calculate.same_length(what, X=Xa, y=ya)
    calculate.check_features(model, Xa, "X", what)
    return Xa, ya


# -- single plots -------------------------------------------------------------------------
def plot_confusion_matrix(
    y_true: Any = None,
    y_pred: Any = None,
    labels: Sequence[Any] | None = None,
    true_labels: Sequence[Any] | None = None,
    pred_labels: Sequence[Any] | None = None,
    normalize: bool = False,
) -> None:
    """Log the confusion matrix of ``y_pred`` against ``y_true`` (key ``confusion_matrix``).

    ``labels[i]`` names integer class ``i``; ``true_labels``/``pred_labels`` keep only
    those rows/columns; ``normalize`` divides each actual class's row by its count.
    """
    what = "plot_confusion_matrix"
    run = _current_run(what)
    data = calculate.confusion_matrix(
        _y(y_true, "y_true", what), _y(y_pred, "y_pred", what), labels, true_labels, pred_labels, normalize
    )
    _log(run, {data.key: _chart(data)})


def plot_roc(
    y_true: Any = None,
    y_probas: Any = None,
    labels: Sequence[Any] | None = None,
    plot_micro: bool = True,
    plot_macro: bool = True,
    classes_to_plot: Sequence[Any] | None = None,
) -> None:
    """Log one-vs-rest ROC curves from predicted probabilities (key ``roc``).

    ``y_probas`` is ``model.predict_proba(X_test)``. ``plot_micro``/``plot_macro`` are
    accepted for W&B compatibility; as in W&B's current release, only the per-class
    curves are drawn.
    """
    what = "plot_roc"
    run = _current_run(what)
    chart = trackwell.plot.roc_curve(
        _y(y_true, "y_true", what), y_probas, _names(labels), _list(classes_to_plot)
    )
    _log(run, {"roc": chart})


def plot_precision_recall(
    y_true: Any = None,
    y_probas: Any = None,
    labels: Sequence[Any] | None = None,
    plot_micro: bool = True,
    classes_to_plot: Sequence[Any] | None = None,
) -> None:
    """Log one-vs-rest precision-recall curves (key ``precision_recall``); arguments as ``plot_roc``."""
    what = "plot_precision_recall"
    run = _current_run(what)
    chart = trackwell.plot.pr_curve(
        _y(y_true, "y_true", what), y_probas, _names(labels), _list(classes_to_plot)
    )
    _log(run, {"precision_recall": chart})


def plot_feature_importances(
    model: Any = None,
    feature_names: Sequence[Any] | None = None,
    title: str = "Feature Importance",
    max_num_features: int = 50,
) -> None:
    """Log the fitted model's feature importances, largest first (key ``feature_importances``).

    ``feature_importances_`` for trees and ensembles, the mean absolute ``coef_`` for
    linear models; a model with neither is skipped with a warning.
    """
    what = "plot_feature_importances"
    run = _current_run(what)
    calculate.check_fitted(model, "model", what)
    _log(
        run,
        _maybe(what, lambda: calculate.feature_importances(model, feature_names, max_num_features, title)),
    )


def plot_learning_curve(model: Any = None, X: Any = None, y: Any = None) -> None:
    """Log train and cross-validation scores against training-set size (key ``learning_curve``).

    Clones of ``model`` are fitted on growing subsets (5-fold cross-validation);
    ``model`` itself is not changed.
    """
    what = "plot_learning_curve"
    run = _current_run(what)
    if model is None or not hasattr(model, "fit"):
        raise TypeError(f"{what}: model must be a scikit-learn estimator, got {type(model).__name__}")
    Xa, ya = _X(X, "X", what), _y(y, "y", what)
    calculate.same_length(what, X=Xa, y=ya)
    data = calculate.learning_curve(model, Xa, ya)
    _log(run, {data.key: _chart(data)})


def plot_class_proportions(
    y_train: Any = None, y_test: Any = None, labels: Sequence[Any] | None = None
) -> None:
    """Log how many samples of each class the train and test sets hold (key ``class_proportions``)."""
    what = "plot_class_proportions"
    run = _current_run(what)
    data = calculate.class_proportions(_y(y_train, "y_train", what), _y(y_test, "y_test", what), labels)
    _log(run, {data.key: _chart(data)})


def plot_calibration_curve(
    clf: Any = None, X: Any = None, y: Any = None, clf_name: str = "Classifier"
) -> None:
    """Log the calibration curve of a binary classifier (key ``calibration_curve``).

    A clone of ``clf`` is fitted on half of ``X`` and scored on the other half. Models
    without ``predict_proba``, and multi-class data, are skipped with a warning.
    """
    what = "plot_calibration_curve"
    run = _current_run(what)
    calculate.check_fitted(clf, "clf", what)
    Xa, ya = _Xy(clf, X, y, what)
    _log(run, _maybe(what, lambda: calculate.calibration_curve(clf, Xa, ya, clf_name)))


def plot_summary_metrics(
    model: Any = None, X: Any = None, y: Any = None, X_test: Any = None, y_test: Any = None
) -> None:
    """Log the fitted model's test-set metrics (key ``summary_metrics``).

    Classifiers: accuracy and weighted precision, recall and F1; regressors: MAE, MSE
    and R². ``X`` and ``y`` (the training data) are accepted for W&B compatibility.
    """
    what = "plot_summary_metrics"
    run = _current_run(what)
    calculate.check_fitted(model, "model", what)
    Xt, yt = _Xy(model, X_test, y_test, what)
    data = calculate.summary_metrics(model, Xt, yt, type(model).__name__)
    _log(run, {data.key: _chart(data)})


def plot_residuals(regressor: Any = None, X: Any = None, y: Any = None) -> None:
    """Log predicted values against residuals for train and test splits (key ``residuals``).

    A clone of ``regressor`` is fitted on 80% of the data (``random_state=42``).
    """
    what = "plot_residuals"
    run = _current_run(what)
    calculate.check_fitted(regressor, "regressor", what)
    Xa, ya = _Xy(regressor, X, y, what)
    data = calculate.residuals(regressor, Xa, ya)
    _log(run, {data.key: _chart(data)})


def plot_outlier_candidates(regressor: Any = None, X: Any = None, y: Any = None) -> None:
    """Log each sample's Cook's distance and the 4/n outlier cut-off (key ``outlier_candidates``)."""
    what = "plot_outlier_candidates"
    run = _current_run(what)
    calculate.check_fitted(regressor, "regressor", what)
    Xa, ya = _Xy(regressor, X, y, what)
    data = calculate.outlier_candidates(regressor, Xa, ya)
    _log(run, {data.key: _chart(data)})


def plot_elbow_curve(
    clusterer: Any = None,
    X: Any = None,
    cluster_ranges: Sequence[int] | None = None,
    n_jobs: int = 1,
    show_cluster_time: bool = True,
) -> None:
    """Log the sum of squared distances for each number of clusters (key ``elbow_curve``).

    Clones of a KMeans-like ``clusterer`` are fitted for each value of
    ``cluster_ranges`` (default 1, 3, 5, 7, 9); the table also holds each fit's time.
    """
    what = "plot_elbow_curve"
    run = _current_run(what)
    if clusterer is None or not hasattr(clusterer, "fit"):
        raise TypeError(f"{what}: clusterer must be a scikit-learn estimator, got {type(clusterer).__name__}")
    Xa = _X(X, "X", what)
    _log(run, _maybe(what, lambda: calculate.elbow_curve(clusterer, Xa, cluster_ranges, n_jobs)))


def plot_silhouette(
    clusterer: Any = None,
    X: Any = None,
    cluster_labels: Any = None,
    labels: Sequence[Any] | None = None,
    metric: str = "euclidean",
    kmeans: bool = True,
) -> None:
    """Log each sample's silhouette coefficient, grouped by cluster (key ``silhouette_plot``).

    ``cluster_labels`` defaults to the fitted clusterer's ``labels_`` (or
    ``fit_predict(X)`` when it has none); ``kmeans`` is accepted for W&B compatibility.
    """
    what = "plot_silhouette"
    run = _current_run(what)
    Xa = _X(X, "X", what)
    cl = _cluster_labels(clusterer, Xa, cluster_labels, what)
    data = calculate.silhouette(Xa, cl, labels, metric)
    _log(run, {data.key: _chart(data)})


def _cluster_labels(clusterer: Any, X: np.ndarray, cluster_labels: Any, what: str) -> np.ndarray:
    if cluster_labels is None:
        if clusterer is None:
            raise ValueError(f"{what}: pass cluster_labels or a clusterer")
        fitted = getattr(clusterer, "labels_", None)
        cluster_labels = fitted if fitted is not None and len(fitted) == len(X) else clusterer.fit_predict(X)
    cl = _y(cluster_labels, "cluster_labels", what)
    calculate.same_length(what, X=X, cluster_labels=cl)
    return cl


def _names(labels: Sequence[Any] | None) -> list[str] | None:
    return None if labels is None else [str(n) for n in labels]


def _list(values: Sequence[Any] | None) -> list[Any] | None:
    return None if values is None else list(values)


# -- composite plots ------------------------------------------------------------------
def plot_classifier(
    model: Any,
    X_train: Any,
    X_test: Any,
    y_train: Any,
    y_test: Any,
    y_pred: Any,
    y_probas: Any,
    labels: Sequence[Any] | None,
    is_binary: bool = False,
    model_name: str = "Classifier",
    feature_names: Sequence[Any] | None = None,
    log_learning_curve: bool = False,
) -> None:
    """Log W&B's classifier charts for a fitted model in one history row.

    Feature importances, confusion matrix, summary metrics, class proportions,
    calibration curve, ROC and precision-recall curves (and the learning curve with
    ``log_learning_curve``). ``y_pred``/``y_probas`` are ``model.predict(X_test)`` and
    ``model.predict_proba(X_test)``; ``labels[i]`` names class ``i``. ``is_binary`` is
    accepted for W&B compatibility (the class count is read from the data).
    """
    what = "plot_classifier"
    run = _current_run(what)
    calculate.check_fitted(model, "model", what)
    Xtr, ytr = _X(X_train, "X_train", what), _y(y_train, "y_train", what)
    Xte, yte = _X(X_test, "X_test", what), _y(y_test, "y_test", what)
    yp = _y(y_pred, "y_pred", what)
    calculate.same_length(what, X_train=Xtr, y_train=ytr)
    calculate.same_length(what, X_test=Xte, y_test=yte, y_pred=yp)
    calculate.check_features(model, Xtr, "X_train", what)
    calculate.check_features(model, Xte, "X_test", what)
    charts: dict[str, Chart] = {}
    charts |= _maybe("plot_feature_importances", lambda: calculate.feature_importances(model, feature_names))
    if log_learning_curve:
        charts |= _maybe("plot_learning_curve", lambda: calculate.learning_curve(model, Xtr, ytr))
    for data in (
        calculate.confusion_matrix(yte, yp, labels),
        calculate.summary_metrics(model, Xte, yte, model_name),
        calculate.class_proportions(ytr, yte, labels),
    ):
        charts[data.key] = _chart(data)
    charts |= _maybe(
        "plot_calibration_curve", lambda: calculate.calibration_curve(model, Xtr, ytr, model_name)
    )
    if y_probas is None:
        warn_user(f"trackwell: {what}: no y_probas, so no ROC and precision-recall curves")
    else:
        charts["roc"] = trackwell.plot.roc_curve(yte, y_probas, _names(labels))
        charts["precision_recall"] = trackwell.plot.pr_curve(yte, y_probas, _names(labels))
    _log(run, charts)


def plot_regressor(
    model: Any, X_train: Any, X_test: Any, y_train: Any, y_test: Any, model_name: str = "Regressor"
) -> None:
    """Log W&B's regressor charts for a fitted model in one history row: summary
    metrics (on the test set), learning curve, outlier candidates and residuals (on the
    training set)."""
    what = "plot_regressor"
    run = _current_run(what)
    calculate.check_fitted(model, "model", what)
    Xtr, ytr = _Xy(model, X_train, y_train, what)
    Xte, yte = _X(X_test, "X_test", what), _y(y_test, "y_test", what)
    calculate.same_length(what, X_test=Xte, y_test=yte)
    calculate.check_features(model, Xte, "X_test", what)
    charts = {
        data.key: _chart(data)
        for data in (
            calculate.summary_metrics(model, Xte, yte, model_name),
            calculate.learning_curve(model, Xtr, ytr),
            calculate.outlier_candidates(model, Xtr, ytr),
            calculate.residuals(model, Xtr, ytr),
        )
    }
    _log(run, charts)


def plot_clusterer(
    model: Any,
    X_train: Any,
    cluster_labels: Any,
    labels: Sequence[Any] | None = None,
    model_name: str = "Clusterer",
) -> None:
    """Log W&B's clusterer charts in one history row: the elbow curve (KMeans-like
    models; skipped with a warning for others) and the silhouette plot."""
    what = "plot_clusterer"
    run = _current_run(what)
    calculate.check_fitted(model, "model", what)
    Xa = _X(X_train, "X_train", what)
    cl = _cluster_labels(model, Xa, cluster_labels, what)
    silhouette = calculate.silhouette(Xa, cl, labels)
    charts = _maybe("plot_elbow_curve", lambda: calculate.elbow_curve(model, Xa, None))
    charts[silhouette.key] = _chart(silhouette)
    _log(run, charts)
