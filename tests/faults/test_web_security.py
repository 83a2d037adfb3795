"""The dashboard's and the API's web-facing defences, against real server processes (SQLite and PostgreSQL).

Each test is one finding of the issue-17 probe: lineage naming private runs, an open
redirect after login, sessions that outlive logout or travel between servers on one
host, keys minted from a borrowed session, API docs loading third-party scripts,
uploaded bytes a browser would run, team members added without consent, answers that
tell which user names exist, failed keys never throttled and a rate limiter a made-up
key bypasses. Plain HTTP (httpx) is enough for every one: what a browser does with
each answer follows from its headers.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from trackwell_server.auth import FailureThrottle
from trackwell_server.testing import start_server_process

from .conftest import Databases, ServerProcess, unique


class User:
    """One API key's view of a server (the REST API under ``/api/v1``)."""

    def __init__(self, url: str, key: str | None) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.key = key
        self.http = httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=30)

    def __getattr__(self, name: str) -> Any:  # get, post, put, patch, delete
        return getattr(self.http, name)


@pytest.fixture(scope="module")
def people(shared_server: ServerProcess) -> dict[str, User]:
    """The admin and two ordinary users (fresh names, so the module's server stays shared)."""
    assert shared_server.admin_key is not None
    out = {"admin": User(shared_server.url, shared_server.admin_key)}
    for who in ("alice", "bob"):
        name = unique(who)
        out[who] = User(shared_server.url, shared_server.create_user(name))
        out[who].name = name  # type: ignore[attr-defined]
    return out


def _name(user: User) -> str:
    return str(user.name)  # type: ignore[attr-defined]


def _commit(user: User, proj: str, name: str, files: dict[str, bytes], **kw: Any) -> dict[str, Any]:
    entries = {}
    for path, data in files.items():
        digest = hashlib.sha256(data).hexdigest()
        assert user.put(f"/artifacts/{proj}/blobs/{digest}", content=data).status_code == 200
        entries[path] = {"digest": digest, "size": len(data)}
    body = {"name": name, "type": "dataset", "digest": hashlib.sha256(repr(entries).encode()).hexdigest(),
            "manifest": {"version": 1, "entries": entries}, **kw}  # fmt: skip
    resp = user.post(f"/artifacts/{proj}", json=body)
    assert resp.status_code in (200, 201), resp.text
    out: dict[str, Any] = resp.json()
    return out


def _login(url: str, key: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{url}/_dash/login", json={"api_key": key, **body}, timeout=30)


def _session(url: str, key: str) -> tuple[str, str, str]:
    """(cookie name, cookie value, CSRF token) of a fresh dashboard login."""
    resp = _login(url, key)
    assert resp.status_code == 200, resp.text
    name, _, rest = resp.headers["set-cookie"].partition("=")
    return name, rest.split(";")[0], resp.json()["csrf"]


# -- lineage ----------------------------------------------------------------------------------


def test_lineage_names_only_runs_the_caller_may_read(people: dict[str, User]) -> None:
    alice, bob = people["alice"], people["bob"]
    a, b = _name(alice), _name(bob)
    shared = f"{a}/{unique('pub')}"
    assert alice.put(f"/runs/{shared}/maker", json={}).status_code == 201
    assert alice.patch(f"/projects/{shared}", json={"visibility": "public"}).status_code == 200
    _commit(alice, shared, "data", {"x.txt": b"x"})
    secret = f"{b}/{unique('secret')}"
    assert bob.put(f"/runs/{secret}/hidden-run", json={"name": "bob's secret plan"}).status_code == 201
    used = bob.post(f"/runs/{secret}/hidden-run/used-artifacts", json={"artifact": f"{shared}/data:v0"})
    assert used.status_code == 200, used.text
    # bob logs a version into his public project from a run of his private one
    bob_pub = f"{b}/{unique('pub')}"
    assert bob.put(f"/runs/{bob_pub}/r", json={}).status_code == 201
    assert bob.patch(f"/projects/{bob_pub}", json={"visibility": "public"}).status_code == 200
    run_ref = {"entity": b, "project": secret.split("/")[1], "run_id": "hidden-run"}
    _commit(bob, bob_pub, "model", {"m.bin": b"m"}, run=run_ref)

    assert alice.get(f"/projects/{secret}").status_code == 404  # the project itself is private
    seen = alice.get(f"/artifacts/{shared}/data/v0/used-by").json()["items"]
    assert seen == [], seen
    assert alice.get(f"/artifacts/{bob_pub}/model/v0/logged-by").json() is None
    # its owner still sees both
    assert [r["run_id"] for r in bob.get(f"/artifacts/{shared}/data/v0/used-by").json()["items"]] == ["hidden-run"]
    assert bob.get(f"/artifacts/{bob_pub}/model/v0/logged-by").json()["name"] == "bob's secret plan"


# -- login redirect ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["/\\evil.example/x", "\\/evil.example", "//evil.example/x", "/\t/evil.example/x", "/\n/evil.example/x",
     "https://evil.example/", "javascript:alert(1)", "/\x00x", "evil.example"],
)  # fmt: skip
def test_login_sends_the_browser_nowhere_but_this_dashboard(shared_server: ServerProcess, target: str) -> None:
    assert shared_server.admin_key is not None
    resp = _login(shared_server.url, shared_server.admin_key, next=target)
    assert resp.status_code == 200 and resp.json()["next"] == "/"


def test_login_keeps_a_path_of_this_dashboard(shared_server: ServerProcess) -> None:
    assert shared_server.admin_key is not None
    resp = _login(shared_server.url, shared_server.admin_key, next="/local/p/runs/r?tab=media#x")
    assert resp.json()["next"] == "/local/p/runs/r?tab=media#x"
    login_js = Path(__file__).resolve().parents[2] / "server-lite/src/trackwell_server/static/js/pages/login.js"
    assert "res.next" in login_js.read_text()  # the page goes where the server said, not to ?next= itself


# -- sessions -------------------------------------------------------------------------------------


def test_logout_ends_the_session_on_the_server(shared_server: ServerProcess, people: dict[str, User]) -> None:
    url, alice = shared_server.url, people["alice"]
    assert alice.key is not None
    name, value, csrf = _session(url, alice.key)
    cookies = {name: value}
    assert httpx.get(f"{url}/api/v1/viewer", cookies=cookies).status_code == 200
    assert httpx.post(f"{url}/_dash/logout", cookies=cookies, headers={"X-CSRF-Token": csrf}).status_code == 204
    # the browser forgot the cookie; a copy kept elsewhere is now worth nothing
    assert httpx.get(f"{url}/api/v1/viewer", cookies=cookies).status_code == 401


def test_revoking_the_key_ends_its_sessions(shared_server: ServerProcess, people: dict[str, User]) -> None:
    url, alice = shared_server.url, people["alice"]
    key = alice.post("/keys").json()["api_key"]
    name, value, _ = _session(url, key)
    assert httpx.get(f"{url}/api/v1/viewer", cookies={name: value}).status_code == 200
    assert alice.delete(f"/keys/{key.split('_')[1]}").status_code == 204
    assert httpx.get(f"{url}/api/v1/viewer", cookies={name: value}).status_code == 401


def test_a_session_of_another_server_on_this_host_is_useless(
    shared_server: ServerProcess, backend: str, tmp_path: Path
) -> None:
    assert shared_server.admin_key is not None
    databases = Databases(backend)
    other, _ = start_server_process(tmp_path / "other", db_url=databases.new())
    try:
        assert other.admin_key is not None
        mine = _session(shared_server.url, shared_server.admin_key)
        theirs = _session(other.url, other.admin_key)
        assert mine[0] != theirs[0] and mine[0].startswith("tw_session_")  # a name per server
        # the other server's cookie, under its own name or under ours, opens nothing here
        for cookies in ({theirs[0]: theirs[1]}, {mine[0]: theirs[1]}):
            assert httpx.get(f"{shared_server.url}/api/v1/viewer", cookies=cookies).status_code == 401
        assert httpx.get(f"{shared_server.url}/api/v1/viewer", cookies={mine[0]: mine[1]}).status_code == 200
    finally:
        other.stop()
        databases.drop_all()


def test_a_session_mints_no_key_without_a_key_again(shared_server: ServerProcess, people: dict[str, User]) -> None:
    url, alice, bob = shared_server.url, people["alice"], people["bob"]
    assert alice.key is not None
    name, value, csrf = _session(url, alice.key)

    def mint(body: Any = None) -> httpx.Response:
        return httpx.post(f"{url}/api/v1/keys", cookies={name: value}, headers={"X-CSRF-Token": csrf}, json=body)

    refused = mint()
    assert refused.status_code == 403 and "enter it again" in refused.json()["error"]["message"]
    assert mint({}).status_code == 403
    assert mint({"api_key": bob.key}).status_code == 403  # someone else's key is not "again"
    assert mint({"api_key": "tw_" + "x" * 50}).status_code == 403  # the session itself stays
    made = mint({"api_key": alice.key})
    assert made.status_code == 201 and made.json()["api_key"].startswith("tw_")
    assert alice.post("/keys").status_code == 201  # a caller with a key needs nothing more


def test_cookies_are_secure_only_over_https(shared_server: ServerProcess) -> None:
    assert shared_server.admin_key is not None
    plain = _login(shared_server.url, shared_server.admin_key)
    assert "secure" not in plain.headers["set-cookie"].lower()
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (FORWARDED_ALLOW_IPS): a TLS proxy on this host
    proxied = httpx.post(f"{shared_server.url}/_dash/login", json={"api_key": shared_server.admin_key},
                         headers={"X-Forwarded-Proto": "https"})  # fmt: skip
    assert "secure" in proxied.headers["set-cookie"].lower()


# -- what the dashboard serves --------------------------------------------------------------------

#: A script, style, font or image from another origin, in HTML, CSS or an ES module.
_EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import\s+["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//"""
    r"""|(?:from|import)\s*\(?\s*["'](?:https?:)?//""",
    re.IGNORECASE,
)
_STATIC = Path(__file__).resolve().parents[2] / "server-lite/src/trackwell_server/static"


def test_every_dashboard_page_has_a_csp_and_loads_nothing_from_elsewhere(shared_server: ServerProcess) -> None:
    url = shared_server.url
    pages = ["/", "/login", "/local/p", "/local/p/compare", "/local/p/runs/r", "/local/p/artifacts",
             "/local/p/artifacts/a/v0", "/local/p/sweeps", "/local/p/sweeps/s"]  # fmt: skip
    for page in pages:
        resp = httpx.get(url + page)
        assert resp.status_code == 200, page
        csp = resp.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, page
        assert not _EXTERNAL.search(resp.text), (page, _EXTERNAL.search(resp.text))
    # what the pages load: every script and style the dashboard ships
    for path in sorted(_STATIC.rglob("*")):
        if path.suffix in (".js", ".css", ".html"):
            rel = path.relative_to(_STATIC).as_posix()
            resp = httpx.get(f"{url}/_dash/static/{rel}")
            assert resp.status_code == 200, rel
            assert not _EXTERNAL.search(resp.text), (rel, _EXTERNAL.search(resp.text))
    for docs in ("/docs", "/redoc"):  # off by default: they load scripts from a public CDN
        assert httpx.get(url + docs).status_code == 404, docs
    assert httpx.get(f"{url}/openapi.json").json()["info"]["title"] == "trackwell server"


def test_the_api_docs_flag_turns_the_docs_on(tmp_path: Path) -> None:
    handle, _ = start_server_process(tmp_path / "docs", extra_args=["--api-docs"])
    try:
        assert httpx.get(f"{handle.url}/docs").status_code == 200
        assert httpx.get(f"{handle.url}/redoc").status_code == 200
    finally:
        handle.stop()


def test_uploaded_bytes_are_served_inert(people: dict[str, User]) -> None:
    alice = people["alice"]
    proj = f"{_name(alice)}/{unique('p')}"
    assert alice.put(f"/runs/{proj}/r", json={}).status_code == 201
    page = b"<script>parent.document.title='owned'</script>"
    assert alice.put(f"/runs/{proj}/r/files/evil.js", content=page).status_code in (200, 201)
    _commit(alice, proj, "d", {"evil.html": page})
    digest = hashlib.sha256(page).hexdigest()
    for path in (f"/runs/{proj}/r/files/evil.js", f"/artifacts/{proj}/blobs/{digest}"):
        resp = alice.get(path)
        assert resp.status_code == 200 and resp.content == page, path
        assert resp.headers["x-content-type-options"] == "nosniff", path
        assert resp.headers["content-disposition"] == "attachment", path
        assert resp.headers["content-security-policy"].startswith("sandbox"), path


def test_a_logged_html_page_never_runs_at_the_top(people: dict[str, User]) -> None:
    alice = people["alice"]
    proj = f"{_name(alice)}/{unique('p')}"
    assert alice.put(f"/runs/{proj}/r", json={}).status_code == 201
    page = b"<script>top.location='https://evil.example/'</script>"
    assert alice.put(f"/runs/{proj}/r/files/media/plot.html", content=page).status_code in (200, 201)
    media = f"/runs/{proj}/r/media/media/plot.html"
    framed = alice.get(media, headers={"Sec-Fetch-Dest": "iframe"})
    assert framed.headers["content-type"].startswith("text/html")
    sandbox = framed.headers["content-security-policy"].split(";")[0].split()
    assert sandbox[0] == "sandbox" and not {"allow-top-navigation", "allow-forms", "allow-popups",
                                            "allow-same-origin"} & set(sandbox)  # fmt: skip
    assert "content-disposition" not in framed.headers
    opened = alice.get(media, headers={"Sec-Fetch-Dest": "document"})  # the link opened in a tab
    assert opened.headers["content-disposition"] == "attachment"
    assert opened.headers["content-security-policy"].startswith("sandbox")


# -- teams and names ------------------------------------------------------------------------------


def test_team_members_are_invited_not_added(people: dict[str, User]) -> None:
    admin, alice, bob = people["admin"], people["alice"], people["bob"]
    a, b = _name(alice), _name(bob)
    team = unique("team")
    made = alice.post("/teams", json={"name": team, "members": [b]})
    assert made.status_code == 201 and made.json() == {"name": team, "members": [a], "invited": [b]}
    assert team not in bob.get("/viewer").json()["teams"]
    assert bob.put(f"/runs/{team}/{unique('p')}/r", json={}).status_code == 403
    assert bob.delete(f"/invitations/{team}").status_code == 204  # bob declines
    assert bob.post(f"/invitations/{team}").status_code == 404
    assert alice.post(f"/teams/{team}/members", json={"user": b}).json()["invited"] == [b]
    assert bob.post(f"/invitations/{team}").json()["members"] == sorted([a, b])
    assert team in bob.get("/viewer").json()["teams"]
    # an admin adds directly, as before
    direct = unique("team")
    assert admin.post("/teams", json={"name": direct, "members": [a]}).json()["members"] == sorted([a, "local"])


def test_answers_do_not_tell_which_user_names_exist(people: dict[str, User]) -> None:
    alice, bob = people["alice"], people["bob"]
    team = unique("team")
    alice.post("/teams", json={"name": team, "members": []})
    real = alice.post(f"/teams/{team}/members", json={"user": _name(bob)})
    ghost = alice.post(f"/teams/{team}/members", json={"user": unique("ghost")})
    assert real.status_code == ghost.status_code == 200
    assert real.json()["members"] == ghost.json()["members"] and real.json()["invited"] and ghost.json()["invited"]
    # keys: malformed, unknown id, right id with a wrong secret: one answer
    assert bob.key is not None
    key_id = bob.key.split("_")[1]
    answers = set()
    for key in ("nonsense", f"tw_{'Z' * 12}_{'x' * 40}", f"tw_{key_id}_{'x' * 40}"):
        resp = httpx.get(bob.http.base_url.join("viewer"), headers={"Authorization": f"Bearer {key}"})
        answers.add((resp.status_code, resp.json()["error"]["message"]))
    assert len(answers) == 1, answers


# -- throttling ----------------------------------------------------------------------------------


@pytest.fixture
def fresh(backend: str, tmp_path: Path) -> Iterator[Any]:
    """``fresh(*args)``: a server process of this test's own with extra CLI arguments."""
    databases = Databases(backend)
    handles = []

    def start(*args: str) -> Any:
        handle, _ = start_server_process(tmp_path / f"s{len(handles)}", db_url=databases.new(),
                                         extra_args=list(args))  # fmt: skip
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()
    databases.drop_all()


def test_rejected_keys_are_throttled_per_address(fresh: Any) -> None:
    server = fresh()
    url, good = f"{server.url}/api/v1", server.admin_key
    assert httpx.get(f"{url}/viewer", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    codes = []
    for _ in range(40):
        bad = f"tw_{secrets.token_hex(6)}_{secrets.token_hex(20)}"
        codes.append(httpx.get(f"{url}/viewer", headers={"Authorization": f"Bearer {bad}"}).status_code)
    assert codes[:30] == [401] * 30 and set(codes[30:]) == {429}, codes
    blocked = httpx.get(f"{url}/viewer", headers={"Authorization": "Bearer tw_x"})
    assert int(blocked.headers["retry-after"]) >= 1
    assert _login(server.url, "tw_" + "y" * 60).status_code == 429  # the dashboard's login too
    # a key this server already knows keeps working from the same address
    assert httpx.get(f"{url}/viewer", headers={"Authorization": f"Bearer {good}"}).status_code == 200


def test_the_failure_table_is_bounded() -> None:
    throttle = FailureThrottle(limit=3, window=60.0, max_clients=100)
    for i in range(10_000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}", now=0.0)
    assert len(throttle._failures) == 100
    for _ in range(3):
        throttle.failed("192.0.2.1", now=1.0)
    assert throttle.blocked_for("192.0.2.1", now=2.0) == pytest.approx(59.0)
    assert throttle.blocked_for("192.0.2.1", now=61.0) == 0.0


def test_a_made_up_key_buys_no_fresh_rate_limit(fresh: Any) -> None:
    server = fresh("--rate-limit", "1")  # a bucket of 2 requests, refilled at 1 a second
    codes = []
    for _ in range(6):
        bad = f"tw_{secrets.token_hex(6)}_{secrets.token_hex(20)}"
        codes.append(httpx.get(f"{server.url}/api/v1/viewer",
                               headers={"Authorization": f"Bearer {bad}"}).status_code)  # fmt: skip
    assert codes.count(429) >= 3, codes  # each made-up key used to get a full bucket of its own


def test_a_server_beyond_localhost_warns_that_it_has_no_tls(tmp_path: Path) -> None:
    data = tmp_path / "wide"
    handle, _ = start_server_process(data, extra_args=["--host", "0.0.0.0"])  # the last --host wins
    try:
        log = (data / "server.log").read_text()
    finally:
        handle.stop()
    assert "listening beyond localhost without TLS" in log and "X-Forwarded-Proto" in log
    local = tmp_path / "local"
    handle, _ = start_server_process(local)
    handle.stop()
    assert "without TLS" not in (local / "server.log").read_text()
