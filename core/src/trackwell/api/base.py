"""``trackwell.Api``: W&B's ``wandb.Api``, answered by a server when one is configured, else from disk.

``Api()`` picks its backend once, when it is made: with ``root=`` it reads local run
directories (``LocalApi``); otherwise, when a server URL is configured (``trackwell
login``, ``TRACKWELL_BASE_URL``/``WANDB_BASE_URL``, or ``overrides={"base_url": ...}``)
it talks to that server (``ServerApi``); with neither it reads the working directory,
as it always has. Both are subclasses of ``Api``, so ``isinstance(api, trackwell.Api)``
holds for either.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from trackwell.errors import UsageError
from trackwell.settings import Settings

if TYPE_CHECKING:
    from trackwell.api.remote_pages import ServerRuns
    from trackwell.api.remote_runs import ServerRun
    from trackwell.api.runs import Run, Runs


class Api:
    """W&B's Public API: ``api.runs(...)``, ``api.run(path)``, ``api.flush()``.

    ``Api(root=DIR)`` always reads local runs; ``Api()`` uses the configured server
    if there is one. ``overrides`` takes W&B's ``{"entity", "project", "base_url",
    "api_key"}``; ``api_key`` and ``timeout`` (seconds per request) as in W&B.
    """

    settings: dict[str, Any]

    def __new__(
        cls,
        root: str | os.PathLike[str] | None = None,
        overrides: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        api_key: str | None = None,
    ) -> Api:
        if cls is Api:
            if root is None and server_settings(overrides, api_key).base_url:
                from trackwell.api.remote import ServerApi

                cls = ServerApi
            else:
                from trackwell.api.local import LocalApi

                cls = LocalApi
        return object.__new__(cls)

    @property
    def default_entity(self) -> str | None:
        """The entity ``runs()`` and ``run()`` use when a path names none."""
        return self.settings.get("entity")

    # Each backend answers these; declared here so code typed against ``trackwell.Api`` checks.
    def runs(
        self,
        path: str | None = None,
        filters: Mapping[str, Any] | None = None,
        order: str | None = "-created_at",
        per_page: int = 50,
        include_sweeps: bool = True,
    ) -> Runs | ServerRuns:
        raise NotImplementedError

    def run(self, path: str) -> Run | ServerRun:
        raise NotImplementedError

    def flush(self) -> None:
        raise NotImplementedError

    def _split_project(self, path: str | None) -> tuple[str | None, str | None]:
        """``"project"`` or ``"entity/project"`` → (entity or None, project); None → the overrides."""
        if path is None:
            return self.settings.get("entity"), self.settings.get("project")
        parts = [p for p in str(path).strip("/").split("/") if p]
        if len(parts) == 1:
            return None, parts[0]
        if len(parts) == 2:
            return parts[0], parts[1]
        raise UsageError(f"api.runs({path!r}): use 'project' or 'entity/project'")

    @staticmethod
    def _split_run_path(path: str) -> tuple[str | None, str | None, str]:
        """``id``, ``project/id``, ``entity/project/id`` or W&B's ``entity/project/runs/id``."""
        parts = [p for p in str(path).strip("/").split("/") if p]
        if len(parts) == 4 and parts[2] == "runs":  # "entity/project/runs/id", as in W&B URLs
            parts = [parts[0], parts[1], parts[3]]
        if len(parts) == 1:
            return None, None, parts[0]
        if len(parts) == 2:
            return None, parts[0], parts[1]
        if len(parts) == 3:
            return parts[0], parts[1], parts[2]
        raise UsageError(
            f"api.run({path!r}): use '<run_id>', '<project>/<run_id>' or '<entity>/<project>/<run_id>'"
        )


class SummaryView:
    """What both backends' run summaries share: a dict read by key (``summary["loss"]``)
    or attribute (``summary.loss``), ``len``/iteration, ``_json_dict`` and ``repr``.

    The values live in ``self._values``, set through ``__dict__`` so that subclasses
    may define ``__setattr__``. Mix in before ``Mapping`` or ``MutableMapping``.
    """

    _values: dict[str, Any]

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__["_values"] = values

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["_values"][key]
        except KeyError:
            raise AttributeError(f"the summary has no key {key!r}") from None

    @property
    def _json_dict(self) -> dict[str, Any]:
        """A plain dict copy (W&B's name for it, used by export scripts)."""
        return copy.deepcopy(self._values)

    def __repr__(self) -> str:
        return repr(self._values)


def server_settings(overrides: Mapping[str, Any] | None, api_key: str | None) -> Settings:
    """Settings with the server's ``base_url``, ``api_key`` and ``entity`` resolved.

    Explicit arguments win over ``TRACKWELL_*``, then ``WANDB_*``, then the settings
    files ``trackwell login`` writes, as for ``init()``.
    """
    wanted = ("base_url", "api_key", "entity", "project")
    arguments = {k: v for k, v in (overrides or {}).items() if k in wanted and v is not None}
    if api_key is not None:
        arguments["api_key"] = api_key
    return Settings.resolve(arguments=arguments)
