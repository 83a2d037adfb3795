"""``trackwell.Html``: W&B's ``wandb.Html``, an HTML page stored as a file."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from trackwell.media import _util
from trackwell.media.base import Media, MediaContext, write_file

#: What ``inject=True`` adds to the page: links open outside the panel, and readable
#: defaults. W&B links its stylesheet from its own site; ours is inline, so a page
#: shows the same offline and the dashboard's sandbox (no outside fetches) stays quiet.
BASE_STYLE = (
    '<base target="_blank"><style data-trackwell-base>'
    "html{-webkit-text-size-adjust:100%;line-height:1.4}"
    "body{margin:8px;font-family:system-ui,sans-serif;color-scheme:light dark}"
    "img,svg,video,canvas{max-width:100%;height:auto}"
    "table{border-collapse:collapse}td,th{padding:2px 6px}"
    "</style>"
)


class Html(Media):
    """HTML from a string, an open file or a path; ``inject`` adds the base stylesheet."""

    _type = "html-file"

    def __init__(self, data: Any, inject: bool = True, data_is_not_path: bool = False) -> None:
        if hasattr(data, "read"):
            text = data.read()
        elif isinstance(data, os.PathLike) or (
            isinstance(data, str)
            and not data_is_not_path
            and data.lower().endswith((".html", ".htm"))
            and "<" not in data
        ):
            text = _util.existing_file(data, "trackwell.Html").read_text(encoding="utf-8")
        elif isinstance(data, str):
            text = data
        else:
            raise TypeError(f"trackwell.Html takes a string, a file or a path, got {type(data).__name__}")
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        self.html = _inject(text) if inject else text

    def to_record(self, ctx: MediaContext) -> dict[str, Any]:
        return write_file(ctx, self._type, self.html.encode("utf-8"), "html", ".html")

    @classmethod
    def from_record(cls, record: Mapping[str, Any], read: Callable[[str], bytes]) -> Html:
        return cls(read(record["path"]).decode("utf-8"), inject=False, data_is_not_path=True)


def _inject(html: str) -> str:
    if BASE_STYLE in html:
        return html
    lower = html.lower()
    at = lower.find("<head>")
    if at >= 0:
        return html[: at + 6] + BASE_STYLE + html[at + 6 :]
    return "<head>" + BASE_STYLE + "</head>" + html
