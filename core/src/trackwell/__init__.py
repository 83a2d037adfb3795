"""trackwell (work in progress: the run API lands here next)."""

from trackwell._version import __version__

__all__ = ["__version__"]
