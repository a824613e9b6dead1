"""The service's warm process: every command's code loaded once, a fresh process per command.

``start`` forks it from ``s55 serve`` or ``s55 run`` before they open the database. It
loads what the commands need (the ``warm`` it is given: the command line's modules, the
ORM, the templates) and then waits on the socket. For each connection it asks the kernel
who is calling (``SO_PEERCRED``: the uid of the process that connected, as the kernel saw
it at ``connect()``) and forks a child that serves that caller alone (``caller.serve``),
then exits.

Why a process per command rather than an event loop serving them all: a command through
the service must behave exactly as the same command run in place, and the command line's
code is written for one command per process (settings read once, the clock, module-level
caches, the acting account, ``sys.stdout``). A fork of a process that has loaded everything
and opened nothing starts the command in about a millisecond, shares no state with any
other command (nor with the web server or scheduler beside it), and ends by exiting, so
nothing one caller did can reach the next. The standard library's ``selectors`` waits on
the socket; the command itself runs in the child, synchronously, as it would in place.

The warm process stops when the service asks it to (``Service.stop``) or when the service
is gone (the read end of a pipe whose write end only the service holds reaches its end).
Commands already running finish on their own.
"""

from __future__ import annotations

import gc
import os
import selectors
import signal
import socket
import struct
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from workflow.local import caller, protocol
from workflow.local.listener import Listening

#: Commands running at once beyond which a caller is asked to try again.
MAX_RUNNING = 32
_CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid


def peer_uid(conn: socket.socket) -> int:
    """The uid of the process at the other end of ``conn``, from the kernel."""
    raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDENTIALS.size)
    _pid, uid, _gid = _CREDENTIALS.unpack(raw)
    return int(uid)


@dataclass
class Service:
    """The warm process as the service sees it."""

    pid: int
    lifeline: int  # the write end of the pipe the warm process watches
    listening: Listening

    def stop(self) -> None:
        """Stop taking commands (those running finish) and remove the socket made here."""
        os.close(self.lifeline)
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        self.listening.close()


def start(listening: Listening, runner: caller.Runner, warm: Callable[[], None]) -> Service:
    """Fork the warm process serving ``listening``; ``runner`` runs each command."""
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the warm process: never returns into the caller's code
        code = 1
        try:
            os.close(write_end)
            _Warm(listening.sock, read_end, runner).run(warm)
            code = 0
        except KeyboardInterrupt:
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(read_end)
    listening.sock.close()  # the warm process holds it
    return Service(pid, write_end, listening)


class _Warm:
    def __init__(self, sock: socket.socket, lifeline: int, runner: caller.Runner) -> None:
        self.sock, self.lifeline, self.runner = sock, lifeline, runner
        self.running: set[int] = set()
        self.selector = selectors.DefaultSelector()
        self.log = sys.stderr  # the service's own (a child's becomes its caller's)

    def run(self, warm: Callable[[], None]) -> None:
        # Its own process group: a Ctrl-C meant for the service's terminal stops the service,
        # which then stops this; it does not cut a caller's command short.
        os.setpgid(0, 0)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        warm()
        gc.freeze()  # what warm loaded is never collected: the children's pages stay shared
        self.selector.register(self.sock, selectors.EVENT_READ)
        self.selector.register(self.lifeline, selectors.EVENT_READ)
        while True:
            for key, _ in self.selector.select(timeout=1.0):
                if key.fileobj == self.lifeline:
                    return  # the service stopped or died
                self._accept()
            self._reap()

    def _reap(self) -> None:
        while self.running:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.running.clear()
                return
            if pid == 0:
                return
            self.running.discard(pid)

    def _accept(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        with conn:
            uid = peer_uid(conn)
            self._reap()
            if len(self.running) >= MAX_RUNNING:
                return _busy(conn)
            pid = os.fork()
            if pid == 0:
                self._child(conn, uid)
            self.running.add(pid)
        return None

    def _child(self, conn: socket.socket, uid: int) -> None:
        """Serve one caller and exit (never returns)."""
        code = 1
        try:
            self.selector.close()
            self.sock.close()
            os.close(self.lifeline)
            for sig in (signal.SIGTERM, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            code = caller.serve(conn, uid, self.runner)
        except (protocol.ClosedError, KeyboardInterrupt):
            pass  # the caller went away: nobody is left to tell
        except BaseException:
            traceback.print_exc(file=self.log)
        finally:
            os._exit(code if 0 <= code <= 255 else 1)


def _busy(conn: socket.socket) -> None:
    conn.settimeout(1.0)
    try:
        channel = protocol.Channel(conn)
        channel.send(protocol.STDERR, f"Error: the s55 service is running {MAX_RUNNING} "
                     "commands already; try again in a moment\n".encode())
        channel.send_json(protocol.EXIT, {"code": 1})
    except OSError:
        pass
