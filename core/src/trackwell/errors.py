"""Exceptions and warnings trackwell raises.

    TrackwellError            base of everything trackwell raises on purpose
    ├── UsageError            an API called in a way or at a time it does not allow
    │   ├── RunFinishedError  a call on a run after ``finish()``
    │   └── ConfigError       a config value changed without ``allow_val_change``
    ├── RunDirError           the run directory cannot be created or written (at ``init()``)
    ├── CorruptRunLog         a file that is not a run log was given to a reader
    ├── RunNotFoundError      ``Api.run(path)`` found no such run (also ``LookupError``, ``ValueError``)
    └── CommError             a request to a trackwell server failed (W&B's ``CommError``)
        ├── AuthenticationError   the server refused the API key, or none was given (HTTP 401)
        └── NotFoundError         no such entity, project or file there (also ``LookupError``)

    TrackwellWarning          base of the warnings (filter them with ``warnings``)
    ├── DataDroppedWarning    a logged value or row was not recorded, and why
    ├── SkippedRunWarning     ``Api.runs()`` skipped a run directory it could not read
    └── PluginWarning         a plugin failed to load or raised in a hook, and was skipped

Bad keys raise ``TypeError`` (as W&B does) so generic handlers keep working.
"""

from __future__ import annotations

from typing import Any


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


class PluginWarning(TrackwellWarning):
    """A plugin could not be loaded, or one of its hooks raised; the run goes on without it."""


class ConfigError(UsageError):
    """A config key was changed without ``allow_val_change=True``, or config input is invalid."""


class RunNotFoundError(TrackwellError, LookupError, ValueError):
    """``api.run(path)`` found no run at that path.

    Also a ``ValueError`` because W&B's ``api.run()`` raises ``ValueError("Could not
    find run ...")``, and code written for it catches that.
    """


class CommError(TrackwellError):
    """A request to a trackwell server failed: unreachable, refused, or answered an error.

    W&B's ``wandb.CommError``: ``exc`` is the underlying exception when there is one,
    ``status`` the HTTP status (``None`` when no answer came), ``code`` the server's
    machine-readable error code.
    """

    def __init__(
        self,
        message: str,
        exc: BaseException | None = None,
        status: int | None = None,
        code: str | None = None,
        body: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exc = exc
        self.status = status
        self.code = code
        self.body = body  # the decoded error body (a 409 sequence_gap carries last_seq)
        self.retry_after = retry_after  # seconds a 429/503 asked the client to wait

    @property
    def retryable(self) -> bool:
        """True when trying again later may work: no answer, a 5xx, a 408 or a 429.

        No other 4xx is: the same request would be refused again (a 409
        ``sequence_gap`` is answered by resuming where the server says, not by retrying).
        """
        return self.status is None or self.status >= 500 or self.status in (408, 429)


class AuthenticationError(CommError):
    """The server refused the API key, or none was configured; ``trackwell login`` fixes it."""


class NotFoundError(CommError, LookupError):
    """The server has no such entity, project or file, or it is not readable with this key."""


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
