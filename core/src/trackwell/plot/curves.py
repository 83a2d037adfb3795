"""Model evaluation charts: ROC curve, precision-recall curve, confusion matrix.

Computed with numpy alone (no scikit-learn dependency), with scikit-learn's
definitions: ``roc_curve`` gives sklearn.metrics.roc_curve's points (intermediate
collinear points dropped), ``pr_curve`` interpolates sklearn.metrics
.precision_recall_curve at ``interp_size`` evenly spaced recalls. Values are rounded
to 3 decimals as W&B does, one table row per point, with the class in each row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trackwell.media.base import require
from trackwell.plot.custom_chart import CustomChart, plot_table
from trackwell.table import Table


def _np() -> Any:
    return require("numpy", "trackwell.plot curves")


def binary_clf_curve(y_true: Any, y_score: Any) -> tuple[Any, Any, Any]:
    """False and true positive counts at each distinct score, highest score first
    (scikit-learn's ``_binary_clf_curve``); ``y_true`` is a boolean array."""
    np = _np()
    order = np.argsort(y_score, kind="mergesort")[::-1]
    y_score = y_score[order]
    y_true = y_true[order]
    distinct = np.where(np.diff(y_score))[0]
    idx = np.r_[distinct, y_true.size - 1]
    tps = np.cumsum(y_true, dtype=np.float64)[idx]
    fps = 1 + idx - tps
    return fps, tps, y_score[idx]


def roc_points(y_true: Any, y_score: Any) -> tuple[Any, Any]:
    """fpr, tpr as ``sklearn.metrics.roc_curve(y_true, y_score)`` (drop_intermediate=True)."""
    np = _np()
    fps, tps, _ = binary_clf_curve(y_true, y_score)
    if len(fps) > 2:
        keep = np.where(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])[0]
        fps, tps = fps[keep], tps[keep]
    fps = np.r_[0, fps]
    tps = np.r_[0, tps]
    fpr = fps / fps[-1] if fps[-1] > 0 else np.full(fps.shape, np.nan)
    tpr = tps / tps[-1] if tps[-1] > 0 else np.full(tps.shape, np.nan)
    return fpr, tpr


def pr_points(y_true: Any, y_score: Any) -> tuple[Any, Any]:
    """precision, recall as ``sklearn.metrics.precision_recall_curve(y_true, y_score)``."""
    np = _np()
    fps, tps, _ = binary_clf_curve(y_true, y_score)
    ps = tps + fps
    precision = np.divide(tps, ps, out=np.zeros_like(tps), where=ps != 0)
    recall = np.ones_like(tps) if tps[-1] == 0 else tps / tps[-1]
    return np.r_[precision[::-1], 1], np.r_[recall[::-1], 0]


def _prepare(
    y_true: Any, y_probas: Any, labels: Sequence[Any] | None, classes_to_plot: Sequence[Any] | None, what: str
) -> tuple[Any, Any, list[tuple[Any, int, Any]]]:
    """The arrays and, for each class to plot, ``(class value, probability column, name)``."""
    np = _np()
    if y_probas is None:
        raise ValueError(
            f"{what}: y_probas is required (predicted probabilities, shape (n_samples, n_classes))"
        )
    y = np.asarray(y_true)
    p = np.asarray(y_probas, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"{what}: y_true must be 1-D (one label per sample), got shape {y.shape}")
    if p.ndim == 1:  # binary: the positive class's probability
        p = np.stack([1 - p, p], axis=1)
    if p.ndim != 2:
        raise ValueError(f"{what}: y_probas must have shape (n_samples, n_classes), got {p.shape}")
    if p.shape[0] != y.shape[0]:
        raise ValueError(f"{what}: y_true has {y.shape[0]} samples but y_probas has {p.shape[0]} rows")
    classes = np.unique(y)
    n_cols = p.shape[1]
    # Integer labels name their probability column (W&B's convention); other labels
    # (strings) are columns in sorted order, as in a scikit-learn model's classes_.
    by_value = classes.dtype.kind in "iub" and (
        classes.size == 0 or (classes.min() >= 0 and classes.max() < n_cols)
    )
    if not by_value and classes.size != n_cols:
        raise ValueError(
            f"{what}: y_true has {classes.size} classes {classes.tolist()} but y_probas has {n_cols} columns"
        )
    wanted = classes if classes_to_plot is None else np.asarray(classes_to_plot)
    out = []
    for cls in wanted.tolist():
        if by_value:
            if not isinstance(cls, int) or not 0 <= cls < n_cols:
                raise ValueError(
                    f"{what}: class {cls!r} in classes_to_plot has no column in y_probas ({n_cols} columns)"
                )
            col = cls
        else:
            found = np.where(classes == cls)[0]
            if found.size == 0:
                raise ValueError(
                    f"{what}: class {cls!r} in classes_to_plot is not in y_true ({classes.tolist()})"
                )
            col = int(found[0])
        if labels is not None:
            if col >= len(labels):
                raise ValueError(
                    f"{what}: labels has {len(labels)} names, none for class {cls!r} (column {col})"
                )
            name = labels[col]
        else:
            name = cls
        out.append((cls, col, name))
    return y, p, out


def roc_curve(
    y_true: Sequence[Any] | Any,  # a list, or a numpy array
    y_probas: Sequence[Sequence[float]] | None = None,
    labels: list[str] | None = None,
    classes_to_plot: list[Any] | None = None,
    title: str = "ROC Curve",
    split_table: bool = False,
) -> CustomChart:
    """Receiver operating characteristic curves, one per class (one-vs-rest).

    ``y_probas`` has shape ``(n_samples, n_classes)`` (or ``(n_samples,)``: the positive
    class of a binary problem); ``labels[i]`` names class ``i``; ``classes_to_plot``
    picks classes. Table columns: ``class``, ``fpr``, ``tpr``.
    """
    np = _np()
    y, p, chosen = _prepare(y_true, y_probas, labels, classes_to_plot, "roc_curve")
    data: list[list[Any]] = []
    for cls, col, name in chosen:
        fpr, tpr = roc_points(y == cls, p[:, col])
        data.extend(
            [name, float(a), float(b)] for a, b in zip(np.round(fpr, 3), np.round(tpr, 3), strict=False)
        )
    table = Table(columns=["class", "fpr", "tpr"], data=data)
    return plot_table(
        "wandb/area-under-curve/v0",
        table,
        {"x": "fpr", "y": "tpr", "class": "class"},
        {"title": title, "x-axis-title": "False positive rate", "y-axis-title": "True positive rate"},
        split_table=split_table,
    )


def pr_curve(
    y_true: Sequence[Any] | Any,  # a list, or a numpy array
    y_probas: Sequence[Sequence[float]] | None = None,
    labels: list[str] | None = None,
    classes_to_plot: list[Any] | None = None,
    interp_size: int = 21,
    title: str = "Precision-Recall Curve",
    split_table: bool = False,
) -> CustomChart:
    """Precision-recall curves, one per class (one-vs-rest), each interpolated at
    ``interp_size`` evenly spaced recall values from 0 to 1.

    Arguments as ``roc_curve``. Table columns: ``class``, ``recall``, ``precision``.
    """
    np = _np()
    if not isinstance(interp_size, int) or interp_size < 2:
        raise ValueError(f"pr_curve: interp_size must be an int >= 2, got {interp_size!r}")
    y, p, chosen = _prepare(y_true, y_probas, labels, classes_to_plot, "pr_curve")
    grid = np.linspace(0, 1, interp_size)
    data: list[list[Any]] = []
    for cls, col, name in chosen:
        precision, recall = pr_points(y == cls, p[:, col])
        interp = np.interp(grid, recall[::-1], precision[::-1])  # recall ascending
        data.extend(
            [name, float(r), float(v)] for r, v in zip(np.round(grid, 3), np.round(interp, 3), strict=False)
        )
    table = Table(columns=["class", "recall", "precision"], data=data)
    return plot_table(
        "wandb/area-under-curve/v0",
        table,
        {"x": "recall", "y": "precision", "class": "class"},
        {"title": title, "x-axis-title": "Recall", "y-axis-title": "Precision"},
        split_table=split_table,
    )


def confusion_matrix(
    probs: Sequence[Sequence[float]] | None = None,
    y_true: Sequence[Any] | None = None,
    preds: Sequence[Any] | None = None,
    class_names: Sequence[str] | None = None,
    title: str = "Confusion Matrix Curve",
    split_table: bool = False,
) -> CustomChart:
    """A confusion matrix from predicted labels (``preds``) or probabilities (``probs``,
    shape ``(n_samples, n_classes)``: the arg-max is the prediction), not both.

    With ``class_names``, labels are indices into it (``0`` is ``class_names[0]``);
    without, the classes are the sorted labels seen, named ``Class_1``, ``Class_2``, ...
    Table columns: ``Actual``, ``Predicted``, ``nPredictions`` (every pair, zeros too).
    """
    np = _np()
    if y_true is None:
        raise ValueError("confusion_matrix: y_true is required")
    if probs is not None and preds is not None:
        raise ValueError("confusion_matrix: pass either probs or preds, not both")
    if probs is None and preds is None:
        raise ValueError("confusion_matrix: pass preds (predicted labels) or probs (probabilities)")
    if probs is not None:
        pr = np.asarray(probs)
        if pr.ndim != 2:
            raise ValueError(
                f"confusion_matrix: probs must have shape (n_samples, n_classes), got {pr.shape}"
            )
        preds = np.argmax(pr, axis=1).tolist()
    pred_list = _as_list(preds)
    true_list = _as_list(y_true)
    if len(pred_list) != len(true_list):
        raise ValueError(
            f"confusion_matrix: {len(pred_list)} predictions for {len(true_list)} true labels; "
            "they must match"
        )
    if class_names is not None:
        names = [str(n) for n in class_names]
        index = {i: i for i in range(len(names))}
        for what, values in (("y_true", true_list), ("predictions", pred_list)):
            bad = sorted({v for v in values if v not in index}, key=repr)
            if bad:
                raise ValueError(
                    f"confusion_matrix: {what} has labels {bad[:5]} outside 0..{len(names) - 1} "
                    f"(class_names has {len(names)} names)"
                )
    else:
        seen = sorted(set(true_list) | set(pred_list))
        index = {v: i for i, v in enumerate(seen)}
        names = [f"Class_{i + 1}" for i in range(len(seen))]
    n = len(names)
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, ([index[v] for v in true_list], [index[v] for v in pred_list]), 1)
    data = [[names[i], names[j], int(counts[i, j])] for i in range(n) for j in range(n)]
    table = Table(columns=["Actual", "Predicted", "nPredictions"], data=data)
    return plot_table(
        "wandb/confusion_matrix/v1",
        table,
        {"Actual": "Actual", "Predicted": "Predicted", "nPredictions": "nPredictions"},
        {"title": title},
        split_table=split_table,
    )


def _as_list(values: Any) -> list[Any]:
    if hasattr(values, "tolist"):
        out: list[Any] = values.tolist()
        return out
    return [v.item() if hasattr(v, "item") else v for v in values]
