"""Property-based requests from /openapi.json (schemathesis): bad input never gives a 500,
and every answer, errors included, matches the schema the spec documents.

schemathesis drives hypothesis directly here rather than through its pytest plugin,
which does not load under the pinned pytest; the checks are the same.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from trackwell_server.testing import ServerHandle

from .conftest import Client

#: CI's budget; TRACKWELL_FUZZ_EXAMPLES=500 digs deeper before a release
EXAMPLES_PER_OPERATION = int(os.environ.get("TRACKWELL_FUZZ_EXAMPLES", "20"))


def test_openapi_is_served(server: ServerHandle) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert spec["info"]["title"] == "trackwell server"
    assert "/api/v1/runs/{entity}/{project}/{run_id}/ingest" in spec["paths"]


def test_no_server_errors(server: ServerHandle, admin: Client) -> None:
    # some real data, so generated requests reach more than "not found"
    admin.put("/runs/local/fuzz/r1", json={"name": "fuzz"})
    admin.log_rows(
        "local/fuzz/r1", [{"_step": s, "x": float(s), "s": "t"} for s in range(5)], stream="fuzz-seed"
    )
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def check(case: Any) -> None:
            case.call_and_validate(
                base_url=server.url, headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )

        try:
            check()
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
