"""A committed artifact version's calls to the server: edit, link, delete, lineage.

``Artifact.save``, ``link``, ``delete``, ``logged_by`` and ``used_by`` call in here once
the version is on the server (a draft goes through its run instead). Lineage answers
with runs of the Public API, a layer above artifacts: it is reached through
``trackwell.active``, so this package never imports it. The HTTP client loads at the
first call, not with ``Artifact``: building a draft needs no server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from trackwell import active
from trackwell.artifacts.manifest import ArtifactError
from trackwell.errors import CommError

if TYPE_CHECKING:
    from trackwell.artifacts.artifact import Artifact
    from trackwell.artifacts.client import ArtifactClient


def save_edits(art: Artifact) -> None:
    """Store the edited ``aliases``, ``tags``, ``description`` and ``metadata`` on the server."""
    from trackwell.artifacts.client import artifact_path

    client, (e, p, n, v) = art._remote()
    body = {"aliases": [a for a in art._aliases if a != "latest"], "tags": art._tags,
            "description": art.description, "metadata": art.metadata}  # fmt: skip
    art._set_info(client.send("PATCH", artifact_path(e, p, n, v), body))


def link(client: ArtifactClient, art: Artifact, target_path: str, aliases: Sequence[str] | None) -> Any:
    """Link the committed version into ``target_path``'s collection; the linked version's info."""
    from trackwell.artifacts.client import artifact_path
    from trackwell.artifacts.upload import target_collection

    names = [aliases] if isinstance(aliases, str) else list(aliases or ())
    e, p, collection = target_collection(target_path, art._entity or "", art._project or "")
    body = {"source": f"{art._entity}/{art._project}/{art._name}:{art.version}", "aliases": names}
    return client.send("POST", artifact_path(e, p, collection, "links"), body)


def delete(art: Artifact, delete_aliases: bool) -> None:
    """Delete the version; ``ArtifactError`` when it has aliases and ``delete_aliases`` is false."""
    from trackwell.artifacts.client import artifact_path

    client, (e, p, n, v) = art._remote()
    try:
        client.transport.request(
            "DELETE",
            artifact_path(e, p, n, v),
            params={"delete_aliases": str(bool(delete_aliases)).lower()},
        )
    except CommError as exc:
        if exc.code == "has_aliases":
            raise ArtifactError(
                f"artifact {art.qualified_name} has aliases {art._aliases}: "
                "pass delete_aliases=True to delete it anyway"
            ) from None
        raise
    art._state = "DELETED"


def logged_by(art: Artifact) -> Any:
    """The Public API run that logged the version, or None."""
    from trackwell.artifacts.client import artifact_path

    client, (e, p, n, v) = art._remote()
    ref = client.get(artifact_path(e, p, n, v, "logged-by"))
    return _api_run(client, ref) if ref else None


def used_by(art: Artifact) -> list[Any]:
    """The Public API runs that used the version."""
    from trackwell.artifacts.client import artifact_path

    client, (e, p, n, v) = art._remote()
    refs = client.get(artifact_path(e, p, n, v, "used-by")).get("items") or []
    return [_api_run(client, ref) for ref in refs]


def _api_run(client: ArtifactClient, ref: Mapping[str, Any]) -> Any:
    api = active.api(client.base_url, client.api_key)
    return api.run(f"{ref['entity']}/{ref['project']}/{ref['run_id']}")
