"""Initial schema: entities, keys, projects, runs, streams, history chunks, files.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from trackwell_server.db.types import JsonText

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entities",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("admin", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "memberships",
        sa.Column("team", sa.String(128), sa.ForeignKey("entities.name"), primary_key=True),
        sa.Column("user", sa.String(128), sa.ForeignKey("entities.name"), primary_key=True),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("user", sa.String(128), sa.ForeignKey("entities.name"), nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(128), sa.ForeignKey("entities.name"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("visibility", sa.String(8), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("entity", "name", name="uq_projects_entity_name"),
    )
    op.create_table(
        "runs",
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
        sa.Column("summary_state", sa.LargeBinary),
        sa.UniqueConstraint("project_id", "run_id", name="uq_runs_project_run"),
    )
    op.create_index("ix_runs_state_heartbeat", "runs", ["state", "heartbeat_at"])
    op.create_table(
        "streams",
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("stream", sa.String(128), primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "rewinds",
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_table(
        "series_chunks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("archive", sa.Integer, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("min_step", sa.BigInteger, nullable=False),
        sa.Column("max_step", sa.BigInteger, nullable=False),
        sa.Column("min_value", sa.Float),
        sa.Column("max_value", sa.Float),
        sa.Column("ints", sa.Boolean, nullable=False),
        sa.Column("rev", sa.BigInteger, nullable=False),
        sa.Column("steps", sa.LargeBinary, nullable=False),
        sa.Column("vals", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_series_run_key", "series_chunks", ["run_pk", "archive", "key", "min_step"])
    op.create_index("ix_series_run_n", "series_chunks", ["run_pk", "archive", "n"])
    op.create_table(
        "row_chunks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("archive", sa.Integer, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("min_step", sa.BigInteger, nullable=False),
        sa.Column("max_step", sa.BigInteger, nullable=False),
        sa.Column("rows", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_rows_run", "row_chunks", ["run_pk", "kind", "archive", "min_step"])
    op.create_index("ix_rows_run_n", "row_chunks", ["run_pk", "kind", "archive", "n"])
    if op.get_bind().dialect.name == "postgresql":
        # packed floats barely compress: TOAST's pglz would cost CPU on every ingest for
        # nothing, so the chunk blobs are stored out of line uncompressed
        for table, column in (("series_chunks", "steps"), ("series_chunks", "vals"), ("row_chunks", "rows")):
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTERNAL")
    op.create_table(
        "files",
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("path", sa.Text, primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("parts", JsonText),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "file_parts",
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("path", sa.Text, primary_key=True),
        sa.Column("part", sa.Integer, primary_key=True),
        sa.Column("parts", sa.Integer, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("file_parts", "files", "row_chunks", "series_chunks", "rewinds", "streams", "runs",
                  "projects", "api_keys", "memberships", "entities"):  # fmt: skip
        op.drop_table(table)
