"""The server-backed Public API's requests: ``trackwell._pipeline.transport`` plus what reading needs.

The SDK's ``Transport`` does the HTTP (URL, key, error mapping to ``CommError``, a
pool of connections shared by threads, retries). What the Public API adds: more
patience with 429 answers than the sender's inline retries have, waiting out a
``Retry-After`` of up to 30 s, as W&B's client does for analysis scripts that page
through many runs (the transport's own ``Retry`` does the waiting, so nothing is
retried twice over); and turning the ``"NaN"``/``"Infinity"`` strings of JSON
answers back into floats for the values that hold metrics (see docs/server-api.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from trackwell._pipeline.transport import Transport, decode_floats, encode_floats

__all__ = ["ServerClient", "decode_floats", "dumps", "encode_floats"]

#: How often a 429 (rate limited) answer is retried, waiting ``Retry-After`` each time.
_RATE_LIMIT_RETRIES = 3
#: The longest ``Retry-After`` waited out; a longer one is raised (``CommError.retry_after``).
_RATE_LIMIT_WAIT = 30.0


class ServerClient:
    """The Public API's requests to one server, safe to share between threads."""

    def __init__(self, base_url: str, api_key: str | None, timeout: float | None = None) -> None:
        self._transport = Transport(
            base_url,
            api_key,
            timeout if timeout is not None else 30.0,
            retries=_RATE_LIMIT_RETRIES,
            max_retry_wait=_RATE_LIMIT_WAIT,
            pool_size=4,
        )

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` (under ``/api/v1``) and return the decoded answer."""
        return self._transport.get(path, params)

    def send(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """``method`` ``path`` with a JSON body (NaN/±Inf as strings); the decoded answer."""
        return self._transport.request(method, path, json_body=body).body

    def get_bytes(self, path: str, params: Mapping[str, Any] | None = None, accept: str = "*/*") -> bytes:
        """The undecoded answer to a GET: a file's bytes, or a msgpack body to unpack here."""
        return self._transport.get_raw(path, params, accept=accept)

    def put_bytes(self, path: str, data: bytes, params: Mapping[str, Any] | None = None) -> Any:
        """PUT raw bytes (a file upload); the decoded answer."""
        return self._transport.request("PUT", path, params=params, data=data).body


def dumps(value: Any) -> str:
    """JSON for a query parameter (``filters``), NaN/±Inf written as the server expects."""
    return json.dumps(encode_floats(value))


def canonical(value: Any) -> str:
    """A comparable form in which NaN equals NaN (``nan != nan`` would resend every NaN summary)."""
    return json.dumps(encode_floats(value), sort_keys=True, default=repr)


T = TypeVar("T")


class Fetched(list[T]):
    """A Public API listing the server sent whole, with W&B's paginator attributes.

    W&B's ``api.artifacts()``, ``api.projects()`` and friends return paginators;
    scripts read ``.length``, ``.more`` and ``.cursor`` from them. Here all items
    are already fetched: nothing is left (``more`` False, ``cursor`` None).
    """

    cursor = None
    more = False

    @property
    def length(self) -> int:
        return len(self)
