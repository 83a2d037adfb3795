"""Start a real server for tests: in-process on a background thread, as a subprocess, or socketless.

``start_server`` binds a socket on 127.0.0.1 itself (port 0: the OS picks a free one,
so parallel test sessions never collide), hands it to uvicorn on a thread, and
polls ``/health`` until it answers, with a deadline rather than a sleep.
``app_client`` drives the ASGI app in this process with no socket at all (starlette's
``TestClient``): the quickest way to a request against real storage.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn

from trackwell.testing import free_port
from trackwell_server.app import create_app, open_server
from trackwell_server.cli import KEEP_ALIVE_S
from trackwell_server.config import ServerConfig
from trackwell_server.deps import Server

if TYPE_CHECKING:  # starlette's TestClient needs httpx, a test dependency: imported by app_client()
    from starlette.testclient import TestClient

START_TIMEOUT = 30.0


def _request(method: str, url: str, key: str | None, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def wait_healthy(url: str, deadline: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``url``/api/v1/health until it answers 200; raise past ``deadline`` (monotonic)."""
    delay = 0.01
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server process exited with code {proc.returncode} before it answered")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer from {url}/api/v1/health within {START_TIMEOUT:.0f} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


class ServerHandle:
    """A running server: its URL and admin key, helpers to add users and teams, ``stop()``.

    ``server`` is the in-process server's handles (engine, blob store), for a test
    that must watch what a request does inside; None for a server subprocess.
    """

    def __init__(self, url: str, admin_key: str | None, stopper: Any, server: Server | None = None) -> None:
        self.url = url
        self.admin_key = admin_key
        self._stop = stopper
        self.server = server

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v1"

    def create_user(self, name: str, admin: bool = False) -> str:
        """Create a user; return its API key."""
        body = _request("POST", f"{self.api_url}/users", self.admin_key, {"name": name, "admin": admin})
        key: str = body["api_key"]
        return key

    def create_team(self, name: str, members: list[str]) -> dict[str, Any]:
        """Create a team (the admin becomes a member too, as any creator does)."""
        team: dict[str, Any] = _request("POST", f"{self.api_url}/teams", self.admin_key,
                                        {"name": name, "members": members})  # fmt: skip
        return team

    def stop(self) -> None:
        self._stop()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.stop()


def _config(data_dir: str | os.PathLike[str], db_url: str | None, blob_store: str | None, auth: bool,
            opts: dict[str, Any]) -> ServerConfig:  # fmt: skip
    return ServerConfig(data_dir=Path(data_dir), db_url=db_url, blob_store=blob_store, auth=auth, **opts)


@dataclass
class AppClient:
    """The server's ASGI app in this process: ``http`` sends requests under ``/api/v1`` as the admin."""

    http: TestClient
    admin_key: str | None
    server: Server


@contextmanager
def app_client(
    data_dir: str | os.PathLike[str],
    *,
    db_url: str | None = None,
    blob_store: str | None = None,
    auth: bool = True,
    **opts: Any,
) -> Iterator[AppClient]:
    """The app over real storage in ``data_dir``, driven in-process (lifespan included); ``opts`` are
    ``ServerConfig`` fields. No socket and no thread of its own: for a route's own tests; the SDK
    needs a real URL (``start_server``)."""
    from starlette.testclient import TestClient

    config = _config(data_dir, db_url, blob_store, auth, {"freeze_gc": False, **opts})
    config.public_url = "http://testserver"
    srv, admin_key = open_server(config)
    headers = {"Authorization": f"Bearer {admin_key}"} if admin_key else {}
    with TestClient(create_app(config, srv), base_url="http://testserver/api/v1", headers=headers) as http:
        yield AppClient(http, admin_key, srv)


def start_server(
    data_dir: str | os.PathLike[str],
    *,
    db_url: str | None = None,
    blob_store: str | None = None,
    auth: bool = True,
    **opts: Any,
) -> ServerHandle:
    """A server on 127.0.0.1 in this process; ``opts`` are ``ServerConfig`` fields
    (``heartbeat_timeout``, ``rate_limit``, ``s3_endpoint_url``, ...)."""
    config = _config(data_dir, db_url, blob_store, auth, {"freeze_gc": False, **opts})
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it: without it every keep-alive answer waits ~40 ms (Nagle)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config.public_url = url
    try:
        srv, admin_key = open_server(config)
    except BaseException:
        sock.close()
        raise
    app = create_app(config, srv)
    server = uvicorn.Server(
        uvicorn.Config(
            app, log_level="warning", lifespan="on", access_log=False, timeout_keep_alive=KEEP_ALIVE_S
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="trackwell-server", daemon=True
    )
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()

    try:
        wait_healthy(url, time.monotonic() + START_TIMEOUT)
    except BaseException:
        stop()
        raise
    return ServerHandle(url, admin_key, stop, srv)


def start_server_process(
    data_dir: str | os.PathLike[str],
    *,
    db_url: str | None = None,
    blob_store: str | None = None,
    auth: bool = True,
    port: int | None = None,
    env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
) -> tuple[ServerHandle, subprocess.Popen[bytes]]:
    """``python -m trackwell_server`` as a real process (for kill -9 tests); ``.stop()`` terminates it."""
    if port is None:
        port = free_port()
    args = [sys.executable, "-m", "trackwell_server", "--host", "127.0.0.1", "--port", str(port),
            "--data", str(data_dir), "--no-offer"]  # fmt: skip
    if db_url:
        args += ["--db", db_url]
    if blob_store:
        args += ["--blob-store", blob_store]
    if not auth:
        args.append("--no-auth")
    args += extra_args or []
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(data_dir) / "server.log", "ab") as log:  # a file: a full pipe would block the server
        proc = subprocess.Popen(args, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    try:
        wait_healthy(url, time.monotonic() + START_TIMEOUT, proc)
    except BaseException:
        stop()
        raise
    key_file = Path(data_dir) / "admin-key"
    admin_key = key_file.read_text().strip() if key_file.exists() else None
    return ServerHandle(url, admin_key, stop), proc


def process_tree(proc: subprocess.Popen[Any]) -> list[Any]:
    """A running server process and its workers (``psutil.Process`` objects); [] once it ended.

    With ``--workers N`` the port is served by children: a test that kills only the
    parent leaves an orphaned worker answering on the port.
    """
    import psutil

    if proc.poll() is not None:
        return []
    try:
        main = psutil.Process(proc.pid)
        return [main, *main.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def kill_tree(proc: subprocess.Popen[Any]) -> None:
    """kill -9 a server and its workers, as a crash or the OOM killer would; return once all are gone."""
    import psutil

    procs = process_tree(proc)
    for member in procs:
        try:
            member.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=30)
    proc.wait(timeout=30)


def rss_mb(proc: subprocess.Popen[Any]) -> float:
    """Resident memory of a server and its workers, in MB (0 once it ended)."""
    import psutil

    total = 0
    for member in process_tree(proc):
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 1e6


def postgres_unreachable(url: str) -> str | None:
    """None if PostgreSQL answers at ``url`` (starting the local cluster once if it is down), else why not.

    Tests skip their PostgreSQL half with this reason rather than fail on a machine
    without PostgreSQL; on one where the cluster is merely stopped, they start it.
    """
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed: {exc}"

    def connect() -> str | None:
        try:
            with psycopg.connect(url, connect_timeout=3):
                return None
        except psycopg.Error as exc:
            return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

    why = connect()
    versions = glob.glob("/etc/postgresql/*")
    if why is not None and versions:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", os.path.basename(versions[0]), "main",
                        "start"], capture_output=True, timeout=60, check=False)  # fmt: skip
        why = connect()
    return why


@contextmanager
def moto_s3() -> Iterator[str]:
    """A real S3 API (moto's server) on a free loopback port, with dummy credentials; yields its URL.

    For the S3 blob store's tests: the store talks to it with boto3 exactly as to AWS.
    """
    from moto.server import ThreadedMotoServer

    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        os.environ.setdefault(key, value)
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        moto.stop()
