"""The Uploader: moves a run log and the run's files to a trackwell server, exactly once.

The run log is the buffer. The writer keeps appending to it exactly as offline; the
uploader follows it (``runlog.LogTail``) and POSTs the records, unchanged, in batches
to ``/ingest``. The server keeps every record of a stream once, by sequence number,
and answers the last one it holds, so a batch whose answer was lost can simply be
sent again, and an upload that starts over (a new process, ``trackwell sync``) asks
``/streams/{stream}`` where to go on. Nothing here runs on the training thread:
a slow or absent server only makes the upload fall behind, never the training loop.

``Uploader`` is the work, one step at a time, shared by the live ``Sender`` thread
(``sender.py``) and ``trackwell sync``. It also uploads what changed under ``files/``
(``fileupload.py``: periodically, when a FILES or META record passes, and at the end),
heartbeats a live run when it has nothing else to say, and leaves ``sync.json``
(``marker.py``) in the run directory, which says how far the upload got (``complete``
once every record and file is on the server).

Where the upload goes on is the server's answer, never the marker's: the uploader reads
past every record the server already holds, however far into the log they reach, and
sends everything above it. The marker only lets it skip that reading: it names the
offset of the last acknowledged record, which is used once checked against the log.
A record the server refuses (``refused`` in its answer, or a 413 for one record) is
reported on the console and passed over; the rest of the run, its EXIT included,
still goes up.
"""

from __future__ import annotations

import bisect
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack

from trackwell._pipeline import ports, refusals
from trackwell._pipeline.fileupload import BATCH_FILES, FileUploads, media_paths
from trackwell._pipeline.marker import read_marker, write_marker
from trackwell._pipeline.runlog import Kind, LogTail, Record, log_stream
from trackwell._pipeline.transport import Transport, run_path
from trackwell.errors import CommError, TrackwellError

#: Most records and bytes per ingest request (the server takes up to 25 MB).
MAX_BATCH_RECORDS = 5000
MAX_BATCH_BYTES = 4 * 1024 * 1024
#: How often a live run's changed files (output.log, config.yaml, ...) are uploaded.
FILES_INTERVAL = 15.0
#: ``sync.json`` is rewritten at most this often while batches go up (and at the end).
MARKER_INTERVAL = 2.0
#: A live run with nothing to send says it is alive this often (the server's timeout is 300 s).
HEARTBEAT_INTERVAL = 30.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
#: While ``finish()`` waits, retries come faster, so a returning server is noticed soon.
CLOSING_BACKOFF_CAP = 2.0
#: ``finish()`` stops waiting after this long with no request answered (failing or hanging);
#: requests made while it waits time out within what is left of it.
STALL_TIMEOUT = 15.0
#: A 409 ``sequence_gap`` answered this often in a row with no progress stops the upload.
MAX_GAP_REPEATS = 6
_UPSERT_FIELDS = ("name", "group", "job_type", "tags", "notes", "start_time")


class UploadFailed(TrackwellError):
    """The server refused the upload for good (bad key, no permission, over a limit).

    Not a ``CommError``: those are what the uploader retries.
    """


class Uploader:
    """Uploads one run directory's log and files, one ``step()`` at a time.

    ``entity`` and ``project`` override the log's (``trackwell sync --entity``); an
    unknown entity is the key owner's (``GET /viewer``). ``live`` means the writer may
    still append: the upload is only over once ``step(final=True)`` is called, and
    idle steps send heartbeats; ``committed`` (the writer's) bounds what is read.
    ``markers=False`` leaves the run directory untouched (no ``sync.json`` read or
    written): ``trackwell ui`` imports runs into a throwaway server that way, so the
    user's own upload bookkeeping for their real server stays as it was.
    ``artifact_jobs`` makes the handler of the log's ARTIFACT records (default: the one
    ``trackwell.session`` installs, see ``ports.py``).
    """

    def __init__(
        self,
        run_dir: Path,
        log_file: Path,
        transport: Transport,
        entity: str | None = None,
        project: str | None = None,
        run_id: str | None = None,
        live: bool = False,
        on_identity: Callable[[str, str, str], None] | None = None,
        committed: Callable[[], int] | None = None,
        markers: bool = True,
        artifact_jobs: ports.ArtifactJobsFactory | None = None,
    ) -> None:
        self.run_dir = run_dir
        self._artifact_jobs = artifact_jobs or ports.artifact_jobs
        self.markers = markers
        self.transport = transport
        self.tail = LogTail(log_file, bodies=(Kind.RUN, Kind.ARTIFACT), committed=committed, final=not live)
        self.live = live
        self.entity = entity
        self.project = project
        self.run_id = run_id
        self.on_identity = on_identity
        self.stream: str | None = None
        self.info: dict[str, Any] = {}  # the RUN records read so far, merged
        self.pending: list[Record] = []  # read from the log, not yet acknowledged
        self.acked = -1  # the last seq the server holds
        self.first_acked = -1  # what it held when this uploader first asked
        self._read_seq = -1  # the last seq read from the log
        self._acked_at: tuple[int, int] | None = None  # (seq, offset) of the last acknowledged record read
        self._exit_seq: int | None = None  # seq of an EXIT that is the last record read so far
        self.done = False
        self.complete = False
        self.error: str | None = None
        self.failures = 0  # consecutive retryable failures
        self.refused = 0  # records the server refused (or that were too large for it): reported, passed over
        self.deadline: float | None = None  # set by finish(): requests must end by then (monotonic)
        self._gap_at: int | None = None  # last_seq of the previous 409 sequence_gap
        self._gaps = 0  # 409 sequence_gap answers in a row at that last_seq
        self.retry_at = 0.0
        self._final_backoff = False  # the current backoff was chosen after the log closed
        self._closing = False  # the step in progress is a final one (the log is closed)
        self._connected = False
        self._upserted = False  # the run upsert of the connect in progress went through
        self._connected_once = False
        self._max_batch = MAX_BATCH_RECORDS
        self._marker = read_marker(run_dir) if markers else {}  # where a previous upload got
        self.files = FileUploads(self)
        self._files_due = 0.0  # monotonic time of the next files round
        self._marker_due = 0.0  # monotonic time after which a batch's ack rewrites sync.json
        self._listed: list[str] = []  # media files the writer named in FILES records: sent without a rescan
        self.last_contact = time.monotonic()
        self._packer = msgpack.Packer(use_bin_type=True)
        self.artifacts: ports.ArtifactJobs | None = None  # made when the log has its first ARTIFACT record

    # -- identity --------------------------------------------------------------
    def _run_path(self, *rest: str) -> str:
        return run_path(self.entity or "", self.project or "", self.run_id or "", *rest)

    def url(self) -> str | None:
        """The run's page on the server, once the entity is known."""
        if not (self.entity and self.project and self.run_id):
            return None
        return f"{self.transport.base_url}/{self.entity}/{self.project}/runs/{self.run_id}"

    # -- the work ----------------------------------------------------------------
    def step(self, final: bool = False) -> float:
        """Do the next piece of work; return how long to wait before the next step.

        ``final`` says the log is finished (the writer closed it, or it is a sync): once
        everything in it and every file is up, ``done`` is set.
        """
        now = time.monotonic()
        if self.retry_at > now and not (final and not self._final_backoff):
            return self.retry_at - now  # (finish() cuts short a wait chosen before it)
        if final:
            self.tail.final = True  # the writer closed the log: a frame that does not read is damage
        self._closing = final
        try:
            return self._step(final)
        except CommError as exc:
            return self._failed(exc)

    def _step(self, final: bool) -> float:
        if self.stream is None and not self._read_head():
            if final:  # a finished log without even its RUN record: nothing to upload
                self.done = True
                self.error = f"{self.tail.path} holds no complete record"
            return 0.2
        if not self._connected:
            self._connect()
        self._fill()
        if self.artifacts is not None and self.artifacts.queue:
            self.artifacts.step(
                self.transport,
                self.entity or "",
                self.project or "",
                self.run_id or "",
                timeout=self._timeout(),
            )
            self._contact()
            return 0.0
        if self.pending:
            self._send_batch()
            return 0.0
        if self._listed:
            # one batch's worth a step, so records keep flowing between batches of media
            listed, self._listed = self._listed[:BATCH_FILES], self._listed[BATCH_FILES:]
            try:
                self.files.upload(listed)
            except CommError:
                self._listed[:0] = listed  # the ones already sent are skipped next time
                raise
            return 0.0
        now = time.monotonic()
        if final:
            self.files.upload()
            self.complete = self.exit_acked or not self.live
            self.save_marker()
            self.done = True
            return 0.0
        if now >= self._files_due:
            self.files.upload(media=False)
            self.save_marker()
            self._files_due = now + FILES_INTERVAL
        if self.live and now - self.last_contact >= HEARTBEAT_INTERVAL:
            self.transport.request("POST", self._run_path("heartbeat"), timeout=self._timeout())
            self._contact()
        return min(self._files_due, self.last_contact + HEARTBEAT_INTERVAL) - time.monotonic()

    def _read_head(self) -> bool:
        """Read the first record (RUN) for the stream id and run identity."""
        records = self.tail.read(max_records=1)
        if not records:
            return False
        first = records[0]
        self.stream = log_stream(first, self.run_id)
        self._note(first)
        self.pending.extend(records)
        self._read_seq = first.seq
        self.run_id = self.run_id or self.info.get("id")
        self.project = self.project or self.info.get("project") or "uncategorized"
        self.entity = self.entity or self.info.get("entity")
        return True

    def _connect(self) -> None:
        """Upsert the run and learn where its stream continues; after every reconnect too."""
        t = self.transport
        if not self.entity:
            viewer = t.get("/viewer")
            self.entity = str(viewer["entity"])
        if not self.run_id:
            raise UploadFailed(f"{self.tail.path}: the run log names no run id")
        body = {k: self.info[k] for k in _UPSERT_FIELDS if self.info.get(k) is not None}
        if not self._upserted:
            t.put_json(self._run_path(), body)
            self._upserted = True
        held = t.get(self._run_path("streams", self.stream or ""))
        self._resume_at(int(held["last_seq"]))
        if not self._connected_once:
            self._connected_once = True
            self.first_acked = self.acked
            m = self._marker
            if (m.get("base_url"), m.get("entity"), m.get("project"), m.get("run_id")) == (
                t.base_url,
                self.entity,
                self.project,
                self.run_id,
            ):
                if isinstance(m.get("files"), dict) and not self.live:
                    self.files.sent = m["files"]  # uploaded to this very run before: not again
                if m.get("stream") == self.stream:
                    self._skip_acked(m.get("acked_record"))
            self._fetch_limits()
        self._connected = True
        self._contact()
        if self.on_identity is not None:
            self.on_identity(self.entity, self.project or "", self.run_id)
            self.on_identity = None
        self.save_marker()

    def _skip_acked(self, hint: Any) -> None:
        """Jump over the records a previous upload got acknowledged, if the marker says where
        they end and the log agrees; reading them all again would only find them acked.

        The hint names the last acknowledged record's (seq, offset). It is used only when
        the server holds at least that seq and a valid record with that seq starts at that
        offset; otherwise the log is read from where this uploader is, which is also right.
        """
        if not (isinstance(hint, list) and len(hint) == 2 and all(type(v) is int for v in hint)):
            return
        seq, offset = hint
        if self.pending or not self._read_seq < seq <= self.acked:
            return
        if self.tail.seek(offset, seq):
            self._read_seq = seq - 1

    def _fetch_limits(self) -> None:
        """Enforce at ``log()`` what this server refuses (``GET /limits``; older servers have none)."""
        try:
            published = self.transport.get("/limits", timeout=self._timeout())
        except CommError:
            return  # 404 from a server before limits, or a hiccup: the defaults stay
        from trackwell import limits

        if isinstance(published, dict) and hasattr(limits, "update"):
            limits.update(published)

    def _resume_at(self, last_seq: int) -> None:
        """Continue after ``last_seq``: drop what the server holds, re-read what it lacks."""
        if last_seq < self.acked:
            # The server holds less than it said before (restored from a backup): the
            # records in between were dropped here, so read the log again from the start.
            self.tail.rewind()
            self.pending = []
            self._read_seq = -1
            self._acked_at = None
        self.acked = last_seq
        self._drop_acked()

    def _fill(self) -> None:
        """Read more of the log into ``pending`` (up to one batch).

        Records the server already holds are passed over however many windows of the
        log they fill: the step after this one must see the first record it lacks, or
        the end of the log, never an empty window that looks like the end.
        """
        while len(self.pending) < self._max_batch:
            want = self._max_batch - len(self.pending)
            records = self.tail.read(max_records=want, max_bytes=MAX_BATCH_BYTES)
            if not records:
                return
            for rec in records:
                self._read_seq = rec.seq
                acked = rec.seq <= self.acked
                self._note(rec, acked)
                if acked:
                    self._acked_at = (rec.seq, rec.offset)
                else:
                    self.pending.append(rec)
            if self.pending:
                return

    @property
    def exit_acked(self) -> bool:
        """The log ends with an EXIT record and the server holds it: the run is over."""
        return self._exit_seq is not None and self.acked >= self._exit_seq

    def _note(self, rec: Record, acked: bool = False) -> None:
        """What the sender itself needs from a record as it passes.

        An ARTIFACT record the server already holds was done before: a batch is sent
        only once every artifact job read before it is done, so it is not done again.
        """
        self._exit_seq = rec.seq if rec.kind == Kind.EXIT else None
        if rec.kind == Kind.RUN and isinstance(rec.body, dict):
            self.info.update({k: v for k, v in rec.body.items() if v is not None and k != "start_time"})
            self.info.setdefault("start_time", rec.body.get("start_time"))
        elif rec.kind in (Kind.FILES, Kind.META):
            listed = media_paths(rec)
            if listed is None:
                self._files_due = 0.0
            else:
                self._listed.extend(listed)
        elif rec.kind == Kind.ARTIFACT and not acked:
            if self.artifacts is None:
                self.artifacts = self._artifact_jobs(self.run_dir, self._moved)
            self.artifacts.add(rec.body, rec.seq)

    def _send_batch(self) -> None:
        batch: list[bytes] = []
        size = 0
        for rec in self.pending[: self._max_batch]:
            raw = rec.raw or b""
            if batch and size + len(raw) > MAX_BATCH_BYTES:
                break
            batch.append(raw)
            size += len(raw)
        pack = self._packer.pack
        # first_seq is what the server lacks next, even when the log has no record with that
        # seq (bytes a corrupt log lost, a record skipped as too large): seqs may skip numbers
        head = (
            self._packer.pack_map_header(3)
            + pack("stream") + pack(self.stream)
            + pack("first_seq") + pack(self.acked + 1)
            + pack("records") + self._packer.pack_array_header(len(batch))
        )  # fmt: skip
        try:
            answer = self.transport.post_msgpack(
                self._run_path("ingest"), head + b"".join(batch), timeout=self._timeout()
            ).body
        except CommError as exc:
            if exc.code == "sequence_gap" and exc.body and isinstance(exc.body.get("last_seq"), int):
                self._sequence_gap(exc)
                return
            if exc.status == 413:
                if len(batch) > 1:
                    self._max_batch = max(1, len(batch) // 2)
                else:
                    self._too_large(self.pending.pop(0), exc)
                return
            raise
        self._contact()
        self._gaps = 0
        self._max_batch = min(MAX_BATCH_RECORDS, self._max_batch * 2)
        refused = answer.get("refused") if isinstance(answer, dict) else None
        if refused and isinstance(refused, list):
            refusals.say_refused(refused, self.pending, self.run_id)
            self.refused += len(refused)
        self.acked = max(self.acked, int(answer["last_seq"]))
        self._drop_acked()
        if time.monotonic() >= self._marker_due:
            self.save_marker()

    def _sequence_gap(self, exc: CommError) -> None:
        """The server holds less than this uploader thought: go on after what it holds.

        Answered again and again at the same place, it is not a lost answer but a
        disagreement no resend fixes: back off between tries, then stop and say so.
        """
        assert exc.body is not None
        last = int(exc.body["last_seq"])
        self._gaps = self._gaps + 1 if last == self._gap_at else 1
        self._gap_at = last
        if self._gaps > MAX_GAP_REPEATS:
            raise UploadFailed(
                f"the server keeps answering that it lacks the records before seq {last + 1} of "
                f"stream {self.stream}, although they were sent ({self._gaps} times): {exc.message}"
            )
        self._resume_at(last)
        if self._gaps > 1:
            self._back_off(self._gaps - 1, exc.message)

    def _too_large(self, rec: Record, exc: CommError) -> None:
        """One record the server will not take even alone (413): pass over it, loudly."""
        self.refused += 1
        refusals.say_too_large(rec, exc.message, self.run_id)

    def _drop_acked(self) -> None:
        done = bisect.bisect_right(self.pending, self.acked, key=_seq)
        if done:
            last = self.pending[done - 1]
            self._acked_at = (last.seq, last.offset)
            del self.pending[:done]

    # -- files ---------------------------------------------------------------
    def _remote_rel(self, rel: str) -> str:
        if self.info.get("primary") is False:
            # a process attached to a shared run: its output.log, config.yaml, ... go under
            # its label, beside the primary's own rather than over them
            return f"{self.info.get('label') or self.stream}/{rel}"
        return rel

    def changed_files(
        self, listed: list[str] | None = None, media: bool = True
    ) -> list[tuple[str, Path, list[int]]]:
        """Files under ``files/`` (or just the ``listed`` ones) not uploaded in their current state."""
        return self.files.changed(listed, media)

    @property
    def files_uploaded(self) -> int:
        return self.files.uploaded

    # -- failures ----------------------------------------------------------------
    def _failed(self, exc: CommError) -> float:
        if not exc.retryable and exc.status != 404:
            raise UploadFailed(exc.message) from None
        if exc.status != 429:
            # Re-upsert after reconnecting: the server may have restarted. A rate limit says
            # it is up and holds what it held, so a connect resumes at the step that was
            # refused; redoing the upsert would spend the next token on every retry.
            self._connected = False
            self._upserted = False
        self.failures += 1
        if exc.status == 404 and self.failures > 3:
            raise UploadFailed(exc.message) from None
        # a Retry-After says how long to wait; without one, exponential backoff
        return self._back_off(self.failures, exc.message, exc.retry_after)

    def _back_off(self, failures: int, message: str, retry_after: float | None = None) -> float:
        """Wait before the next step: exponential in ``failures``, with jitter; shorter while closing."""
        if retry_after is not None:
            delay = max(0.05, retry_after)
        else:
            cap = CLOSING_BACKOFF_CAP if self._closing else BACKOFF_CAP
            delay = min(cap, BACKOFF_BASE * 2 ** min(failures - 1, 16)) * random.uniform(0.5, 1.0)
        self.retry_at = time.monotonic() + delay
        self._final_backoff = self._closing
        self.error = message
        return delay

    def _timeout(self) -> float | None:
        """The timeout of the next request: the transport's own, or, while finish() waits,
        no longer than its stall budget nor past its deadline."""
        if self.deadline is None:
            return None
        return max(0.5, min(STALL_TIMEOUT, self.deadline - time.monotonic()))

    def _moved(self) -> None:
        """A request answered on another thread (an artifact blob): the upload is moving."""
        self.last_contact = time.monotonic()

    def _contact(self) -> None:
        self.last_contact = time.monotonic()
        if self.failures:
            self.failures = 0
            self.error = None

    # -- progress and bookkeeping -----------------------------------------------
    def records_left(self, last_seq: int) -> int:
        """Records up to ``last_seq`` (the log's last) not yet on the server."""
        return max(0, last_seq - self.acked)

    def acked_bytes(self) -> int:
        """How far into the log file the server holds every record (for progress bars)."""
        return self.pending[0].offset if self.pending else self.tail.offset

    def save_marker(self) -> None:
        """Write ``sync.json`` (at most every ``MARKER_INTERVAL`` s from the batch loop)."""
        self._marker_due = time.monotonic() + MARKER_INTERVAL
        if not self.markers or not self._connected_once:
            return  # before the first connect it knows nothing the old marker does not
        write_marker(
            self.run_dir,
            {
                "base_url": self.transport.base_url,
                "entity": self.entity,
                "project": self.project,
                "run_id": self.run_id,
                "stream": self.stream,
                "acked_seq": self.acked,
                "acked_record": list(self._acked_at) if self._acked_at else None,
                "log_bytes": self.tail.offset,
                "complete": self.complete,
                "files": self.files.sent,
                "updated_at": time.time(),
            },
        )

    def close(self) -> None:
        self.tail.close()
        self.transport.close()
        if self.artifacts is not None:
            self.artifacts.close()


def _seq(rec: Record) -> int:
    return rec.seq
