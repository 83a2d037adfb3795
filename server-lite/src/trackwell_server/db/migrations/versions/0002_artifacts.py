"""Artifacts: collections, versions, aliases, manifest blob refs, usage, project blobs, uploads.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from trackwell_server.db.types import JsonText

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artifact_collections",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("type", sa.String(128), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("next_index", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_artifact_collections_project_name"),
    )
    op.create_table(
        "artifact_versions",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "collection_pk",
            sa.Integer,
            sa.ForeignKey("artifact_collections.pk", ondelete="CASCADE"),
            nullable=False,
        ),
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
    op.create_index("ix_artifact_versions_logged_by", "artifact_versions", ["logged_by"])
    op.create_index("ix_artifact_versions_source", "artifact_versions", ["source_pk"])
    op.create_table(
        "artifact_aliases",
        sa.Column(
            "collection_pk",
            sa.Integer,
            sa.ForeignKey("artifact_collections.pk", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("alias", sa.String(128), primary_key=True),
        sa.Column(
            "version_pk",
            sa.Integer,
            sa.ForeignKey("artifact_versions.pk", ondelete="CASCADE"),
            nullable=False,
        ),
    )
    op.create_index("ix_artifact_aliases_version", "artifact_aliases", ["version_pk"])
    op.create_table(
        "artifact_version_blobs",
        sa.Column(
            "version_pk",
            sa.Integer,
            sa.ForeignKey("artifact_versions.pk", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("digest", sa.String(64), primary_key=True),
    )
    op.create_index("ix_artifact_version_blobs_digest", "artifact_version_blobs", ["digest"])
    op.create_table(
        "artifact_usage",
        sa.Column(
            "version_pk",
            sa.Integer,
            sa.ForeignKey("artifact_versions.pk", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("use_as", sa.Text),
        sa.Column("used_at", sa.Float, nullable=False),
    )
    op.create_index("ix_artifact_usage_run", "artifact_usage", ["run_pk"])
    op.create_table(
        "artifact_blobs",
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("seen_at", sa.Float, nullable=False),
    )
    op.create_index("ix_artifact_blobs_digest", "artifact_blobs", ["digest"])
    op.create_table(
        "blob_uploads",
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("parts", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "blob_upload_parts",
        sa.Column("project_id", sa.Integer, primary_key=True),
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("part", sa.Integer, primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id", "digest"], ["blob_uploads.project_id", "blob_uploads.digest"], ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    for table in (
        "blob_upload_parts",
        "blob_uploads",
        "artifact_blobs",
        "artifact_usage",
        "artifact_version_blobs",
        "artifact_aliases",
        "artifact_versions",
        "artifact_collections",
    ):
        op.drop_table(table)
