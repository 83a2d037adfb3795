"""The ``requests`` half of ``trackwell._pipeline.transport``: a session, its retry policy, its redirects.

Imported by ``Transport`` on its first request, never by ``import trackwell`` or an
offline ``init()``: ``requests`` and ``urllib3`` cost tens of milliseconds to import,
and a training script that never talks to a server must not pay for them (for an
online run, the first request is the sender thread's, so ``init()`` does not pay
either). Everything that needs ``requests`` at import time lives here, so the rest
of the SDK can stay on the standard library.

What urllib3's ``Retry`` does inline, in the request, and what it leaves to callers:

- a connection that could not be made (refused, reset before sending, DNS, connect
  timeout) is tried again ``retries`` times with exponential backoff and jitter:
  nothing reached the server, so it is safe for every method;
- a 429 is tried again for every method (the server refused before doing anything),
  and 408/502/503/504 or an answer cut off after sending only for idempotent methods
  (GET, HEAD, PUT, DELETE, OPTIONS): a POST may have been carried out;
- ``Retry-After`` is honoured, but only up to ``max_wait`` seconds inline; a longer
  one comes back as ``CommError.retry_after``, so the sender waits it out in its own
  loop, where ``finish()`` can cut the wait short;
- a 500 and every other error are never retried here: the sender's own loop
  (``sender.Uploader._failed``) backs off and retries what is retryable for as long
  as an outage lasts. Inline retries only ride out blips, so a long outage is never
  retried twice over.
"""

from __future__ import annotations

import logging
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.exceptions import HTTPError, MaxRetryError, ResponseError
from urllib3.util.retry import Retry

__all__ = ["RequestException", "bearer", "new_session", "read_errors", "reason"]

RequestException = requests.RequestException

#: Inline backoff: ``BACKOFF * 2**(n-1)`` s plus up to ``JITTER`` s before the n-th retry
#: (urllib3 makes the first retry at once), never more than ``BACKOFF_MAX``.
BACKOFF = 0.25
JITTER = 0.25
BACKOFF_MAX = 2.0
#: Statuses an idempotent request is retried after (429 is retried for every method).
RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Retry(Retry):
    """urllib3's ``Retry`` with a 429 retried for any method, and a cap on inline waits."""

    #: The longest ``Retry-After`` slept inline; longer ones are handed to the caller.
    max_wait = 5.0

    def new(self, **kw: Any) -> _Retry:
        retry = super().new(**kw)
        retry.max_wait = self.max_wait
        return retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 429 and self.total:
            return True  # a rate limit refuses before doing anything: a POST is safe to resend
        return super().is_retry(method, status_code, has_retry_after)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> _Retry:
        if response is not None and error is None and self.respect_retry_after_header:
            try:
                wait = self.get_retry_after(response)
            except Exception:  # an unparsable header: let our own backoff decide
                wait = None
            if wait is not None and wait > self.max_wait:
                # urlopen returns the answer itself (raise_on_status=False): the caller
                # gets a CommError with retry_after and waits where it can be stopped
                too_long = ResponseError(f"Retry-After {wait:g} s: too long to wait here")
                raise MaxRetryError(_pool, url, too_long)
        return super().increment(method, url, response, error, _pool, _stacktrace)


class _Bearer(AuthBase):
    """The API key as a Bearer token. Passed as ``auth`` (never a session header) so
    requests strips it on a redirect to another host, and never swaps in ``.netrc``."""

    def __init__(self, key: str | None) -> None:
        self.key = key

    def __call__(self, request: Any) -> Any:
        if self.key:
            request.headers["Authorization"] = f"Bearer {self.key}"
        return request


class _OneServerSession(requests.Session):
    """A session that follows a redirect only within its server's origin.

    The API key belongs to one server: a redirect to another host, port or scheme
    (a downgrade to http included) is not followed at all, and its 3xx answer comes
    back to ``Transport``, which says where the server tried to send the client.
    The one exception is an upgrade from http to https on the same host.
    """

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.origin = _origin(base_url)
        self.max_redirects = 5
        # the API authenticates with the key alone: no cookie is ever stored or sent
        self.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        target = super().get_redirect_target(resp)
        if target is None:
            return None
        to = _origin(urljoin(resp.url, target))
        upgrade = self.origin[0] == "http" and to == ("https", self.origin[1], 443) and self.origin[2] == 80
        return target if to == self.origin or upgrade else None


def _not_our_retry(record: logging.LogRecord) -> bool:
    """Drop urllib3's "Retrying (...) after connection broken" warnings about our own retries.

    A retried blip is routine here and a lasting failure is reported by the caller
    (the sender says what did not reach the server); without this, every training
    script that configures logging would print a warning per retry. Records about
    other programs' requests (their ``Retry`` is not ours) pass untouched.
    """
    args = record.args if isinstance(record.args, tuple) else ()
    return not (args and isinstance(args[0], _Retry))


logging.getLogger("urllib3.connectionpool").addFilter(_not_our_retry)


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0)


def new_session(base_url: str, retries: int, max_wait: float, pool_size: int) -> requests.Session:
    """A session for one server: pooled keep-alive connections and the retry policy above."""
    retry = _Retry(
        total=retries,
        connect=retries,
        read=min(retries, 1),
        status=retries,
        other=0,
        allowed_methods=Retry.DEFAULT_ALLOWED_METHODS,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=BACKOFF,
        backoff_jitter=JITTER,
        backoff_max=BACKOFF_MAX,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    retry.max_wait = max_wait
    session = _OneServerSession(base_url)
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, pool_size), max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def bearer(key: str | None) -> AuthBase:
    return _Bearer(key)


def read_errors() -> tuple[type[Exception], ...]:
    """What reading a streamed body may raise when the connection fails (urllib3's own, unwrapped)."""
    return (HTTPError, RequestException, OSError)


def reason(exc: BaseException) -> str:
    """Why no answer came, in a few words, from the chain of exceptions requests raises."""
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo:
        e = todo.pop(0)
        if not isinstance(e, BaseException) or any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [getattr(e, "reason", None), e.__cause__, e.__context__, *(e.args[:1] if e.args else ())]
    for e in seen:
        if isinstance(e, ConnectionRefusedError) or "Connection refused" in str(e):
            return "connection refused (is the server running?)"
    for e in seen:
        if isinstance(e, (requests.Timeout, TimeoutError)):
            return "timed out"
    for e in seen:
        if isinstance(e, ConnectionResetError):
            return "the connection was reset"
    deepest = seen[-1]
    return str(deepest) or type(deepest).__name__
