"""published outputs: what Hookwise created on GitHub, claimed before creation

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_outputs",
        sa.Column("repository", sa.String(length=256), nullable=False),
        sa.Column("target", sa.String(length=256), nullable=False),
        sa.Column("automation", sa.String(length=128), nullable=False),
        sa.Column("slot", sa.String(length=512), nullable=False),
        sa.Column("github_id", sa.BigInteger(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "repository", "target", "automation", "slot", name=op.f("pk_published_outputs")
        ),
    )


def downgrade() -> None:
    op.drop_table("published_outputs")
