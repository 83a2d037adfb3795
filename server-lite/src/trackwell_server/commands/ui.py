"""``trackwell ui``: browse local run directories in the dashboard, with no setup.

A private trackwell server (no auth, loopback only) runs in this process on a data
directory under the cache, one per DIR, and ``trackwell_server.mirror`` copies the runs into
it, again every few seconds so live runs update. The run directories are only read:
their ``sync.json`` upload markers belong to the user's real server.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import click

#: Seconds to wait for the private server to answer before giving up.
START_TIMEOUT = 60.0


def default_data_dir(root: Path) -> Path:
    """``<cache>/ui/<hash of DIR>``: the same DIR reuses its copy, so a restart is quick."""
    base = os.environ.get("TRACKWELL_CACHE_DIR") or os.environ.get("WANDB_CACHE_DIR")
    cache = Path(base).expanduser() if base else Path.home() / ".cache" / "trackwell"
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return cache / "ui" / key


@click.command("ui")
@click.argument(
    "directory",
    metavar="[DIR]",
    required=False,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (default: any free port).")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the dashboard's copy of the runs goes (default: ~/.cache/trackwell/ui/<hash of DIR>).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="Seconds between looks for new runs and new rows.",
)
def ui_command(directory: Path | None, port: int, data_dir: Path | None, interval: float) -> None:
    """Show the runs saved under DIR in the dashboard, until Ctrl-C.

    DIR is the folder a script ran in (the one holding trackwell/), the trackwell/
    folder itself, or one run directory; it defaults to TRACKWELL_DIR, then
    WANDB_DIR, then the current directory. Prints the URL to open.

    The runs are copied into a private server on 127.0.0.1 (no login) whose data
    lives in the cache, not in DIR: the run directories are only read, never
    written. Runs still training show live; new runs appear as they start.
    """
    import uvicorn

    from trackwell.extend import Transport, default_root
    from trackwell_server.app import create_app, open_server
    from trackwell_server.config import ServerConfig
    from trackwell_server.mirror import Mirror

    root = directory if directory is not None else default_root()

    data = data_dir or default_data_dir(root)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = ServerConfig(data_dir=data, auth=False, public_url=url, freeze_gc=False)
    try:
        srv, _ = open_server(config)
    except Exception as exc:
        raise click.ClickException(f"cannot open the dashboard's data in {data}: {exc}") from exc
    server = uvicorn.Server(
        uvicorn.Config(create_app(config, srv), log_level="warning", access_log=False, timeout_keep_alive=120)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="trackwell-ui", daemon=True)
    thread.start()

    def stop(_signum: int, _frame: FrameType | None) -> Any:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    mirror = Mirror(root, lambda: Transport(url))
    try:
        _wait_started(server, thread)
        mirror.poll()
        click.echo(f"trackwell ui: {len(mirror.runs)} run(s) from {root.resolve()}")
        click.echo(f"  dashboard: {url}/")
        click.echo(f"  data:      {data} (a copy; the run directories are not changed)")
        click.echo("  Ctrl-C stops.")
        sys.stdout.flush()
        while thread.is_alive():
            started = time.monotonic()
            mirror.poll()
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        pass
    finally:
        mirror.close()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _wait_started(server: Any, thread: threading.Thread) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise click.ClickException("the dashboard's server did not start")
        time.sleep(0.02)
