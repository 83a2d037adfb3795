"""``wandb.util`` helpers that W&B's docs call from user scripts (``wandb.util.generate_id()``).

Only the documented ones live here: the module exists so ``import trackwell as wandb`` scripts
that make their own run ids (to resume with ``id=``) run unchanged.
"""

from __future__ import annotations

from trackwell.rundir import new_run_id


def generate_id(length: int = 8) -> str:
    """A random run id of ``length`` lowercase letters and digits, the same kind ``init()`` makes."""
    return new_run_id(length)
