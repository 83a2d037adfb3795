"""Keys, users, teams and access: no cross-entity reads or writes, public projects readable."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import httpx

from trackwell_server.testing import ServerHandle, start_server

from .conftest import Client, unique


def test_health_needs_no_key(server: ServerHandle) -> None:
    resp = httpx.get(f"{server.api_url}/health")
    assert resp.status_code == 200
    assert resp.json()["status"] == "ok" and resp.json()["auth"] is True


def test_missing_and_invalid_keys_are_401(server: ServerHandle) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer tw_" + "a" * 12 + "_" + "b" * 40},
                    {"Authorization": "Basic !!!"}, {"Authorization": "Token x"}):  # fmt: skip
        resp = httpx.get(f"{server.api_url}/viewer", headers=headers)
        assert resp.status_code == 401, headers
        assert resp.json()["error"]["code"] == "unauthorized"


def test_viewer_and_basic_auth(server: ServerHandle, admin: Client) -> None:
    assert admin.get("/viewer").json() == {"user": "local", "entity": "local", "admin": True, "teams": []}
    basic = base64.b64encode(f"api:{server.admin_key}".encode()).decode()
    resp = httpx.get(f"{server.api_url}/viewer", headers={"Authorization": f"Basic {basic}"})
    assert resp.status_code == 200 and resp.json()["user"] == "local"


def test_keys_are_long_and_only_hashes_are_stored(server: ServerHandle, admin: Client) -> None:
    name = unique("u")
    key = server.create_user(name)
    assert key.startswith("tw_") and len(key) >= 40
    new_key = Client(server, key).post("/keys").json()["api_key"]
    assert new_key != key and Client(server, new_key).get("/viewer").json()["user"] == name
    assert admin.post("/users", json={"name": name}).status_code == 409
    assert admin.post("/users", json={"name": "../x"}).status_code == 422


def test_only_admins_create_users(users: dict[str, Client]) -> None:
    resp = users["alice"].post("/users", json={"name": unique("u")})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"


def test_no_cross_entity_reads_or_writes(users: dict[str, Client]) -> None:
    alice, bob = users["alice"], users["bob"]
    project = unique()
    path = f"alice/{project}/r"
    assert alice.put(f"/runs/{path}", json={}).status_code == 201
    alice.log_rows(path, [{"_step": 0, "x": 1.0}])
    # reading someone's private project: 404, so names do not leak
    for url in (f"/runs/{path}", f"/runs/{path}/history", f"/runs/{path}/history/columns", f"/runs/alice/{project}",
                f"/projects/alice/{project}", f"/runs/{path}/files", f"/runs/{path}/streams/s"):  # fmt: skip
        resp = bob.get(url)
        assert resp.status_code == 404, url
        assert resp.json()["error"]["code"] == "not_found"
    assert bob.get("/projects", params={"entity": "alice"}).json() == {"projects": []}
    # writing into an entity you do not belong to: 403
    assert bob.put(f"/runs/alice/{unique()}/r", json={}).status_code == 403
    assert bob.put(f"/runs/{path}", json={}).status_code == 403
    assert bob.ingest(path, "s", 1, [["history", 1, {"_step": 1}]]).status_code == 404
    assert bob.put(f"/runs/{path}/files/a.txt", content=b"x").status_code == 404
    assert bob.delete(f"/runs/{path}").status_code == 404
    assert bob.patch(f"/projects/alice/{project}", json={"visibility": "public"}).status_code == 404
    assert alice.get(f"/runs/{path}").status_code == 200


def test_public_projects_are_readable_not_writable(users: dict[str, Client]) -> None:
    alice, bob = users["alice"], users["bob"]
    project = unique()
    path = f"alice/{project}/r"
    alice.put(f"/runs/{path}", json={})
    alice.log_rows(path, [{"_step": 0, "x": 1.0}])
    assert (
        alice.patch(f"/projects/alice/{project}", json={"visibility": "public"}).json()["visibility"]
        == "public"
    )
    assert bob.get(f"/runs/{path}").status_code == 200
    assert bob.get(f"/runs/{path}/history").json()["rows"][0]["x"] == 1.0
    assert project in [p["name"] for p in bob.get("/projects", params={"entity": "alice"}).json()["projects"]]
    assert bob.put(f"/runs/{path}", json={}).status_code == 403
    assert bob.patch(f"/runs/{path}", json={"notes": "mine"}).status_code == 403
    assert bob.ingest(path, "s2", 0, [["history", 0, {"_step": 5}]]).status_code == 403
    assert bob.delete(f"/runs/{path}").status_code == 403
    assert bob.patch(f"/projects/alice/{project}", json={"visibility": "private"}).status_code == 403


def test_teams_share_their_projects(server: ServerHandle, users: dict[str, Client]) -> None:
    alice, bob = users["alice"], users["bob"]
    team = unique("team")
    created = alice.post("/teams", json={"name": team, "members": []})
    assert created.status_code == 201 and created.json()["members"] == ["alice"]
    path = f"{team}/{unique()}/r"
    assert alice.put(f"/runs/{path}", json={}).status_code == 201
    assert bob.get(f"/runs/{path}").status_code == 404
    # not a member: the team is not bob's to see, nor to join without an invitation
    assert bob.post(f"/teams/{team}/members", json={"user": "bob"}).status_code == 404
    assert bob.post(f"/invitations/{team}").status_code == 404
    invited = alice.post(f"/teams/{team}/members", json={"user": "bob"}).json()
    assert invited["members"] == ["alice"] and invited["invited"] == ["bob"]
    assert [i["team"] for i in bob.get("/invitations").json()["items"]] == [team]
    assert bob.post(f"/invitations/{team}").json()["members"] == ["alice", "bob"]
    assert bob.get(f"/runs/{path}").status_code == 200
    assert bob.put(f"/runs/{team}/{unique()}/r2", json={}).status_code == 201
    assert team in bob.get("/viewer").json()["teams"]
    assert alice.post("/teams", json={"name": team, "members": []}).status_code == 409
    # an invitation to a name nobody has reads like any other (names do not leak)
    ghost = alice.post("/teams", json={"name": unique("t"), "members": ["ghost"]})
    assert ghost.status_code == 201 and ghost.json()["invited"] == ["ghost"]
    assert alice.post("/teams/nosuchteam/members", json={"user": "bob"}).status_code == 404


def test_admin_key_is_kept_in_a_private_file(tmp_path: Path) -> None:
    data = tmp_path / "d"
    with start_server(data) as other:
        key_file = data / "admin-key"
        assert key_file.read_text().strip() == other.admin_key
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        content = (data / "trackwell.db").read_bytes()
        assert other.admin_key is not None and other.admin_key.encode() not in content


def test_no_auth_mode_is_the_local_admin(tmp_path: Path) -> None:
    with start_server(tmp_path, auth=False) as server:
        resp = httpx.get(f"{server.api_url}/viewer")
        assert resp.json() == {"user": "local", "entity": "local", "admin": True, "teams": []}
        assert httpx.put(f"{server.api_url}/runs/local/p/r", json={}).status_code == 201
