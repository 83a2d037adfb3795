"""The request and response bodies of the artifact routes (docs/server-api.md "Artifacts")."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: Digests one ``blobs/check`` may ask about.
MAX_CHECK = 100_000


class Missing(BaseModel):
    missing: list[str]


class DigestList(BaseModel):
    digests: list[str] = Field(max_length=MAX_CHECK)


class BlobStored(BaseModel):
    sha256: str
    size: int | None = None
    received: list[int] = []
    parts: int | None = None
    complete: bool


class Parts(BaseModel):
    received: list[int]
    parts: int | None
    complete: bool


class RunRef(BaseModel):
    entity: str
    project: str
    run_id: str


class RunSummary(RunRef):
    name: str
    state: str


class SourceRef(BaseModel):
    entity: str
    project: str
    name: str
    version: str
    version_index: int
    id: int


class VersionInfo(BaseModel):
    id: int
    entity: str
    project: str
    name: str
    type: str
    version: str
    version_index: int
    digest: str
    aliases: list[str]
    tags: list[str]
    description: str | None
    metadata: dict[str, Any]
    size: int
    file_count: int
    created_at: float
    updated_at: float
    logged_by: RunRef | None
    state: str
    source: SourceRef | None
    created: bool


class VersionList(BaseModel):
    items: list[VersionInfo]
    next_cursor: str | None = None


class CollectionInfo(BaseModel):
    name: str
    type: str
    description: str | None
    tags: list[str] = []
    version_count: int
    aliases: list[str]
    created_at: float
    updated_at: float


class CollectionList(BaseModel):
    items: list[CollectionInfo]
    next_cursor: str | None


class TypeInfo(BaseModel):
    name: str
    collections: int


class TypeList(BaseModel):
    items: list[TypeInfo]


class RunList(BaseModel):
    items: list[RunSummary]


class RegistryInfo(BaseModel):
    entity: str
    project: str
    collections: list[CollectionInfo]


class RegistryList(BaseModel):
    items: list[RegistryInfo]


class ManifestBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: int = 1
    entries: dict[str, Any] = {}


class ArtifactCreate(BaseModel):
    name: str = Field(max_length=128)
    type: str = Field(max_length=128)
    description: str | None = None
    metadata: dict[str, Any] = {}
    aliases: list[str] = []
    tags: list[str] = []
    digest: str = Field("", max_length=128)
    manifest: ManifestBody = ManifestBody()
    run: RunRef | None = None
    client_id: str | None = Field(None, min_length=1, max_length=64)
    incremental: bool = False


class VersionPatch(BaseModel):
    aliases: list[str] | None = None
    tags: list[str] | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None


class CollectionPatch(BaseModel):
    description: str | None = None
    tags: list[str] | None = Field(default=None, max_length=1000)


class UseBody(BaseModel):
    artifact: str = Field(max_length=600)
    use_as: str | None = None


class LinkBody(BaseModel):
    source: str = Field(max_length=600)
    aliases: list[str] = []
