"""trackwell for PyTorch Lightning: ``Trainer(logger=TrackwellLogger(...))``.

``TrackwellLogger`` takes the arguments of Lightning's own ``WandbLogger`` and is also
exported under that name, so switching is a change of import. Lightning is imported
when the logger is first used, not by ``import trackwell_lightning`` (the trackwell
plugin of this package is loaded at every ``init()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trackwell_lightning.logger import TrackwellLogger

    WandbLogger = TrackwellLogger

__version__ = "0.1.0"
__all__ = ["TrackwellLogger", "WandbLogger"]


def __getattr__(name: str) -> Any:
    # WandbLogger is Lightning's name for the same logger
    if name not in ("TrackwellLogger", "WandbLogger"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from trackwell_lightning.logger import TrackwellLogger

    globals().update(TrackwellLogger=TrackwellLogger, WandbLogger=TrackwellLogger)
    return TrackwellLogger


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
