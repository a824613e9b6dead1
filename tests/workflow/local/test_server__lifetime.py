"""The warm process lives exactly as long as the service, and no caller can stop it.

``s55 serve`` stopped (SIGTERM) removes its socket and its warm process; killed outright
(SIGKILL), its warm process ends by itself and the socket it leaves is replaced at the next
start. ``s55 run`` takes commands too. A caller that sends nothing, or bytes that are no
request, or asks for the service's own commands, changes nothing for the next caller. A
caller's Ctrl-C interrupts their command in the service, as it would in place.
"""

from __future__ import annotations

import grp
import json
import os
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from local_office import Office, make_office, through
from s55_processes import base_environment, s55, start
from waiting import wait_until

from workflow.core.os_account import os_account

pytestmark = pytest.mark.slow
GROUP = grp.getgrgid(os.getgid()).gr_name


def _office(tmp_path: Path) -> tuple[Office, Path, dict[str, str]]:
    office = make_office(f"sqlite:///{tmp_path / 's55.db'}", tmp_path,
                         {"ann.admin@norfolk-pcc.gov.uk": os_account()})
    (tmp_path / "run").mkdir(mode=0o755)
    sock = tmp_path / "run" / "s55.sock"
    return office, sock, base_environment(**office.settings, S55_SOCKET=str(sock),
                                          S55_SOCKET_GROUP=GROUP)


def _listening(sock: Path) -> str:
    """``yes``, ``refused`` (a socket nobody listens on) or ``gone`` (no socket)."""
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(sock))
        except ConnectionRefusedError:
            return "refused"
        except FileNotFoundError:
            return "gone"
    return "yes"


def test_stopped_it_removes_its_socket(tmp_path: Path) -> None:
    office, sock, env = _office(tmp_path)
    served = start(env, tmp_path / "serve.log")
    assert s55(["show", str(office.rid)], through(sock), tmp_path).code == 0
    said = served.stop()
    assert _listening(sock) == "gone"
    assert "Traceback" not in said


def test_killed_its_warm_process_ends_and_the_next_start_replaces_the_socket(
        tmp_path: Path) -> None:
    office, sock, env = _office(tmp_path)
    served = start(env, tmp_path / "serve.log")
    served.proc.send_signal(signal.SIGKILL)
    served.proc.wait()
    # The warm process sees the service gone (its pipe ends) and stops taking commands.
    wait_until(lambda: _listening(sock), lambda seen: seen == "refused", timeout=30,
               what="the warm process gone after its service was killed")
    again = start(env, tmp_path / "again.log")
    try:
        assert s55(["show", str(office.rid)], through(sock), tmp_path).code == 0
    finally:
        assert "Traceback" not in again.stop()


def test_the_scheduler_takes_commands_too(tmp_path: Path) -> None:
    office, sock, env = _office(tmp_path)
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["env", "-i", *(f"{k}={v}" for k, v in env.items()),
                                 sys.executable, "-m", "workflow.cli", "run"],
                                stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        wait_until(lambda: (proc.poll(), _listening(sock)),
                   lambda seen: seen[0] is not None or seen[1] == "yes", timeout=90,
                   what="s55 run taking commands")
        done = s55(["show", str(office.rid)], through(sock), tmp_path)
        assert (done.code, done.err) == (0, "")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert _listening(sock) == "gone"
    assert "Traceback" not in log.read_text()


def _frame(kind: bytes, body: bytes) -> bytes:
    return struct.pack("!cI", kind, len(body)) + body


def test_callers_that_say_nothing_or_nonsense_change_nothing(tmp_path: Path) -> None:
    """A connection closed at once, one sending bytes that are no frame, one asking for
    the database's own commands: each ends, and the next caller is served."""
    office, sock, env = _office(tmp_path)
    served = start(env, tmp_path / "serve.log")
    try:
        for sent in (b"", b"GET / HTTP/1.0\r\n\r\n" * 10, _frame(b"q", b"{not json")):
            with socket.socket(socket.AF_UNIX) as raw:
                raw.connect(str(sock))
                raw.sendall(sent)
                raw.shutdown(socket.SHUT_WR)
                while raw.recv(65536):
                    pass
        with socket.socket(socket.AF_UNIX) as raw:  # kept open: hanging up is a Ctrl-C
            raw.connect(str(sock))
            facts = {"tty": False, "encoding": "utf-8", "errors": "strict"}
            raw.sendall(_frame(b"q", json.dumps({
                "argv": ["db", "upgrade"], "stdout": facts, "stderr": facts, "size": None,
                "env": {}}).encode()))
            answer = b""
            while chunk := raw.recv(65536):
                answer += chunk
        assert answer == (
            _frame(b"e", b"Error: s55 db upgrade runs on the server itself, as the service "
                         b"account: it works on the service's own database, key and files\n")
            + _frame(b"x", b'{"code": 1}'))
        done = s55(["show", str(office.rid)], through(sock), tmp_path)
        assert (done.code, done.err) == (0, "")
    finally:
        said = served.stop()
    assert "Traceback" not in said


def test_a_callers_ctrl_c_interrupts_their_command(tmp_path: Path) -> None:
    """``s55 mail test`` waits on an SMTP server that never greets (for up to two minutes);
    the caller's Ctrl-C ends their ``s55`` with "Aborted!", and the command in the service
    is interrupted at once: it hangs up on the server long before its own time limit."""
    office, sock, env = _office(tmp_path)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    env.update(S55_SMTP_HOST="127.0.0.1", S55_SMTP_PORT=str(silent.getsockname()[1]),
               S55_SMTP_SECURITY="none", S55_SMTP_TIMEOUT="120")
    served = start(env, tmp_path / "serve.log")
    try:
        client = subprocess.Popen(
            ["env", "-i", *(f"{k}={v}" for k, v in through(sock).items()), sys.executable,
             "-m", "workflow.cli", "mail", "test", "someone@opcc.example"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
        silent.settimeout(90)
        smtp, _ = silent.accept()  # the command is now waiting for a greeting
        client.send_signal(signal.SIGINT)
        out, err = client.communicate(timeout=60)
        assert (client.returncode, out, err) == (1, b"", b"\nAborted!\n")
        smtp.settimeout(30)  # far less than the command's own 120 s
        assert smtp.recv(1024) == b""  # the service's command hung up: interrupted
        smtp.close()
        done = s55(["show", str(office.rid)], through(sock), tmp_path)
        assert (done.code, done.err) == (0, "")
    finally:
        silent.close()
        said = served.stop()
    assert "Traceback" not in said
