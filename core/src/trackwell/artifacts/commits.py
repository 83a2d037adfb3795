"""Artifacts logged in this process, waiting for the sender to report their versions.

The run's sender (a thread) or ``trackwell sync`` uploads a logged artifact and
commits its version on the server, then calls ``notify``; the ``Artifact`` object the
caller holds learns its version from it (``artifact.wait()`` returns then).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from trackwell.artifacts.manifest import ArtifactError

if TYPE_CHECKING:
    from trackwell.artifacts.artifact import Artifact

#: Artifacts logged in this process, by client id, until the sender reports their version.
_LIVE: weakref.WeakValueDictionary[str, Artifact] = weakref.WeakValueDictionary()
#: Versions the sender committed, by client id (for ``link``/``use`` of an artifact
#: object logged earlier in the same run and for ``wait()`` on objects made later).
COMMITTED: dict[str, dict[str, Any]] = {}


def track(art: Artifact) -> None:
    """``art`` is logged: ``notify`` reaches it when the sender reports its version."""
    _LIVE[art._client_id] = art


def notify(client_id: str, info: Mapping[str, Any] | None, error: str | None = None) -> None:
    """Called by the sender: the artifact logged as ``client_id`` is committed (or failed)."""
    if info is not None:
        COMMITTED[client_id] = dict(info)
    art = _LIVE.get(client_id)
    if art is not None:
        art._committed(info, error)


def wait(art: Artifact, timeout: float | None) -> None:
    """``Artifact.wait``: block until the sender reports ``art`` committed; raise if it failed."""
    if art._state in ("COMMITTED",):
        return
    if art._state == "PENDING":
        raise ArtifactError(f"artifact {art._name} is not logged; call run.log_artifact() first")
    if art._offline():
        raise ArtifactError(
            f"artifact {art._name} was logged by an offline run: it gets its version when "
            "`trackwell sync` uploads the run"
        )
    run = art._run
    if run is not None:
        run._sync_log()  # the record reaches the run log, so the sender can see it
    if not art._done.wait(timeout):
        raise TimeoutError(f"artifact {art._name} was not committed within {timeout} s")
    if art._state == "FAILED":
        raise ArtifactError(f"artifact {art._name} could not be logged: {art._error}")
