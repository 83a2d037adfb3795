"""Names and paths from URLs: checked before they reach a query or the blob store.

Entity, project and run names are checked by FastAPI against ``NAME_PATTERN`` (path
parameters declare it, so /openapi.json documents it too).
"""

from __future__ import annotations

from trackwell_server.errors import ApiError

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
#: An artifact collection's name: W&B's registry UI and examples use inner spaces
#: ("phi3 finetuned"); never a leading or trailing one, never ``/`` or ``:``.
COLLECTION_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9_. -]{0,126}[A-Za-z0-9_.-])?$"
#: A project name: ``NAME_PATTERN``, or a registry's (``wandb-registry-Fine-tuned Models``,
#: as in W&B's docs) whose registry part may hold inner spaces.
PROJECT_PATTERN = (
    r"^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"
    r"|wandb-registry-[A-Za-z0-9](?:[A-Za-z0-9_. -]{0,111}[A-Za-z0-9_.-])?)$"
)
#: An artifact or collection tag as W&B takes them: words of letters, digits, ``_``,
#: ``-`` and ``.`` separated by spaces ("best model").
TAG_PATTERN = r"^[\w.-]+(?: +[\w.-]+)*$"


def check_file_path(path: str) -> str:
    """A run file's path: relative, no ``..``, no empty or absolute parts (no traversal)."""
    if not path or len(path) > 1024 or "\\" in path or "\x00" in path:
        raise ApiError(422, f"invalid file path {path!r}")
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ApiError(422, f"invalid file path {path!r}: it must be relative, without '..' or empty parts")
    return path


def clean_text(value: str) -> str:
    """``value`` without NUL characters, which PostgreSQL cannot store in text columns.

    A run name or note with one (rare, but a logged string can hold anything) must not
    make its whole run unstorable, so the character is dropped rather than refused.
    """
    return value.replace("\x00", "") if "\x00" in value else value
