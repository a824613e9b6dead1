"""office_setting and pending_change: the office's settings kept in the database (force,
office name, identity mode, separation of duties), and changes waiting for one person's
confirmation (a delegation an admin asked for; a signer's new login or address)

A database upgraded to this revision holds no settings yet: until `s55 init` records them
(from its flags or, once, the environment), the environment's are used as before and
`s55 doctor` fails, naming the command.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import workflow.storage.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "office_setting",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", workflow.storage.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["audit_event.id"]),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "pending_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("asked", sa.Text(), nullable=False),
        sa.Column("asked_by", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("asked_at", workflow.storage.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("decided_at", workflow.storage.types.UTCDateTime(timezone=True),
                  nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["audit_event.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pending_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pending_change_event_id"), ["event_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_pending_change_person_id"), ["person_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pending_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_change_person_id"))
        batch_op.drop_index(batch_op.f("ix_pending_change_event_id"))
    op.drop_table("pending_change")
    op.drop_table("office_setting")
