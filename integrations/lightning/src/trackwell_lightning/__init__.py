"""trackwell for PyTorch Lightning: ``Trainer(logger=TrackwellLogger(...))``.

``TrackwellLogger`` takes the arguments of Lightning's own ``WandbLogger`` and is also
exported under that name, so switching is a change of import.
"""

from __future__ import annotations

from trackwell_lightning.logger import TrackwellLogger

__version__ = "0.1.0"
__all__ = ["TrackwellLogger", "WandbLogger"]

#: Lightning's name for the same logger.
WandbLogger = TrackwellLogger
