"""The web server's secret (signs reader sessions, derives CSRF tokens): kept in an
owner-only file (``S55_WEB_SECRET_FILE``), made by ``s55 init`` or on the first
``s55 serve``, refused when anyone else may read it (as the audit key is); never in the
database, a log or an audit payload. ``s55 doctor`` checks it (``check``)."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from workflow.core.errors import ConfigError

SIZE = 32


def load_or_create(path: Path | None) -> tuple[bytes, str]:
    """The secret in ``path`` (made, mode 0600, when absent) and a sentence on where it is
    from; with no path a random one for this process only (sessions end with it)."""
    if path is None:
        return secrets.token_bytes(SIZE), ("web secret: made for this process only (sessions "
                                           "and open forms end when it stops; set "
                                           "S55_WEB_SECRET_FILE to keep them)")
    if not create(path):
        return _read(path), f"web secret: {path}"
    return _read(path), f"web secret: made {path} (owner-only)"


def create(path: Path) -> bool:
    """Make the secret file (mode 0600) unless it exists; whether it was made."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise ConfigError(f"web secret file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(SIZE) + "\n")
    return True


def check(path: Path) -> None:
    """``ConfigError`` (one line) unless ``path`` is a usable owner-only secret file."""
    _read(path)


def _read(path: Path) -> bytes:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise ConfigError(f"web secret file {path}: does not exist; `s55 init` or "
                          "`s55 serve` makes it") from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"web secret file {path}: not a regular file")
    if st.st_mode & 0o077:
        raise ConfigError(f"web secret file {path}: may be read by others (mode "
                          f"{stat.S_IMODE(st.st_mode):o}); chmod 600 it")
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise ConfigError(f"web secret file {path}: not a hex secret of at least 16 bytes")
    return key
