"""action_link: the signed event that issued each link and what its token derives from;
audit_event: an index by action and id

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00

Links issued before this revision keep NULL in the new columns: such a link is used only
while its token still derives from the audit key through the mail its event queued
(``workflow.links.issued``). The index is a plain CREATE INDEX on ``audit_event`` (a batch
copy of that table would drop its append-only triggers).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("action_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issue_event_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("outbox_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=True))
        batch_op.add_column(sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(length=32),
                                      nullable=True))
        batch_op.create_foreign_key("fk_action_link_issue_event_id_audit_event",
                                    "audit_event", ["issue_event_id"], ["id"])
        batch_op.create_foreign_key("fk_action_link_outbox_id_outbox", "outbox",
                                    ["outbox_id"], ["id"])
    op.create_index("ix_audit_event_action_id", "audit_event", ["action", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_event_action_id", table_name="audit_event")
    with op.batch_alter_table("action_link", schema=None) as batch_op:
        batch_op.drop_constraint("fk_action_link_outbox_id_outbox", type_="foreignkey")
        batch_op.drop_constraint("fk_action_link_issue_event_id_audit_event",
                                 type_="foreignkey")
        batch_op.drop_column("nonce")
        batch_op.drop_column("key_id")
        batch_op.drop_column("outbox_id")
        batch_op.drop_column("issue_event_id")
