"""identity: event provenance, people over time (login, active, retired emails), delegations

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import workflow.storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROVENANCE = (("channel", 16), ("account", 64), ("host", 255), ("identity", 16),
               ("on_behalf_of", 254))


def upgrade() -> None:
    # Nullable: events written before this revision have no provenance, and their hashes
    # cover the first nine fields only (workflow/audit/trail.py verifies both shapes).
    # Plain ALTER TABLE ADD COLUMN on both databases: a batch copy of the table on SQLite
    # would be refused by the append-only triggers.
    for name, length in _PROVENANCE:
        op.add_column("audit_event", sa.Column(
            name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=True))
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("login", sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column("active", sa.Boolean(), server_default=sa.true(),
                                      nullable=False))
        batch_op.create_unique_constraint("uq_person_login", ["login"])

    op.create_table(
        "retired_email",
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("retired_at", workflow.storage.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("email"),
    )
    with op.batch_alter_table("retired_email", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retired_email_person_id"), ["person_id"],
                              unique=False)

    op.create_table(
        "delegation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pcc_id", sa.Integer(), nullable=False),
        sa.Column("deputy_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", workflow.storage.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("revoked_at", workflow.storage.types.UTCDateTime(timezone=True),
                  nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["deputy_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["pcc_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delegation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delegation_deputy_id"), ["deputy_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delegation_pcc_id"), ["pcc_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("delegation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delegation_pcc_id"))
        batch_op.drop_index(batch_op.f("ix_delegation_deputy_id"))
    op.drop_table("delegation")
    with op.batch_alter_table("retired_email", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retired_email_person_id"))
    op.drop_table("retired_email")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_constraint("uq_person_login", type_="unique")
        batch_op.drop_column("active")
        batch_op.drop_column("login")
    # ALTER TABLE DROP COLUMN (SQLite 3.35+ natively), not a batch copy (see upgrade).
    for name, _ in reversed(_PROVENANCE):
        op.drop_column("audit_event", name)
