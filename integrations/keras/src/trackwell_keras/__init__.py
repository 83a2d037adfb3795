"""trackwell for Keras 3: callbacks for ``model.fit`` with W&B's names and arguments.

- ``TrackwellMetricsLogger`` / ``WandbMetricsLogger``: metrics and learning rate per
  epoch, per batch or every N batches.
- ``TrackwellModelCheckpoint`` / ``WandbModelCheckpoint``: ``keras.callbacks.ModelCheckpoint``
  whose saved models are logged as model artifacts.
- ``TrackwellEvalCallback`` / ``WandbEvalCallback``: base class for validation tables
  of ground truth and predictions.
- ``WandbCallback``: W&B's older all-in-one callback (metrics per epoch, best model).

All of them log to the current run: call ``trackwell.init()`` first.
"""

from __future__ import annotations

from trackwell_keras.checkpoint import TrackwellModelCheckpoint
from trackwell_keras.eval_callback import TrackwellEvalCallback
from trackwell_keras.legacy import WandbCallback
from trackwell_keras.metrics_logger import TrackwellMetricsLogger

__version__ = "0.1.0"
__all__ = [
    "TrackwellEvalCallback",
    "TrackwellMetricsLogger",
    "TrackwellModelCheckpoint",
    "WandbCallback",
    "WandbEvalCallback",
    "WandbMetricsLogger",
    "WandbModelCheckpoint",
]

#: W&B's names for the same callbacks.
WandbMetricsLogger = TrackwellMetricsLogger
WandbModelCheckpoint = TrackwellModelCheckpoint
WandbEvalCallback = TrackwellEvalCallback
