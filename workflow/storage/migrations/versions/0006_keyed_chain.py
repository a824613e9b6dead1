"""audit_event: the keyed chain (the id of the audit key and the HMAC of each event's hash)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 23:00:00

Plain ADD COLUMN on both databases (SQLite supports it; a batch copy of the table would
drop its append-only triggers). Events written before this migration, or with no key
configured, keep NULL: ``s55 audit verify`` checks HMACs from the key's first event on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_event", sa.Column(
        "key_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    op.add_column("audit_event", sa.Column(
        "mac", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_event", "mac")
    op.drop_column("audit_event", "key_id")
