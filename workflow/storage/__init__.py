"""Storage: the engine and its sessions (``db``), the tables (``models``), the schema and its
Alembic migrations (``schema``, ``migrations/``) and backups (``backup``).

May import ``states`` and the core's leaves (``errors``, ``clock``, ``config``, ``audit_keys``);
``backup`` also reads the audit chain (``workflow.audit.trail``). Never a face, mail, documents or
escalations.
"""
