"""outbox: the Reply-To each message was queued with

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: messages queued before this revision had no Reply-To and keep none.
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_to", sqlmodel.sql.sqltypes.AutoString(length=254),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("reply_to")
