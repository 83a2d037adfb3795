"""Ingest of run-log records (exactly once per stream seq) and stream positions."""

from __future__ import annotations

from typing import Any

import ormsgpack
from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from trackwell.limits import key_problem
from trackwell_server.auth import Principal
from trackwell_server.db.engine import read, write
from trackwell_server.deps import Caller, Entity, Project, RunId, Server, Srv
from trackwell_server.errors import ApiError
from trackwell_server.responses import JSONResponse
from trackwell_server.storage import runs as store
from trackwell_server.storage.ingest import held_seq, ingest
from trackwell_server.storage.values import decode_json

router = APIRouter(tags=["ingest"])

MSGPACK = "application/x-msgpack"
_STREAM_MAX = 128
_BATCH_SCHEMA = {
    "type": "object",
    "required": ["stream", "first_seq", "records"],
    "properties": {
        "stream": {"type": "string", "minLength": 1, "maxLength": _STREAM_MAX},
        "first_seq": {"type": "integer", "minimum": 0},
        "records": {
            "type": "array",
            "items": {"type": "array", "minItems": 3, "maxItems": 3, "description": "[kind, seq, body]"},
        },
    },
}


class LastSeq(BaseModel):
    last_seq: int


class Refused(BaseModel):
    seq: int
    kind: str
    reason: str
    key: str | None = None


class IngestResult(LastSeq):
    """``refused``: the records not stored, each alone, and why; they count as held."""

    refused: list[Refused] = []


class ServerLimits(BaseModel):
    """What the server stores; the SDK applies these at connect (``trackwell.limits``)."""

    max_keys: int
    max_key_chars: int
    max_value_bytes: int
    max_record_bytes: int
    max_body_bytes: int
    max_step: int


def decode_body(content_type: str, data: bytes) -> Any:
    """msgpack or JSON, by Content-Type; anything undecodable is a 422.

    msgpack bodies go through ormsgpack: decoding is most of an ingest request's CPU
    (a 50,000-point batch), and ormsgpack reuses the string objects of repeated map
    keys, which every history row repeats.
    """
    try:
        if MSGPACK in content_type:
            return ormsgpack.unpackb(data, option=ormsgpack.OPT_NON_STR_KEYS)
        return decode_json(data)
    except (ValueError, RecursionError) as exc:
        raise ApiError(422, f"the body does not decode: {exc}") from None


def _batch(payload: Any) -> tuple[str, int, list[Any]]:
    if not isinstance(payload, dict):
        raise ApiError(422, "the body must be an object {stream, first_seq, records}")
    stream, first_seq, records = payload.get("stream"), payload.get("first_seq"), payload.get("records")
    if not isinstance(stream, str) or not 0 < len(stream) <= _STREAM_MAX or key_problem(stream, _STREAM_MAX):
        raise ApiError(422, f"stream must be a non-empty string of at most {_STREAM_MAX} characters, no NUL")
    if type(first_seq) is not int or not 0 <= first_seq < 2**62:
        raise ApiError(422, "first_seq must be an integer >= 0")
    if not isinstance(records, list):
        raise ApiError(422, "records must be a list of [kind, seq, body]")
    return stream, first_seq, records


def _ingest(srv: Server, who: Principal, entity: str, project: str, run_id: str, content_type: str,
            data: bytes) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    # decoding happens here, on a worker thread: a 50,000-point batch takes tens of ms
    # to decode, which must not stall the event loop for other clients
    stream, first_seq, records = _batch(decode_body(content_type, data))
    with write(srv.engine) as conn:
        _, run = store.writable_run(conn, who, entity, project, run_id)
        return ingest(conn, run, stream, first_seq, records, srv.config)


@router.post(
    "/runs/{entity}/{project}/{run_id}/ingest",
    response_model=IngestResult,
    responses={409: {"description": "sequence_gap: resend from last_seq + 1"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BATCH_SCHEMA}, MSGPACK: {"schema": _BATCH_SCHEMA}},
        }
    },
)
async def ingest_batch(entity: Entity, project: Project, run_id: RunId, request: Request, who: Caller,
                       srv: Srv) -> Any:  # fmt: skip
    """Store the records of one run-log stream above its last held seq, in one transaction.

    Record seqs increase strictly from ``first_seq`` and may skip. A record the server
    cannot store (a value over the limits, a bad key or step) is refused alone: it is
    listed in ``refused`` with its seq and why, counts as held, and is kept in the run's
    ``refused`` trace; the rest of the batch is stored.
    """
    data = await request.body()
    content_type = request.headers.get("content-type", "")
    last, refused = await run_in_threadpool(_ingest, srv, who, entity, project, run_id, content_type, data)
    return JSONResponse({"last_seq": last, "refused": refused} if refused else {"last_seq": last})


@router.get("/limits", response_model=ServerLimits)
def server_limits(srv: Srv) -> Any:
    """What one run, row and value may hold here; needs no key (the SDK reads it at connect)."""
    return JSONResponse(srv.config.limits().as_dict())


@router.get("/runs/{entity}/{project}/{run_id}/streams/{stream}", response_model=LastSeq)
def stream_position(
    entity: Entity, project: Project, run_id: RunId, stream: str, who: Caller, srv: Srv
) -> Any:
    """Where a sender starts: the last seq held for ``stream`` (-1 when none)."""
    if not 0 < len(stream) <= _STREAM_MAX or key_problem(stream, _STREAM_MAX):
        raise ApiError(422, f"stream must be 1-{_STREAM_MAX} characters, no NUL")
    with read(srv.engine) as conn:
        _, run = store.readable_run(conn, who, entity, project, run_id)
        return JSONResponse({"last_seq": held_seq(conn, run.pk, stream)})
