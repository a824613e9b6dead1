"""Checkpoints kept outside the database: a cut tail, an emptied log or a
re-forged history is caught from copies nobody with database access can reach."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.factories import ADMIN, behind_the_triggers
from workflow.assurance import checkpoints
from workflow.audit import trail
from workflow.core.errors import InvalidInputError
from workflow.keys import audit_key
from workflow.responses import content
from workflow.responses.service import Workflow

AT = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


@pytest.fixture
def ring(tmp_path: Path) -> audit_key.Keyring:
    return audit_key.create(tmp_path / "audit.key")


def test_a_checkpoint_line_reads_back_as_written(wf_norfolk: Workflow,
                                                 ring: audit_key.Keyring) -> None:
    cp = checkpoints.make(wf_norfolk.db, AT, ring)
    assert cp.count == trail.head(wf_norfolk.db).count
    assert cp.head == trail.head(wf_norfolk.db).hash
    assert cp.line().startswith(f"s55-checkpoint v1 count={cp.count} head={cp.head} "
                                "at=2026-11-29T09:00:00+00:00 key=")
    assert list(checkpoints.parse(f"some text\n{cp.line()}\nmore")) == [cp]


def test_an_intact_log_contains_every_checkpoint(wf_norfolk: Workflow,
                                                ring: audit_key.Keyring) -> None:
    first = checkpoints.make(wf_norfolk.db, AT, ring)
    content.edit_text(wf_norfolk, 1, "key_findings", "Later findings", ADMIN)
    second = checkpoints.make(wf_norfolk.db, AT, ring)
    found = checkpoints.prove(wf_norfolk.db, [first, second], ring)
    assert [f.problem for f in found] == [None, None]


def test_a_cut_tail_is_caught(wf_norfolk: Workflow, ring: audit_key.Keyring) -> None:
    content.edit_text(wf_norfolk, 1, "key_findings", "Later findings", ADMIN)
    cp = checkpoints.make(wf_norfolk.db, AT, ring)
    behind_the_triggers(wf_norfolk.db, f"DELETE FROM audit_event WHERE id = {cp.count}")
    assert trail.verify(wf_norfolk.db).ok  # the chain alone cannot see a cut tail
    [finding] = checkpoints.prove(wf_norfolk.db, [cp], ring)
    assert finding.problem == (f"the log now holds fewer events: event {cp.count} is gone "
                               "(a cut tail or an emptied log)")


def test_a_re_forged_history_is_caught(wf_norfolk: Workflow, ring: audit_key.Keyring) -> None:
    cp = checkpoints.make(wf_norfolk.db, AT, ring)
    behind_the_triggers(wf_norfolk.db, "DELETE FROM audit_event")
    with wf_norfolk.db.write() as s:
        for _ in range(cp.count):
            trail.append(s, at=AT, actor="forger@x.y", action="created", payload={},
                         by=trail.Provenance.here("cli"))
    assert trail.verify(wf_norfolk.db).ok
    [finding] = checkpoints.prove(wf_norfolk.db, [cp], ring)
    assert finding.problem == (f"event {cp.count} no longer has hash {cp.head[:16]}...: the "
                               "history up to it was rewritten")


def test_a_planted_checkpoint_is_caught_with_the_key(wf_norfolk: Workflow,
                                                    ring: audit_key.Keyring) -> None:
    real = checkpoints.make(wf_norfolk.db, AT, ring)
    planted = checkpoints.Checkpoint(real.count, real.head, AT.replace(hour=10), real.key,
                                     real.mac)
    [finding] = checkpoints.prove(wf_norfolk.db, [planted], ring)
    assert finding.problem == (f"the checkpoint itself is forged (signature does not match "
                               f"(key {real.key}))")


def test_checkpoints_are_read_from_mail(wf_norfolk: Workflow, ring: audit_key.Keyring,
                                        tmp_path: Path) -> None:
    """From a folder of delivered .eml files and from an mbox."""
    cp = checkpoints.make(wf_norfolk.db, AT, ring)
    msg = EmailMessage()
    msg["Subject"] = "s55 audit checkpoint"
    msg.set_content(f"The audit log's checkpoint:\n\n{cp.line()}\n")
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "1.eml").write_bytes(msg.as_bytes())
    box = mailbox.mbox(tmp_path / "auditor.mbox")
    box.add(msg)
    box.flush()
    assert checkpoints.read_sources(folder) == [cp]
    assert checkpoints.read_sources(tmp_path / "auditor.mbox") == [cp]


@pytest.mark.parametrize("head", ["garbage", "", "A" * 63, "g" * 64])
def test_a_head_that_is_not_a_hash_is_refused(head: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        checkpoints.check_head_text(head)
    assert str(info.value) == (f"--head: {head!r} is not a SHA-256 hash (64 hex digits, as "
                               "`s55 audit head` prints)")


def test_the_daemon_takes_one_checkpoint_a_london_day(wf_norfolk: Workflow, tmp_path: Path) -> None:
    """Tried hourly by every daemon: the first try of a London day takes it (file and
    event); later tries that day take none; the next day's first try takes the next."""
    import time_machine

    from workflow.audit.trail import Provenance
    from workflow.audit.words import Channel

    by = Provenance.here(Channel.SCHEDULER)
    settings = wf_norfolk.settings.model_copy(update={"checkpoint_file": tmp_path / "cp.txt"})
    with time_machine.travel(datetime(2026, 11, 29, 0, 30, tzinfo=UTC), tick=False):  # 00:30 GMT
        first = checkpoints.daily(wf_norfolk.db, settings, datetime.now(UTC), "s55-scheduler", by)
    with time_machine.travel(datetime(2026, 11, 29, 23, 30, tzinfo=UTC), tick=False):
        again = checkpoints.daily(wf_norfolk.db, settings, datetime.now(UTC), "s55-scheduler", by)
    with time_machine.travel(datetime(2026, 11, 30, 0, 5, tzinfo=UTC), tick=False):
        next_day = checkpoints.daily(wf_norfolk.db, settings, datetime.now(UTC), "s55-scheduler",
                                     by)
    assert first is not None
    assert again is None
    assert next_day is not None
    assert next_day.count == first.count + 2  # its own event and the mail it queued
    assert (tmp_path / "cp.txt").read_text().splitlines() == [first.line(), next_day.line()]
    proved = checkpoints.prove(wf_norfolk.db, [first, next_day], None)
    assert [f.problem for f in proved] == [None, None]
