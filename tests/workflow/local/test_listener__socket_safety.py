"""The service's socket is made only where no other account can interfere, and only then
opened to its group.

A folder others may write, a relative path, an unknown group, something at the path that is
not a socket, and a socket a live service listens on are each refused in one line naming
what to fix, and nothing is changed; a socket left by a service that died is replaced. A
socket handed over by systemd (``LISTEN_FDS``) is taken as it is.
"""

from __future__ import annotations

import grp
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from s55_processes import base_environment, s55
from smtp_server import free_port
from waiting import wait_until

from workflow.core.errors import ConfigError
from workflow.core.os_account import account_of
from workflow.local import listener

GROUP = grp.getgrgid(os.getgid()).gr_name


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder only this account may write."""
    path = tmp_path / "run"
    path.mkdir(mode=0o755)
    return path


def test_the_socket_is_the_groups_mode_0660(folder: Path) -> None:
    sock = listener.bind(folder / "s55.sock", GROUP)
    try:
        st = (folder / "s55.sock").stat()
        assert (st.st_mode & 0o777, st.st_gid) == (0o660, os.getgid())
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(folder / "s55.sock"))  # listening
    finally:
        sock.close()


def test_a_folder_others_may_write_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # as /tmp is
    with pytest.raises(ConfigError) as refused:
        listener.bind(shared / "s55.sock", GROUP)
    me = account_of(os.geteuid())
    assert str(refused.value) == (
        f"S55_SOCKET: {shared} may be written by accounts other than the service (owner "
        f"{me}, mode 1777): another account could put its own socket there; chown {me} "
        f"{shared} and chmod 755 {shared}, or name a folder of the service's own")
    assert list(shared.iterdir()) == []


@pytest.mark.parametrize(("where", "group", "message"), [
    ("relative", GROUP, "S55_SOCKET: s55.sock is not an absolute path (officers' commands "
                        "must find it from any folder)"),
    ("missing", GROUP, "S55_SOCKET: no folder {folder}/missing: make it, owned by the service "
                       "account and writable by it alone (systemd: RuntimeDirectory=s55)"),
    ("here", "s55-no-such-group", "S55_SOCKET_GROUP: there is no group s55-no-such-group on "
                                  "this system: make it (groupadd s55-no-such-group) and add "
                                  "each officer who uses s55 to it"),
])
def test_a_wrong_place_or_group_is_refused(folder: Path, where: str, group: str,
                                           message: str) -> None:
    path = {"relative": Path("s55.sock"), "missing": folder / "missing" / "s55.sock",
            "here": folder / "s55.sock"}[where]
    with pytest.raises(ConfigError) as refused:
        listener.bind(path, group)
    assert str(refused.value) == message.format(folder=folder)
    assert list(folder.iterdir()) == []


def test_something_else_at_the_path_is_left_alone(folder: Path) -> None:
    (folder / "s55.sock").write_text("not a socket")
    with pytest.raises(ConfigError, match="s55.sock exists and is not a socket; remove it"):
        listener.bind(folder / "s55.sock", GROUP)
    assert (folder / "s55.sock").read_text() == "not a socket"


def test_a_live_service_keeps_its_socket(folder: Path) -> None:
    first = listener.bind(folder / "s55.sock", GROUP)
    try:
        with pytest.raises(ConfigError) as refused:
            listener.bind(folder / "s55.sock", GROUP)
        assert str(refused.value) == (f"S55_SOCKET: an s55 service is already listening on "
                                      f"{folder / 's55.sock'}; stop it first, or name another "
                                      "path")
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(folder / "s55.sock"))  # still the first one's
    finally:
        first.close()


def test_a_socket_left_by_a_dead_service_is_replaced(folder: Path) -> None:
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(folder / "s55.sock"))
    dead.close()  # the file stays, nobody listens
    sock = listener.bind(folder / "s55.sock", GROUP)
    try:
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(folder / "s55.sock"))
        assert (folder / "s55.sock").stat().st_mode & 0o777 == 0o660
    finally:
        sock.close()


@pytest.mark.slow
def test_a_socket_systemd_passes_is_taken(tmp_path: Path, folder: Path) -> None:
    """``s55 serve`` started as systemd starts it (the socket as file descriptor 3,
    ``LISTEN_PID`` and ``LISTEN_FDS``) takes commands on it; its path is never bound
    again, and stays when the service stops (it is systemd's)."""
    from local_office import make_office, through

    from workflow.core.os_account import os_account

    office = make_office(f"sqlite:///{tmp_path / 's55.db'}", tmp_path,
                         {"ann.admin@norfolk-pcc.gov.uk": os_account()})
    path = folder / "s55.sock"
    passed = socket.socket(socket.AF_UNIX)
    passed.bind(str(path))
    passed.listen()
    env = base_environment(**office.settings)
    line = " ".join(f"{k}={v}" for k, v in env.items())
    script = (f"exec 3<&{passed.fileno()}; exec env -i LISTEN_PID=$$ LISTEN_FDS=1 {line} "
              f"{sys.executable} -m workflow.cli serve --port {free_port()}")
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["bash", "-c", script], pass_fds=(passed.fileno(),),
                                stdout=out, stderr=subprocess.STDOUT)
    passed.close()
    try:
        wait_until(lambda: log.read_text(), lambda said: "Uvicorn running" in said
                   or proc.poll() is not None, timeout=90, what="s55 serve started")
        assert f"s55 commands taken on the socket systemd passed ({path})" in log.read_text()
        done = s55(["show", str(office.rid)], through(path), tmp_path)
        assert (done.code, done.err) == (0, "")
        assert done.out.startswith(f"Response {office.rid} (version 1)")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert path.exists()
    assert "Traceback" not in log.read_text()
