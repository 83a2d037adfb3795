"""Run files in parts go through the one part-upload protocol: ``file_parts`` goes.

A file uploaded in parts is now joined into one blob in the blob store, its upload
tracked in ``blob_uploads`` as an artifact blob's is. Files stored in parts before keep
their ``files.parts`` list. Parts of a file upload in progress during the upgrade are
forgotten: that file is complete once it is sent again, as after any interrupted upload.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("file_parts")


def downgrade() -> None:
    op.create_table(
        "file_parts",
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("path", sa.Text, primary_key=True),
        sa.Column("part", sa.Integer, primary_key=True),
        sa.Column("parts", sa.Integer, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
