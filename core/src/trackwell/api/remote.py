"""``ServerApi``: W&B's Public API answered by a trackwell server (docs/server-api.md).

``trackwell.Api()`` becomes one of these when a server is configured. As W&B's
``Api``, it caches what it fetched — the same ``api.run(path)`` twice is one
request — until ``api.flush()``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from trackwell._pipeline.transport import run_path
from trackwell.api.base import Api, server_settings
from trackwell.api.remote_http import Fetched, ServerClient
from trackwell.api.remote_pages import ServerRuns
from trackwell.api.remote_runs import ServerRun
from trackwell.errors import NotFoundError, RunNotFoundError, UsageError

if TYPE_CHECKING:
    from trackwell.api.sweeps import Sweep


class Viewer:
    """Who the API key belongs to (W&B's ``api.viewer``): ``username``, ``entity``, ``teams``, ``admin``."""

    def __init__(self, info: Mapping[str, Any]) -> None:
        self.username: str = info["user"]
        self.entity: str = info.get("entity") or self.username
        self.admin = bool(info.get("admin"))
        self.teams: list[str] = list(info.get("teams") or ())

    @property
    def name(self) -> str:
        return self.username

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class Project:
    """A project on the server (W&B's ``Project``); ``project.runs(...)`` lists its runs."""

    def __init__(self, api: ServerApi, info: Mapping[str, Any]) -> None:
        self._api = api
        self.entity: str = info["entity"]
        self.name: str = info["name"]
        self.created_at: float | None = info.get("created_at")
        self.run_count: int = int(info.get("run_count") or 0)
        self.visibility: str | None = info.get("visibility")

    @property
    def path(self) -> list[str]:
        return [self.entity, self.name]

    def runs(self, **kwargs: Any) -> ServerRuns:
        """``api.runs("<entity>/<project>", ...)`` for this project."""
        return self._api.runs(f"{self.entity}/{self.name}", **kwargs)

    def artifact_types(self, per_page: int = 50) -> list[Any]:
        """The artifact types used in this project (W&B's ``Project.artifacts_types``)."""
        return self._api.artifact_types(f"{self.entity}/{self.name}")

    artifacts_types = artifact_types  # W&B's spelling of the method; its docs use both

    def __repr__(self) -> str:
        return f"<Project {self.entity}/{self.name}>"


class ServerApi(Api):
    """The Public API over a trackwell server. Made by ``trackwell.Api()``; see ``trackwell.api.base``.

    ``root`` is there because ``Api(...)`` hands its arguments on; it is always None here.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        overrides: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        api_key: str | None = None,
    ) -> None:
        resolved = server_settings(overrides, api_key)
        if not resolved.base_url:
            raise UsageError(
                "no trackwell server is configured: run `trackwell login` or set TRACKWELL_BASE_URL"
            )
        self.settings = dict(overrides or {})
        self.settings.update(base_url=resolved.base_url, entity=resolved.entity, project=resolved.project)
        self.api_key = resolved.api_key  # W&B's ``api.api_key``
        self._client = ServerClient(resolved.base_url, resolved.api_key, timeout)
        self._viewer: Viewer | None = None
        self._runs: dict[tuple[str, str, str], ServerRun] = {}
        self._queries: dict[str, ServerRuns] = {}

    @property
    def client(self) -> ServerClient:
        """The client every request goes through; ``api.client.base_url`` is the server's URL."""
        return self._client

    @property
    def viewer(self) -> Viewer:
        """The user the API key belongs to (one request, then cached)."""
        if self._viewer is None:
            self._viewer = Viewer(self._client.get("/viewer"))
        return self._viewer

    @property
    def default_entity(self) -> str:
        """``overrides["entity"]`` or the configured entity, else the key owner's own entity."""
        return self.settings.get("entity") or self.viewer.entity

    def flush(self) -> None:
        """Drop every cached run, query and the viewer, so the next call asks the server again."""
        self._runs.clear()
        self._queries.clear()
        self._viewer = None

    # -- queries -----------------------------------------------------------------
    def runs(
        self,
        path: str | None = None,
        filters: Mapping[str, Any] | None = None,
        order: str | None = "-created_at",
        per_page: int = 50,
        include_sweeps: bool = True,
    ) -> ServerRuns:
        """Runs of ``"entity/project"`` (or ``"project"`` of the default entity), fetched as used.

        ``filters`` is W&B's MongoDB-style dict (``$and $or $gt $gte $lt $lte $in $nin
        $regex $ne $exists`` over ``config.*``, ``summary_metrics.*``, ``state``,
        ``tags``, ``display_name``, ``created_at``, ``group``, ``job_type``), applied by
        the server; ``order`` is ``-created_at`` (default), ``+created_at`` or a field
        such as ``-summary_metrics.acc``. ``include_sweeps`` is accepted for W&B
        compatibility.
        """
        entity, project = self._split_project(path)
        if project is None:
            raise UsageError(
                "api.runs() needs a project: api.runs('<entity>/<project>'), "
                "or Api(overrides={'project': ...})"
            )
        entity = entity or self.default_entity
        fresh = ServerRuns(self._client, entity, project, filters, order, per_page)  # checks arguments
        return self._queries.setdefault(fresh.query_key, fresh)

    def run(self, path: str) -> ServerRun:
        """The run at ``"entity/project/run_id"``, ``"project/run_id"`` or ``"entity/project/runs/run_id"``.

        Raises ``RunNotFoundError`` (a ``ValueError``, as W&B's) naming the path when
        the server has no such run, or this key may not read it.
        """
        entity, project, run_id = self._split_run_path(path)
        if project is None:
            project = self.settings.get("project")
            if project is None:
                raise UsageError(
                    f"api.run({path!r}): give '<entity>/<project>/<run_id>' or '<project>/<run_id>'"
                )
        key = (entity or self.default_entity, project, run_id)
        cached = self._runs.get(key)
        if cached is None:
            try:
                info = self._client.get(run_path(*key))
            except NotFoundError as exc:
                raise RunNotFoundError(
                    f"Could not find run {'/'.join(key)} on {self._client.base_url} "
                    "(no such run, or not readable with this API key)"
                ) from exc
            cached = self._runs[key] = ServerRun(self._client, info, self._runs)
        return cached

    def projects(self, entity: str | None = None, per_page: int = 200) -> Fetched[Project]:
        """The projects of ``entity`` (the default entity if None) this key may read.

        ``per_page`` is accepted for W&B compatibility; the server sends them all at once.
        """
        listing = self._client.get("/projects", {"entity": entity or self.default_entity})
        return Fetched(Project(self, info) for info in listing["projects"])

    def sweep(self, path: str) -> Sweep:
        """The sweep at ``"entity/project/sweep_id"`` (or ``"project/sweep_id"``): ``runs``,
        ``best_run()``, ``config``, ``state``. ``NotFoundError`` if the server has none."""
        from trackwell.api.sweeps import Sweep

        entity, project, sweep_id = self._split_run_path(path)
        project = project or self.settings.get("project")
        if project is None:
            raise UsageError(f"api.sweep({path!r}): give '<entity>/<project>/<sweep_id>'")
        return Sweep(self, entity or self.default_entity, project, sweep_id)

    def project(self, name: str, entity: str | None = None) -> Project:
        """One project; ``NotFoundError`` if the server has none by that name (or it is private)."""
        entity = entity or self.default_entity
        info = self._client.get("/projects/" + "/".join(quote(p, safe="") for p in (entity, name)))
        return Project(self, info)

    # -- artifacts (bodies in trackwell.api.artifacts) --------------------------------
    def artifact(self, name: str, type: str | None = None) -> Any:
        """The version ``"entity/project/name:alias"`` (or ``"project/name:v1"``; ``"name"``: latest)."""
        from trackwell.api import artifacts

        return artifacts.artifact(self, name, type)

    def artifact_exists(self, name: str, type: str | None = None) -> bool:
        from trackwell.api import artifacts

        return artifacts.artifact_exists(self, name, type)

    def artifacts(self, type_name: str, name: str, per_page: int = 50, tags: list[str] | None = None) -> Any:
        """The versions of collection ``"entity/project/name"``, newest first."""
        from trackwell.api import artifacts

        return artifacts.artifacts(self, type_name, name, per_page, tags)

    def artifact_versions(self, type_name: str, name: str, per_page: int = 50) -> Any:
        """W&B's older name for ``artifacts(type_name, name)``."""
        return self.artifacts(type_name, name, per_page)

    def artifact_type(self, type_name: str, project: str | None = None) -> Any:
        from trackwell.api import artifacts

        return artifacts.artifact_type(self, type_name, project)

    def artifact_types(self, project: str | None = None) -> Any:
        from trackwell.api import artifacts

        return artifacts.artifact_types(self, project)

    def artifact_collection(self, type_name: str, name: str) -> Any:
        from trackwell.api import artifacts

        return artifacts.artifact_collection(self, type_name, name)

    def artifact_collections(self, project_name: str, type_name: str, per_page: int = 50) -> Any:
        from trackwell.api import artifacts

        return artifacts.artifact_collections(self, project_name, type_name, per_page)

    def artifact_collection_exists(self, name: str, type: str) -> bool:
        from trackwell.api import artifacts

        return artifacts.artifact_collection_exists(self, name, type)

    def registries(self, entity: str | None = None) -> Any:
        """Registry projects (``wandb-registry-*`` or holding links) with their collections."""
        from trackwell.api import artifacts

        return artifacts.registries(self, entity)

    def __repr__(self) -> str:
        return f"<trackwell.Api server={self._client.base_url!r}>"
