"""Alembic environment: s55 always passes an open connection (see workflow/storage/schema.py)."""

from alembic import context
from sqlmodel import SQLModel

import workflow.storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata
connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER goes through copies
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
