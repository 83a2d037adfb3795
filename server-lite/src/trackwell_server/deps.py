"""What every route needs: the server's state, the caller, validated path names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPBearer
from sqlalchemy.engine import Engine

from trackwell_server.auth import Authenticator, Principal
from trackwell_server.config import ServerConfig
from trackwell_server.names import NAME_PATTERN
from trackwell_server.plugin_manager import ServerPlugins
from trackwell_server.storage.blobs import BlobStore

# Declared so /openapi.json documents the scheme; the Authenticator reads the header
# itself because it also accepts W&B's Basic "api:KEY".
_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer tw_...`")


@dataclass
class Server:
    """One process's handles: shared by all requests, none of it state other processes need."""

    config: ServerConfig
    engine: Engine
    blobs: BlobStore
    auth: Authenticator
    plugins: ServerPlugins


def server(request: Request) -> Server:
    srv: Server = request.app.state.server
    return srv


def caller(request: Request, _token: Annotated[object, Depends(_bearer)] = None) -> Principal:
    return server(request).auth.principal(request)


Srv = Annotated[Server, Depends(server)]
Caller = Annotated[Principal, Depends(caller)]
Entity = Annotated[str, Path(pattern=NAME_PATTERN, max_length=128, description="user or team")]
Project = Annotated[str, Path(pattern=NAME_PATTERN, max_length=128)]
RunId = Annotated[str, Path(pattern=NAME_PATTERN, max_length=128)]
