"""outbox: the MAIL_QUEUED event holding each message's digest

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 23:10:00

Rows queued before this migration keep NULL: their queueing events recorded no digest, so
the dispatcher sends them as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queued_event_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("queued_event_id")
