"""``api.runs()`` on a server: the runs of a query, fetched a page at a time as they are used."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload
from urllib.parse import quote

from trackwell.api.remote_http import ServerClient, canonical, dumps
from trackwell.api.remote_runs import ServerRun
from trackwell.errors import UsageError


class ServerRuns(Sequence[ServerRun]):
    """The result of ``api.runs()`` on a server: list-like, fetched a page at a time as it is used.

    Iterating fetches the next page only when the previous one is used up; ``len()``
    fetches at most the first page (the server sends the total with it).
    """

    def __init__(
        self,
        client: ServerClient,
        entity: str,
        project: str,
        filters: Mapping[str, Any] | None,
        order: str | None,
        per_page: int,
    ) -> None:
        if filters is not None and not isinstance(filters, Mapping):
            raise UsageError("api.runs(filters=...) must be a dict, e.g. {'config.lr': 0.1}")
        if isinstance(per_page, bool) or not isinstance(per_page, int) or not 1 <= per_page <= 1000:
            raise UsageError(f"api.runs(per_page=...) must be an integer from 1 to 1000, got {per_page!r}")
        self._client = client
        self.entity = entity
        self.project = project
        self.filters = dict(filters or {})
        self.order = order
        self.per_page = per_page
        self._runs: list[ServerRun] = []
        self._cursor: str | None = None
        self._done = False
        self._total: int | None = None

    @property
    def query_key(self) -> str:
        """Identifies the query, so the ``Api`` can hand back the same pages for the same call."""
        return canonical([self.entity, self.project, self.filters, self.order, self.per_page])

    def _fetch_page(self) -> None:
        params: dict[str, Any] = {
            "per_page": self.per_page,
            "cursor": self._cursor,
            "order": self.order or None,
        }
        if self.filters:
            params["filters"] = dumps(self.filters)
        path = "/runs/" + "/".join(quote(p, safe="") for p in (self.entity, self.project))
        page = self._client.get(path, params)
        self._runs.extend(ServerRun(self._client, info) for info in page["runs"])
        self._total = int(page.get("total", len(self._runs)))
        self._cursor = page.get("next_cursor")
        self._done = not self._cursor

    @property
    def cursor(self) -> str | None:
        """The server's cursor for the next page (W&B's ``Paginator.cursor``); None after the last."""
        return self._cursor

    @property
    def more(self) -> bool:
        """Whether pages are left to fetch (W&B's ``Paginator.more``): True before the first."""
        return not self._done

    def _load_until(self, count: int | None) -> None:
        """Fetch pages until ``count`` runs are held (all of them with ``None``)."""
        while not self._done and (count is None or len(self._runs) < count):
            self._fetch_page()

    @overload
    def __getitem__(self, index: int) -> ServerRun: ...

    @overload
    def __getitem__(self, index: slice) -> list[ServerRun]: ...

    def __getitem__(self, index: int | slice) -> ServerRun | list[ServerRun]:
        if isinstance(index, slice):
            stop = index.stop
            self._load_until(stop if stop is not None and stop >= 0 and (index.start or 0) >= 0 else None)
            return self._runs[index]
        self._load_until(index + 1 if index >= 0 else None)
        return self._runs[index]

    def __len__(self) -> int:
        if self._total is None:
            self._fetch_page()
        return self._total or 0

    def __iter__(self) -> Iterator[ServerRun]:
        i = 0
        while True:
            if i >= len(self._runs):
                if self._done:
                    return
                self._fetch_page()
                continue
            yield self._runs[i]
            i += 1

    @property
    def length(self) -> int:
        return len(self)

    def __repr__(self) -> str:
        return f"<Runs {self.entity}/{self.project} ({len(self)} runs)>"
