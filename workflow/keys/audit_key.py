"""The audit key: a secret outside the database that signs every event (an HMAC-SHA256).

Someone with only database access (a DBA, a stolen backup) can recompute a SHA-256 chain,
but not an HMAC under a key they never saw. The key lives in a file of its own,
created owner-only by ``s55 init`` and refused if anyone else may read it: the account's
config folder's ``s55/audit.key`` unless ``S55_AUDIT_KEY_FILE`` names another
(``workflow.core.key_path.audit_key_file`` decides). The file is a keyring: one
``<key id> <hex key>`` per line, the newest last; ``s55 audit rotate-key`` adds a line,
and events keep the id of the key that signed them, so events signed before a rotation still
verify after it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from workflow.core.errors import ConfigError

KEY_BYTES = 32  # 256 bits, as HMAC-SHA256's block-sized key wants no more


class AuditKeyError(ConfigError):
    """The audit key file is missing, unsafe or unreadable; nothing was signed."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path, self.problem = str(path), problem
        super().__init__(f"audit key file {path}: {problem}")


def key_id(key: bytes) -> str:
    """A short public name for ``key`` (never the key): 16 hex digits of a SHA-256."""
    return hashlib.sha256(b"s55 audit key id\x1f" + key).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """Every key ever used, by id; ``current`` signs new events."""

    keys: dict[str, bytes]
    current: str
    since: int = 1  # the first event id signed: events before it predate the key

    def sign(self, event_hash: str) -> tuple[str, str]:
        """(key id, HMAC) for an event: the MAC covers its chain hash, which covers every
        field of the event and the hash before it."""
        return self.current, mac(self.keys[self.current], event_hash)

    def check(self, kid: str | None, event_hash: str, signature: str | None) -> str | None:
        """None when ``signature`` is the HMAC of ``event_hash`` under key ``kid``; else why
        not."""
        if not kid or not signature:
            return "not signed"
        key = self.keys.get(kid)
        if key is None:
            return f"signed with key {kid}, which is not in the key file"
        if not hmac.compare_digest(mac(key, event_hash), signature):
            return f"signature does not match (key {kid})"
        return None


def mac(key: bytes, event_hash: str) -> str:
    return hmac.new(key, event_hash.encode("ascii"), hashlib.sha256).hexdigest()


def _check_private(path: Path) -> os.stat_result:
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        raise AuditKeyError(path, "does not exist; `s55 init` creates it") from None
    except OSError as exc:
        raise AuditKeyError(path, f"cannot read it: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        raise AuditKeyError(path, "is not a regular file")
    if st.st_mode & 0o077:
        raise AuditKeyError(path, f"may be read by others (mode {stat.S_IMODE(st.st_mode):o}); "
                            f"run: chmod 600 {path}")
    return st


def load(path: str | Path) -> Keyring:
    """The keyring in ``path`` (owner-only, one ``<id> <hex key>`` per line)."""
    p = Path(path)
    _check_private(p)
    keys: dict[str, bytes] = {}
    current = None
    since = 1
    for number, line in enumerate(p.read_text(encoding="ascii").splitlines(), 1):
        if m := _SINCE.fullmatch(line.strip()):
            since = int(m[1])
        if not line.strip() or line.startswith("#"):
            continue
        try:
            kid, hexkey = line.split()
            key = bytes.fromhex(hexkey)
        except ValueError:
            raise AuditKeyError(p, f"line {number} is not '<key id> <hex key>'") from None
        if len(key) != KEY_BYTES or key_id(key) != kid:
            raise AuditKeyError(p, f"line {number}: the key does not match its id {kid}")
        keys[kid] = key
        current = kid
    if current is None:
        raise AuditKeyError(p, "holds no key")
    return Keyring(keys, current, since)


_SINCE = re.compile(r"# signs every event from #(\d{1,18})")


def _line(key: bytes) -> str:
    return f"{key_id(key)} {key.hex()}\n"


_HEADER = ("# s55 audit keys: never share, never store in the database; the last one signs.\n"
           "# Losing this file loses the proof of the events it signed.\n")


def _make_folder(path: Path) -> None:
    """The key's folder, made owner-only (0700) when it is missing; one that exists is left
    as it is (``~/.config`` is the account's own)."""
    folder = path.parent
    if folder.is_dir():
        return
    try:
        folder.mkdir(mode=0o700, parents=True)
        os.chmod(folder, 0o700)  # mkdir's mode passes through the umask
    except OSError as exc:
        raise AuditKeyError(path, f"cannot make its folder: {exc.strerror}") from None


def create(path: str | Path, since: int = 1) -> Keyring:
    """A new key file at ``path`` (refused if anything is there), mode 0600, its folder
    made 0700 if missing; it signs every event from id ``since`` on (the events before it
    predate the key)."""
    p = Path(path)
    key = secrets.token_bytes(KEY_BYTES)
    _make_folder(p)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise AuditKeyError(p, "already exists; keep it (events are signed with it)") from None
    except OSError as exc:
        raise AuditKeyError(p, f"cannot create it: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(_HEADER + f"# signs every event from #{since}\n" + _line(key))
        fh.flush()
        os.fsync(fh.fileno())
    return Keyring({key_id(key): key}, key_id(key), since)


def rotate(path: str | Path) -> Keyring:
    """Add a new key to the file at ``path`` (old keys stay, to verify old events); the new
    keyring. The file is replaced whole, owner-only, never half-written."""
    p = Path(path)
    ring = load(p)
    key = secrets.token_bytes(KEY_BYTES)
    text = p.read_text(encoding="ascii")
    tmp = p.with_name(f".{p.name}.{secrets.token_hex(4)}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(text + ("" if text.endswith("\n") else "\n") + _line(key))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)
    return Keyring({**ring.keys, key_id(key): key}, key_id(key), ring.since)
