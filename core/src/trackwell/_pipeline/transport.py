"""HTTP to a trackwell server: the sender, artifacts, ``login``, ``sync``, the Public API.

One client for all of them: ``Transport``, on ``requests`` with urllib3's ``Retry``
(``trackwell._pipeline.httpclient`` holds that half, and says which failures it retries
inline and which it leaves to the sender's loop). This module itself imports only
the standard library: ``requests`` is imported at the first request, which for an
online run is the sender thread's, so neither ``import trackwell`` nor ``init()``
pays for it. A ``Transport`` is safe to share between threads (a pool of kept-alive
connections). Every failure becomes a ``CommError``: ``status`` None when no answer
came (connection refused, timeout), else the HTTP status with the server's ``code``
and ``message`` (docs/server-api.md); ``retryable`` says whether backing off may help.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import msgpack

from trackwell._version import __version__
from trackwell.errors import AuthenticationError, CommError, NotFoundError

JSON = "application/json"
MSGPACK = "application/x-msgpack"
#: Longest a 429/503 ``Retry-After`` is honoured, so a bad header can't park the sender.
MAX_RETRY_AFTER = 120.0
#: The longest wait for a connection to be accepted (``timeout`` when that is shorter).
CONNECT_TIMEOUT = 10.0
#: Inline retries of a failed connection or a 429/503 (``trackwell._pipeline.httpclient``).
RETRIES = 2
#: The longest ``Retry-After`` a request sits out inline; a longer one is the caller's to wait.
INLINE_RETRY_AFTER = 5.0

if TYPE_CHECKING:
    import requests


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


class Stream:
    """An answer whose body is read as it arrives (downloads); read errors are ``CommError``."""

    def __init__(self, response: requests.Response, where: str) -> None:
        self.status: int = response.status_code
        self.headers = {k.lower(): v for k, v in response.headers.items()}
        self._raw = response.raw
        self._where = where

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes (fewer only at the end of the body)."""
        from trackwell._pipeline.httpclient import read_errors

        try:
            data: bytes = self._raw.read(size)
        except read_errors() as exc:
            raise CommError(f"download of {self._where} broke off: {exc}", exc=exc) from None
        return data

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        while chunk := self.read(size):
            yield chunk


class Transport:
    """Requests to one server under ``base_url`` + ``/api/v1``; safe to share between threads.

    ``timeout`` (seconds, an attribute the caller may lower at any time, e.g. the
    sender while ``finish()`` waits on a hung server) bounds each wait: for the
    connection (at most ``CONNECT_TIMEOUT``) and for every read of the answer; a
    request may also pass its own. With ``retries`` inline retries, one call takes at
    most about ``(retries + 1) * (connect + read timeout) + backoff`` (a few seconds)
    plus, for a 429/503, ``max_retry_wait`` per retry: ``retries=0`` makes it one
    attempt. The API key is sent to ``base_url``'s origin only: a redirect elsewhere
    is not followed (``CommError``). ``pool_size`` is how many connections are kept
    alive for threads that share it (the artifact transfers).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout: float = 30.0,
        *,
        retries: int = RETRIES,
        max_retry_wait: float = INLINE_RETRY_AFTER,
        pool_size: int = 2,
    ) -> None:
        parts = urlsplit(base_url.strip().rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CommError(
                f"the server URL {base_url!r} is not an http(s):// URL; "
                "check TRACKWELL_BASE_URL or run `trackwell login --host URL`"
            )
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            raise CommError(f"the server URL {base_url!r} has an invalid port") from None
        self.base_url = f"{parts.scheme}://{parts.netloc}{parts.path}"
        self.api_key = api_key or None
        self.timeout = timeout
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self.pool_size = pool_size
        self._session: requests.Session | None = None
        self._lock = threading.Lock()

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
        if json_body is not None:
            data = json.dumps(encode_floats(json_body), separators=(",", ":")).encode()
            content_type = JSON
        response = self._send(method, path, params, data, content_type, {"Accept": accept}, timeout, False)
        with response:
            from trackwell._pipeline.httpclient import RequestException

            try:
                raw = response.content
            except RequestException as exc:
                raise self._unreachable(exc) from None
        headers = {k.lower(): v for k, v in response.headers.items()}
        if not decode:
            return Response(response.status_code, headers, raw)
        return Response(response.status_code, headers, _decode(headers.get("content-type", ""), raw))

    @contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Iterator[Stream]:
        """A request whose answer is read as it arrives, as raw bytes (``Accept-Encoding: identity``).

        The connection goes back to the pool only when the body was read to its end;
        one left half-read (an error, Ctrl-C) is closed, never reused.
        """
        data = None if json_body is None else json.dumps(json_body, separators=(",", ":")).encode()
        ask = {"Accept": "*/*", "Accept-Encoding": "identity", **(headers or {})}
        response = self._send(method, path, params, data, JSON if data else None, ask, timeout, True)
        with response:
            yield Stream(response, f"{self.base_url}/api/v1{path}")

    def close(self) -> None:
        """Close the kept-alive connections; the next request opens new ones."""
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    # -- internals ---------------------------------------------------------------
    def _http(self) -> requests.Session:
        with self._lock:
            if self._session is None:
                from trackwell._pipeline.httpclient import new_session

                self._session = new_session(self.base_url, self.retries, self.max_retry_wait, self.pool_size)
            return self._session

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        data: bytes | None,
        content_type: str | None,
        headers: dict[str, str],
        timeout: float | None,
        stream: bool,
    ) -> requests.Response:
        """Send; an error answer (or a redirect that was not followed) raises ``CommError``."""
        from trackwell._pipeline.httpclient import RequestException, bearer

        session = self._http()
        headers = {**headers, "User-Agent": f"trackwell/{__version__}"}
        if data is not None:
            headers["Content-Type"] = content_type or "application/octet-stream"
        wait = timeout or self.timeout
        try:
            response = session.request(
                method,
                f"{self.base_url}/api/v1{path}",
                params={k: v for k, v in (params or {}).items() if v is not None},
                data=data,
                headers=headers,
                auth=bearer(self.api_key),
                timeout=(min(CONNECT_TIMEOUT, wait), wait),
                stream=stream,
            )
        except RequestException as exc:
            raise self._unreachable(exc) from None
        if response.status_code < 300:
            return response
        with response:
            try:
                raw = response.content
            except RequestException:
                raw = b""
        headers = {k.lower(): v for k, v in response.headers.items()}
        raise self._error(method, path, response.status_code, headers, raw)

    def _unreachable(self, exc: BaseException) -> CommError:
        from trackwell._pipeline.httpclient import reason

        return CommError(f"cannot reach the trackwell server at {self.base_url}: {reason(exc)}", exc=exc)

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
            detail = raw.decode("utf-8", "replace").strip()[:200] or _phrase(status)
        where = f"{method} {self.base_url}/api/v1{path}"
        kwargs: dict[str, Any] = {
            "status": status, "code": code, "body": body, "retry_after": _retry_after(headers),
        }  # fmt: skip
        if 300 <= status < 400:
            return CommError(
                f"the server answered {status}, a redirect to {headers.get('location')!r} ({where}); "
                "it is not followed, so that the API key goes to no other host: set the server URL "
                "(TRACKWELL_BASE_URL, `trackwell login --host`) to where it redirects, if you trust it",
                **kwargs,
            )
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


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
