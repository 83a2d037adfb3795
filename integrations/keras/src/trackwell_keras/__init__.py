"""trackwell for Keras 3: callbacks for ``model.fit`` with W&B's names and arguments.

- ``TrackwellMetricsLogger`` / ``WandbMetricsLogger``: metrics and learning rate per
  epoch, per batch or every N batches.
- ``TrackwellModelCheckpoint`` / ``WandbModelCheckpoint``: ``keras.callbacks.ModelCheckpoint``
  whose saved models are logged as model artifacts.
- ``TrackwellEvalCallback`` / ``WandbEvalCallback``: base class for validation tables
  of ground truth and predictions.
- ``WandbCallback``: W&B's older all-in-one callback (metrics per epoch, best model).

All of them log to the current run: call ``trackwell.init()`` first. Keras is imported
when one of them is first used, not by ``import trackwell_keras`` (the trackwell plugin
of this package is loaded at every ``init()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trackwell.extend import lazy_exports

if TYPE_CHECKING:
    from trackwell_keras.checkpoint import TrackwellModelCheckpoint
    from trackwell_keras.eval_callback import TrackwellEvalCallback
    from trackwell_keras.legacy import WandbCallback
    from trackwell_keras.metrics_logger import TrackwellMetricsLogger

    WandbMetricsLogger = TrackwellMetricsLogger
    WandbModelCheckpoint = TrackwellModelCheckpoint
    WandbEvalCallback = TrackwellEvalCallback

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

#: public name -> (module, attribute); the Wandb* names are W&B's for the same classes
_EXPORTS = {
    "TrackwellMetricsLogger": ("metrics_logger", "TrackwellMetricsLogger"),
    "WandbMetricsLogger": ("metrics_logger", "TrackwellMetricsLogger"),
    "TrackwellModelCheckpoint": ("checkpoint", "TrackwellModelCheckpoint"),
    "WandbModelCheckpoint": ("checkpoint", "TrackwellModelCheckpoint"),
    "TrackwellEvalCallback": ("eval_callback", "TrackwellEvalCallback"),
    "WandbEvalCallback": ("eval_callback", "TrackwellEvalCallback"),
    "WandbCallback": ("legacy", "WandbCallback"),
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, __all__)
