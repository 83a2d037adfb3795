"""Artifact collections carry tags (W&B's ``ArtifactCollection.tags``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from trackwell_server.db.types import JsonText

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artifact_collections") as batch:
        batch.add_column(sa.Column("tags", JsonText, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("artifact_collections") as batch:
        batch.drop_column("tags")
