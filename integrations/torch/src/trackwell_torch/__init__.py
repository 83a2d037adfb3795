"""trackwell for PyTorch: ``run.watch(model)`` histograms and distributed-training helpers.

``run.watch``/``trackwell.watch`` (and ``unwatch``) in the core call ``watch`` and
``unwatch`` here. torch is imported when one of them is first used, not by
``import trackwell_torch`` (the trackwell plugin of this package is loaded at every
``init()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trackwell.extend import lazy_exports

if TYPE_CHECKING:
    from trackwell_torch.hooks import unwatch, watch

__version__ = "0.1.0"
__all__ = ["unwatch", "watch"]

_EXPORTS = {"watch": ("hooks", "watch"), "unwatch": ("hooks", "unwatch")}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, __all__)
