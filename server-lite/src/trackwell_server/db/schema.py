"""The server's tables, as SQLAlchemy Core ``Table`` objects (no ORM).

Why history is not a row per point: a row per point cannot be written at a million
points a second, nor read back at that rate. Each run's history is stored in two parts:

- ``series_chunks``: per (run, key) a chunk of packed float64 values and int64 steps,
  with its step range and value range, so one metric's series is a handful of blobs
  and ``history/columns`` or ``history?samples=`` never touch the other keys;
- ``row_chunks``: per ingest batch the values that are not numbers (strings, bools,
  media refs), with the batch's step range; ``scan_history`` rebuilds full rows from
  both (the numbers are not stored twice).

Both carry ``archive``: 0 for the live history, a rewind's id for history moved aside
by ``resume_from``, so the discarded part stays readable. Chunk bytes live in the
database, not the blob store, so a batch's history and its stream position commit in
one transaction: that is what makes ingest exactly-once.

The migrations in ``db/migrations`` create these tables; a test checks they agree.
"""

from __future__ import annotations

import sqlalchemy as sa

from trackwell_server.db.types import JsonText

metadata = sa.MetaData()

#: Users and teams share one namespace of entity names.
entities = sa.Table(
    "entities",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),  # "user" | "team"
    sa.Column("admin", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("team", sa.String(128), sa.ForeignKey("entities.name"), primary_key=True),
    sa.Column("user", sa.String(128), sa.ForeignKey("entities.name"), primary_key=True),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("user", sa.String(128), sa.ForeignKey("entities.name"), nullable=False),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),  # sha256(salt + key), hex
    sa.Column("created_at", sa.Float, nullable=False),
)

#: Dashboard sessions (``dashboard/session.py``): sha256 of the cookie's random id, so
#: that logout and key revocation end a session on the server.
dash_sessions = sa.Table(
    "dash_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)
sa.Index("ix_dash_sessions_key", dash_sessions.c.key_id)

#: A member added to a team by someone other than an admin waits here until they accept.
team_invitations = sa.Table(
    "team_invitations",
    metadata,
    sa.Column("team", sa.String(128), sa.ForeignKey("entities.name"), primary_key=True),
    sa.Column("user", sa.String(128), sa.ForeignKey("entities.name"), primary_key=True),
    sa.Column("invited_by", sa.String(128), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(128), sa.ForeignKey("entities.name"), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("visibility", sa.String(8), nullable=False, default="private"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("entity", "name", name="uq_projects_entity_name"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("run_id", sa.String(128), nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("group_name", sa.Text),
    sa.Column("job_type", sa.Text),
    sa.Column("tags", JsonText, nullable=False),
    sa.Column("notes", sa.Text),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("config", JsonText, nullable=False),
    sa.Column("summary", JsonText, nullable=False),
    sa.Column("metadata", JsonText, nullable=False),
    sa.Column("alerts", JsonText, nullable=False),
    sa.Column("history_keys", JsonText, nullable=False),
    sa.Column("fork_of", JsonText),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("heartbeat_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.Column("exit_code", sa.Integer),
    sa.Column("runtime", sa.Float),
    sa.Column("last_step", sa.BigInteger, nullable=False),
    # msgpack of the summary state machine (rules, aggregates, user edits): the next
    # batch folds into it without replaying the whole history
    sa.Column("summary_state", sa.LargeBinary),
    # records ingest refused (too large, bad key, bad step): {"count": n, "last": [...]},
    # so a refusal stays visible on the run (its JSON and its dashboard page)
    sa.Column("refused", JsonText),
    sa.UniqueConstraint("project_id", "run_id", name="uq_runs_project_run"),
)
sa.Index("ix_runs_state_heartbeat", runs.c.state, runs.c.heartbeat_at)

#: Where each run-log stream stands: the exactly-once bookkeeping of ingest.
streams = sa.Table(
    "streams",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("stream", sa.String(128), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)

rewinds = sa.Table(
    "rewinds",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)

series_chunks = sa.Table(
    "series_chunks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("archive", sa.Integer, nullable=False),  # 0 live, else a rewind id
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("min_step", sa.BigInteger, nullable=False),
    sa.Column("max_step", sa.BigInteger, nullable=False),
    sa.Column("min_value", sa.Float),
    sa.Column("max_value", sa.Float),
    sa.Column("ints", sa.Boolean, nullable=False),  # every value was an int: scans give ints back
    sa.Column("rev", sa.BigInteger, nullable=False),  # random, new on every write (storage/cache.py)
    # int64 little endian; empty when the steps are min_step..max_step without a gap
    sa.Column("steps", sa.LargeBinary, nullable=False),
    sa.Column("vals", sa.LargeBinary, nullable=False),  # float64 little endian
)
sa.Index("ix_series_run_key", series_chunks.c.run_pk, series_chunks.c.archive, series_chunks.c.key,
         series_chunks.c.min_step)  # fmt: skip
# finds the small tail chunks an ingest extends without visiting every chunk of the run
sa.Index("ix_series_run_n", series_chunks.c.run_pk, series_chunks.c.archive, series_chunks.c.n)

row_chunks = sa.Table(
    "row_chunks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # "history" | "system"
    sa.Column("archive", sa.Integer, nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("min_step", sa.BigInteger, nullable=False),
    sa.Column("max_step", sa.BigInteger, nullable=False),
    # msgpack list of rows: history keeps only what the series cannot (non-numeric
    # values, empty rows); its step range is the window a scan rebuilds from both
    sa.Column("rows", sa.LargeBinary, nullable=False),
)
sa.Index("ix_rows_run", row_chunks.c.run_pk, row_chunks.c.kind, row_chunks.c.archive, row_chunks.c.min_step)
sa.Index("ix_rows_run_n", row_chunks.c.run_pk, row_chunks.c.kind, row_chunks.c.archive, row_chunks.c.n)

files = sa.Table(
    "files",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("path", sa.Text, primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),  # of the whole file
    # blob sha256 of each part, for a file a server before migration 0007 stored in parts
    # (a file uploaded in parts is one blob now: routes/uploads.py)
    sa.Column("parts", JsonText),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# -- artifacts (storage/artifacts.py, docs/server-api.md "Artifacts") ---------------
#
# A collection is (project, name) with one type; a version is a row of a collection
# numbered by ``idx`` (v<idx>), taken from the collection's ``next_index`` under a lock
# on the collection row, so concurrent commits never share a number. A manifest is a
# blob (canonical JSON) in the blob store; ``artifact_version_blobs`` lists the file
# blobs it names, for the blob collector and the missing-blob check. A registry link
# is a version whose ``source_pk`` names the linked version (it reads through to it).

artifact_collections = sa.Table(
    "artifact_collections",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("type", sa.String(128), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("tags", JsonText),  # W&B's collection tags: a list of strings, null for none
    sa.Column("next_index", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("project_id", "name", name="uq_artifact_collections_project_name"),
)

artifact_versions = sa.Table(
    "artifact_versions",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("collection_pk", sa.Integer, sa.ForeignKey("artifact_collections.pk", ondelete="CASCADE"),
              nullable=False),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(128), nullable=False),
    sa.Column("manifest_sha256", sa.String(64), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("metadata", JsonText, nullable=False),
    sa.Column("tags", JsonText, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("file_count", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("logged_by", sa.Integer, sa.ForeignKey("runs.pk", ondelete="SET NULL")),
    sa.Column("client_id", sa.String(64)),
    sa.Column("source_pk", sa.Integer, sa.ForeignKey("artifact_versions.pk", ondelete="CASCADE")),
    sa.UniqueConstraint("collection_pk", "idx", name="uq_artifact_versions_index"),
    sa.UniqueConstraint("project_id", "client_id", name="uq_artifact_versions_client_id"),
    sa.UniqueConstraint("collection_pk", "source_pk", name="uq_artifact_versions_link"),
)
sa.Index("ix_artifact_versions_logged_by", artifact_versions.c.logged_by)
sa.Index("ix_artifact_versions_source", artifact_versions.c.source_pk)

#: User aliases (``latest`` is not stored: it is always the highest index).
artifact_aliases = sa.Table(
    "artifact_aliases",
    metadata,
    sa.Column("collection_pk", sa.Integer, sa.ForeignKey("artifact_collections.pk", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("alias", sa.String(128), primary_key=True),
    sa.Column("version_pk", sa.Integer, sa.ForeignKey("artifact_versions.pk", ondelete="CASCADE"),
              nullable=False),
)
sa.Index("ix_artifact_aliases_version", artifact_aliases.c.version_pk)

artifact_version_blobs = sa.Table(
    "artifact_version_blobs",
    metadata,
    sa.Column("version_pk", sa.Integer, sa.ForeignKey("artifact_versions.pk", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
)
sa.Index("ix_artifact_version_blobs_digest", artifact_version_blobs.c.digest)

artifact_usage = sa.Table(
    "artifact_usage",
    metadata,
    sa.Column("version_pk", sa.Integer, sa.ForeignKey("artifact_versions.pk", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("use_as", sa.Text),
    sa.Column("used_at", sa.Float, nullable=False),
)
sa.Index("ix_artifact_usage_run", artifact_usage.c.run_pk)

#: The blobs a project holds (uploaded, or brought in by a link): what it may read,
#: and what ``blobs/check`` reports present. ``seen_at`` moves on every check, upload
#: and commit naming it; the collector drops rows unreferenced and unseen for its grace.
artifact_blobs = sa.Table(
    "artifact_blobs",
    metadata,
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("seen_at", sa.Float, nullable=False),
)
sa.Index("ix_artifact_blobs_digest", artifact_blobs.c.digest)

#: Uploads in parts (routes/uploads.py), until the last part arrives (the parts are in the
#: blob store's upload area, which the collector leaves alone until the upload is a day old).
blob_uploads = sa.Table(
    "blob_uploads",
    metadata,
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
    # the upload's name: an artifact blob's sha256, or storage.files.upload_id(run, path)
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("parts", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

blob_upload_parts = sa.Table(
    "blob_upload_parts",
    metadata,
    sa.Column("project_id", sa.Integer, primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("part", sa.Integer, primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.ForeignKeyConstraint(["project_id", "digest"], ["blob_uploads.project_id", "blob_uploads.digest"],
                            ondelete="CASCADE"),
)

#: Sweeps (docs/server-api.md "Sweeps"): the validated configuration and the state. A suggestion
#: is handed out holding the sweep row (FOR UPDATE), so two agents never get the same one.
sweeps = sa.Table(
    "sweeps",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("sweep_id", sa.String(64), nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("config", JsonText, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # RUNNING PAUSED FINISHED CANCELED
    sa.Column("controller", sa.String(8), nullable=False),  # "cloud" (this server) | "local"
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("done_reason", sa.Text),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("project_id", "sweep_id", name="uq_sweeps_project_sweep"),
)

#: One row per suggestion: queued (local controller), running, then an end state.
sweep_runs = sa.Table(
    "sweep_runs",
    metadata,
    sa.Column("sweep_pk", sa.Integer, sa.ForeignKey("sweeps.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("run_id", sa.String(128), primary_key=True),
    sa.Column("params", JsonText, nullable=False),  # flat: {"optimizer.lr": 0.1}
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("stop_requested", sa.Boolean, nullable=False),
    sa.Column("agent", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
