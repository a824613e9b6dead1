"""PostgreSQL roles for production: an owner that runs migrations, an application that cannot
rewrite history.

The owner of a table can ``ALTER TABLE audit_event DISABLE TRIGGER USER`` and then rewrite
the log (PostgreSQL lets a table's owner disable its triggers), so the login s55 runs under
must own nothing: it holds ``SELECT, INSERT`` on ``audit_event`` (no ``UPDATE``, ``DELETE``,
``TRUNCATE``, no ownership) and ordinary rights on the working tables. Migrations run as the
owner. Passwords are never printed or stored here: the DBA sets them (``\\password``) and
s55 reads its URL from the environment.
"""

from __future__ import annotations

import re

from sqlalchemy import text

from workflow.core.errors import InvalidInputError
from workflow.storage.db import Database

_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: Tables the application may read and append to, never change.
APPEND_ONLY = ("audit_event",)


def _role(name: str, what: str) -> str:
    if not _ROLE.fullmatch(name):
        raise InvalidInputError(what, f"{name!r} is not a plain role name (lower-case letters, "
                                "digits and _, at most 63, not starting with a digit)")
    return name


def role_sql(owner: str, app: str) -> list[str]:
    """The statements that make ``owner`` own s55's objects and give ``app`` only what it
    needs, in order; safe to run again."""
    owner, app = _role(owner, "--owner"), _role(app, "--app")
    if owner == app:
        raise InvalidInputError("--app", "must differ from --owner: the owner can disable the "
                                "audit triggers")
    append_only = ", ".join(APPEND_ONLY)
    ensure = ("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{r}') THEN "
              "CREATE ROLE {r} LOGIN; END IF; END $$")
    own_all = (
        "DO $$ DECLARE r record; BEGIN "
        "FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP "
        f"EXECUTE format('ALTER TABLE public.%I OWNER TO {owner}', r.tablename); END LOOP; "
        "FOR r IN SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' LOOP "
        f"EXECUTE format('ALTER SEQUENCE public.%I OWNER TO {owner}', r.sequencename); "
        "END LOOP; END $$")
    return [
        ensure.format(r=owner),
        ensure.format(r=app),
        f"ALTER ROLE {app} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS",
        f"GRANT USAGE, CREATE ON SCHEMA public TO {owner}",
        own_all,
        f"ALTER FUNCTION public.s55_audit_append_only() OWNER TO {owner}",
        f"REVOKE CREATE ON SCHEMA public FROM {app}",
        f"GRANT USAGE ON SCHEMA public TO {app}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
        f"REVOKE ALL ON {append_only} FROM PUBLIC, {app}",
        f"GRANT SELECT, INSERT ON {append_only} TO {app}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
        # Tables a later migration (run as the owner) creates are the app's to use too.
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {app}",
    ]


def apply(db: Database, owner: str, app: str) -> list[str]:
    """Run :func:`role_sql` in one transaction on ``db`` (connected as a superuser or the
    current owner); the statements run."""
    if db.is_sqlite:
        raise InvalidInputError("db roles", "is for PostgreSQL; a SQLite file is protected by "
                                "its file permissions (owner-only, chmod 600)")
    statements = role_sql(owner, app)
    with db.engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql))
    return statements
