"""The compiled-template cache (``notifications.render.bytecode_cache``): kept owner-only
in the user's cache folder, the same messages with it as without, an edited template
compiled afresh, and no cache in a folder others could write to."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from notifications import render as rendering
from tests.notifications.test_render__templates_and_messages import CONTEXT

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    rendering.environment.cache_clear()
    yield tmp_path / "home"
    rendering.environment.cache_clear()


def _folder(home: Path) -> Path:
    (folder,) = (home / ".cache" / "s55").iterdir()
    return folder


def test_cached_messages_are_the_compiled_ones(home: Path) -> None:
    fresh = {kind: rendering.render(kind, CONTEXT) for kind in rendering.KINDS}
    folder = _folder(home)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert len(list(folder.iterdir())) >= 3 * len(rendering.KINDS)  # every part kept
    rendering.environment.cache_clear()  # a new environment reads the cache
    assert {kind: rendering.render(kind, CONTEXT) for kind in rendering.KINDS} == fresh


def test_another_process_renders_from_the_cache(home: Path) -> None:
    first = rendering.render("request_force_input", CONTEXT)
    kept = {p.name: p.stat().st_mtime_ns for p in _folder(home).iterdir()}
    code = ("from notifications.render import render; "
            "from tests.notifications.test_render__templates_and_messages import CONTEXT; "
            "print(render('request_force_input', CONTEXT).html, end='')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True, env={**os.environ, "HOME": str(home)}).stdout
    assert out == first.html
    assert {p.name: p.stat().st_mtime_ns for p in _folder(home).iterdir()} == kept


def test_an_edited_template_is_compiled_afresh(home: Path, tmp_path: Path) -> None:
    overrides = tmp_path / "templates"
    overrides.mkdir()
    subject = overrides / "publish.subject.j2"
    subject.write_text("Published: {{ report_title }}")
    assert rendering.render("publish", CONTEXT, override_dir=overrides).subject == \
        "Published: ASB & <b>PEEL</b>"
    subject.write_text("Out now: {{ report_title }}")
    rendering.environment.cache_clear()
    assert rendering.render("publish", CONTEXT, override_dir=overrides).subject == \
        "Out now: ASB & <b>PEEL</b>"


def test_no_cache_in_a_folder_others_can_write(home: Path) -> None:
    rendering.render("publish", CONTEXT)
    folder = _folder(home)
    folder.chmod(0o777)
    assert rendering.bytecode_cache() is None
    folder.chmod(0o700)
    folder.parent.chmod(0o757)
    assert rendering.bytecode_cache() is None
    folder.parent.chmod(0o700)
    assert rendering.bytecode_cache() is not None


def test_no_cache_without_a_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("HOME", str(blocked))
    assert rendering.bytecode_cache() is None
    rendering.environment.cache_clear()
    try:
        assert "#7" in rendering.render("request_force_input", CONTEXT).subject
    finally:
        rendering.environment.cache_clear()
