"""The access policies that decided a request, and the terms of use its requester accepted

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("policy_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("terms", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_column("terms")
        batch_op.drop_column("policy_reason")
        batch_op.drop_column("policy")
