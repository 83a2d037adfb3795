"""trackwell for Hugging Face transformers: ``TrainingArguments(report_to="trackwell")``.

Importing this package (or just ``trackwell``) is enough: ``import trackwell`` sets a
post-import hook, so the moment transformers defines its integration table (or at once,
if it already has) ``"trackwell"`` is added to the names ``report_to`` accepts and to
``report_to="all"``, and, when the real ``wandb`` package is not installed,
``report_to="wandb"`` reports here too, so W&B code runs unchanged under
``import trackwell as wandb``. ``TrackwellCallback`` can also be passed to
``Trainer(callbacks=[...])`` by hand. This module itself imports no framework (its
trackwell plugin is loaded at every ``init()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trackwell  # noqa: F401  (installs the hook that registers report_to="trackwell")
from trackwell.extend import lazy_exports

if TYPE_CHECKING:
    from trackwell_transformers._register import SUPPORTED_TRANSFORMERS, register_with_transformers
    from trackwell_transformers.callback import TrackwellCallback

    WandbCallback = TrackwellCallback

__version__ = "0.1.0"
__all__ = ["SUPPORTED_TRANSFORMERS", "TrackwellCallback", "WandbCallback", "register_with_transformers"]

_EXPORTS = {
    "TrackwellCallback": ("callback", "TrackwellCallback"),
    "WandbCallback": ("callback", "TrackwellCallback"),
    "register_with_transformers": ("_register", "register_with_transformers"),
    "SUPPORTED_TRANSFORMERS": ("_register", "SUPPORTED_TRANSFORMERS"),
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, __all__)
