"""Storage: every table described once in SQLAlchemy Core (``tables``), the ORM classes
declared over those tables (``models``), the engine and its sessions (``db``), the schema
and its Alembic migrations (``schema``, ``migrations/``).

``types`` (the UTC datetime column type), ``rows`` (model objects built from rows a
statement just wrote), ``loading`` (a response with its report and recommendations, as a
transition needs it), ``pg_roles`` (PostgreSQL's owner and application roles for
production).
"""
