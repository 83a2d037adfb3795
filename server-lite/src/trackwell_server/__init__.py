"""trackwell-server: the reference server for the trackwell SDK (docs/server-api.md)."""

from trackwell_server._version import __version__

__all__ = ["__version__"]
