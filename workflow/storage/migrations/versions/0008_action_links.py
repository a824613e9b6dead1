"""action_link: the approvers' personal single-use links (only the token's hash)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import workflow.storage.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "action_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", workflow.storage.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("expires_at", workflow.storage.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("used_at", workflow.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["audit_event.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["response_id"], ["response.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("action_link", schema=None) as batch_op:
        batch_op.create_index("ix_action_link_person_issued", ["person_id", "issued_at"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_action_link_response_id"), ["response_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("action_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_link_response_id"))
        batch_op.drop_index("ix_action_link_person_issued")
    op.drop_table("action_link")
