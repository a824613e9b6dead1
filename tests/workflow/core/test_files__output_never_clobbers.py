"""Files a user names: ``--output`` never clobbers, never follows a link and never
leaves half a file; inputs are read with a hard limit and only from regular files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.factories import ADMIN, norfolk
from workflow.cli import app
from workflow.core import files
from workflow.core.settings import Settings
from workflow.responses.service import Workflow
from workflow.storage.db import Database

OUTPUTS = {"render": ["render", "1", "--format", "md"], "export": ["audit", "export"]}


@pytest.fixture
def cli(db: Database, settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    norfolk(Workflow(db, settings))
    env = {"S55_DATABASE_URL": db.url, "S55_SPOOL_DIR": str(tmp_path / "spool"),
           "S55_ACTOR": ADMIN}

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, list(args), env=env)

    return invoke


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.mark.parametrize("command", list(OUTPUTS))
class TestOutput:
    def test_an_existing_file_is_kept_unless_force(self, cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                   command: str) -> None:
        target = tmp_path / "out.txt"
        target.write_text("precious")
        refused = cli(*OUTPUTS[command], "--output", str(target))
        assert refused.exit_code == 1
        assert refused.stderr.strip() == (f"Error: {target}: already exists; give --force to "
                                          "replace it")
        assert target.read_text() == "precious"
        forced = cli(*OUTPUTS[command], "--output", str(target), "--force")
        assert forced.exit_code == 0, forced.stderr
        assert target.read_text() != "precious"
        assert leftovers(tmp_path) == []

    def test_a_symlink_is_never_followed(self, cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                         command: str) -> None:
        """Not even with --force: the file the link points at stays as it was."""
        victim = tmp_path / "victim"
        victim.write_text("do not touch")
        link = tmp_path / "link.txt"
        link.symlink_to(victim)
        for extra in ([], ["--force"]):
            result = cli(*OUTPUTS[command], "--output", str(link), *extra)
            assert result.exit_code == 1
            assert result.stderr.strip() == (f"Error: {link}: is a symbolic link; s55 does not "
                                             "write through links")
        assert victim.read_text() == "do not touch"
        assert link.is_symlink()

    @pytest.mark.parametrize(("where", "problem"), [
        ("dir", "is a directory; name a file"),
        ("missing/out.txt", "cannot write it: no folder {tmp}/missing"),
        ("/dev/null", "is not a regular file (a pipe, socket or device)"),
    ])
    def test_a_target_that_cannot_be_a_file_is_one_line(  # type: ignore[no-untyped-def]
            self, cli, tmp_path: Path, command: str, where: str, problem: str) -> None:
        (tmp_path / "dir").mkdir()
        target = Path(where) if where.startswith("/") else tmp_path / where
        result = cli(*OUTPUTS[command], "--output", str(target), "--force")
        assert result.exit_code == 1
        assert result.stderr.strip() == f"Error: {target}: {problem.format(tmp=tmp_path)}"


def test_a_write_that_fails_midway_leaves_nothing_behind(tmp_path: Path) -> None:
    """A write refused by the system part-way (here the file-size limit, as a full disk
    would) is one error; the target keeps its old text and no temporary file remains."""
    target = tmp_path / "out.txt"
    target.write_text("old")
    code = ("import resource, signal, sys\n"
            "from workflow.core import files\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n"
            "try:\n"
            "    files.write_text(sys.argv[1], ['x' * 5000], overwrite=True)\n"
            "except files.FileError as exc:\n"
            "    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True,
                         text=True, timeout=60, check=True).stdout.strip()
    assert out == f"{target}: cannot write it: the file would be too large"
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


class TestReading:
    def test_limit_is_hard_whatever_the_size_says(self, tmp_path: Path) -> None:
        path = tmp_path / "a.txt"
        path.write_bytes(b"x" * 11)
        assert files.read_bytes(path, 11) == b"x" * 11
        with pytest.raises(files.FileError, match=r"is larger than 10 bytes, the most s55"):
            files.read_bytes(path, 10)
        with pytest.raises(files.FileError, match="is not a regular file"):
            files.read_bytes("/dev/zero", 10)

    def test_a_fifo_is_refused_at_once(self, tmp_path: Path) -> None:
        fifo = tmp_path / "pipe"
        os.mkfifo(fifo)
        with pytest.raises(files.FileError, match="is not a regular file"):
            files.read_text(fifo, 100)

    def test_non_utf8_is_one_line(self, tmp_path: Path) -> None:
        path = tmp_path / "latin.txt"
        path.write_bytes(b"ok\ncaf\xe9\n")
        with pytest.raises(files.FileError) as info:
            files.read_text(path, 100)
        assert str(info.value) == (f"{path}: is not UTF-8 text (byte 0xe9 on line 2); "
                                   "save it as UTF-8")
