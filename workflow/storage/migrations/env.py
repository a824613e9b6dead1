"""Alembic environment: s55 always passes an open connection (see workflow/storage/schema.py).

``target_metadata`` is the one description of the tables (``workflow.storage.tables``),
which autogenerate compares a database with.
"""

from alembic import context

from workflow.storage.tables import METADATA

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=METADATA,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER goes through copies
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
