"""column lineage edges (lineage graph and impact analysis)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lineage_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("product_version_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["product_version_id"], ["product_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("product_version_id"),
    )
    with op.batch_alter_table("lineage_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lineage_versions_product_id"), ["product_id"], unique=False)

    op.create_table(
        "column_lineage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("product_version_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=200), nullable=False),
        sa.Column("column", sa.String(length=200), nullable=False),
        sa.Column("port", sa.String(length=200), nullable=False),
        sa.Column("upstream_product", sa.String(length=200), nullable=True),
        sa.Column("upstream_column", sa.String(length=200), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("transformation", sa.String(length=20), nullable=False),
        sa.Column("masked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["product_version_id"], ["product_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("column_lineage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_column_lineage_product_id"), ["product_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_column_lineage_product_version_id"), ["product_version_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_column_lineage_upstream_product"), ["upstream_product"], unique=False
        )


def downgrade() -> None:
    op.drop_table("column_lineage")
    op.drop_table("lineage_versions")
