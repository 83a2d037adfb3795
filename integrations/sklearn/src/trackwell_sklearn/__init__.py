"""trackwell for scikit-learn: W&B's ``wandb.sklearn`` plots, logged to the current run.

``plot_classifier``, ``plot_regressor`` and ``plot_clusterer`` log a model's whole set
of charts; ``plot_roc``, ``plot_confusion_matrix`` and the other ``plot_*`` functions
log one each. Every chart is a ``trackwell.plot_table`` chart (a Table and the Vega-Lite
spec that draws it), under W&B's history keys. Reachable as
``trackwell.integration.sklearn`` and ``trackwell.sklearn`` (``wandb.sklearn`` with
``import trackwell as wandb``). scikit-learn is imported on first use, not by
``import trackwell_sklearn`` (the trackwell plugin of this package is loaded at every
``init()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trackwell.extend import lazy_exports

if TYPE_CHECKING:
    from trackwell_sklearn.plots import (
        plot_calibration_curve,
        plot_class_proportions,
        plot_classifier,
        plot_clusterer,
        plot_confusion_matrix,
        plot_elbow_curve,
        plot_feature_importances,
        plot_learning_curve,
        plot_outlier_candidates,
        plot_precision_recall,
        plot_regressor,
        plot_residuals,
        plot_roc,
        plot_silhouette,
        plot_summary_metrics,
    )

__version__ = "0.1.0"
__all__ = [
    "plot_calibration_curve",
    "plot_class_proportions",
    "plot_classifier",
    "plot_clusterer",
    "plot_confusion_matrix",
    "plot_elbow_curve",
    "plot_feature_importances",
    "plot_learning_curve",
    "plot_outlier_candidates",
    "plot_precision_recall",
    "plot_regressor",
    "plot_residuals",
    "plot_roc",
    "plot_silhouette",
    "plot_summary_metrics",
]

_EXPORTS = {name: ("plots", name) for name in __all__}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, __all__)
