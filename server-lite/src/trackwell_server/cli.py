"""``trackwell server``: start the reference server.

Also installed as ``trackwell-server`` and runnable as ``python -m trackwell_server``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from pathlib import Path
from typing import Any

import click

#: How long an idle keep-alive connection stays open. uvicorn's 5 s default closes a
#: sender's connection between two flushes, and clients that do not retry a request
#: on a connection closed under them (http.client) fail with a broken pipe.
KEEP_ALIVE_S = 120

#: The port tried first, so the URL saved in the SDK's settings stays valid across restarts.
PREFERRED_PORT = 8765


#: This server speaks plain http; beyond this machine keys and session cookies need TLS.
NO_TLS_WARNING = (
    "  warning:  listening beyond localhost without TLS: API keys and dashboard session cookies cross the\n"
    "            network in clear text. Put an https proxy in front; dashboard cookies are marked Secure\n"
    "            when the proxy says https in X-Forwarded-Proto and its address is in FORWARDED_ALLOW_IPS\n"
    "            (default 127.0.0.1)."
)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _pick_port(host: str) -> int:
    for port in (PREFERRED_PORT, 0):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            chosen: int = probe.getsockname()[1]
            return chosen
    raise click.ClickException(f"no free port on {host}")


@click.command("server")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for a team)."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help=f"Port (default: {PREFERRED_PORT} if free, else any free port).",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (default: $TRACKWELL_DATA_DIR or ~/.local/share/trackwell/server).",
)
@click.option(
    "--db", "db_url", default=None, help="Database URL, e.g. postgresql://user@host/db (default: SQLite)."
)
@click.option(
    "--sqlite-synchronous",
    type=click.Choice(["full", "normal"]),
    default="full",
    show_default=True,
    help="full: a batch is acknowledged once it is on disk. normal: faster ingest, but a power loss "
    "(not a crash of the server) can lose the last acknowledged batches.",
)
@click.option(
    "--blob-store",
    default=None,
    help="Where file bytes go: a directory, s3://bucket/prefix, or another scheme a server plugin adds.",
)
@click.option(
    "--s3-endpoint-url",
    default=None,
    envvar="AWS_ENDPOINT_URL",
    help="S3-compatible endpoint (MinIO, ...); also AWS_ENDPOINT_URL.",
)
@click.option(
    "--no-auth", is_flag=True, help="No API keys: every request is the local admin (loopback only)."
)
@click.option(
    "--auth-backend",
    default="api_keys",
    show_default=True,
    help="How requests are authenticated: a back end registered by a server plugin (see --list-plugins).",
)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Worker processes.")
@click.option(
    "--heartbeat-timeout",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="Seconds of silence after which a running run is marked crashed.",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0.1),
    default=1000.0,
    show_default=True,
    help="Requests per second per API key.",
)
@click.option("--no-offer", is_flag=True, help="Do not write the admin key into the SDK's user settings.")
@click.option(
    "--api-docs",
    is_flag=True,
    help="Serve the interactive /docs and /redoc pages (they load scripts from a public CDN).",
)
@click.option(
    "--list-plugins",
    is_flag=True,
    help="List the server's plugins and what each registered (blob stores, auth back ends, ...), then exit.",
)
def server_command(host: str, port: int, data_dir: Path | None, db_url: str | None, sqlite_synchronous: str,
                   blob_store: str | None, s3_endpoint_url: str | None, no_auth: bool, auth_backend: str,
                   workers: int,
                   heartbeat_timeout: float, rate_limit: float, no_offer: bool,
                   api_docs: bool, list_plugins: bool) -> None:  # fmt: skip
    """Start the trackwell server (REST API for runs, history and files).

    One person: `trackwell server` (SQLite and files in the data directory).
    A team: `trackwell server --host 0.0.0.0 --db postgresql://... --blob-store s3://bucket/prefix
    --workers 4`, on as many hosts as you like.
    """
    from trackwell_server.app import CONFIG_ENV, config_to_env, create_app, open_server
    from trackwell_server.bootstrap import offer_to_sdk
    from trackwell_server.config import ServerConfig, default_data_dir

    if list_plugins:
        _list_plugins()
        return
    if no_auth and not _is_loopback(host):
        raise click.UsageError("--no-auth is only allowed on a loopback address (127.0.0.1, ::1, localhost)")
    port = port or _pick_port(host)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    config = ServerConfig(
        data_dir=data_dir or default_data_dir(),
        db_url=db_url,
        sqlite_synchronous=sqlite_synchronous,
        blob_store=blob_store,
        s3_endpoint_url=s3_endpoint_url,
        auth=not no_auth,
        auth_backend=auth_backend,
        heartbeat_timeout=heartbeat_timeout,
        crash_check_interval=min(30.0, heartbeat_timeout / 2),
        rate_limit=rate_limit,
        rate_burst=2 * rate_limit,
        public_url=url,
        api_docs=api_docs,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # "running upgrade ..." is noise at start
    try:
        srv, admin_key = open_server(config)
    except Exception as exc:
        raise click.ClickException(f"cannot open the server's storage: {exc}") from exc
    click.echo(f"trackwell server {url}")
    click.echo(f"  database: {srv.engine.url.render_as_string(hide_password=True)}")
    click.echo(f"  blobs:    {srv.blobs.describe()}")
    if no_auth:
        click.echo("  auth:     off (every request is the local admin)")
    elif admin_key:
        click.echo(f"  admin key: in {config.data_dir / 'admin-key'}")
    if no_offer:
        click.echo(f"  log in:   trackwell login --host {url}")
    else:  # says it saved the key (nothing left to do here) or how to log in
        click.echo(offer_to_sdk(url, admin_key))
    if host in ("0.0.0.0", "::"):  # listening on every address: others use this host's name
        click.echo(f"  from other machines: trackwell login --host http://{socket.getfqdn()}:{port}")
    if not _is_loopback(host):
        click.echo(NO_TLS_WARNING, err=True)
    if workers > 1:
        srv.engine.dispose()  # each worker opens its own connections
        os.environ[CONFIG_ENV] = config_to_env(config)
        serve("trackwell_server.app:app_from_env", host, port, workers)
    else:
        serve(create_app(config, srv), host, port, 1)


def _list_plugins() -> None:
    """One line per server plugin: its name and what it registered (provenance), or why it did not load."""
    from trackwell_server.plugin_manager import load_plugins

    for plugin in load_plugins().info():
        what = plugin.get("error") or ", ".join(plugin["registered"]) or "(registers nothing)"
        click.echo(f"{plugin['name']}: {what}")


def serve(app: Any, host: str, port: int, workers: int) -> None:
    """Run uvicorn on a socket bound here with TCP_NODELAY.

    uvicorn hands a socket it bound itself to its workers without TCP_NODELAY, and
    then every keep-alive response waits ~40 ms for the client's delayed ACK (Nagle).
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(app, host=host, port=port, workers=workers, factory=isinstance(app, str),
                            log_level="info", access_log=False, timeout_keep_alive=KEEP_ALIVE_S)  # fmt: skip
    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    """Console script ``trackwell-server`` and ``python -m trackwell_server``."""
    server_command(prog_name="trackwell-server")
