"""The conformance suite: W&B user scripts from W&B's documentation, run unchanged but
for ``import trackwell as wandb``, offline and against a real server, read back through
the Public API with the values checked.

Each script in ``scripts/`` cites the doc section it comes from and prints, as its last
line, a JSON of what it logged: ``run`` ("project/id") with the ``config``, ``summary``,
``history``, ``rows``, ``meta``, ``files``, ``tables`` and ``logged_artifacts`` to expect
(or ``runs``: a list of those), and ``checks`` ({label: [got, want]}) for what the script
read back itself. Offline, runs are read back with ``trackwell.Api(root=<cwd>)``; online,
each script runs as a user of its own on the session's server, with an isolated config
directory, and the runs are read back from that server. A script that fails for want of
a feature is marked ``xfail(strict=True)`` with the feature's name, so this file lists
what is missing (docs/compat.md) and notices when it starts working.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

import trackwell

SCRIPTS = Path(__file__).parent / "scripts"
TIMEOUT_S = 120
ANY = "<any>"  # in a script's expected values: any value (an image cell of a table)

# What W&B itself cannot do offline either: these run online only.
NEEDS_A_SERVER = {
    "artifact_log_use": "using an artifact (use_artifact, Api().artifact) needs a server, as in W&B",
    "log_model_registry": "use_model and the registry need a server, as in W&B",
    "offline_sync": "sync uploads to a server",
    "public_api_update": "W&B's Public API edits runs on a server",
    "login_env_key": "wandb.login(key=) checks the key with a server, as in W&B",
    "rewind": "resume_from rewinds a run on a server, as in W&B",
    "registry_collections": "the registry needs a server, as in W&B",
    "fork_run": "fork_from forks a run on a server, as in W&B",
    "sweep": "a sweep's controller runs on a server, as in W&B",
    "table_resumed": "use_artifact by name needs a server, as in W&B",
    "artifact_tables": "use_artifact by name and Api().artifact need a server, as in W&B",
    "log_code": "the Public API reads artifacts from a server, as in W&B",
    "table_artifact": "reading a table back through its artifact needs a server, as in W&B",
}
# Missing features: (mode or None for both) -> reason.
MISSING: dict[str, dict[str | None, str]] = {}


def _cases(mode: str) -> list[Any]:
    cases = []
    for script in sorted(SCRIPTS.glob("*.py")):
        name = script.stem
        marks: list[Any] = []
        if mode == "offline" and name in NEEDS_A_SERVER:
            marks.append(pytest.mark.skip(reason=NEEDS_A_SERVER[name]))
        missing = MISSING.get(name, {})
        reason = missing.get(mode) or missing.get(None)
        if reason:
            marks.append(pytest.mark.xfail(strict=True, reason=reason))
        cases.append(pytest.param(name, marks=marks, id=name))
    return cases


def _env(workdir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKWELL_", "WANDB_"))}
    env.update(
        TRACKWELL_CONFIG_DIR=str(workdir / ".config"),
        TRACKWELL_CACHE_DIR=str(workdir / ".cache"),
        TRACKWELL_X_DISABLE_STATS="true",
        TRACKWELL_SILENT="true",
        **extra,
    )
    return env


def run_script(name: str, workdir: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run ``scripts/<name>.py`` in ``workdir`` as a user would; its last line, parsed."""
    proc = subprocess.run([sys.executable, str(SCRIPTS / f"{name}.py")], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S)  # fmt: skip
    assert proc.returncode == 0, f"{name} exited {proc.returncode}:\n{proc.stderr[-4000:]}"
    expected: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return expected


def same(got: Any, want: Any) -> bool:
    """``want`` matches ``got``: floats approximately, dicts as a subset (extra keys allowed)."""
    if want == ANY:
        return True
    if isinstance(want, dict):
        return hasattr(got, "keys") and all(k in got and same(got[k], v) for k, v in want.items())
    if isinstance(want, list):
        got = list(got) if isinstance(got, (list, tuple)) else got
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(same(g, w) for g, w in zip(got, want, strict=True))
        )
    if isinstance(want, float) or isinstance(got, float):
        return isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)
    return bool(got == want)


def check_run(api: Any, spec: dict[str, Any], mode: str, tmp: Path) -> None:
    run = api.run(spec["run"])
    for key, want in spec.get("config", {}).items():
        assert same(run.config.get(key), want), f"config[{key!r}]: {run.config.get(key)!r} != {want!r}"
    summary = dict(run.summary)
    for key, want in spec.get("summary", {}).items():
        assert same(summary.get(key), want), f"summary[{key!r}]: {summary.get(key)!r} != {want!r}"
    for key in spec.get("summary_absent", []):
        assert key not in summary, f"summary[{key!r}] should be absent: {summary[key]!r}"
    for key in spec.get("summary_present", []):
        assert key in summary, f"summary[{key!r}] is missing"
    for key, want in spec.get("history", {}).items():
        got = [row[key] for row in run.scan_history(keys=[key])]
        assert same(got, want), f"history {key!r}: {got!r} != {want!r}"
    if "rows" in spec:
        rows = [{k: v for k, v in row.items() if v is not None} for row in run.scan_history()]
        assert len(rows) == len(spec["rows"]) and all(
            same(g, w) for g, w in zip(rows, spec["rows"], strict=True)
        ), rows
    for attr, want in spec.get("meta", {}).items():
        got = getattr(run, attr)
        if attr == "tags":
            got, want = sorted(got), sorted(want)
        assert same(got, want), f"run.{attr}: {got!r} != {want!r}"
    for name, content in spec.get("files", {}).items():
        dest = tmp / "readback" / uuid.uuid4().hex
        run.file(name).download(root=str(dest), replace=True)
        assert (dest / name).read_text() == content, name
    for key, want in spec.get("tables", {}).items():  # trackwell's run.table(key): W&B reads via artifacts
        table = run.table(key)
        assert table.columns == want["columns"] and same(table.data, want["data"]), (
            table.columns,
            table.data,
        )
    if mode == "online":  # the local Public API reads no artifacts (W&B's needs a server too)
        for name, want in spec.get("logged_artifacts", {}).items():
            [art] = [a for a in run.logged_artifacts() if a.name.split(":")[0] == name]
            assert art.type == want["type"]
            assert sorted(f.name for f in art.files()) == want["files"]


def check(expected: dict[str, Any], api: Any, mode: str, tmp: Path) -> None:
    for label, (got, want) in expected.get("checks", {}).items():
        assert same(got, want), f"{label}: {got!r} != {want!r}"
    for spec in expected.get("runs", [expected] if "run" in expected else []):
        check_run(api, spec, mode, tmp)


@pytest.mark.parametrize("name", _cases("offline"))
def test_script_offline(name: str, tmp_path: Path) -> None:
    expected = run_script(name, tmp_path, _env(tmp_path, TRACKWELL_MODE="offline"))
    check(expected, trackwell.Api(root=tmp_path), "offline", tmp_path)


@pytest.mark.parametrize("name", _cases("online"))
def test_script_online(name: str, tmp_path: Path, trackwell_server: Any) -> None:
    user = f"cfm{uuid.uuid4().hex[:10]}"
    key = trackwell_server.create_user(user)
    env = _env(tmp_path, TRACKWELL_BASE_URL=trackwell_server.url, TRACKWELL_API_KEY=key,
               WANDB_API_KEY=key, CONFORMANCE_ENTITY=user)  # fmt: skip
    expected = run_script(name, tmp_path, env)
    api = trackwell.Api(overrides={"base_url": trackwell_server.url, "entity": user}, api_key=key)
    check(expected, api, "online", tmp_path)
