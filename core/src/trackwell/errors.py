"""Exceptions and warnings trackwell raises.

    TrackwellError            base of everything trackwell raises on purpose
    ├── UsageError            an API called in a way or at a time it does not allow
    │   ├── RunFinishedError  a call on a run after ``finish()``
    │   └── ConfigError       a config value changed without ``allow_val_change``
    ├── RunDirError           the run directory cannot be created or written (at ``init()``)
    ├── CorruptRunLog         a file that is not a run log was given to a reader
    └── RunNotFoundError      ``Api.run(path)`` found no such run (also a ``LookupError``)

    TrackwellWarning          base of the warnings (filter them with ``warnings``)
    ├── DataDroppedWarning    a logged value or row was not recorded, and why
    └── SkippedRunWarning     ``Api.runs()`` skipped a run directory it could not read

Bad keys raise ``TypeError`` (as W&B does) so generic handlers keep working.
"""

from __future__ import annotations


class TrackwellError(Exception):
    """Base class of trackwell's own errors."""


class UsageError(TrackwellError):
    """The API was called in a way, or at a time, that it does not allow."""


class RunFinishedError(UsageError):
    """A logging call reached a run that has already finished."""


class RunDirError(TrackwellError):
    """The run directory cannot be created or written; raised by ``init()``."""


class CorruptRunLog(TrackwellError):
    """The file is not a trackwell run log (its header is wrong)."""


class TrackwellWarning(UserWarning):
    """Base class of trackwell's warnings."""


class DataDroppedWarning(TrackwellWarning):
    """Something passed to ``log()`` was not recorded; the message says what and why."""


class ConfigError(UsageError):
    """A config key was changed without ``allow_val_change=True``, or config input is invalid."""


class RunNotFoundError(TrackwellError, LookupError):
    """``api.run(path)`` found no local run with that id (and project, if given)."""


class SkippedRunWarning(TrackwellWarning):
    """``api.runs()`` skipped a run directory it could not read; the message says why."""


def warn_user(message: str, category: type[Warning] = TrackwellWarning) -> None:
    """Warn, attributing the warning to the first caller outside trackwell.

    A fixed ``stacklevel`` points into trackwell whenever the call path changes
    (nested values, module-level shortcuts); walking the stack always points at the
    user's line, which is what makes a warning actionable.
    """
    import sys
    import warnings

    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None:
        name = frame.f_globals.get("__name__", "")
        if name != "trackwell" and not name.startswith("trackwell."):
            break
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
