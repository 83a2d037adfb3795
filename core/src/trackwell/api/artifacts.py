"""W&B's Public API for artifacts, answered by a trackwell server (docs/server-api.md, "Artifacts").

``ServerApi.artifact(...)`` and friends delegate here. Artifacts are read from a
server only: ``LocalApi`` says so (upload offline runs with ``trackwell sync``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from trackwell._pipeline.transport import run_path
from trackwell.api.remote_http import Fetched
from trackwell.artifacts.artifact import Artifact
from trackwell.artifacts.client import ArtifactClient, artifact_path
from trackwell.artifacts.manifest import ArtifactError
from trackwell.artifacts.names import parse_name
from trackwell.errors import NotFoundError

if TYPE_CHECKING:
    from trackwell.api.remote import ServerApi
    from trackwell.api.remote_http import ServerClient


def client_of(api: ServerApi) -> ArtifactClient:
    return artifact_client(api.client)


def artifact_client(server: ServerClient) -> ArtifactClient:
    """The ``ArtifactClient`` beside a Public API ``ServerClient`` (made once, kept on it)."""
    client: ArtifactClient | None = getattr(server, "_artifacts", None)
    if client is None:
        t = server._transport
        client = ArtifactClient(t.base_url, t.api_key, t.timeout)
        server._artifacts = client  # type: ignore[attr-defined]
    return client


def _split(api: ServerApi, name: str) -> tuple[str, str, str, str]:
    return parse_name(name, api.default_entity, api.settings.get("project"))


def artifact(api: ServerApi, name: str, type: str | None = None) -> Artifact:
    """The version ``"entity/project/name:alias"`` (``"project/name:v1"``, ``"name"`` = latest)."""
    client = client_of(api)
    e, p, n, v = _split(api, name)
    try:
        info = client.version(e, p, n, v)
    except NotFoundError:
        raise ArtifactError(f"artifact '{e}/{p}/{n}:{v}' not found on {client.base_url}") from None
    if type is not None and info.get("type") != type:
        raise ArtifactError(f"artifact '{e}/{p}/{n}:{v}' has type {info.get('type')!r}, not {type!r}")
    return Artifact._from_info(info, client)


def artifact_exists(api: ServerApi, name: str, type: str | None = None) -> bool:
    try:
        artifact(api, name, type)
    except ArtifactError:
        return False
    return True


class ArtifactCollection:
    """A collection (all versions of one artifact name; W&B's ``ArtifactCollection``)."""

    def __init__(self, client: ArtifactClient, entity: str, project: str, info: Mapping[str, Any]) -> None:
        self._client = client
        self.entity = entity
        self.project = project
        self.name: str = info["name"]
        self.type: str = info.get("type") or ""
        self.description: str | None = info.get("description")
        self.tags: list[str] = list(info.get("tags") or ())
        self.aliases: list[str] = list(info.get("aliases") or ())
        self.version_count = int(info.get("version_count") or 0)
        self.created_at = info.get("created_at")
        self.updated_at = info.get("updated_at")

    def artifacts(self, per_page: int = 50) -> Iterator[Artifact]:
        """Its versions, newest first."""
        path = artifact_path(self.entity, self.project, self.name, "versions")
        for info in self._client.pages(path, {"per_page": per_page}):
            yield Artifact._from_info(info, self._client)

    versions = artifacts

    def save(self) -> None:
        """Store an edited ``description`` and ``tags`` (words with inner spaces, as W&B's)."""
        path = artifact_path(self.entity, self.project, self.name)
        info = self._client.send("PATCH", path, {"description": self.description, "tags": list(self.tags)})
        self.tags = list(info.get("tags") or ())

    def __repr__(self) -> str:
        return f"<ArtifactCollection {self.entity}/{self.project}/{self.name} ({self.type})>"


class ArtifactType:
    """An artifact type of a project, with its collections (W&B's ``ArtifactType``)."""

    def __init__(self, client: ArtifactClient, entity: str, project: str, name: str) -> None:
        self._client = client
        self.entity = entity
        self.project = project
        self.name = name

    def collections(self, per_page: int = 50) -> Fetched[ArtifactCollection]:
        path = artifact_path(self.entity, self.project)
        params = {"type": self.name, "per_page": per_page}
        return Fetched(
            ArtifactCollection(self._client, self.entity, self.project, c)
            for c in self._client.pages(path, params)
        )

    def collection(self, name: str) -> ArtifactCollection:
        for c in self._client.pages(
            artifact_path(self.entity, self.project), {"type": self.name, "name": name}
        ):
            return ArtifactCollection(self._client, self.entity, self.project, c)
        raise ArtifactError(f"no {self.name} collection {name!r} in {self.entity}/{self.project}")

    def __repr__(self) -> str:
        return f"<ArtifactType {self.name}>"


def _project(api: ServerApi, project: str | None) -> tuple[str, str]:
    e, p = api._split_project(project)
    if p is None:
        raise ArtifactError("name a project: 'entity/project' or Api(overrides={'project': ...})")
    return e or api.default_entity, p


def artifact_types(api: ServerApi, project: str | None = None) -> list[ArtifactType]:
    client = client_of(api)
    e, p = _project(api, project)
    path = "/artifact-types/" + "/".join(quote(part, safe="") for part in (e, p))
    items = client.get(path).get("items") or []
    return [ArtifactType(client, e, p, t["name"]) for t in items]


def artifact_type(api: ServerApi, type_name: str, project: str | None = None) -> ArtifactType:
    e, p = _project(api, project)
    return ArtifactType(client_of(api), e, p, type_name)


def artifact_collections(
    api: ServerApi, project_name: str, type_name: str, per_page: int = 50
) -> Fetched[ArtifactCollection]:
    return artifact_type(api, type_name, project_name).collections(per_page)


def artifact_collection(api: ServerApi, type_name: str, name: str) -> ArtifactCollection:
    """``name`` is ``"entity/project/collection"`` or ``"project/collection"``."""
    e, p, n, _ = _split(api, name)
    return ArtifactType(client_of(api), e, p, type_name).collection(n)


def artifact_collection_exists(api: ServerApi, name: str, type: str) -> bool:
    try:
        artifact_collection(api, type, name)
    except ArtifactError:
        return False
    return True


def artifacts(
    api: ServerApi, type_name: str, name: str, per_page: int = 50, tags: list[str] | None = None
) -> Fetched[Artifact]:
    """The versions of collection ``name`` (``"entity/project/name"``), newest first; only those
    carrying every tag in ``tags`` when given."""
    e, p, n, _ = _split(api, name)
    coll = artifact_collection(api, type_name, f"{e}/{p}/{n}")
    out = list(coll.artifacts(per_page))
    if tags:
        out = [a for a in out if set(tags) <= set(a.tags)]
    return Fetched(out)


def registries(api: ServerApi, entity: str | None = None) -> list[dict[str, Any]]:
    """The registry projects of ``entity`` (``wandb-registry-*`` or holding links) and their collections."""
    client = client_of(api)
    items: list[dict[str, Any]] = (
        client.get("/registries/" + (entity or api.default_entity)).get("items") or []
    )
    return items


def run_artifacts(server: ServerClient, key: tuple[str, str, str], direction: str) -> list[Artifact]:
    """``run.logged_artifacts()`` / ``run.used_artifacts()`` of a server run."""
    client = artifact_client(server)
    items = client.get(run_path(*key, "artifacts"), {"direction": direction}).get("items") or []
    return [Artifact._from_info(info, client) for info in items]
