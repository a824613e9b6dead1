"""The service's socket: made where ``S55_SOCKET`` says, safely, or handed over by systemd.

Made here, the socket goes in a folder only the service account may write (else another
account could put its own socket there first, or swap ours); one left by a service that
died is removed, one a live service still listens on is not. It is bound where no one may
open it yet, then given to the group of the officers allowed to use s55
(``S55_SOCKET_GROUP``) with mode 0660, and only then listened on: from then on the
operating system alone decides who may connect.

Under systemd socket activation (``s55.socket``), systemd makes it with the same owner,
group and mode and hands it over (``LISTEN_FDS``, file descriptor 3).
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

from workflow.core.errors import ConfigError
from workflow.core.os_account import account_of

#: The first file descriptor systemd passes (``sd_listen_fds``).
SYSTEMD_FIRST_FD = 3
BACKLOG = 64


@dataclass
class Listening:
    """A listening socket; ``path`` is set when it was made here (and is removed after)."""

    sock: socket.socket
    where: str
    path: Path | None = None

    def close(self) -> None:
        """Stop listening; the socket made here is removed."""
        self.sock.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def listening(path: Path | None, group: str,
              environ: MutableMapping[str, str]) -> Listening | None:
    """The socket systemd handed over, else one made at ``path``, else None (no socket)."""
    handed = inherited(environ)
    if handed is not None:
        return Listening(handed, f"the socket systemd passed ({_name(handed)})")
    if path is None:
        return None
    return Listening(bind(path, group), str(path), path)


def _name(sock: socket.socket) -> str:
    name = sock.getsockname()
    return name if isinstance(name, str) and name else "unnamed"


def inherited(environ: MutableMapping[str, str]) -> socket.socket | None:
    """The Unix stream socket systemd passed this process, if it passed one (the
    variables are then removed, so that no process started from here takes it too)."""
    if environ.get("LISTEN_PID") != str(os.getpid()) or not environ.get("LISTEN_FDS"):
        return None
    count = environ["LISTEN_FDS"]
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        environ.pop(name, None)
    if count != "1":
        raise ConfigError(f"systemd passed {count} sockets; s55.socket passes one "
                          "(one ListenStream=)")
    sock = socket.socket(fileno=SYSTEMD_FIRST_FD)
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
        sock.detach()
        raise ConfigError("the socket systemd passed is not a Unix stream socket "
                          "(ListenStream=/run/s55/s55.sock)")
    sock.set_inheritable(False)
    return sock


def bind(path: Path, group: str) -> socket.socket:
    """A socket listening at ``path`` (absolute, in a folder only this account may write),
    of the group ``group``, mode 0660; ``ConfigError`` naming what to fix otherwise."""
    if not path.is_absolute():
        raise ConfigError(f"S55_SOCKET: {path} is not an absolute path (officers' commands "
                          "must find it from any folder)")
    _check_folder(path.parent)
    gid = _group_id(group)
    _remove_stale(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Nobody may open it between bind and chmod (the folder's rules already keep others
    # from replacing it); os.umask is process-wide, and no other thread runs yet.
    before = os.umask(0o177)
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"S55_SOCKET: cannot make {path}: {exc.strerror}") from None
    finally:
        os.umask(before)
    try:
        os.chown(path, -1, gid)
        os.chmod(path, 0o660)
    except PermissionError:
        sock.close()
        path.unlink(missing_ok=True)
        me = account_of(os.geteuid())
        raise ConfigError(f"S55_SOCKET_GROUP: cannot give {path} to the group {group}: the "
                          f"service account {me} must be a member (usermod -aG {group} "
                          f"{me})") from None
    sock.listen(BACKLOG)
    return sock


def _check_folder(folder: Path) -> None:
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        raise ConfigError(f"S55_SOCKET: no folder {folder}: make it, owned by the service "
                          "account and writable by it alone (systemd: RuntimeDirectory=s55)"
                          ) from None
    me = os.geteuid()
    if not stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"S55_SOCKET: {folder} is not a folder")
    if st.st_uid not in (me, 0) or st.st_mode & 0o022:
        raise ConfigError(
            f"S55_SOCKET: {folder} may be written by accounts other than the service "
            f"(owner {account_of(st.st_uid)}, mode {stat.S_IMODE(st.st_mode):o}): another "
            f"account could put its own socket there; chown {account_of(me)} {folder} and "
            f"chmod 755 {folder}, or name a folder of the service's own")


def _group_id(group: str) -> int:
    import grp

    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise ConfigError(f"S55_SOCKET_GROUP: there is no group {group} on this system: make "
                          f"it (groupadd {group}) and add each officer who uses s55 to it"
                          ) from None


def _remove_stale(path: Path) -> None:
    """Remove a socket left at ``path`` by a service that is gone; refuse to take the place
    of anything else, or of a service still listening there."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise ConfigError(f"S55_SOCKET: {path} exists and is not a socket; remove it or "
                          "name another path")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        path.unlink(missing_ok=True)  # nobody listens: left by a service that died
        return
    except PermissionError:
        raise ConfigError(f"S55_SOCKET: {path} is a socket this account may not open; "
                          "remove it or name another path") from None
    finally:
        probe.close()
    raise ConfigError(f"S55_SOCKET: an s55 service is already listening on {path}; stop it "
                      "first, or name another path")
