"""Entity, project and run names: one pattern, checked before a name reaches a query or a path."""

from __future__ import annotations

import re

from trackwell_server.errors import ApiError

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
_NAME = re.compile(NAME_PATTERN)


def check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ApiError(
            422,
            f"invalid {what} {value!r}: use 1-128 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit",
        )
    return value


def check_file_path(path: str) -> str:
    """A run file's path: relative, no ``..``, no empty or absolute parts (no traversal)."""
    if not path or len(path) > 1024 or "\\" in path or "\x00" in path:
        raise ApiError(422, f"invalid file path {path!r}")
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ApiError(422, f"invalid file path {path!r}: it must be relative, without '..' or empty parts")
    return path
