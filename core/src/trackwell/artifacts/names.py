"""The names an artifact, alias or tag may take, and how a reference to a version is spelled.

Checked where a user gives them (``Artifact(...)``, ``aliases = ...``, ``api.artifact(...)``)
so a mistake is reported, naming the rule, before anything reaches the server.
"""

from __future__ import annotations

import re

from trackwell.artifacts.manifest import ArtifactError


def check_name(name: str, what: str = "artifact name") -> str:
    """``name`` if it is a valid artifact name (or alias, as ``what`` says), else ``ArtifactError``."""
    # a collection name may hold inner spaces, as registry collections do in W&B ("phi3 finetuned")
    inner = " " if what == "artifact name" else ""
    rule = rf"[A-Za-z0-9](?:[A-Za-z0-9_.{inner}-]{{0,126}}[A-Za-z0-9_.-])?"
    if not isinstance(name, str) or not re.fullmatch(rule, name):
        spaces = ", inner spaces" if inner else ""
        raise ArtifactError(
            f"invalid {what} {name!r}: use letters, digits, '-', '_' and '.'{spaces} (no ':' or '/'), "
            "starting with a letter or digit, at most 128 characters"
        )
    return name


def check_tag(tag: str) -> str:
    """A tag as W&B takes them: words of letters, digits, '_', '-' and '.' and inner spaces."""
    if not isinstance(tag, str) or len(tag) > 128 or not re.fullmatch(r"[\w.-]+(?: +[\w.-]+)*", tag):
        raise ArtifactError(
            f"invalid tag {tag!r}: use letters, digits, '-', '_' and '.', words separated by spaces, "
            "at most 128 characters"
        )
    return tag


def parse_name(name: str, entity: str | None, project: str | None) -> tuple[str, str, str, str]:
    """``"name[:alias]"``, ``"project/name:v1"``, ``"entity/project/name:v1"`` → (e, p, name, version)."""
    if not isinstance(name, str) or not name:
        raise ArtifactError(f"artifact name must be a string like 'name:alias', got {name!r}")
    path, _, version = name.partition(":")
    parts = [p for p in path.split("/") if p]
    if len(parts) == 1:
        e, p, n = entity, project, parts[0]
    elif len(parts) == 2:
        e, p, n = entity, parts[0], parts[1]
    elif len(parts) == 3:
        e, p, n = parts
    else:
        raise ArtifactError(
            f"artifact name {name!r}: use 'name:alias', 'project/name:alias' or 'entity/project/name:alias'"
        )
    if not e or not p:
        raise ArtifactError(f"artifact name {name!r} needs an entity and project (or a run or Api defaults)")
    return e, p, n, version or "latest"
