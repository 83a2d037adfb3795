"""Sweeps: the sweeps table and one row per suggestion handed out.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from trackwell_server.db.types import JsonText

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweeps",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("sweep_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("config", JsonText, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("controller", sa.String(8), nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("done_reason", sa.Text),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("project_id", "sweep_id", name="uq_sweeps_project_sweep"),
    )
    op.create_table(
        "sweep_runs",
        sa.Column("sweep_pk", sa.Integer, sa.ForeignKey("sweeps.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("run_id", sa.String(128), primary_key=True),
        sa.Column("params", JsonText, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("stop_requested", sa.Boolean, nullable=False),
        sa.Column("agent", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sweep_runs")
    op.drop_table("sweeps")
