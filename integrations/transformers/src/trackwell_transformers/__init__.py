"""trackwell for Hugging Face transformers: ``TrainingArguments(report_to="trackwell")``.

Importing this package (or just ``trackwell``, which sets this up the moment
transformers defines its integration table) adds ``"trackwell"`` to the names
``report_to`` accepts, includes it in ``report_to="all"``, and, when the real ``wandb``
package is not installed, makes ``report_to="wandb"`` report here too, so W&B code runs
unchanged under ``import trackwell as wandb``. ``TrackwellCallback`` can also be passed
to ``Trainer(callbacks=[...])`` by hand.
"""

from __future__ import annotations

from trackwell_transformers._register import (
    SUPPORTED_TRANSFORMERS,
    register_with_transformers,
)
from trackwell_transformers.callback import TrackwellCallback

__version__ = "0.1.0"
__all__ = ["SUPPORTED_TRANSFORMERS", "TrackwellCallback", "WandbCallback", "register_with_transformers"]

#: W&B's name for the same callback.
WandbCallback = TrackwellCallback

register_with_transformers()
