"""DATSIS maturity scores and their history

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "maturity_scores",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("product_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("dimensions", sa.JSON(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("maturity_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_maturity_scores_product_id"), ["product_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("maturity_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_maturity_scores_product_id"))
    op.drop_table("maturity_scores")
