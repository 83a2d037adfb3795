"""A run used from a process it was not started in: refused with a clear error, never lost.

A run's rows reach its log through a writer thread of the process that called
``init()``. A forked child gets a copy of the run but not that thread, so its rows
would go to a queue nobody reads; a spawned child gets nothing (the run cannot be
pickled). W&B's service process lets a child log into the parent's run; here both
ways raise ``RunInChildError`` on first use, saying what to do instead.
"""

from __future__ import annotations

import os
import weakref
from typing import TYPE_CHECKING, Any

from trackwell.errors import UsageError

if TYPE_CHECKING:
    from trackwell.run import Run

_HOW = (
    "log from the process that called trackwell.init() (send values back with a "
    "multiprocessing.Queue), or start a run in the child (a run of its own, or one "
    "shared run written by every process: mode='shared', see 'Distributed training' in docs/guide.md)"
)


class RunInChildError(UsageError, TypeError):
    """A run was pickled for, or used in, a process other than the one that started it.

    A ``TypeError`` too, as pickling an object that cannot be pickled raises.
    """


#: runs with a writer thread in this process, and that process's id
_live: weakref.WeakKeyDictionary[Run, int] = weakref.WeakKeyDictionary()


def track(run: Run) -> None:
    """Remember ``run``: a fork made while it is live turns it off in the child."""
    _live[run] = os.getpid()


def refuse_pickle(run: Run) -> RunInChildError:
    return RunInChildError(
        f"run {run.id} cannot be sent to another process (multiprocessing, pickle): what the "
        f"child logged would not reach the run. Instead, {_HOW}."
    )


class _Refused:
    """A forked child's stand-in for a run's writer queue: every record put there raises."""

    def __init__(self, run_id: str, parent: int) -> None:
        self.message = (
            f"run {run_id} was started in process {parent}, not in this forked child: what is "
            f"logged here would be lost. Instead, {_HOW}."
        )

    def __call__(self, *_args: Any, **_kwargs: Any) -> Any:
        raise RunInChildError(self.message)

    append = __call__

    def __len__(self) -> int:
        return 0


def _after_fork_in_child() -> None:
    """Turn off the child's copies of live runs: what writes raises, and finish() is the parent's."""
    for run, parent in list(_live.items()):
        run._turn_off_in_fork(_Refused(run.id, parent), _parent_finishes)
    _live.clear()


def _parent_finishes(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """A forked child's ``finish()``: the run is the parent's to end."""


os.register_at_fork(after_in_child=_after_fork_in_child)
