"""What ``init()`` does for an online run: start its sender, and ask the server when it must.

A plain new run never waits on the network: its sender thread creates the run on
the server in the background. Only when the server's answer decides what the run
is (resuming a run whose directory is not here, ``fork_from``, ``resume_from``)
does ``init()`` make one synchronous upsert, bounded by ``init_timeout``.
Imported by ``session`` only in online mode, so offline runs never load HTTP code.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from trackwell import rundir
from trackwell._pipeline.sender import Sender
from trackwell._pipeline.transport import Transport, decode_floats, run_path
from trackwell._pipeline.uploader import Uploader
from trackwell.errors import AuthenticationError, CommError, NotFoundError, UsageError, warn_user
from trackwell.metrics import SummaryState
from trackwell.settings import Settings

if TYPE_CHECKING:
    from trackwell._pipeline.writer import Writer
    from trackwell.run import Run


def parse_step_spec(value: str, what: str) -> tuple[str, int]:
    """``"<run_id>?_step=<n>"`` (W&B's fork_from / resume_from form) -> (run id, n)."""
    run_id, _, query = str(value).partition("?")
    steps = parse_qs(query).get("_step")
    try:
        step = int(steps[0]) if steps else -1
    except ValueError:
        step = -1
    if not run_id or step < 0:
        raise UsageError(f"{what} must look like '<run_id>?_step=<step>' with a step >= 0, got {value!r}")
    return rundir.check_run_id(run_id), step


def transport_for(s: Settings, timeout: float = 30.0) -> Transport:
    if not s.base_url:
        raise UsageError("no trackwell server is configured: run `trackwell login --host URL`")
    return Transport(s.base_url, s.api_key, timeout=timeout)


def upsert_at_init(
    s: Settings,
    run_id: str,
    *,
    resume: str | None = None,
    fork_from: tuple[str, int] | None = None,
    resume_from: int | None = None,
) -> tuple[dict[str, Any], bool] | None:
    """Create or continue ``run_id`` on the server now; (RunInfo, existed) or None.

    None means the server could not be reached and ``resume`` allows starting
    anyway (with a warning). Everything else that goes wrong is a clear error: the
    caller asked for something only the server can answer.
    """
    t = transport_for(s, timeout=s.init_timeout)
    what = (
        f"fork_from={fork_from[0]}?_step={fork_from[1]}" if fork_from
        else f"resume_from={run_id}?_step={resume_from}" if resume_from is not None
        else f"resume={resume!r}"
    )  # fmt: skip
    try:
        if not s.entity:
            s.entity = str(t.get("/viewer")["entity"])
        path = run_path(s.entity, s.project or "uncategorized", run_id)
        body: dict[str, Any] = {
            "name": s.name, "group": s.run_group, "job_type": s.job_type,
            "tags": list(s.tags) or None, "notes": s.notes,
        }  # fmt: skip
        body = {k: v for k, v in body.items() if v is not None}
        if resume:
            body["resume"] = resume
        if fork_from:
            body["fork_from"] = {"run_id": fork_from[0], "step": fork_from[1]}
        if resume_from is not None:
            body["resume_from"] = {"step": resume_from}
        answer = t.put_json(path, body)
    except AuthenticationError:
        raise
    except NotFoundError as exc:
        if resume == "must":
            raise UsageError(
                f"resume='must' but run {s.entity}/{s.project or 'uncategorized'}/{run_id} does not exist "
                f"on {t.base_url}"
            ) from None
        raise UsageError(f"{what}: {exc.message}") from None
    except CommError as exc:
        if exc.status == 409 and resume == "never":
            raise UsageError(
                f"resume='never' but run {s.entity}/{s.project or 'uncategorized'}/{run_id} already exists "
                f"on {t.base_url}"
            ) from None
        if exc.status is not None and not exc.retryable:
            raise UsageError(f"{what}: {exc.message}") from None
        if resume in ("allow", "auto") and not fork_from and resume_from is None:
            warn_user(
                f"trackwell: could not ask {t.base_url} whether run {run_id} exists ({exc.message}); "
                "starting it here at step 0. It is uploaded when the server is back; "
                "steps the server already holds are not continued",
            )
            return None
        raise CommError(
            f"{what} needs the trackwell server, which could not be reached: {exc.message}",
            status=exc.status,
            exc=exc,
        ) from None
    finally:
        t.close()
    info = answer.body if isinstance(answer.body, dict) else {}
    return info, answer.status == 200


def continue_from(info: dict[str, Any]) -> tuple[int, dict[str, Any], SummaryState]:
    """Where a run goes on from the server's RunInfo: its next step, config and summary."""
    last = info.get("last_step")
    step = int(last) + 1 if isinstance(last, int) and last >= 0 else 0
    config = info.get("config")
    summary = SummaryState()
    if isinstance(info.get("summary"), dict):
        summary.values.update(decode_floats(info["summary"]))
    return step, decode_floats(config) if isinstance(config, dict) else {}, summary


def start_sender(run: Run, writer: Writer) -> Sender:
    """Start the background sender of an online run, reading what ``writer`` writes
    (returns at once, no network)."""
    s = run.settings
    # retries=0: the uploader retries on its own (backoff with jitter, Retry-After), and it
    # must see each failure at once: finish() bounds its wait by what went through
    transport = Transport(s.base_url or "", s.api_key, retries=0)
    wake = threading.Event()

    def identified(entity: str, project: str, run_id: str) -> None:
        run.entity = entity
        run.url = f"{transport.base_url}/{entity}/{project}/runs/{run_id}"

    uploader = Uploader(
        writer.run_dir, writer.log_file, transport, entity=run.entity, project=run.project, run_id=run.id,
        live=True, on_identity=identified, committed=lambda: writer.committed_bytes,
    )  # fmt: skip
    if run.entity:
        run.url = uploader.url()
    writer.flushed = wake
    sender = Sender(uploader, wake)
    sender.start()
    return sender
