"""What every directory of the suite shares: the process-wide setup of the test run itself.

Fixtures shared by several directories live in importable modules, not here:
``trackwell.testing`` (the pytest plugin shipped with the SDK: run fixtures, ``wait_until``,
``free_port``, the fault proxy, a script runner) and ``trackwell_server.testing`` (real
servers, in-process or as processes). The ``slow`` marker is registered in pyproject.toml.
"""

from __future__ import annotations

import ast
import signal
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Started in the background (`nohup bash scripts/test.sh &`, as some CI runners do), pytest
    # inherits SIGINT ignored, and an ignored signal stays ignored across fork and exec: every
    # child a test starts would ignore the Ctrl-C the test sends it (the Ctrl-C tests would
    # hang, then fail). With a handler installed here, children start with the default action
    # again (exec resets handled signals), as they do under a terminal.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# -- the slow marker ------------------------------------------------------------------------------
# `bash scripts/test.sh -m "not slow"` is the inner loop (under 2 minutes on a 2-core machine);
# CI runs everything. What is slow is decided here, in one place, from `--durations=0` runs of
# each directory (docs/development.md); a test may also carry @pytest.mark.slow itself.

#: Directories whose every test is slow by nature.
SLOW_DIRS = {
    "faults": "real SDK and server processes, kill -9 and restarts, each test several seconds",
    "dashboard": "a real headless Chromium over a server with logged runs",
    "mlflow": "real MLflow stores and an `mlflow server` process",
    "torch": "torch and DDP worker processes",
    "lightning": "training with Lightning",
    "transformers": "training with transformers' Trainer",
    "keras": "training with Keras",
}

#: Files (every test in them) and single tests, as node ids under tests/: those that start child
#: interpreters or processes, and those measured at a second or more on a 2-core machine.
SLOW_TESTS = {
    "core/test_process.py": "a child interpreter per test (exits, signals, kill -9, -W error imports)",
    "core/test_terminal_plugin.py::test_the_terminal_plugin_prints_and_can_be_blocked": "child interpreters",
    "core/test_log.py::test_torch_0d_tensors_become_plain_numbers": "imports torch",
    "core/test_api.py::test_history_dataframe": "imports pandas",
    "core/test_docs.py::test_the_plugin_testing_example_passes_as_written": "a pytest subprocess",
    "core/test_plugin_robustness.py::test_a_plugin_that_fails_to_import_is_skipped_with_one_warning": "a child",
    "api_server/test_history.py::test_a_million_points_load_in_well_under_a_second": "a million points",
    "artifacts/test_transfers.py::test_interrupted_multipart_upload_sends_only_missing_parts": "large parts",
    "api_server/test_client.py::test_rate_limiting_gives_up_after_a_few_tries": "waits out Retry-After",
    "api_server/test_client.py::test_rate_limited_requests_wait_and_retry": "waits out Retry-After",
    "api_server/test_errors.py::test_server_unreachable_names_the_url": "waits out retries",
    "media/test_many_files.py::test_1500_images_all_reach_the_server": "1,500 files",
    "tables/test_table.py::test_100k_rows_are_a_few_mb": "100,000 rows",
    "online/test_server.py::test_resume_fork_and_rewind_round_trips": "several runs through a server",
    "online/test_server.py::test_login_to_a_server_without_auth_needs_no_key": "a server process",
    "server/test_runs.py::test_heartbeat_keeps_a_run_alive_and_silence_crashes_it": "waits out a heartbeat",
    "server/test_plugins.py::test_an_installed_plugin_is_found_by_its_entry_point": "installs a distribution",
    "server/test_files.py::test_unused_blobs_are_collected": "garbage collection rounds",
    "compat/test_conformance.py": "a user's script as a child interpreter per test, offline and online",
    "compat/test_first_run.py": "the CLI and the demo as processes, Ctrl-C",
    "online/test_fixtures.py": "pytest subprocesses",
    "online/test_sender.py::test_429_answers_are_retried_after_retry_after": "waits out Retry-After",
    "online/test_sender.py::test_finish_waits_only_upload_timeout_then_says_how_to_sync": "waits a timeout",
    "online/test_cli.py": "the CLI as child processes (sync, login), some waiting out retries",
    "online/test_resume.py": "resumes against a server that is away: connection timeouts",
    "online/test_sender.py::test_finish_stops_waiting_early_when_nothing_gets_through": "waits out a window",
    "online/test_sender.py::test_a_sequence_gap_makes_the_sender_resend_what_the_server_lacks": "a second",
    "online/test_sender.py::test_a_server_outage_mid_run_loses_and_repeats_nothing": "a server outage",
    "server/test_openapi.py::test_no_server_errors": "property-based checks of every operation",
    "server/test_cli.py": "server processes",
    "server/test_processes.py": "server processes, kill -9",
    "sweeps/test_bayes.py::test_bayes_beats_random": "whole optimisations",
    "sweeps/test_stopping.py::test_a_stop_as_the_function_returns_is_harmless": "agent processes",
    "sweeps/test_server.py::test_three_agent_processes_never_share_a_grid_point": "agent processes",
    "sweeps/test_cli.py": "CLI and agent processes",
    "plugins/template/test_template.py::test_a_new_plugin_installs_is_discovered_and_passes_its_own_tests":
        "builds and installs a project",
    "plugins/tensorboard/test_tensorboard.py::test_sync_tensorboard_script_with_tensorboardx_imported_after_init":
        "a child with tensorboardX",
    "plugins/tensorboard/test_tensorboard.py::test_sync_tensorboard_script_with_torch_utils_tensorboard":
        "a child with torch",
}


def _exists(key: str) -> bool:
    """Whether the directory, file or test function a slow-table key names is there."""
    path, _, test = key.partition("::")
    file = Path(__file__).parent / path
    if not test:
        return file.exists()
    return file.is_file() and any(
        isinstance(node, ast.FunctionDef) and node.name == test for node in ast.parse(file.read_bytes()).body
    )


def _slow_reason(nodeid: str) -> str | None:
    rel = nodeid.removeprefix("tests/")
    reason = SLOW_DIRS.get(rel.split("/", 1)[0])
    if reason is not None:
        return reason
    for key, why in SLOW_TESTS.items():
        if rel == key or rel.startswith((key + "::", key + "[")):
            return why
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    stale = [key for key in [*SLOW_DIRS, *SLOW_TESTS] if not _exists(key)]
    if stale:  # a renamed file or test would silently fall into the inner loop
        raise pytest.UsageError(f"tests/conftest.py marks as slow what does not exist: {stale}")
    for item in items:
        if _slow_reason(item.nodeid) is not None:
            item.add_marker(pytest.mark.slow)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Skip importing a slow directory at all when ``-m`` deselects slow tests: importing the
    frameworks (torch, transformers, Lightning, Keras, MLflow) alone costs the inner loop seconds."""
    here = Path(__file__).parent
    if collection_path.parent != here or collection_path.name not in SLOW_DIRS:
        return None
    markexpr = config.getoption("markexpr", "")
    if not markexpr:
        return None
    try:
        from _pytest.mark.expression import Expression  # how pytest itself evaluates -m
    except ImportError:
        return None
    return not Expression.compile(markexpr).evaluate(lambda name, **kwargs: name == "slow") or None
