"""A ``file://`` reference in someone else's artifact must not copy the downloader's own files.

Such a reference names a path on whichever machine downloads it: an artifact made by
another user holding ``file:///home/you/.ssh/id_rsa`` would copy *your* key into the
artifact folder. The SDK refuses, unless asked (``allow_local_references=True``), and
still fetches its owner's own references as before. Real server process, real SDK.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

import trackwell
from trackwell.artifacts.manifest import ArtifactError

from .conftest import ServerProcess, unique


def _commit_reference(url: str, key: str, proj: str, target: Path) -> None:
    data = target.read_bytes()
    entry = {"ref": target.as_uri(), "digest": hashlib.sha256(data).hexdigest(), "size": len(data)}
    body = {"name": "innocent", "type": "dataset", "digest": hashlib.sha256(target.as_uri().encode()).hexdigest(),
            "manifest": {"version": 1, "entries": {"notes.txt": entry}}}  # fmt: skip
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.put(f"{url}/api/v1/runs/{proj}/r", json={}, headers=headers).status_code == 201
    assert httpx.patch(f"{url}/api/v1/projects/{proj}", json={"visibility": "public"}, headers=headers).is_success
    assert httpx.post(f"{url}/api/v1/artifacts/{proj}", json=body, headers=headers).is_success


def test_someone_elses_file_reference_is_refused_unless_allowed(
    shared_server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKWELL_CACHE_DIR", str(tmp_path / "cache"))
    secret = tmp_path / "home" / "id_rsa"  # a file of the downloader's machine the attacker guessed
    secret.parent.mkdir()
    secret.write_text("PRIVATE KEY")
    mallory, victim = unique("mallory"), unique("victim")
    mallory_key, victim_key = shared_server.create_user(mallory), shared_server.create_user(victim)
    proj = f"{mallory}/{unique('p')}"
    _commit_reference(shared_server.url, mallory_key, proj, secret)

    api = trackwell.Api(overrides={"base_url": shared_server.url}, api_key=victim_key)
    art = api.artifact(f"{proj}/innocent:v0")
    with pytest.raises(ArtifactError, match=r"file:// reference.*allow_local_references=True"):
        art.download(tmp_path / "dl")
    assert not (tmp_path / "dl" / "notes.txt").exists()
    with pytest.raises(ArtifactError, match="allow_local_references"):  # reading one entry too
        art.get_entry("notes.txt").download(str(tmp_path / "dl1"))
    assert not (tmp_path / "dl1").exists() or not any((tmp_path / "dl1").iterdir())

    got = art.download(tmp_path / "dl2", allow_local_references=True)  # the downloader asked for it
    assert (Path(got) / "notes.txt").read_text() == "PRIVATE KEY"
    # the artifact's owner fetches their own references as always
    own = trackwell.Api(overrides={"base_url": shared_server.url}, api_key=mallory_key)
    mine = own.artifact(f"{proj}/innocent:v0").download(tmp_path / "dl3")
    assert (Path(mine) / "notes.txt").read_text() == "PRIVATE KEY"
