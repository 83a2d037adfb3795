"""The server-backed Public API's requests: ``trackwell.transport`` plus what reading needs.

The SDK's ``Transport`` does the HTTP (URL, key, error mapping to ``CommError``). This
adapter adds what the Public API needs on top: a lock, because one ``Api`` may be
shared by threads while a ``Transport`` serves one at a time; waiting out 429
answers, as W&B's client does for analysis scripts that page through many runs;
and turning the ``"NaN"``/``"Infinity"`` strings of JSON answers back into floats
for the values that hold metrics (see docs/server-api.md).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from trackwell.errors import CommError
from trackwell.transport import Transport, decode_floats, encode_floats

__all__ = ["ServerClient", "decode_floats", "dumps", "encode_floats"]

#: How often a 429 (rate limited) answer is retried, waiting ``Retry-After`` each time.
_RATE_LIMIT_RETRIES = 3


class ServerClient:
    """The Public API's requests to one server, safe to share between threads."""

    def __init__(self, base_url: str, api_key: str | None, timeout: float | None = None) -> None:
        self._transport = Transport(base_url, api_key, timeout if timeout is not None else 30.0)
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` (under ``/api/v1``) and return the decoded answer."""
        return self._call(lambda: self._transport.get(path, params))

    def send(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """``method`` ``path`` with a JSON body (NaN/±Inf as strings); the decoded answer."""
        return self._call(lambda: self._transport.request(method, path, json_body=body).body)

    def get_bytes(self, path: str, params: Mapping[str, Any] | None = None, accept: str = "*/*") -> bytes:
        """The undecoded answer to a GET: a file's bytes, or a msgpack body to unpack here."""
        return self._call(lambda: self._transport.get_raw(path, params, accept=accept))

    def put_bytes(self, path: str, data: bytes, params: Mapping[str, Any] | None = None) -> Any:
        """PUT raw bytes (a file upload); the decoded answer."""
        return self._call(lambda: self._transport.request("PUT", path, params=params, data=data).body)

    def _call(self, request: Callable[[], Any]) -> Any:
        for attempt in range(_RATE_LIMIT_RETRIES + 1):
            try:
                with self._lock:
                    return request()
            except CommError as exc:
                if exc.status != 429 or attempt == _RATE_LIMIT_RETRIES:
                    raise
                time.sleep(min(exc.retry_after if exc.retry_after is not None else 1.0, 30.0))
        raise AssertionError("unreachable")  # the loop returns or raises


def dumps(value: Any) -> str:
    """JSON for a query parameter (``filters``), NaN/±Inf written as the server expects."""
    return json.dumps(encode_floats(value))
