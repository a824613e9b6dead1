"""Storage: the engine and its sessions (``db``), the tables (``models``), the schema and its
Alembic migrations (``schema``, ``migrations/``).

``types`` (the UTC datetime column type), ``rows`` (model objects built from rows a
statement just wrote), ``loading`` (a response with its report and recommendations, as a
transition needs it), ``indexes`` (the SQL text a partial index and its queries share),
``pg_roles`` (PostgreSQL's owner and application roles for production).
"""
