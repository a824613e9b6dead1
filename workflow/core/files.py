"""Files a user names: read with a hard byte limit, written whole or not at all.

Reading trusts nothing the file says about itself: only a regular file is read (a FIFO, a
device such as ``/dev/zero`` or a directory is refused before a byte is read, and opening
never blocks), and at most ``limit + 1`` bytes are read whatever its reported size.

Writing never follows a symlink at the target and never leaves half a file: the text goes
to a temporary file in the same folder, is flushed to disk, and is then linked into place
(refusing an existing file) or, with ``overwrite``, renamed over it.

In a process serving one caller of the local service, files are the caller's: every read,
listing and write below is done by the caller's own ``s55`` client (``use_remote``), as the
caller's account, with these same functions; the service never opens a path a caller names.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from workflow.core.errors import S55Error


def _read_umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


_UMASK = _read_umask()  # once, at import: os.umask is process-wide and not thread-safe


class FileError(S55Error):
    """A file named by the user cannot be read or written as asked; nothing was changed."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}")


def _why(exc: OSError) -> str:
    reasons = {errno.ENOENT: "no such file or folder", errno.EACCES: "permission denied",
               errno.EISDIR: "is a directory", errno.ENOTDIR: "a part of the path is not a "
               "folder", errno.ENOSPC: "no space left on the device", errno.EROFS:
               "read-only file system", errno.ELOOP: "is a symbolic link",
               errno.ENAMETOOLONG: "the name is too long", errno.EDQUOT: "disk quota exceeded",
               errno.EFBIG: "the file would be too large"}
    return reasons.get(exc.errno or 0, exc.strerror or type(exc).__name__)


def size_text(limit: int) -> str:
    """``limit`` bytes for a person: ``5 MB``, ``200 kB``, ``512 bytes``."""
    if limit >= 1024 * 1024 and limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MB"
    if limit >= 1024:
        return f"{limit // 1024} kB"
    return f"{limit} bytes"


class Remote(Protocol):
    """Where a process serving a caller of the local service reads and writes files: the
    caller's client, which runs ``read_upto``, ``listing`` and ``Writer`` as the caller."""

    def read_upto(self, path: str, limit: int) -> bytes: ...

    def listing(self, path: str, suffix: str) -> list[str] | None: ...

    def write_text(self, path: str, chunks: Iterable[str], overwrite: bool) -> int: ...


_remote: Remote | None = None


def use_remote(remote: Remote) -> None:
    """Read and write every file through ``remote`` for the rest of this process."""
    global _remote
    _remote = remote


def read_bytes(path: str | Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refused (FileError) beyond ``limit`` bytes."""
    data = _remote.read_upto(str(path), limit) if _remote else read_upto(path, limit)
    if len(data) > limit:
        raise FileError(path, f"is larger than {size_text(limit)}, the most s55 reads here")
    return data


def read_upto(path: str | Path, limit: int) -> bytes:
    """The first ``limit + 1`` bytes (at most) of the regular file ``path`` (FileError if it
    cannot be read or is not a regular file)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise FileError(path, f"cannot read it: {_why(exc)}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise FileError(path, "is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise FileError(path, "is not a regular file (a pipe, socket or device); "
                            "save the text to a file first")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise FileError(path, f"cannot read it: {_why(exc)}") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_text(path: str | Path, limit: int) -> str:
    """The UTF-8 text of ``path`` (a BOM is dropped), refused beyond ``limit`` bytes."""
    data = read_bytes(path, limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise FileError(path, f"is not UTF-8 text (byte 0x{data[exc.start]:02x} on line "
                        f"{line}); save it as UTF-8") from None


def listing(path: str | Path, suffix: str) -> list[Path] | None:
    """The files in the folder ``path`` whose names end in ``suffix``, sorted; None when
    ``path`` is not a folder."""
    if _remote is not None:
        names = _remote.listing(str(path), suffix)
        return None if names is None else [Path(path) / name for name in names]
    folder = Path(path)
    return sorted(folder.glob(f"*{suffix}")) if folder.is_dir() else None


def write_text(path: str | Path, chunks: Iterable[str], *, overwrite: bool = False) -> int:
    """Write ``chunks`` to ``path`` whole or not at all; the number of characters written.

    Refuses a symlink at ``path`` (always), an existing file (unless ``overwrite``), a
    directory, and a missing folder; on any failure ``path`` is as it was.
    """
    if _remote is not None:
        return _remote.write_text(str(path), chunks, overwrite)
    writer = Writer(path, overwrite=overwrite)
    try:
        written = sum(writer.write(chunk) for chunk in chunks)
        writer.commit()
    finally:
        writer.abandon()
    return written


class Writer:
    """One ``write_text``, a step at a time: the target is checked and a temporary file made
    beside it at once; ``write`` adds text, ``commit`` puts the file in place and
    ``abandon`` (always called, last) removes what is left of the temporary file."""

    def __init__(self, path: str | Path, *, overwrite: bool) -> None:
        self.path, self.target, self.overwrite = path, Path(path), overwrite
        _check_target(self.target, overwrite)
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".part",
                                            dir=self.target.parent)
        except OSError as exc:
            raise FileError(path, f"cannot write it: {_why(exc)}") from None
        self.fh = os.fdopen(fd, "w", encoding="utf-8")

    def write(self, chunk: str) -> int:
        try:
            return self.fh.write(chunk)
        except OSError as exc:
            raise FileError(self.path, f"cannot write it: {_why(exc)}") from None

    def commit(self) -> None:
        try:
            with self.fh:
                self.fh.flush()
                os.fsync(self.fh.fileno())
            os.chmod(self.tmp, 0o666 & ~_UMASK)  # as an ordinary new file would be
            if self.overwrite:
                os.replace(self.tmp, self.target)  # replaces a link itself, never its target
            else:
                os.link(self.tmp, self.target)  # fails if the name was taken: no clobbering
        except FileExistsError:
            raise FileError(self.path, "already exists; give --force to replace it") from None
        except OSError as exc:
            raise FileError(self.path, f"cannot write it: {_why(exc)}") from None

    def abandon(self) -> None:
        try:
            self.fh.close()
        except OSError:  # the same failure commit or write has already reported
            pass
        Path(self.tmp).unlink(missing_ok=True)


def _check_target(target: Path, overwrite: bool) -> None:
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise FileError(target, f"cannot write it: {_why(exc)}") from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise FileError(target, "is a symbolic link; s55 does not write through links")
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise FileError(target, "is a directory; name a file")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise FileError(target, "is not a regular file (a pipe, socket or device)")
    if st is not None and not overwrite:
        raise FileError(target, "already exists; give --force to replace it")
    if not target.parent.is_dir():
        raise FileError(target, f"cannot write it: no folder {target.parent}")
