"""The officer's side: the ``s55`` command handed to the local service over ``S55_SOCKET``.

The client sends the arguments as typed and the facts of its terminal (is each output a
terminal, its size, its encoding, ``TERM`` and the colour variables), and ``S55_ACTOR``,
which the service checks as it checks ``--as``: against the caller. Nothing else of the
caller's environment goes: ``S55_IDENTITY`` and every other setting are the service's.
Who is calling, the service learns from the kernel, not from anything sent here.

It then writes what the command writes, byte for byte, to the same stdout and stderr, and
exits with its code. A file the command reads or writes is opened here, by the caller's
own account, with ``workflow.core.files`` (the same checks and the same words as a command
run in place), and only a path named on the command line (or a file in a folder named
there). The service never opens a path a caller names.

Light on purpose: the standard library and ``protocol`` only (``files`` when a file is
asked for), so that a command through the service starts in a blink.
"""

from __future__ import annotations

import codecs
import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from workflow.local import protocol

if TYPE_CHECKING:
    from workflow.core.files import Writer

#: The commands run in the calling process even with a socket set: the service's own
#: (serving, and what works on its database, key and files before or beside it).
RUN_HERE = frozenset({"serve", "run", "init", "db"})
RUN_HERE_IN = {"audit": frozenset({"rotate-key"})}
#: The terminal's words that decide how output looks (Click, Rich): sent as they are.
TERMINAL = ("TERM", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "CLICOLOR", "CLICOLOR_FORCE",
            "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES")
#: The most one file read may ask for (every limit s55 reads a file to is below it).
READ_CAP = 512 * 1024 * 1024


def runs_here(argv: list[str]) -> bool:
    """Whether ``s55 ARGV`` is one of the service's own commands."""
    if not argv:
        return False
    return argv[0] in RUN_HERE or (len(argv) > 1 and argv[1] in RUN_HERE_IN.get(argv[0], ()))


def forward(argv: list[str], environ: Any = os.environ) -> int | None:
    """The exit code of ``s55 ARGV`` run by the service at ``S55_SOCKET``; None when it is
    to run in this process (no socket set, or one of the service's own commands).

    With a socket set, a command never runs here instead: if the service cannot be
    reached, one line on stderr says why and the code is 1 (only ``s55`` and
    ``s55 --help``, which touch nothing, then show the help from here).
    """
    path = environ.get("S55_SOCKET", "")
    if not path or runs_here(argv):
        return None
    try:
        sock = _connect(path)
    except _UnreachableError as exc:
        if argv in ([], ["--help"]):
            return None
        return _fail(str(exc))
    try:
        return Conversation(protocol.Channel(sock), argv).run(_request(argv, environ))
    except KeyboardInterrupt:
        return _fail("", "Aborted!")  # as a command run in place (Click) says it
    except _OutputClosedError:
        # The reader went away (``s55 audit export | head``): stop quietly, as Python
        # advises, and let the service's command stop at its next write.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (protocol.ClosedError, OSError):
        return _fail(f"Error: the s55 service at {path} stopped before the command finished; "
                     "its log says why (journalctl -u s55)")
    finally:
        sock.close()


class _UnreachableError(Exception):
    """No service answers at the socket, or this account may not reach it."""


class _OutputClosedError(Exception):
    """Whoever reads this command's output has gone."""


def _connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        raise _UnreachableError(
            f"Error: no s55 service is listening on {path} (S55_SOCKET): start it on the "
            "server (systemctl start s55, or s55 serve as the service account)") from None
    except PermissionError:
        sock.close()
        raise _UnreachableError(
            f"Error: this account may not use the s55 service at {path} (S55_SOCKET): only "
            f"members of the group {_group_of(path)} may; ask IT to add you to it") from None
    except OSError as exc:
        sock.close()
        raise _UnreachableError(f"Error: cannot reach the s55 service at {path} "
                                f"(S55_SOCKET): {exc.strerror or exc}") from None
    return sock


def _group_of(path: str) -> str:
    import grp

    try:
        gid = os.stat(path).st_gid
        return grp.getgrgid(gid).gr_name
    except (OSError, KeyError):
        return "that owns the socket"


def _fail(*lines: str) -> int:
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()
    return 1


def _stream_facts(stream: Any) -> dict[str, Any]:
    return {"tty": bool(stream.isatty()), "encoding": stream.encoding, "errors": stream.errors}


def _request(argv: list[str], environ: Any) -> dict[str, Any]:
    try:  # what shutil.get_terminal_size() asks when COLUMNS and LINES are not set
        stdout = sys.__stdout__  # None without a console (pythonw)
        size: list[int] | None = (None if stdout is None
                                  else list(os.get_terminal_size(stdout.fileno())))
    except (AttributeError, ValueError, OSError):
        size = None
    env = {k: environ[k] for k in TERMINAL if k in environ}
    if environ.get("S55_ACTOR"):
        env["S55_ACTOR"] = environ["S55_ACTOR"]
    return {"argv": argv, "stdout": _stream_facts(sys.stdout),
            "stderr": _stream_facts(sys.stderr), "size": size, "env": env}


class Conversation:
    """One command's conversation with the service, from the request to its exit code."""

    def __init__(self, channel: protocol.Channel, argv: list[str]) -> None:
        self.channel, self.argv = channel, argv
        self.named = _named(argv)
        self.writer: Writer | None = None
        self.write_problem: str | None = None
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.outputs: dict[bytes, BinaryIO] = {protocol.STDOUT: sys.stdout.buffer,
                                               protocol.STDERR: sys.stderr.buffer}
        self.asked: dict[bytes, Callable[[dict[str, Any]], None]] = {
            protocol.READ: self._read, protocol.LIST: self._list, protocol.WRITE: self._begin,
            protocol.END: self._commit, protocol.ABANDON: self._abandon}

    def run(self, request: dict[str, Any]) -> int:
        self.channel.send_json(protocol.REQUEST, request)
        try:
            while True:
                kind, body = self.channel.receive()
                if kind == protocol.EXIT:
                    code: int = json.loads(body)["code"]
                    return code
                self._take(kind, body)
        finally:
            if self.writer is not None:
                self.writer.abandon()

    def _take(self, kind: bytes, body: bytes) -> None:
        if kind in self.outputs:
            try:
                self.outputs[kind].write(body)
                self.outputs[kind].flush()
            except BrokenPipeError:
                raise _OutputClosedError from None
        elif kind == protocol.DATA:
            self._write_chunk(body)
        elif kind in self.asked:
            self.asked[kind](json.loads(body) if body else {})
        else:
            raise protocol.ClosedError(f"a frame of kind {kind!r} from the service")

    def _allowed(self, path: str) -> bool:
        """Only a path named on the command line, or a file directly in a folder named."""
        return path in self.named or str(Path(path).parent) in self.named

    def _read(self, ask: dict[str, Any]) -> None:
        from workflow.core import files

        path = ask["path"]
        if not self._allowed(path):
            return self.channel.send_json(protocol.ANSWER, {"problem": "not named on the "
                                                                    "command line"})
        try:
            data = files.read_upto(path, min(int(ask["limit"]), READ_CAP))
        except files.FileError as exc:
            return self.channel.send_json(protocol.ANSWER, {"problem": exc.problem})
        self.channel.send_json(protocol.ANSWER, {"problem": None})
        self.channel.send_data(data)
        return None

    def _list(self, ask: dict[str, Any]) -> None:
        from workflow.core import files

        path = ask["path"]
        found = files.listing(path, ask["suffix"]) if path in self.named else None
        self.channel.send_json(protocol.ANSWER, {
            "names": None if found is None else [p.name for p in found]})

    def _begin(self, ask: dict[str, Any]) -> None:
        from workflow.core import files

        path, self.write_problem = ask["path"], None
        self.decoder.reset()
        if not self._allowed(path):
            return self.channel.send_json(protocol.ANSWER, {"problem": "not named on the "
                                                                    "command line"})
        try:
            self.writer = files.Writer(path, overwrite=bool(ask["overwrite"]))
        except files.FileError as exc:
            return self.channel.send_json(protocol.ANSWER, {"problem": exc.problem})
        self.channel.send_json(protocol.ANSWER, {"problem": None})
        return None

    def _write_chunk(self, data: bytes) -> None:
        from workflow.core import files

        if self.writer is None or self.write_problem is not None:
            return
        try:
            self.writer.write(self.decoder.decode(data))
        except files.FileError as exc:
            self.write_problem = exc.problem

    def _commit(self, ask: dict[str, Any]) -> None:
        from workflow.core import files

        writer, self.writer = self.writer, None
        problem = self.write_problem
        try:
            if writer is not None and problem is None:
                writer.write(self.decoder.decode(b"", final=True))
                writer.commit()
        except files.FileError as exc:
            problem = exc.problem
        finally:
            if writer is not None:
                writer.abandon()
        self.channel.send_json(protocol.ANSWER, {"problem": problem})

    def _abandon(self, ask: dict[str, Any]) -> None:
        writer, self.writer = self.writer, None
        if writer is not None:
            writer.abandon()


def _named(argv: list[str]) -> set[str]:
    """Every argument, and every ``--option=value``'s value, as a path would print."""
    values = [*argv, *(a.partition("=")[2] for a in argv if a.startswith("--") and "=" in a)]
    return {str(Path(v)) for v in values if v}
