"""The record kinds of the run log and of the server's ingest: the wire vocabulary both sides share.

Public and tiny on purpose: the server (``trackwell_server``) and plugins that read run
logs name kinds from here, so a kind is spelled once for the writer, the sender, the
local readers and the server's ingest.
"""

from __future__ import annotations

__all__ = ["Kind"]


class Kind:
    """Record kinds. Short strings keep the log readable with any msgpack tool."""

    RUN = "run"  # run identity: id, name, project, ... (always the first record)
    META = "meta"  # host, OS, Python, program, args, git
    CONFIG = "config"  # a partial config update, merged key by key
    HISTORY = "history"  # one committed history row, with _step, _timestamp, _runtime
    SUMMARY = "summary"  # explicit user summary edits: {"update": {...}, "remove": [...]}
    METRIC = "metric"  # a define_metric rule
    STATS = "stats"  # one system-metrics sample, keyed system/..., own time axis
    ALERT = "alert"  # a run.alert() call
    FILES = "files"  # files saved into the run directory with run.save()
    ARTIFACT = "artifact"  # log/link/use of an artifact (trackwell.artifacts.upload)
    FINAL_SUMMARY = "final_summary"  # the summary computed at finish (authoritative)
    EXIT = "exit"  # exit_code, state, runtime: the run ended
