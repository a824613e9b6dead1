"""The s55 engine: models, database, transition service, audit log and CLI.

Kept import-light: ``s55 --help`` must not pay for SQLAlchemy.
"""
