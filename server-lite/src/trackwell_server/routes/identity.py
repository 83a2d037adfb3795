"""Health, the caller, users, teams (and invitations to them) and keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from trackwell_server import auth
from trackwell_server._version import __version__
from trackwell_server.db.engine import read, write
from trackwell_server.deps import Caller, Entity, Srv
from trackwell_server.errors import ApiError
from trackwell_server.names import NAME_PATTERN
from trackwell_server.responses import JSONResponse

router = APIRouter()


class Health(BaseModel):
    status: str
    version: str
    auth: bool


class Viewer(BaseModel):
    user: str
    entity: str
    admin: bool
    teams: list[str]


class NewUser(BaseModel):
    name: str = Field(pattern=NAME_PATTERN, max_length=128)
    admin: bool = False


class UserKey(BaseModel):
    name: str
    api_key: str


class NewTeam(BaseModel):
    name: str = Field(pattern=NAME_PATTERN, max_length=128)
    members: list[Annotated[str, Field(pattern=NAME_PATTERN, max_length=128)]] = Field(
        default_factory=list, max_length=1000
    )


class Team(BaseModel):
    name: str
    members: list[str]
    #: the names invited rather than added (what was asked, whether or not such a user exists)
    invited: list[str] = Field(default_factory=list)


class Invitation(BaseModel):
    team: str
    invited_by: str
    created_at: float


class InvitationList(BaseModel):
    items: list[Invitation]


class NewMember(BaseModel):
    user: str = Field(pattern=NAME_PATTERN, max_length=128)


class ApiKey(BaseModel):
    api_key: str


class Reauth(BaseModel):
    #: one of the caller's API keys: a dashboard session must show one to mint another
    api_key: str | None = Field(None, min_length=1, max_length=300)


class KeyInfo(BaseModel):
    id: str
    created_at: float


class KeyList(BaseModel):
    keys: list[KeyInfo]


@router.get("/health", response_model=Health, tags=["identity"])
def health(srv: Srv) -> Any:
    """Liveness, for load balancers and ``start_server``; needs no key."""
    return JSONResponse({"status": "ok", "version": __version__, "auth": srv.config.auth})


@router.get("/viewer", response_model=Viewer, tags=["identity"])
def viewer(who: Caller) -> Any:
    return JSONResponse(
        {"user": who.user, "entity": who.user, "admin": who.admin, "teams": sorted(who.teams)}
    )


@router.post("/users", status_code=201, response_model=UserKey, tags=["identity"])
def create_user(body: NewUser, who: Caller, srv: Srv) -> Any:
    if not who.admin:
        raise ApiError(403, "only an admin may create users")
    with write(srv.engine) as conn:
        key = auth.create_user(conn, body.name, body.admin)
    return JSONResponse({"name": body.name, "api_key": key}, status_code=201)


@router.post("/teams", status_code=201, response_model=Team, tags=["identity"])
def create_team(body: NewTeam, who: Caller, srv: Srv) -> Any:
    """A new team with the caller in it; an admin adds ``members``, anyone else invites them."""
    with write(srv.engine) as conn:
        made = auth.create_team(conn, body.name, who, body.members)
    return JSONResponse({"name": body.name, **made}, status_code=201)


@router.post("/teams/{team}/members", response_model=Team, tags=["identity"])
def add_member(team: Entity, body: NewMember, who: Caller, srv: Srv) -> Any:
    """An admin adds ``user`` at once; a member invites them (they join by accepting)."""
    with write(srv.engine) as conn:
        members = auth.add_member(conn, team, body.user, who)
    invited = [] if who.admin or body.user in members else [body.user]
    return JSONResponse({"name": team, "members": members, "invited": invited})


@router.get("/invitations", response_model=InvitationList, tags=["identity"])
def list_invitations(who: Caller, srv: Srv) -> Any:
    """The team invitations waiting for the caller."""
    with read(srv.engine) as conn:
        return JSONResponse({"items": auth.invitations(conn, who.user)})


@router.post("/invitations/{team}", response_model=Team, tags=["identity"])
def accept_invitation(team: Entity, who: Caller, srv: Srv) -> Any:
    """Join ``team``: only with an invitation waiting for the caller (404 otherwise)."""
    with write(srv.engine) as conn:
        auth.answer_invitation(conn, team, who.user, accept=True)
        members = auth.team_members(conn, team)
    return JSONResponse({"name": team, "members": members, "invited": []})


@router.delete("/invitations/{team}", status_code=204, tags=["identity"])
def decline_invitation(team: Entity, who: Caller, srv: Srv) -> Response:
    with write(srv.engine) as conn:
        auth.answer_invitation(conn, team, who.user, accept=False)
    return Response(status_code=204)


@router.post("/keys", status_code=201, response_model=ApiKey, tags=["identity"])
def create_key(request: Request, who: Caller, srv: Srv, body: Reauth | None = None) -> Any:
    """A new key for the caller. Made with a dashboard session (no ``Authorization``), the
    body must hold one of the caller's keys: a session a page on another port of the same
    host could have borrowed must not be able to mint a key that outlives it."""
    if srv.auth.enabled and not auth.key_from_header(request.headers.get("authorization", "")):
        again = None
        if body is not None and body.api_key:
            try:
                again = srv.auth.verify(body.api_key.strip(), auth.client_address(request))[0]
            except ApiError as exc:  # a wrong key here is a refusal, not the end of the session
                if exc.status != 401:
                    raise
        if again != who.user:
            raise ApiError(403, "minting a key from a dashboard session needs one of your API keys in "
                           "the body ({\"api_key\": ...}): enter it again")  # fmt: skip
    with read(srv.engine) as conn:
        exists = auth.entity_kind(conn, who.user) == "user"
    if not exists:
        raise ApiError(404, f"user {who.user!r} not found")
    with write(srv.engine) as conn:
        key = auth.create_key(conn, who.user)
    return JSONResponse({"api_key": key}, status_code=201)


@router.get("/keys", response_model=KeyList, tags=["identity"])
def list_keys(who: Caller, srv: Srv) -> Any:
    """The caller's keys by id (the part after ``tw_``), to find the one to revoke."""
    with read(srv.engine) as conn:
        return JSONResponse({"keys": auth.list_keys(conn, who.user)})


@router.delete("/keys/{key_id}", status_code=204, tags=["identity"])
def revoke_key(
    key_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9]{1,32}$")], who: Caller, srv: Srv
) -> Response:
    """Revoke a key: one's own, or any user's for an admin (a leaked key, a departed user)."""
    with write(srv.engine) as conn:
        auth.revoke_key(conn, key_id, who)
    srv.auth.forget(key_id)
    return Response(status_code=204)
