"""JSON read as it streams in: one value at a time from chunks of bytes, never the whole document.

An artifact's manifest can hold a million entries. ``json.loads`` of it builds over
half a GB of small objects that the allocator keeps after they are freed; walking the
document member by member, with ``raw_decode`` on a window of text, holds one entry
at a time (the window grows only for a single value larger than it).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

_SPACE = re.compile(r"[ \t\n\r]*")
#: bytes added to the window at a time (more when one value is larger than the window)
WINDOW = 1 << 20


class JsonError(ValueError):
    """The text is not JSON (or not the shape the caller walks), or one value is too large."""


class JsonStream:
    """A cursor over the JSON text in ``chunks``; ``max_value`` caps one value's size in characters."""

    def __init__(self, chunks: Iterable[bytes], max_value: int = 64 << 20) -> None:
        self._chunks = iter(chunks)
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._decoder = json.JSONDecoder()
        self._text = ""
        self._pos = 0
        self._done = False
        self._max = max_value
        #: characters consumed before the window: where an error is, for its message
        self._offset = 0

    def _more(self) -> bool:
        """Add text to the window (at least as much as it holds unread); False at the end."""
        if self._done:
            return False
        want = max(WINDOW, len(self._text) - self._pos)
        if len(self._text) - self._pos > self._max:
            raise JsonError(f"a value at character {self._offset + self._pos:,} is larger than {self._max:,}")
        parts: list[str] = []
        got = 0
        while got < want:
            raw = next(self._chunks, None)
            if raw is None:
                parts.append(self._utf8.decode(b"", final=True))
                self._done = True
                break
            try:
                text = self._utf8.decode(raw)
            except UnicodeDecodeError as exc:
                raise JsonError(f"the text is not UTF-8: {exc.reason}") from None
            parts.append(text)
            got += len(text)
        self._offset += self._pos
        self._text = self._text[self._pos :] + "".join(parts)
        self._pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not white space, not consumed; "" at the end."""
        if self._pos < len(self._text) and self._text[self._pos] not in " \t\n\r":
            return self._text[self._pos]  # the common case, without the regex
        while True:
            self._pos = _SPACE.match(self._text, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._text):
                return self._text[self._pos]
            if not self._more():
                return ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            where = self._offset + self._pos
            raise JsonError(f"expected {char!r} at character {where:,}, found {self.peek()[:1]!r}")
        self._pos += 1

    def value(self) -> Any:
        """The next whole value (an object, array, string, number, true, false or null)."""
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._text, self._pos)
            except json.JSONDecodeError as exc:
                if self._more():  # perhaps only cut off by the window's end
                    continue
                raise JsonError(f"{exc.msg} at character {self._offset + exc.pos:,}") from None
            if end == len(self._text) and self._more():  # a number may go on in the next chunk
                continue
            self._pos = end
            return value

    def members(self) -> Iterator[str]:
        """The keys of the object that starts here; after each, the caller reads its value."""
        self.expect("{")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            if self.peek() != '"':
                raise JsonError(f"expected a key at character {self._offset + self._pos:,}")
            key = self.value()
            self.expect(":")
            yield key
            after = self.peek()
            self._pos += 1
            if after == "}":
                return
            if after != ",":
                raise JsonError(f"expected ',' or '}}' at character {self._offset + self._pos - 1:,}")

    def end(self) -> None:
        """Fail unless only white space is left."""
        if self.peek():
            raise JsonError(f"unexpected text after the value at character {self._offset + self._pos:,}")
