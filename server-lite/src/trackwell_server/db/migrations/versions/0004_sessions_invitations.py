"""Dashboard sessions kept on the server, and team invitations.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dash_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_dash_sessions_key", "dash_sessions", ["key_id"])
    op.create_table(
        "team_invitations",
        sa.Column("team", sa.String(128), sa.ForeignKey("entities.name"), primary_key=True),
        sa.Column("user", sa.String(128), sa.ForeignKey("entities.name"), primary_key=True),
        sa.Column("invited_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("team_invitations")
    op.drop_index("ix_dash_sessions_key", "dash_sessions")
    op.drop_table("dash_sessions")
