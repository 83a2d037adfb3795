"""The op codes of the caller → writer queue, named once.

Every item on ``Writer.queue`` is a tuple whose first element is one of these; the rest
of the tuple is the op's arguments:

    (HISTORY, row, step, timestamp)      a committed history row
    (RECORD, kind, body)                 any other record, written as is
    (STATS, sample)                      a system-metrics sample
    (OUTPUT, text)                       console output for files/output.log
    (ALERT, alert)                       an alert to record and deliver
    (SAVE, glob, base, policy)           run.save()
    (STAGE, stage, body)                 a logged artifact: ``stage(run_dir, body)`` copies its
                                         files into the run dir, then an ARTIFACT record follows
    (SYNC, event, fsync)                 set ``event`` once everything before it is written
    (FINISH, exit_code, state, event)    finish the run; the thread ends after it

They are one-letter strings, not an Enum, because the caller's thread builds a tuple per
``log()`` call and the writer compares one per item: a short interned string is the
cheapest thing to build and compare.
"""

from __future__ import annotations

from typing import Final

HISTORY: Final = "h"
RECORD: Final = "r"
STATS: Final = "s"
OUTPUT: Final = "o"
ALERT: Final = "a"
SAVE: Final = "save"
STAGE: Final = "art"
SYNC: Final = "sync"
FINISH: Final = "fin"
