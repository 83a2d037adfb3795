"""The bodies of ``Run.log_artifact``, ``use_artifact``, ``link_artifact``, ``log_model``,
``use_model`` and ``link_model`` (thin methods on ``trackwell.Run`` call these).

Nothing here uploads on the caller's thread: logging queues the artifact for the
writer (which moves its staging folder into the run directory and records it) and the
sender (which uploads and commits). ``use_artifact`` of a name asks the server at
once (the caller needs the answer), and records the use through the run log.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from trackwell._pipeline.runlog import Kind
from trackwell.artifacts.artifact import Artifact
from trackwell.artifacts.manifest import ArtifactError
from trackwell.artifacts.names import parse_name
from trackwell.errors import NotFoundError

if TYPE_CHECKING:
    from trackwell.run import Run


def _aliases(aliases: str | Sequence[str] | None) -> list[str] | None:
    if aliases is None:
        return None
    return [aliases] if isinstance(aliases, str) else list(aliases)


def as_artifact(
    artifact_or_path: Artifact | str | os.PathLike[str], name: str | None, type: str | None, run: Run
) -> Artifact:
    """An ``Artifact``, or one made from a file, directory or reference URI (W&B's shorthand)."""
    if isinstance(artifact_or_path, Artifact):
        return artifact_or_path
    text = os.fspath(artifact_or_path)
    is_uri = "://" in text
    if name is None:
        base = os.path.basename(urlsplit(text).path.rstrip("/") if is_uri else os.path.normpath(text))
        name = f"run-{run.id}-{base}"
    art = Artifact(_safe(name), type or "unspecified")
    if is_uri:
        art.add_reference(text)
    elif Path(text).is_dir():
        art.add_dir(text)
    elif Path(text).is_file():
        art.add_file(text)
    else:
        raise ArtifactError(f"log_artifact({text!r}): no such file or directory")
    return art


def _safe(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:128]


def log_artifact(
    run: Run,
    artifact_or_path: Artifact | str | os.PathLike[str],
    name: str | None = None,
    type: str | None = None,
    aliases: str | Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
) -> Artifact:
    run._check_live("log_artifact")
    art = as_artifact(artifact_or_path, name, type, run)
    if run.disabled:  # every other run has its writer
        return art
    body = art._log_body(run, _aliases(aliases), tags)
    run._stage(art._materialize, body)
    return art


def stage_run_table(run: Run, key: str, table: Any) -> dict[str, Any]:
    """On the writer thread: stage the ``run_table`` artifact ``run-<run id>-<key>`` of a
    table logged under ``key`` (as W&B does; ``artifact.get(key)`` gives the table back)
    into the run directory, and return the body of its ARTIFACT record. The writer gets
    this function injected (``trackwell._pipeline.ports.Encoding``) and never imports
    artifacts."""
    art = Artifact(_safe(f"run-{run.id}-{key}"), "run_table")
    art.add(table, key)
    body = art._log_body(run, None, None)
    art._materialize(Path(run.dir).parent, body)
    return body


def use_artifact(
    run: Run,
    artifact_or_name: Artifact | str,
    type: str | None = None,
    aliases: Sequence[str] | None = None,
    use_as: str | None = None,
) -> Artifact:
    run._check_live("use_artifact")
    if isinstance(artifact_or_name, Artifact):
        art = artifact_or_name
        if art.is_draft():  # W&B logs an unlogged artifact that a run uses
            log_artifact(run, art, aliases=aliases)
        body: dict[str, Any]
        if art._state == "COMMITTED" and art._entity:
            body = {"action": "use", "artifact": f"{art._entity}/{art._project}/{art._name}:{art.version}"}
        else:
            body = {"action": "use", "client_id": art._client_id}
        body["use_as"] = use_as
        run._record(Kind.ARTIFACT, body)
        return art
    if run.offline:
        raise ArtifactError(
            f"use_artifact({artifact_or_name!r}) needs the server, and this run is offline: pass an "
            "Artifact object logged in this process, or run online"
        )
    if run.disabled:
        raise ArtifactError("use_artifact() of a name does nothing in a disabled run")
    from trackwell.artifacts.client import client_for

    client = client_for(run)
    entity = run.entity
    if entity is None:
        entity = run.entity = str(client.get("/viewer")["entity"])
    e, p, n, v = parse_name(artifact_or_name, entity, run.project)
    try:
        info = client.version(e, p, n, v)
    except NotFoundError:
        raise ArtifactError(f"artifact {e}/{p}/{n}:{v} not found on {client.base_url}") from None
    if type is not None and info.get("type") != type:
        raise ArtifactError(f"artifact {e}/{p}/{n}:{v} has type {info.get('type')!r}, not {type!r}")
    art = Artifact._from_info(info, client)
    art._run = run
    run._record(
        Kind.ARTIFACT, {"action": "use", "artifact": f"{e}/{p}/{n}:{info['version']}", "use_as": use_as}
    )
    return art


def link_artifact(
    run: Run, artifact: Artifact, target_path: str, aliases: Sequence[str] | None = None
) -> None:
    run._check_live("link_artifact")
    if not isinstance(artifact, Artifact):
        raise ArtifactError(f"link_artifact() takes an Artifact, got {type(artifact).__name__}")
    if not isinstance(target_path, str) or not target_path.strip("/"):
        raise ArtifactError(f"link_artifact(): bad target path {target_path!r}")
    if artifact.is_draft():
        log_artifact(run, artifact)
    body: dict[str, Any] = {"action": "link", "target": target_path, "aliases": _aliases(aliases) or []}
    if artifact._state == "COMMITTED" and artifact._entity:
        body["artifact"] = f"{artifact._entity}/{artifact._project}/{artifact._name}:{artifact.version}"
    else:
        body["client_id"] = artifact._client_id
    run._record(Kind.ARTIFACT, body)


def log_model(
    run: Run, path: str | os.PathLike[str], name: str | None = None, aliases: Sequence[str] | None = None
) -> Artifact:
    if name is None:
        name = f"run-{run.id}-{os.path.basename(os.path.normpath(os.fspath(path)))}"
    return log_artifact(run, path, name=name, type="model", aliases=aliases)


def use_model(run: Run, name: str) -> str:
    art = use_artifact(run, name)
    if art.type != "model":
        raise ArtifactError(
            f"use_model({name!r}): artifact {art.qualified_name} has type {art.type!r}, not 'model'"
        )
    root = art.download()
    # As W&B: a model of one file (model.keras, model.pt) gives that file's path, so
    # ``keras.models.load_model(run.use_model(...))`` works; several give the folder.
    entries = os.listdir(root)
    return os.path.join(root, entries[0]) if len(entries) == 1 else root


def link_model(
    run: Run,
    path: str | os.PathLike[str],
    registered_model_name: str,
    name: str | None = None,
    aliases: Sequence[str] | None = None,
) -> None:
    art = log_model(run, path, name=name)
    entity = run.entity or ""
    target = (
        f"{entity}/model-registry/{registered_model_name}"
        if entity
        else f"model-registry/{registered_model_name}"
    )
    link_artifact(run, art, target, aliases)
