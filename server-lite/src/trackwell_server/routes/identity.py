"""Health, the caller, users, teams and keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
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


class NewMember(BaseModel):
    user: str = Field(pattern=NAME_PATTERN, max_length=128)


class ApiKey(BaseModel):
    api_key: str


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
    with write(srv.engine) as conn:
        members = auth.create_team(conn, body.name, [*body.members, who.user])
    return JSONResponse({"name": body.name, "members": members}, status_code=201)


@router.post("/teams/{team}/members", response_model=Team, tags=["identity"])
def add_member(team: Entity, body: NewMember, who: Caller, srv: Srv) -> Any:
    with write(srv.engine) as conn:
        if not (who.admin or team in who.teams):
            if auth.entity_kind(conn, team) != "team":
                raise ApiError(404, f"team {team!r} not found")
            raise ApiError(403, f"only members of {team!r} (or an admin) may add members")
        members = auth.add_member(conn, team, body.user)
    return JSONResponse({"name": team, "members": members})


@router.post("/keys", status_code=201, response_model=ApiKey, tags=["identity"])
def create_key(who: Caller, srv: Srv) -> Any:
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
