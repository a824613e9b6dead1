"""Real ``s55`` processes with exactly the environment a test gives them.

``start`` runs ``s55 serve`` on a free port (and on a Unix socket when ``S55_SOCKET`` is in
its environment), waits until both answer, and keeps what it prints (stdout and stderr, in
order) in a file; ``Served.stop`` ends it with SIGTERM. ``s55`` runs a command piped,
``s55_at_terminal`` on a pseudo-terminal. Each may run as another account (``prefix``:
``runuser -u NAME --``)."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from smtp_server import free_port
from waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
#: A service that has not started in this long is broken, not slow (the machine is shared).
START_SECONDS = 90.0
#: A command that has not finished in this long hangs (the machine is shared and slow).
COMMAND_SECONDS = 120.0


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def output(self) -> str:
        """Everything the server printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> str:
        """SIGTERM, then wait for it to end; everything it printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.output()


def _answers(port: int, sock: str | None) -> bool:
    for family, where in ((socket.AF_INET, ("127.0.0.1", port)), (socket.AF_UNIX, sock)):
        if where is None:
            continue
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(where)
            except OSError:
                return False
    return True


def start(env: dict[str, str], log: Path, *, prefix: tuple[str, ...] = (),
          python: str = sys.executable, args: tuple[str, ...] = ()) -> Served:
    """``s55 serve`` with exactly ``env``, run through ``prefix`` (``runuser -u NAME --``),
    its output to ``log``; returned once its port and its socket (if any) accept."""
    port = free_port()
    command = [*prefix, "env", "-i", *(f"{k}={v}" for k, v in env.items()),
               python, "-m", "workflow.cli", "serve", "--port", str(port), *args]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=str(log.parent))
    served = Served(proc, port, log)
    sock = env.get("S55_SOCKET")
    try:
        wait_until(lambda: (proc.poll(), _answers(port, sock)),
                   lambda seen: seen[0] is not None or seen[1], timeout=START_SECONDS,
                   what=f"s55 serve answering on port {port}" + (f" and {sock}" if sock else ""))
    except AssertionError:
        served.stop()
        raise
    assert proc.poll() is None, f"s55 serve ended at start:\n{served.output()}"
    return served


def base_environment(**settings: str) -> dict[str, str]:
    """What every ``s55`` process of these tests is given: a path, this checkout and its
    libraries, the test's config folder, and ``settings`` (``S55_*``); nothing else of this
    process's."""
    import sysconfig

    path = os.pathsep.join([str(ROOT), sysconfig.get_paths()["purelib"]])
    # The test's own config folder (conftest): never the real home's audit key.
    config = {"XDG_CONFIG_HOME": os.environ["XDG_CONFIG_HOME"]} \
        if "XDG_CONFIG_HOME" in os.environ else {}
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": path, "LANG": "C.UTF-8", **config,
            **settings}


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def s55(args: list[str], env: Mapping[str, str], cwd: Path,
        prefix: tuple[str, ...] = (), python: str = sys.executable) -> Ran:
    """``s55 ARGS`` as a process of its own, with exactly ``env``, stdout and stderr piped."""
    done = subprocess.run([*prefix, "env", "-i", *(f"{k}={v}" for k, v in env.items()),
                           python, "-m", "workflow.cli", *args],
                          cwd=cwd, capture_output=True, timeout=COMMAND_SECONDS,
                          stdin=subprocess.DEVNULL, check=False)
    return Ran(done.returncode, done.stdout.decode("utf-8", "replace"),
               done.stderr.decode("utf-8", "replace"))


def s55_at_terminal(args: list[str], env: Mapping[str, str], cwd: Path, *,
                    columns: int = 100, rows: int = 30) -> tuple[int, bytes]:
    """``s55 ARGS`` on a pseudo-terminal of ``columns`` x ``rows``: its code and every byte
    it showed (stdout and stderr both go to the terminal)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen(["env", "-i", *(f"{k}={v}" for k, v in env.items()),
                             sys.executable, "-m", "workflow.cli", *args], cwd=cwd,
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    shown = bytearray()
    try:
        while True:
            ready, _, _ = select.select([master], [], [], COMMAND_SECONDS)
            if not ready:
                proc.kill()
                raise AssertionError(f"s55 {' '.join(args)} hung at a terminal")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            shown += chunk
        return proc.wait(timeout=COMMAND_SECONDS), bytes(shown)
    finally:
        os.close(master)


def python_for_any_account() -> str | None:
    """A Python other accounts may run, with this checkout's libraries (on PYTHONPATH): ours
    if every folder above it lets others in, else the system's of the same version."""
    for candidate in (sys.executable,
                      f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"):
        path = Path(candidate).resolve()
        if path.exists() and all(os.stat(p).st_mode & 0o001 for p in
                                 [path, *path.parents] if p != Path("/")):
            return str(path)
    return None
