"""One caller's command, in a process of its own forked for it by the service.

Before the command runs, this process becomes the caller's: the account asking is the one
the kernel named for the connection (``serve_caller``), every identity is ``os``, the
caller's ``S55_ACTOR`` (or none) stands where the service's would, and stdout, stderr and
the terminal's facts are the caller's (frames to the client, as a terminal or a pipe as
the client's are). Files go through the client (``workflow.core.files.use_remote``).
Then the command runs exactly as ``s55 ARGV`` would, and its exit code is sent last.
"""

from __future__ import annotations

import io
import os
import select
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from workflow.core import files, os_account
from workflow.local import protocol
from workflow.local.client import TERMINAL, runs_here

#: Seconds a client has to send its request once connected.
REQUEST_SECONDS = 30.0

#: Runs ``s55 ARGV`` in this process (the command line's own app); its exit code.
Runner = Callable[[list[str]], int]


class _Frames(io.RawIOBase):
    """A byte stream that goes to the client as frames of one kind, and says it is a
    terminal exactly when the client's stream is one."""

    def __init__(self, channel: protocol.Channel, kind: bytes, tty: bool) -> None:
        super().__init__()
        self.channel, self.kind, self.tty = channel, kind, tty

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.tty

    def write(self, data: Any) -> int:
        body = bytes(data)
        self.channel.send(self.kind, body)
        return len(body)


def _text_stream(channel: protocol.Channel, kind: bytes, facts: dict[str, Any], *,
                 stderr: bool) -> io.TextIOWrapper:
    """The caller's stdout or stderr as Python would have opened it for them: the same
    encoding and error handler, line-buffered at a terminal (stderr always)."""
    raw = _Frames(channel, kind, bool(facts["tty"]))
    return io.TextIOWrapper(io.BufferedWriter(raw), encoding=facts["encoding"] or "utf-8",
                            errors=facts["errors"] or "strict",
                            line_buffering=stderr or bool(facts["tty"]))


class _ClientFiles:
    """``workflow.core.files.Remote``: the caller's client opens, lists and writes."""

    def __init__(self, channel: protocol.Channel) -> None:
        self.channel = channel

    def _answer(self, path: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.channel.receive_json(protocol.ANSWER)
        if answer.get("problem"):
            raise files.FileError(path, answer["problem"])
        return answer

    def read_upto(self, path: str, limit: int) -> bytes:
        self.channel.send_json(protocol.READ, {"path": path, "limit": limit})
        self._answer(path)
        return self.channel.receive_data(limit + 1)

    def listing(self, path: str, suffix: str) -> list[str] | None:
        self.channel.send_json(protocol.LIST, {"path": path, "suffix": suffix})
        names: list[str] | None = self._answer(path)["names"]
        return names

    def write_text(self, path: str, chunks: Iterable[str], overwrite: bool) -> int:
        self.channel.send_json(protocol.WRITE, {"path": path, "overwrite": overwrite})
        self._answer(path)
        written = 0
        try:
            for chunk in chunks:
                written += len(chunk)
                data = chunk.encode("utf-8")
                for start in range(0, len(data), protocol.FRAME_BYTES):
                    self.channel.send(protocol.DATA, data[start:start + protocol.FRAME_BYTES])
        except BaseException:
            self.channel.send(protocol.ABANDON)
            raise
        self.channel.send(protocol.END)
        self._answer(path)
        return written


def _environment(request: dict[str, Any]) -> None:
    """The caller's terminal and ``S55_ACTOR`` in place of the service's; identity ``os``."""
    sent = request.get("env", {})
    for name in (*TERMINAL, "S55_ACTOR"):
        os.environ.pop(name, None)
        if isinstance(sent.get(name), str):
            os.environ[name] = sent[name]
    size = request.get("size")
    if size:  # as shutil.get_terminal_size() would have asked the caller's terminal
        os.environ.setdefault("COLUMNS", str(int(size[0])))
        os.environ.setdefault("LINES", str(int(size[1])))
    os.environ["S55_IDENTITY"] = "os"


_FACTS: dict[str, type | tuple[type, ...]] = {
    "tty": bool, "encoding": (str, type(None)), "errors": (str, type(None))}


def _request(channel: protocol.Channel) -> dict[str, Any]:
    """The client's request, every part of the shape the client sends (``ClosedError``
    otherwise: whatever sent it is no s55 client, and nothing is run for it)."""
    try:
        request = channel.receive_json(protocol.REQUEST)
        argv, env, size = request["argv"], request["env"], request["size"]
        good = (isinstance(argv, list) and all(isinstance(a, str) for a in argv)
                and isinstance(env, dict) and all(isinstance(v, str) for v in env.values())
                and (size is None or (isinstance(size, list) and len(size) == 2
                                      and all(isinstance(n, int) for n in size)))
                and all(isinstance(request[s].get(k), t) for s in ("stdout", "stderr")
                        for k, t in _FACTS.items()))
    except (ValueError, KeyError, TypeError, AttributeError):
        good = False
    if not good:
        raise protocol.ClosedError("not a request from an s55 client")
    return dict(request)


def _refused(argv: list[str]) -> int:
    """The service's own commands are not run for a caller (the client never sends them)."""
    command = " ".join(argv[:2] if argv[0] in ("audit", "db") else argv[:1])
    print(f"Error: s55 {command} runs on the server itself, as the service account: it works "
          "on the service's own database, key and files", file=sys.stderr)
    return 1


def _interrupted_when_gone(conn: socket.socket) -> None:
    """If the caller's ``s55`` ends before the command does (their Ctrl-C), interrupt the
    command here as Ctrl-C would have in place (``KeyboardInterrupt``: the transaction in
    hand is rolled back): a thread waits for the kernel to say the caller hung up."""
    def wait() -> None:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLRDHUP)
        poller.poll()
        os.kill(os.getpid(), signal.SIGINT)

    signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=wait, name="s55-caller-gone", daemon=True).start()


def serve(conn: socket.socket, uid: int, runner: Runner) -> int:
    """Run the command the client on ``conn`` (the account ``uid``) asks for; its code."""
    channel = protocol.Channel(conn)
    conn.settimeout(REQUEST_SECONDS)
    request = _request(channel)
    conn.settimeout(None)
    argv: list[str] = request["argv"]
    os_account.serve_caller(uid)
    _environment(request)
    out = _text_stream(channel, protocol.STDOUT, request["stdout"], stderr=False)
    err = _text_stream(channel, protocol.STDERR, request["stderr"], stderr=True)
    sys.stdout, sys.stderr = out, err
    sys.stdin = open(os.devnull, encoding="utf-8")  # nothing to prompt from
    # shutil.get_terminal_size() asks sys.__stdout__: the caller's, which has no terminal
    # here (the size the caller's terminal has came in COLUMNS and LINES).
    for name, stream in (("__stdout__", out), ("__stderr__", err), ("__stdin__", sys.stdin)):
        setattr(sys, name, stream)
    files.use_remote(_ClientFiles(channel))
    _interrupted_when_gone(conn)
    try:
        code = _refused(argv) if runs_here(argv) else runner(argv)
    except protocol.ClosedError:
        raise  # the caller has gone: nobody is left to tell
    except Exception:
        traceback.print_exc()  # as Python does with what nothing caught: the caller sees it
        code = 1
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # done: the end is no Ctrl-C
    out.flush()
    err.flush()
    channel.send_json(protocol.EXIT, {"code": code})
    return code
