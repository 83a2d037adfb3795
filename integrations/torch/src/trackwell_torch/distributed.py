"""Logging distributed (DDP) training: three ways, none of which can hang.

- ``init_rank_zero(**init_kwargs)``: rank 0 logs a normal run; every other rank gets a
  disabled run with the same API (``log``, ``watch``, ``finish`` do nothing), so the
  training script needs no ``if rank == 0`` around its logging.
- ``init_per_rank(group=..., job_type=..., **init_kwargs)``: every process logs its own
  run in one ``group``; run names end in ``-rank<N>``.
- ``init_shared(id=..., **init_kwargs)``: every process writes one shared run (W&B's
  ``mode="shared"``): rank 0 is the primary (it owns the run's name, config, summary
  and final state), the others attach with the label ``rank_<N>``; history rows come
  from every process and system metrics are labelled ``system/rank_<N>/...``.

The rank comes from the environment the launchers set (``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``: torchrun, Lightning, accelerate; ``SLURM_PROCID``), or from an
initialized ``torch.distributed`` process group. Nothing here calls a collective:
``init()`` and ``finish()`` never wait on another rank, so a crashed rank cannot
block the others (its run is marked crashed by the server once its heartbeat stops).
Importing this module imports no torch; ``torch.distributed`` is consulted only when
torch is already imported.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import trackwell
from trackwell.errors import UsageError
from trackwell.extend import Run, Settings


def _env_int(*names: str) -> int | None:
    for name in names:
        value = os.environ.get(name)
        if value is not None:
            try:
                return int(value)
            except ValueError:
                continue
    return None


def _process_group() -> Any:
    """``torch.distributed`` when torch is imported and a process group is up, else None."""
    if "torch" not in sys.modules:
        return None
    import torch.distributed as dist

    try:
        return dist if dist.is_available() and dist.is_initialized() else None
    except Exception:  # a destroyed or half-built group: fall back to the environment
        return None


def rank() -> int:
    """This process's global rank (0 when not distributed). Local; never a collective."""
    dist = _process_group()
    if dist is not None:
        return int(dist.get_rank())
    found = _env_int("RANK", "SLURM_PROCID", "LOCAL_RANK", "JSM_NAMESPACE_RANK")
    return 0 if found is None else found


def local_rank() -> int:
    """This process's rank on its machine (``LOCAL_RANK``; else the global rank)."""
    found = _env_int("LOCAL_RANK", "SLURM_LOCALID")
    return rank() if found is None else found


def world_size() -> int:
    """How many processes the job has (1 when not distributed)."""
    dist = _process_group()
    if dist is not None:
        return int(dist.get_world_size())
    found = _env_int("WORLD_SIZE", "SLURM_NTASKS")
    return 1 if found is None else found


def is_rank_zero() -> bool:
    return rank() == 0


def init_rank_zero(**init_kwargs: Any) -> Run:
    """``trackwell.init(**init_kwargs)`` on rank 0; a disabled run on every other rank."""
    if rank() == 0:
        return trackwell.init(**init_kwargs)
    kwargs = {k: v for k, v in init_kwargs.items() if k not in ("mode", "settings")}
    return trackwell.init(mode="disabled", **kwargs)


def init_per_rank(group: str, job_type: str | None = "train", **init_kwargs: Any) -> Run:
    """One run per process, all in ``group``; the run name is ``<name or group>-rank<N>``.

    The rank is also in the run's config (``rank``, ``local_rank``, ``world_size``).
    """
    if not group:
        raise UsageError("init_per_rank() needs a group name shared by every process of the job")
    r = rank()
    base = init_kwargs.pop("name", None) or group
    config = dict(init_kwargs.pop("config", None) or {})
    config.setdefault("rank", r)
    config.setdefault("local_rank", local_rank())
    config.setdefault("world_size", world_size())
    return trackwell.init(
        group=group, job_type=job_type, name=f"{base}-rank{r}", config=config, **init_kwargs
    )


def shared_settings(primary: bool, label: str, settings: Settings | dict[str, Any] | None = None) -> Settings:
    """W&B's shared-mode settings: ``Settings(mode="shared", x_primary=..., x_label=...)``."""
    base: dict[str, Any] = (
        dict(settings._explicit) if isinstance(settings, Settings) else dict(settings or {})
    )
    base.update(mode="shared", x_primary=primary, x_label=label)
    return Settings(**base)


def init_shared(id: str, primary_rank: int = 0, **init_kwargs: Any) -> Run:
    """Every process writes run ``id``: ``primary_rank`` owns it, the others attach as ``rank_<N>``.

    Generate ``id`` once before the processes start (or on rank 0 and pass it down:
    an environment variable set by the launcher works, a collective is not needed).
    Needs a trackwell server (without one each process logs offline on its own).
    """
    if not id:
        raise UsageError("init_shared() needs the run id every process writes to (id=...)")
    r = rank()
    settings = shared_settings(r == primary_rank, f"rank_{r}", init_kwargs.pop("settings", None))
    return trackwell.init(id=id, settings=settings, **init_kwargs)
