"""delivery subscriptions: every new version of a product delivered as files into a folder

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("principal", sa.String(length=200), nullable=False),
        sa.Column("product_id", sa.String(length=200), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("delivered_version", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("principal", "product_id", "folder"),
    )
    with op.batch_alter_table("delivery_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_subscriptions_principal"), ["principal"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_delivery_subscriptions_product_id"), ["product_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("delivery_subscriptions")
