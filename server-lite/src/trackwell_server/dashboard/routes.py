"""The dashboard's routes: the page shell, static files, login/logout, bucketed history.

Pages live at the paths the API's run ``url`` points to (``/{entity}/{project}/runs/{id}``)
and W&B users expect; every page is the same HTML shell, which loads ``static/js/app.js``
and renders from the REST API. Static files and login are under ``/_dash/``: names
cannot start with ``_``, so no entity or project can shadow them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import numpy as np
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.routing import Match

from trackwell_server.auth import client_address
from trackwell_server.dashboard import views
from trackwell_server.dashboard.session import TTL_SECONDS
from trackwell_server.db.engine import read, write
from trackwell_server.deps import Caller, Entity, Project, RunId, Srv
from trackwell_server.errors import ERROR_RESPONSES, ApiError
from trackwell_server.responses import JSONResponse
from trackwell_server.storage import history
from trackwell_server.storage import runs as store

STATIC = Path(__file__).resolve().parent.parent / "static"
#: Pages run only the project's own scripts: an injected <script> would not run even
#: if some string escaped the escaping. Styles may be inline (uPlot sizes its canvas).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}
#: The most buckets one series may be cut into (a chart is at most a few thousand pixels wide).
MAX_BUCKETS = 5000
#: Numbers of keys one bucket request may name (a run page asks for all its metrics at once).
MAX_KEYS = 2000

pages = APIRouter(include_in_schema=False)
#: Login and session routes: included before ``pages``, whose ``/{entity}/{project}`` would match them.
sessions = APIRouter(include_in_schema=False)
api = APIRouter(tags=["dashboard"])


def install(app: FastAPI, api_prefix: str) -> None:
    """Add the dashboard to ``app``: after the API routes, whose paths it must not shadow."""
    app.include_router(api, prefix=api_prefix, responses=ERROR_RESPONSES)
    app.include_router(views.router, prefix=api_prefix, responses=ERROR_RESPONSES)
    app.include_router(sessions)
    # Any method on an unknown API path is the API's JSON 404, before a page route of the
    # same shape (`/api/v1/runs/x` looks like `/{entity}/{project}/runs/{id}`) answers 405.
    app.add_api_route(
        f"{api_prefix}/{{rest:path}}",
        _no_such_api_route,
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    app.include_router(pages)
    app.mount("/_dash/static", StaticFiles(directory=STATIC), name="dashboard-static")


def _no_such_api_route(request: Request, rest: str) -> Response:
    # A known path asked with another method stays 405, as before this catch-all:
    # Starlette prefers a full match (this route) over a method mismatch elsewhere.
    for route in request.app.router.routes:
        if _is_dashboard(route):
            continue  # `/api/v1/runs/x` has the shape of a page, which is not an API route
        if route.matches(request.scope)[0] is Match.PARTIAL:
            raise ApiError(405, f"{request.method} is not allowed on {request.url.path}")
    raise ApiError(404, "no such API route")


def _is_dashboard(route: Any) -> bool:
    # Newer FastAPI keeps an included router whole (``original_router``); older ones
    # copy its routes into the app, recognisable by their endpoints.
    if getattr(route, "original_router", None) in (pages, sessions):
        return True
    endpoint = getattr(route, "endpoint", None)
    return any(getattr(r, "endpoint", None) is endpoint for r in (*pages.routes, *sessions.routes))


def _shell(entity: str = "") -> Response:
    if entity == "api":  # an unknown API path: its JSON 404, not a page
        raise ApiError(404, "no such API route")
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=_PAGE_HEADERS)


@pages.get("/")
def projects_page() -> Response:
    return _shell()


@pages.get("/login")
def login_page() -> Response:
    return _shell()


@pages.get("/{entity}/{project}")
def workspace_page(entity: Entity, project: Project) -> Response:
    return _shell(entity)


@pages.get("/{entity}/{project}/compare")
def compare_page(entity: Entity, project: Project) -> Response:
    return _shell(entity)


@pages.get("/{entity}/{project}/runs/{run_id}")
def run_page(entity: Entity, project: Project, run_id: RunId) -> Response:
    return _shell(entity)


@pages.get("/{entity}/{project}/artifacts")
def artifacts_page(entity: Entity, project: Project) -> Response:
    return _shell(entity)


@pages.get("/{entity}/{project}/artifacts/{name}/{version}")
def artifact_page(entity: Entity, project: Project, name: str, version: str) -> Response:
    return _shell(entity)


@pages.get("/{entity}/{project}/sweeps")
def sweeps_page(entity: Entity, project: Project) -> Response:
    return _shell(entity)


@pages.get("/{entity}/{project}/sweeps/{sweep_id}")
def sweep_page(entity: Entity, project: Project, sweep_id: str) -> Response:
    return _shell(entity)


class Login(BaseModel):
    api_key: str = Field(min_length=1, max_length=300)
    #: where the page goes after logging in (``/login?next=``): see ``safe_next``
    next: str | None = Field(default=None, max_length=4000)


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this dashboard's own origin, else ``/``.

    Browsers read ``//host`` as another host, and so ``/`` + backslash + ``host`` and
    ``/`` + tab + ``/host`` (they turn backslashes into slashes and drop tabs and
    newlines): a path with a backslash or any control character is refused outright
    rather than cleaned.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


@sessions.post("/_dash/login")
def login(body: Login, request: Request, srv: Srv) -> Response:
    """An API key for a session cookie (HttpOnly, SameSite=Strict): the page never holds the key.

    The answer names ``next``: where to go now, always a path on this origin.
    """
    target = safe_next(body.next)
    if not srv.auth.enabled or srv.auth.sessions is None:
        return JSONResponse({"user": "local", "auth": False, "next": target})
    key_id = srv.auth.login(body.api_key.strip(), client_address(request))
    with write(srv.engine) as conn:
        cookie = srv.auth.sessions.issue(conn, key_id)
    response = JSONResponse({"auth": True, "csrf": srv.auth.sessions.csrf(cookie), "next": target})
    # Secure only where the browser came over https (directly, or through a proxy that
    # uvicorn trusts to say so in X-Forwarded-Proto): an http-only server's cookie must
    # still reach it. docs/server-api.md says to put TLS in front of a shared server.
    response.set_cookie(
        srv.auth.sessions.cookie, cookie, max_age=TTL_SECONDS, path="/", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@sessions.get("/_dash/session")
def session(request: Request, srv: Srv) -> Any:
    """Who is logged in, and the CSRF token the page sends with its writes.

    Nobody logged in is a normal answer here (``user`` null), not a 401: the page asks
    this on every load, and a browser logs every 401 as an error in its console.
    """
    try:
        who = srv.auth.principal(request)
    except ApiError as exc:
        if exc.status != 401:
            raise
        return {"user": None, "admin": False, "auth": True, "csrf": ""}
    cookie = request.cookies.get(srv.auth.sessions.cookie) if srv.auth.sessions is not None else None
    csrf = srv.auth.sessions.csrf(cookie) if cookie and srv.auth.sessions is not None else ""
    return {"user": who.user, "admin": who.admin, "auth": srv.auth.enabled, "csrf": csrf}


@sessions.post("/_dash/logout")
def logout(request: Request, _who: Caller, srv: Srv) -> Response:
    """End the session on the server and on this browser (a write: it needs the CSRF token)."""
    response = Response(status_code=204)
    if srv.auth.sessions is not None:
        cookie = request.cookies.get(srv.auth.sessions.cookie)
        if cookie:
            with write(srv.engine) as conn:
                srv.auth.sessions.end(conn, cookie)
        response.delete_cookie(srv.auth.sessions.cookie, path="/", httponly=True, samesite="strict")
    return response


# -- bucketed history ------------------------------------------------------------------

BucketCount = Annotated[int, Query(ge=2, le=MAX_BUCKETS)]


@api.get("/runs/{entity}/{project}/{run_id}/history/buckets")
def get_buckets(
    entity: Entity,
    project: Project,
    run_id: RunId,
    who: Caller,
    srv: Srv,
    keys: Annotated[str | None, Query(max_length=200_000, description="comma-separated; default all")] = None,
    buckets: BucketCount = 1000,
    x_axis: Annotated[str, Query(max_length=1000)] = "_step",
) -> Any:
    """Each numeric key as a chart-ready series of at most ``buckets`` points.

    ``{"x_axis", "series": {key: {"x", "y", "min", "max", "count"}}}``: a series longer
    than ``buckets`` is cut into that many runs of consecutive points, each drawn as
    its mean at its first x, with its min and max (the band the chart shades, so no
    spike is lost); ``min``/``max`` are null when nothing was merged. The last point is
    always the last logged value. Non-finite values are left out. ``x_axis`` is
    ``_step`` or any numeric key (``_runtime``, ``_timestamp``, ``epoch``...): points
    are matched to it by step.
    """
    wanted = [k for k in (keys.split(",") if keys else []) if k.strip()]
    if len(wanted) > MAX_KEYS:
        raise ApiError(422, f"at most {MAX_KEYS} keys per request, got {len(wanted)}")
    with read(srv.engine) as conn:
        _, run = store.readable_run(conn, who, entity, project, run_id)
        names = wanted or [k for k in history.series_keys(conn, run.pk) if not k.startswith("_")]
        load = list(dict.fromkeys([*names, x_axis])) if x_axis != "_step" else names
        series = history.read_series(conn, run.pk, load)
    axis = series.get(x_axis) if x_axis != "_step" else None
    if x_axis != "_step" and axis is None:
        return {"x_axis": x_axis, "series": {}}
    out: dict[str, Any] = {}
    for key in names:
        if key == x_axis or key not in series:
            continue
        steps, values = series[key]
        xs = steps.astype(np.float64)
        if axis is not None:
            pos = np.searchsorted(axis[0], steps)
            ok = pos < len(axis[0])
            ok[ok] = axis[0][pos[ok]] == steps[ok]
            xs = np.full(len(steps), np.nan)
            xs[ok] = axis[1][pos[ok]]
        out[key] = bucket(xs, values, buckets)
    return {"x_axis": x_axis, "series": out}


def bucket(xs: np.ndarray, ys: np.ndarray, buckets: int) -> dict[str, Any]:
    """``xs``/``ys`` as at most ``buckets`` points: means with min/max when merged (see above)."""
    keep = np.isfinite(xs) & np.isfinite(ys)
    if not keep.all():
        xs, ys = xs[keep], ys[keep]
    n = len(ys)
    if n <= buckets:
        return {"x": xs.tolist(), "y": ys.tolist(), "min": None, "max": None, "count": n}
    # The last point stands alone, so the line ends at the last value logged.
    starts = np.linspace(0, n - 1, buckets - 1, endpoint=False).astype(np.int64)
    starts = np.unique(starts)
    head = ys[: n - 1]
    counts = np.diff(np.append(starts, n - 1))
    mean = np.add.reduceat(head, starts) / counts
    lo = np.minimum.reduceat(head, starts)
    hi = np.maximum.reduceat(head, starts)
    last = ys[n - 1 :]
    return {
        "x": np.append(xs[starts], xs[n - 1]).tolist(),
        "y": np.append(mean, last).tolist(),
        "min": np.append(lo, last).tolist(),
        "max": np.append(hi, last).tolist(),
        "count": n,
    }
