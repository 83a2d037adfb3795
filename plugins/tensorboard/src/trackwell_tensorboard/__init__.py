"""trackwell-tensorboard: TensorBoard event files into trackwell runs, and ``sync_tensorboard``.

- ``trackwell import tensorboard LOGDIR`` / :func:`import_logdir`: import a logdir;
- ``trackwell.init(sync_tensorboard=True)``: every SummaryWriter (torch.utils.tensorboard,
  tensorboardX) logs to the run as it writes; :func:`patch` does it by hand;
- :func:`read_events`: the events of one file, decoded without TensorFlow.

The plugin module (entry point ``tensorboard``) is ``trackwell_tensorboard.plugin``.
Names here are loaded on first use, so importing the package costs nothing.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "import_logdir", "patch", "read_events", "register_run", "unpatch"]

_WHERE = {
    "import_logdir": "trackwell_tensorboard.importer",
    "patch": "trackwell_tensorboard.sync",
    "unpatch": "trackwell_tensorboard.sync",
    "register_run": "trackwell_tensorboard.sync",
    "read_events": "trackwell_tensorboard.events",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'trackwell_tensorboard' has no attribute {name!r}")
