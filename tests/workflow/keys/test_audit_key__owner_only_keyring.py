"""The audit key file: owner-only, a keyring that rotates, HMACs that a database
user cannot forge."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import pytest

from workflow.keys import audit_key
from workflow.keys.audit_key import AuditKeyError


def test_create_is_owner_only_and_refuses_to_replace(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    ring = audit_key.create(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert audit_key.load(path) == ring
    with pytest.raises(AuditKeyError) as info:
        audit_key.create(path)
    assert str(info.value) == (f"audit key file {path}: already exists; keep it (events are "
                               "signed with it)")
    assert audit_key.load(path) == ring


def test_a_file_others_may_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    audit_key.create(path)
    path.chmod(0o640)
    with pytest.raises(AuditKeyError) as info:
        audit_key.load(path)
    assert str(info.value) == (f"audit key file {path}: may be read by others (mode 640); "
                               f"run: chmod 600 {path}")


@pytest.mark.parametrize(("content", "problem"), [
    ("", "holds no key"),
    ("abc\n", "line 1 is not '<key id> <hex key>'"),
    ("0123456789abcdef " + "00" * 32 + "\n", "line 1: the key does not match its id "
     "0123456789abcdef"),
])
def test_a_damaged_file_is_one_line(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "audit.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, content.encode())
    os.close(fd)
    with pytest.raises(AuditKeyError) as info:
        audit_key.load(path)
    assert str(info.value) == f"audit key file {path}: {problem}"


def test_rotation_keeps_old_keys_and_signs_with_the_new(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    first = audit_key.create(path)
    kid1, sig1 = first.sign("a" * 64)
    second = audit_key.rotate(path)
    assert second.current != first.current
    assert (path.stat().st_mode & 0o777) == 0o600
    loaded = audit_key.load(path)
    assert loaded == second
    assert loaded.check(kid1, "a" * 64, sig1) is None  # signed before: still verifies
    kid2, sig2 = loaded.sign("a" * 64)
    assert kid2 == second.current
    assert sig2 != sig1


def test_the_signature_is_an_hmac_sha256_of_the_hash(tmp_path: Path) -> None:
    """Written out with hmac and hashlib, as an auditor's own script would."""
    path = tmp_path / "audit.key"
    ring = audit_key.create(path)
    kid, hexkey = path.read_text().splitlines()[-1].split()
    _, sig = ring.sign("f" * 64)
    assert sig == hmac.new(bytes.fromhex(hexkey), b"f" * 64, hashlib.sha256).hexdigest()
    assert ring.check(kid, "f" * 64, sig) is None
    assert ring.check(kid, "e" * 64, sig) == f"signature does not match (key {kid})"
    assert ring.check("feedfeedfeedfeed", "f" * 64, sig) == (
        "signed with key feedfeedfeedfeed, which is not in the key file")
    assert ring.check(None, "f" * 64, None) == "not signed"
