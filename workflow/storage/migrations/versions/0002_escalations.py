"""escalations: the firing claims (exactly once) and the scheduler heartbeat

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 09:16:01.610491
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import workflow.storage.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported: a migration must not change when the models do.
OPEN_STATES_SQL = (
    "state IN ('draft', 'force_input', 'pcc_signoff', 'forwarded_to_panel', 'published')"
)


def upgrade() -> None:
    op.create_table(
        "scheduler_heartbeat",
        sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("started_at", workflow.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("beat_at", workflow.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker"),
    )
    with op.batch_alter_table("scheduler_heartbeat", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scheduler_heartbeat_beat_at"), ["beat_at"], unique=False
        )

    # The unique constraint's index also serves the look-up of a response's firings.
    op.create_table(
        "escalation_firing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("occurrence", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("fired_at", workflow.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["audit_event.id"]),
        sa.ForeignKeyConstraint(["response_id"], ["response.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("response_id", "rule_id", "occurrence", name="uq_escalation_firing"),
    )

    # Open responses only, with every date the escalation planner reads
    # (see workflow/storage/tables.py).
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.create_index(
            "ix_response_open",
            ["state", "deadline", "published_on", "force_input_due", "signoff_due", "id"],
            unique=False,
            sqlite_where=sa.text(OPEN_STATES_SQL),
            postgresql_where=sa.text(OPEN_STATES_SQL),
        )


def downgrade() -> None:
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index("ix_response_open")
    op.drop_table("escalation_firing")
    with op.batch_alter_table("scheduler_heartbeat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduler_heartbeat_beat_at"))
    op.drop_table("scheduler_heartbeat")
