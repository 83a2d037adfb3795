"""HTTP to a trackwell server for the SDK's own calls: the sender, ``login`` and ``sync``.

Only the standard library (``http.client``): ``import trackwell`` must stay light, and
online runs must not pull ``requests`` into a training process. One ``Transport``
keeps one connection alive and is used by one thread at a time (the sender owns
its own). Every failure becomes a ``CommError``: ``status`` None when no answer came
(connection refused, timeout), else the HTTP status with the server's ``code`` and
``message`` (docs/server-api.md); ``retryable`` says whether backing off may help.
Retrying is the caller's choice: the sender must be able to stop waiting at once.
"""

from __future__ import annotations

import http.client
import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import msgpack

from trackwell._version import __version__
from trackwell.errors import AuthenticationError, CommError, NotFoundError

JSON = "application/json"
MSGPACK = "application/x-msgpack"
#: Longest a 429/503 ``Retry-After`` is honoured, so a bad header can't park the sender.
MAX_RETRY_AFTER = 120.0
#: How a kept-alive connection the server closed meanwhile fails on reuse.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def run_path(entity: str, project: str, run_id: str, *rest: str) -> str:
    """``/runs/<entity>/<project>/<run_id>[/rest...]``, each name URL-quoted."""
    return "/runs/" + "/".join(quote(part, safe="") for part in (entity, project, run_id, *rest))


def file_path(entity: str, project: str, run_id: str, path: str) -> str:
    """The upload URL path of a run file; ``path`` keeps its slashes."""
    return run_path(entity, project, run_id) + "/files/" + quote(path, safe="/")


class Response:
    """A successful answer: status, lower-cased headers, and the decoded body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: Any) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class Transport:
    """Requests to one server under ``base_url`` + ``/api/v1``, over one kept-alive connection."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url.strip().rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CommError(
                f"the server URL {base_url!r} is not an http(s):// URL; "
                "check TRACKWELL_BASE_URL or run `trackwell login --host URL`"
            )
        self.base_url = f"{parts.scheme}://{parts.netloc}{parts.path}"
        self.api_key = api_key or None
        self.timeout = timeout
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path + "/api/v1"
        self._conn: http.client.HTTPConnection | None = None
        self._packer = msgpack.Packer(use_bin_type=True)

    # -- requests ------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None, timeout: float | None = None) -> Any:
        return self.request("GET", path, params=params, timeout=timeout).body

    def put_json(self, path: str, body: Any, timeout: float | None = None) -> Response:
        return self.request("PUT", path, json_body=body, timeout=timeout)

    def post_msgpack(self, path: str, data: bytes, timeout: float | None = None) -> Response:
        """POST a body that is already msgpack (the sender builds ingest bodies from log bytes)."""
        return self.request("POST", path, data=data, content_type=MSGPACK, timeout=timeout)

    def get_raw(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        accept: str = "*/*",
        timeout: float | None = None,
    ) -> bytes:
        """GET an answer undecoded, asking for ``accept`` (added for the Public API, ``trackwell.api``).

        File downloads must come back as the bytes stored (``request`` would turn a
        ``.json`` file into a dict), and bulk history columns as msgpack to unpack there.
        """
        answer = self.request("GET", path, params=params, accept=accept, decode=False, timeout=timeout)
        raw: bytes = answer.body
        return raw

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        accept: str = JSON,
        decode: bool = True,
        timeout: float | None = None,
    ) -> Response:
        """One request; the answer decoded by its content type (raw bytes without ``decode``).

        Raises ``CommError`` (``AuthenticationError`` for 401, ``NotFoundError`` for 404).
        """
        target = self._prefix + path
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if query:
            target += "?" + urlencode(query)
        headers = {"Accept": accept, "User-Agent": f"trackwell/{__version__}"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if json_body is not None:
            data = json.dumps(encode_floats(json_body), separators=(",", ":")).encode()
            content_type = JSON
        if data is not None:
            headers["Content-Type"] = content_type or "application/octet-stream"
        status, reply_headers, raw = self._exchange(method, target, data, headers, timeout)
        if status >= 400:
            raise self._error(method, path, status, reply_headers, raw)
        if not decode:
            return Response(status, reply_headers, raw)
        return Response(status, reply_headers, _decode(reply_headers.get("content-type", ""), raw))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- internals ---------------------------------------------------------------
    def _exchange(
        self, method: str, target: str, data: bytes | None, headers: dict[str, str], timeout: float | None
    ) -> tuple[int, dict[str, str], bytes]:
        # A kept-alive connection the server has closed fails on first reuse; every
        # request we make is idempotent, so that one case is retried at once, fresh.
        for attempt in (0, 1):
            reused = self._conn is not None
            conn = self._connection()
            if conn.sock is not None:
                conn.sock.settimeout(timeout or self.timeout)
            else:
                conn.timeout = timeout or self.timeout
            try:
                conn.request(method, target, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
            except (http.client.HTTPException, OSError) as exc:
                self.close()
                if attempt == 0 and reused and isinstance(exc, _STALE):
                    continue
                raise CommError(
                    f"cannot reach the trackwell server at {self.base_url}: {_reason(exc)}",
                    exc=exc,
                ) from None
            except BaseException:
                # Interrupted mid-exchange (Ctrl-C, a sweep's stop raised in the trial's
                # thread): the connection is half used, so it must never be reused.
                self.close()
                raise
            if response.will_close:
                self.close()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, raw
        raise AssertionError("unreachable")  # the loop returns or raises

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self.timeout)
        return self._conn

    def _error(self, method: str, path: str, status: int, headers: dict[str, str], raw: bytes) -> CommError:
        body: dict[str, Any] | None = None
        try:
            decoded = _decode(headers.get("content-type", ""), raw)
            body = decoded if isinstance(decoded, dict) else None
        except ValueError:
            pass
        error = body.get("error") if body else None
        code = error.get("code") if isinstance(error, dict) else None
        detail = error.get("message") if isinstance(error, dict) else None
        if not detail:
            detail = raw.decode("utf-8", "replace").strip()[:200] or http.client.responses.get(status, "")
        where = f"{method} {self.base_url}/api/v1{path}"
        kwargs: dict[str, Any] = {
            "status": status, "code": code, "body": body, "retry_after": _retry_after(headers),
        }  # fmt: skip
        if status == 401:
            hint = "no API key is set" if not self.api_key else "the server rejected the API key"
            return AuthenticationError(
                f"{hint} ({where}): run `trackwell login` or set TRACKWELL_API_KEY", **kwargs
            )
        if status == 404:
            return NotFoundError(f"{detail} ({where})", **kwargs)
        return CommError(f"the server answered {status}: {detail} ({where})", **kwargs)


def _decode(content_type: str, raw: bytes) -> Any:
    if not raw:
        return None
    if content_type.startswith(MSGPACK):
        return msgpack.unpackb(raw, raw=False, strict_map_key=False)
    try:
        return json.loads(raw)
    except ValueError:
        if content_type.startswith(JSON):
            raise
        return raw


def encode_floats(value: Any) -> Any:
    """``value`` with NaN/±Inf floats written as the strings the server's JSON uses (docs/server-api.md)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(k): encode_floats(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_floats(v) for v in value]
    return value


def decode_floats(value: Any) -> Any:
    """``value`` with the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` of JSON answers as floats."""
    if isinstance(value, str):
        return _NON_FINITE.get(value, value)
    if isinstance(value, dict):
        return {k: decode_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_floats(v) for v in value]
    return value


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return None  # an HTTP date: rare enough that our own backoff will do


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running?)"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
