"""Request limits: a token bucket per client, and the request body size cap.

The rate limiter is per process on purpose: several processes behind one address
each grant their own quota, which over-admits by at most the process count and needs
no shared state. Headers follow the reference: ``RateLimit-Limit`` and
``RateLimit-Remaining`` scaled to 0-1000, ``RateLimit-Reset`` in seconds.

A request gets its API key's own bucket only once that key has been verified on this
process; any other request (no key, a bad key, a key not yet seen) draws from its
address's bucket, so sending a fresh made-up key each time buys no fresh quota.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections.abc import Callable, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trackwell_server.auth import key_from_header
from trackwell_server.errors import error_response


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved; one token per request."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> tokens, at
        self._lock = threading.Lock()

    def take(self, client: str) -> tuple[bool, float, float]:
        """(allowed, tokens left, seconds until full)."""
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            if len(self._buckets) > 100_000:  # forget idle clients rather than grow forever
                self._buckets.clear()
            self._buckets[client] = (tokens, now)
        return allowed, tokens, (self.burst - tokens) / self.rate


def _client(scope: Scope, known: Callable[[str], bool]) -> str:
    """The bucket of a request: its API key (hashed) if ``known`` (verified), else its address."""
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            key = key_from_header(value.decode("latin-1"))
            if key and known(key):
                return hashlib.sha256(key.encode()).hexdigest()[:24]
    client = scope.get("client")
    return f"addr:{client[0]}" if client else "anonymous"


class LimitsMiddleware:
    """Rate-limit headers on every response, 429 past the quota, 413 past the body cap.

    Raw ASGI rather than ``BaseHTTPMiddleware``: it must see the body as it streams
    in (a client may lie in, or omit, ``Content-Length``) and add headers cheaply.
    """

    def __init__(self, app: ASGIApp, bucket: TokenBucket, max_body: int,
                 larger: Sequence[tuple[str, re.Pattern[str], int]] = (),
                 known: Callable[[str], bool] = lambda _key: False) -> None:  # fmt: skip
        self.app = app
        #: whether an API key was verified already (``Authenticator.is_known``)
        self.known = known
        self.bucket = bucket
        self.max_body = max_body
        #: (method, path pattern, cap): the few routes whose bodies may pass ``max_body``
        #: (an artifact manifest of up to 1,000,000 entries)
        self.larger = larger

    def _cap(self, scope: Scope) -> int:
        for method, pattern, cap in self.larger:
            if scope.get("method") == method and pattern.match(scope.get("path", "")):
                return cap
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed, tokens, reset = self.bucket.take(_client(scope, self.known))
        headers = [
            (b"ratelimit-limit", b"1000"),
            # whole requests left, scaled: 0 exactly when the next request would be refused
            (b"ratelimit-remaining", str(int(1000 * math.floor(tokens) / self.bucket.burst)).encode()),
            (b"ratelimit-reset", str(math.ceil(reset)).encode()),
        ]

        too_large = False  # set once the body passes the cap while being read
        answered = False

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers") or []) + headers
            await send(message)

        async def send_unless_too_large(message: Message) -> None:
            # A route that parses the body itself may turn the overflow into its own
            # error (FastAPI says 400); the client must see the 413 instead.
            nonlocal answered
            if too_large:
                if not answered:
                    answered = True
                    await self._too_large(scope, receive, send_with_headers, cap)
                return
            await send_with_headers(message)

        if not allowed:
            wait = max(1, math.ceil((1.0 - tokens) / self.bucket.rate))
            response = error_response(
                429,
                "rate_limited",
                f"too many requests: retry in {wait} s",
                headers={"Retry-After": str(wait)},
            )
            await response(scope, receive, send_with_headers)
            return
        cap = self._cap(scope)
        length = _content_length(scope)
        if length is not None and length > cap:
            await self._too_large(scope, receive, send_with_headers, cap)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    too_large = True
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send_unless_too_large)
        except _BodyTooLarge:
            if not answered:
                answered = True
                await self._too_large(scope, receive, send_with_headers, cap)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, cap: int | None = None) -> None:
        mb = (cap or self.max_body) // (1024 * 1024)
        response = error_response(413, "too_large", f"request body over the {mb} MB limit")
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
