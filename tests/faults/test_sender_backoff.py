"""The sender never hammers a server that keeps saying no: a 4xx other than 408/429 stops the upload
after one request, and a 409 ``sequence_gap`` that repeats without progress is retried with growing
waits, then reported. (The issue saw 18,492 requests in 60 s.)

The real server cannot be made to repeat a sequence_gap at the same place any more (the sender
now sends ``first_seq`` = acknowledged + 1), so these tests talk HTTP to a small stand-in server
that misbehaves on purpose; everything on the SDK side is real: the run log, ``sync_run``, the
transport."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from trackwell._pipeline import runlog, uploader
from trackwell._pipeline.runlog import Kind
from trackwell._pipeline.sync import LocalRun, sync_run
from trackwell._pipeline.transport import Transport


class StandIn:
    """Answers the calls an upload makes; ``ingest`` is the (status, body) every ingest gets."""

    def __init__(self, ingest: tuple[int, dict[str, Any]]) -> None:
        self.ingest = ingest
        self.ingests: list[float] = []  # when each ingest request came
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?")[0]
                if path.endswith("/ingest"):
                    stand_in.ingests.append(time.monotonic())
                    status, body = stand_in.ingest
                elif "/streams/" in path:
                    status, body = 200, {"last_seq": -1}
                elif path.endswith("/limits"):
                    status, body = 404, {"error": {"code": "not_found", "message": "no such route"}}
                else:
                    status, body = 200, {}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_PATCH = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def stand_in() -> Iterator[list[StandIn]]:
    servers: list[StandIn] = []
    yield servers
    for server in servers:
        server.close()


def offline_run(tmp_path: Path) -> LocalRun:
    run_dir = tmp_path / "offline-run-20260101_000000-r1"
    run_dir.mkdir()
    packer = runlog.new_packer()
    records = [(Kind.RUN, {"id": "r1", "project": "p", "entity": "e", "stream": "s1", "start_time": 1.0})]
    records += [(Kind.HISTORY, {"_step": i, "x": i}) for i in range(10)]
    records += [(Kind.EXIT, {"exit_code": 0, "state": "finished"})]
    data = b"".join(runlog.encode_record(packer, kind, seq, body) for seq, (kind, body) in enumerate(records))
    (run_dir / "run-r1.twlog").write_bytes(runlog.MAGIC + data)
    return LocalRun(run_dir)


@pytest.mark.parametrize("status", [409, 422, 400])
def test_a_client_error_stops_the_upload_after_one_request(
    status: int, tmp_path: Path, stand_in: list[StandIn]
) -> None:
    server = StandIn((status, {"error": {"code": "conflict", "message": "no"}}))
    stand_in.append(server)
    with pytest.raises(uploader.UploadFailed, match=f"answered {status}"):
        sync_run(offline_run(tmp_path), Transport(server.url, "key"))
    assert len(server.ingests) == 1


def test_a_sequence_gap_that_repeats_backs_off_then_stops_and_says_why(
    tmp_path: Path, stand_in: list[StandIn], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uploader, "BACKOFF_BASE", 0.02)  # the same growth, quicker
    server = StandIn((409, {"error": {"code": "sequence_gap", "message": "gap"}, "last_seq": -1}))
    stand_in.append(server)
    with pytest.raises(uploader.UploadFailed, match="keeps answering that it lacks the records before seq 0"):
        sync_run(offline_run(tmp_path), Transport(server.url, "key"))
    times = server.ingests
    assert len(times) == uploader.MAX_GAP_REPEATS + 1
    waits = [b - a for a, b in itertools.pairwise(times)]
    assert sum(waits) >= 0.9 * sum(0.02 * 2**k * 0.5 for k in range(len(waits) - 1))  # growing waits
    assert waits[-1] > waits[1]
