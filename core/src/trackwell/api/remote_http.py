"""The server-backed Public API's HTTP calls: one ``ServerClient``, JSON in and out, errors as ``CommError``.

Every request ``trackwell.Api()`` makes to a server goes through
``ServerClient.request``, so the URL, the key, the error messages and the NaN
convention live in one place. Non-finite floats travel as the strings ``"NaN"``,
``"Infinity"``, ``"-Infinity"`` (see docs/server-api.md): ``encode_floats`` and
``decode_floats`` convert at the edges, for the values that can hold metrics.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from trackwell import __version__
from trackwell.errors import AuthenticationError, CommError, NotFoundError

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_JSON = "application/json"
MSGPACK = "application/x-msgpack"
#: How often a 429 (rate limited) answer is retried, waiting ``Retry-After`` each time.
_RATE_LIMIT_RETRIES = 3


def decode_floats(value: Any) -> Any:
    """``value`` with the strings ``"NaN"``/``"Infinity"``/``"-Infinity"`` turned back into floats."""
    if isinstance(value, str):
        return _NON_FINITE.get(value, value)
    if isinstance(value, dict):
        return {k: decode_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_floats(v) for v in value]
    return value


def encode_floats(value: Any) -> Any:
    """``value`` with NaN/±Inf floats written as the strings the server's JSON uses."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(k): encode_floats(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_floats(v) for v in value]
    return value


def run_path(entity: str, project: str, run_id: str, *rest: str) -> str:
    """``/runs/<entity>/<project>/<run_id>[/rest...]`` with every segment URL-quoted."""
    return "/runs/" + "/".join(quote(part, safe="") for part in (entity, project, run_id, *rest))


class ServerClient:
    """Requests to one trackwell server, over one kept-alive connection (thread-safe).

    ``base_url`` is the server's root (``http://host:port``); paths given to
    ``request`` are relative to its ``/api/v1``.
    """

    def __init__(self, base_url: str, api_key: str | None, timeout: float | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout if timeout is not None else 30.0
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CommError(f"the server URL {base_url!r} is not an http(s):// URL; check TRACKWELL_BASE_URL")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/") + "/api/v1"
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    # -- the calls the Public API makes -----------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` and return the decoded JSON answer."""
        return _load_json(self.request("GET", path, params=params))

    def send(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """``method`` ``path`` with a JSON body; the decoded JSON answer (``None`` for 204)."""
        data = None if body is None else json.dumps(encode_floats(body)).encode()
        return _load_json(self.request(method, path, body=data, content_type=_JSON))

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        accept: str = _JSON,
    ) -> bytes:
        """The raw answer body of one request; raises ``CommError`` (or a subclass) on failure."""
        target = self._prefix + path
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if query:
            target += "?" + urlencode(query)
        headers = {"Accept": accept, "User-Agent": f"trackwell/{__version__}"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if content_type:
            headers["Content-Type"] = content_type
        for attempt in range(_RATE_LIMIT_RETRIES + 1):
            status, reply_headers, data = self._exchange(method, target, body, headers)
            if status == 429 and attempt < _RATE_LIMIT_RETRIES:
                time.sleep(_retry_after(reply_headers.get("retry-after")))
                continue
            break
        if status >= 400:
            raise self._error(method, path, status, data)
        return data

    # -- internals ---------------------------------------------------------------
    def _exchange(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            # A kept-alive connection the server closed fails on first use: retry once, fresh.
            for attempt in (0, 1):
                conn = self._connection()
                try:
                    conn.request(method, target, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                except (http.client.HTTPException, OSError) as exc:
                    conn.close()
                    self._conn = None
                    if attempt == 0 and isinstance(
                        exc, (http.client.RemoteDisconnected, ConnectionResetError)
                    ):
                        continue
                    raise CommError(
                        f"cannot reach the trackwell server at {self.base_url}: {exc}. Is it running? "
                        "Check TRACKWELL_BASE_URL, or run `trackwell login` with the right URL",
                        exc=exc,
                    ) from exc
                if response.will_close:
                    conn.close()
                    self._conn = None
                return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        raise AssertionError("unreachable")  # the loop either returns or raises

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self.timeout)
        return self._conn

    def _error(self, method: str, path: str, status: int, data: bytes) -> CommError:
        code, detail = _error_body(data)
        where = f"{method} {self.base_url}/api/v1{path}"
        if status == 401:
            reason = "no API key is configured" if not self.api_key else "the server rejected the API key"
            return AuthenticationError(
                f"{reason} ({where}): run `trackwell login` (or set TRACKWELL_API_KEY)",
                status=status,
                code=code,
            )
        if status == 404:
            return NotFoundError(f"{detail or 'not found'} ({where})", status=status, code=code)
        if status == 403:
            return CommError(
                f"permission denied: {detail or 'this API key may not do that'} ({where})",
                status=status,
                code=code,
            )
        return CommError(
            f"the server answered {status}: {detail or 'no details'} ({where})", status=status, code=code
        )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _load_json(data: bytes) -> Any:
    return json.loads(data) if data else None


def _error_body(data: bytes) -> tuple[str | None, str | None]:
    """The ``code`` and ``message`` of the contract's error body, or what text there is."""
    try:
        error = json.loads(data).get("error")
        return error.get("code"), error.get("message")
    except (ValueError, AttributeError):
        text = data.decode("utf-8", "replace").strip()
        return None, text[:200] or None


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 1), 0.0), 30.0)
    except ValueError:
        return 1.0
