"""trackwell for XGBoost: ``TrackwellCallback`` (W&B's ``WandbCallback``) for training.

``xgboost.train(params, dtrain, evals=[(dvalid, "validation")], callbacks=[WandbCallback()])``
or ``XGBClassifier(callbacks=[WandbCallback()])`` logs every eval metric per round, the
best score and iteration, feature importances and (``log_model=True``) the model as an
artifact. Reachable as ``trackwell.integration.xgboost`` (``from wandb.integration.xgboost
import WandbCallback`` with ``import trackwell as wandb``). XGBoost is imported on first
use, not by ``import trackwell_xgboost`` (the trackwell plugin of this package is loaded
at every ``init()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trackwell.extend import lazy_exports

if TYPE_CHECKING:
    from trackwell_xgboost.callback import TrackwellCallback

    WandbCallback = TrackwellCallback

__version__ = "0.1.0"
__all__ = ["TrackwellCallback", "WandbCallback"]

#: public name -> (module, attribute); WandbCallback is W&B's name for the same class
_EXPORTS = {
    "TrackwellCallback": ("callback", "TrackwellCallback"),
    "WandbCallback": ("callback", "TrackwellCallback"),
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, __all__)
