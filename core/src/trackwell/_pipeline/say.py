"""Messages from the pipeline's threads to the user's terminal.

They go to the process's real stderr (``sys.__stderr__``): console capture may have
replaced ``sys.stderr``, and a message about the run log must not be written into the
run's own ``output.log``. Saying something never raises: a closed stderr costs the
message, not the writer or the sender.
"""

from __future__ import annotations

import contextlib
import sys


def stderr(message: str) -> None:
    """Print ``message`` on the process's real stderr."""
    with contextlib.suppress(Exception):
        print(message, file=sys.__stderr__ or sys.stderr)
