"""audit_event: SQLite refuses an INSERT that would replace an event

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 22:00:00

``INSERT OR REPLACE`` resolves a clash on the id or the unique hash by deleting the old
row, and SQLite fires delete triggers for that only under ``PRAGMA recursive_triggers``
(SQLite docs, "ON CONFLICT clause"): the append-only triggers never saw it. A BEFORE
INSERT trigger sees every insert, whatever its conflict clause. PostgreSQL has no such
path (``ON CONFLICT DO UPDATE`` is an UPDATE, which is refused already).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFUSAL = "audit_event is append-only: an event with this id or hash exists"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TRIGGER audit_event_no_replace BEFORE INSERT ON audit_event "
        "WHEN EXISTS (SELECT 1 FROM audit_event WHERE id = NEW.id OR hash = NEW.hash) "
        f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_replace")
