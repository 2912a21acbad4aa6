"""Compress stored webhook payloads with lz4 on PostgreSQL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

PostgreSQL compresses large values (TOAST) with pglz by default; for 10-100 KB JSON payloads that
is most of an insert's cost, and lz4 (PostgreSQL 14+, when the server is built with it) is several
times faster at a similar ratio. Older or lz4-less servers keep pglz: the change is skipped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _lz4_available(bind: sa.Connection) -> bool:
    if bind.dialect.name != "postgresql":
        return False
    version = int(bind.execute(sa.text("SHOW server_version_num")).scalar_one())
    if version < 140000:
        return False
    # `pg_config` is not reachable from SQL; a server without lz4 rejects the setting.
    with bind.begin_nested():
        try:
            bind.execute(sa.text("SET LOCAL default_toast_compression = 'lz4'"))
        except sa.exc.DBAPIError:
            return False
    return True


def upgrade() -> None:
    bind = op.get_bind()
    if _lz4_available(bind):
        op.execute("ALTER TABLE deliveries ALTER COLUMN payload SET COMPRESSION lz4")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _lz4_available(bind):
        op.execute("ALTER TABLE deliveries ALTER COLUMN payload SET COMPRESSION pglz")
