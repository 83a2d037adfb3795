"""Artifacts of an online run that ends at interpreter exit, with no ``finish()``, reach the server.

The run is finished by trackwell's ``atexit`` handler, which runs after
``threading``'s shutdown hook has made every ``ThreadPoolExecutor`` refuse new work;
the transfers must not depend on one (``trackwell.artifacts.transfers``). Each case
is a real script against a real server process; the files are read back through
the Public API and compared byte for byte.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import trackwell
from trackwell._pipeline.marker import read_marker
from trackwell.artifacts.transfers import TransferPool

from .conftest import TIMEOUT, Client

SCRIPT = """
import os, sys
import trackwell

run = trackwell.init(project="p", mode="online")
art = trackwell.Artifact("model", type="model")
for name in sorted(os.listdir("payload")):
    art.add_file(os.path.join("payload", name), name=name)
run.log_artifact(art)
run.log({"loss": 0.5})
print(run.id, flush=True)
if sys.argv[1] == "raise":
    raise RuntimeError("training crashed")
"""


def _payload(client: Client) -> dict[str, bytes]:
    """Files that take every upload path: a batch of small ones, a whole blob, a blob in parts."""
    files = {
        "a.txt": b"first small file\n",
        "b.json": b'{"small": true}\n',
        "whole.bin": os.urandom(3 * 1024 * 1024),  # over the batch limit, under the part size
        "parts.bin": os.urandom(5 * 1024 * 1024 + 17),  # in parts (the part size is 4 MiB here)
    }
    folder = client.cwd / "payload"
    folder.mkdir(exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


def _downloaded(client: Client, tmp_path: Path) -> dict[str, bytes]:
    api = trackwell.Api(overrides={"base_url": client.server.url}, api_key=client.key, timeout=60)
    art = api.artifact(f"{client.entity}/p/model:latest")
    root = Path(art.download(tmp_path / "download"))
    return {p.name: p.read_bytes() for p in root.iterdir()}


@pytest.mark.parametrize("ending", ["exit", "raise"])
def test_artifact_logged_without_finish_is_uploaded_at_exit(
    client: Client, tmp_path: Path, ending: str
) -> None:
    files = _payload(client)
    proc = client.spawn(SCRIPT, ending, TRACKWELL_X_ARTIFACT_PART_BYTES=str(4 * 1024 * 1024))
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == (0 if ending == "exit" else 1), err
    assert "cannot schedule new futures" not in err
    assert "ERROR" not in err, err
    run_id = out.split()[0]
    assert _downloaded(client, tmp_path) == files
    info = client.server_run("p", run_id)
    assert info["state"] == ("finished" if ending == "exit" else "failed")
    (run_dir,) = (client.cwd / "trackwell").glob(f"*run-*-{run_id}")
    assert read_marker(run_dir)["complete"] is True  # nothing left for `trackwell sync`


def test_the_transfer_pool_runs_work_in_an_atexit_handler(tmp_path: Path) -> None:
    """Where a ThreadPoolExecutor refuses work (after threading's shutdown hook), the pool does not."""
    script = tmp_path / "exit.py"
    script.write_text(
        "import atexit\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from trackwell.artifacts.transfers import TransferPool\n"
        "def at_exit():\n"
        "    try:\n"
        "        ThreadPoolExecutor(2).submit(print, 'executor ran')\n"
        "    except RuntimeError as exc:\n"
        "        print('executor:', exc)\n"
        "    pool = TransferPool(4)\n"
        "    print('pool:', sum(f.result(timeout=30) for f in [pool.submit(lambda i=i: i) for i in range(10)]))\n"
        "atexit.register(at_exit)\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert "executor: cannot schedule new futures after interpreter shutdown" in proc.stdout
    assert "pool: 45" in proc.stdout


def test_the_transfer_pool_runs_work_in_the_caller_when_no_thread_can_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Python 3.12.1 refuses new threads in atexit handlers: the work is done all the same."""

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't create new thread at interpreter shutdown")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    pool = TransferPool(4)
    futures = [pool.submit(threading.current_thread) for _ in range(3)]
    assert [f.result(timeout=5) for f in futures] == [threading.current_thread()] * 3
    pool.shutdown()
