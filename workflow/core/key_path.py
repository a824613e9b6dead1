"""Where the audit key file is: the one place that decides it, for both settings readers
(``workflow.core.settings`` and ``workflow.core.light_settings``) and ``s55 init``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: The audit key's place inside the service account's config folder (XDG base directories).
AUDIT_KEY_IN_CONFIG = Path("s55") / "audit.key"


def default_audit_key_file(environ: Mapping[str, str]) -> Path:
    """Where the audit key lives when ``S55_AUDIT_KEY_FILE`` is unset: the account's config
    folder, ``$XDG_CONFIG_HOME/s55/audit.key``, else ``~/.config/s55/audit.key``. Outside the
    working directory on purpose: the database and its backups sit there, and a copy of
    them must not carry the key that proves them."""
    config = environ.get("XDG_CONFIG_HOME", "")
    # The XDG spec: a relative XDG_CONFIG_HOME is invalid and ignored.
    if config and Path(config).is_absolute():
        return Path(config) / AUDIT_KEY_IN_CONFIG
    home = environ.get("HOME") or str(Path.home())
    return Path(home) / ".config" / AUDIT_KEY_IN_CONFIG


def audit_key_file(named: Path | None, environ: Mapping[str, str]) -> Path | None:
    """The audit key file every command uses (the one place that decides it): the file
    ``S55_AUDIT_KEY_FILE`` names (``named``), else the default when something is there
    (``s55 init`` puts it there); None: no key, events are only hash-chained."""
    if named is not None:
        return named
    default = default_audit_key_file(environ)
    return default if os.path.lexists(default) else None
