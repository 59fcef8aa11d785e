"""SCRAM-SHA-256 verifiers of API tokens (PostgreSQL wire protocol sign-in without the token at rest)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scram_verifier", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_column("scram_verifier")
