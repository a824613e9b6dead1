"""The approvers' personal links on real databases: issued with the mail that
asks someone to act, read without being used up, used up once by the action they allow,
refused precisely (database unchanged) otherwise."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from link_support import BASE, DURING, LINK, _during, assert_mail_without_a_link  # noqa: F401 - _during is autouse
from smtp_server import Server
from sqlalchemy import select

from tests.factories import (
    ADMIN,
    AUDITOR,
    FORCE,
    NORFOLK_RECS,
    PANEL,
    PCC,
    as_delivered,
    norfolk,
    snapshot,
)
from workflow.audit import trail
from workflow.audit.words import Action
from workflow.core.errors import GuardError, S55Error, StaleVersionError
from workflow.core.settings import Settings
from workflow.escalations import sweep as escalation
from workflow.links import action_links
from workflow.mail import delivery
from workflow.people import management
from workflow.responses import approvals
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import ActionLink, AuditEvent, OutboxMessage, Response


@pytest.fixture
def db(keyed_db: Database) -> Database:
    """Links need an audit key (their tokens derive from it)."""
    return keyed_db


@pytest.fixture
def wf_linked(db: Database, settings: Settings) -> Workflow:
    """The service on an empty keyed database, with the base URL links are built on."""
    return Workflow(db, settings.model_copy(update={"base_url": BASE,
                                                    "audit_key_file": db.audit_key_file}))


@pytest.fixture
def rid(wf_linked: Workflow) -> int:
    with time_machine.travel(DURING, tick=False):
        rid = norfolk(wf_linked)
        wf_linked.fire(rid, "request_force_input", ADMIN)
        return rid


def tokens_to(wf_linked: Workflow, email: str, kind: str | None = None) -> list[str]:
    """The link tokens in the mail queued to ``email`` (of ``kind``), oldest first."""
    with wf_linked.db.read() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == email)
                         .order_by(OutboxMessage.id)).all()
    found = []
    for row in rows:
        if kind is None or row.kind == kind:
            text, html = as_delivered(wf_linked.db, row)
            found += [m.group(1) for m in LINK.finditer(text)]
            assert found == [] or [m.group(1) for m in LINK.finditer(html)] \
                == [m.group(1) for m in LINK.finditer(text)]
    return found


def token_of(wf_linked: Workflow, email: str, kind: str | None = None) -> str:
    return tokens_to(wf_linked, email, kind)[-1]


def refused(why: str, call: Any, *args: Any, **kwargs: Any) -> action_links.LinkRefusedError:
    with pytest.raises(action_links.LinkRefusedError) as caught:
        call(*args, **kwargs)
    assert caught.value.why == why, str(caught.value)
    return caught.value


def answer_all_by_link(wf_linked: Workflow, token: str) -> None:
    for n in NORFOLK_RECS:
        approvals.edit_recommendation(wf_linked, token, n, "force_response", f"Answer {n}.")


def last_event(wf_linked: Workflow) -> AuditEvent:
    with wf_linked.db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action.in_(  # type: ignore[attr-defined]
            [Action.TRANSITION.value, Action.EDITED.value])).order_by(
                AuditEvent.id.desc())).first()  # type: ignore[union-attr]
        assert event is not None
        return event


class TestIssued:
    def test_the_force_liaison_gets_their_own_link_and_only_its_hash_is_stored(
            self, wf_linked: Workflow, rid: int) -> None:
        """Force comments requested: the liaison's mail carries a link bound to them, the
        response, the state and version it was in, its kind; nobody else's mail does."""
        token = token_of(wf_linked, FORCE, "request_force_input")
        with wf_linked.db.read() as s:
            link = s.scalars(select(ActionLink)).one()
            event = s.get(AuditEvent, link.event_id)
            version = s.get(Response, rid).version  # type: ignore[union-attr]
        assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert (link.kind, link.origin, link.state, link.version) == (
            "force", "mail", "force_input", version)
        assert event is not None
        assert event.trigger == "request_force_input"
        assert link.expires_at - link.issued_at == timedelta(days=14)
        assert tokens_to(wf_linked, ADMIN) == []
        assert tokens_to(wf_linked, PCC) == []

    def test_no_link_without_a_base_url(self, db: Database, settings: Settings) -> None:
        """With S55_BASE_URL unset nothing is issued and the mail keeps its reply wording."""
        plain = Workflow(db, settings)
        with time_machine.travel(DURING, tick=False):
            rid = norfolk(plain)
            plain.fire(rid, "request_force_input", ADMIN)
        assert_mail_without_a_link(db, FORCE)

    def test_reading_uses_nothing_up_and_changes_nothing(self, wf_linked: Workflow,
                                                         rid: int) -> None:
        token = token_of(wf_linked, FORCE)
        before = snapshot(wf_linked)
        for _ in range(3):
            seen = action_links.read(wf_linked.db, wf_linked.clock, token)
        assert snapshot(wf_linked) == before
        assert (seen.person_email, seen.response_id, seen.kind) == (FORCE, rid, "force")
        assert "submit_force_input" in seen.actions
        assert "sign_off" not in seen.actions


class TestActing:
    def test_force_saves_over_visits_then_submits_once(self, wf_linked: Workflow, rid: int) -> None:
        """Saves do not use the link up; the submit does, recorded as the liaison on the
        web; the PCC's mail then carries the PCC's own link."""
        token = token_of(wf_linked, FORCE)
        with time_machine.travel(DURING, tick=False):
            answer_all_by_link(wf_linked, token)
            approvals.edit_text(wf_linked, token, "cc_response", "The Chief Constable agrees.")
            saved = last_event(wf_linked)
            moved = approvals.fire(wf_linked, token, "submit_force_input")
        assert (saved.actor, saved.channel, saved.identity) == (FORCE, "web", "link")
        event = last_event(wf_linked)
        assert moved.state == "pcc_signoff"
        assert (event.actor, event.channel, event.identity, event.trigger) == (
            FORCE, "web", "link", "submit_force_input")
        pcc = action_links.read(wf_linked.db, wf_linked.clock,
                                token_of(wf_linked, PCC, "submit_force_input"))
        assert (pcc.kind, pcc.person_email, pcc.state) == ("pcc", PCC, "pcc_signoff")
        refused("used", approvals.fire, wf_linked, token, "submit_force_input")

    def test_the_pcc_signs_off_through_their_link(self, wf_linked: Workflow, rid: int) -> None:
        with time_machine.travel(DURING, tick=False):
            answer_all_by_link(wf_linked, token_of(wf_linked, FORCE))
            approvals.fire(wf_linked, token_of(wf_linked, FORCE), "submit_force_input")
            pcc = token_of(wf_linked, PCC)
            approvals.edit_text(wf_linked, pcc, "pcc_response", "I welcome the report.")
            approvals.edit_recommendation(wf_linked, pcc, 1, "pcc_note", "Explained.")
            signed = approvals.fire(wf_linked, pcc, "sign_off")
        event = last_event(wf_linked)
        assert signed.state == "forwarded_to_panel"
        assert (event.actor, event.channel, event.trigger) == (PCC, "web", "sign_off")
        assert "fingerprint" in event.payload

    def test_two_tabs_saving_one_recommendation_one_wins(self, wf_linked: Workflow,
                                                         rid: int) -> None:
        """Both tabs loaded the response at one version: the first save lands, the
        second is refused naming the versions, and nothing of it is written."""
        token = token_of(wf_linked, FORCE)
        with wf_linked.db.read() as s:
            shown = s.get(Response, rid).version  # type: ignore[union-attr]
        with time_machine.travel(DURING, tick=False):
            approvals.edit_recommendation(wf_linked, token, 1, "force_response", "Tab one.",
                                          expected_version=shown)
            before = snapshot(wf_linked)
            with pytest.raises(StaleVersionError) as caught:
                approvals.edit_recommendation(wf_linked, token, 1, "force_response", "Tab two.",
                                              expected_version=shown)
        assert snapshot(wf_linked) == before
        assert f"response {rid}" in str(caught.value).lower()
        assert str(shown) in str(caught.value)

    def test_a_refused_action_does_not_use_the_link_up(self, wf_linked: Workflow, rid: int) -> None:
        """Submitting before every recommendation is answered is refused with the CLI's
        message; the link still works afterwards."""
        token = token_of(wf_linked, FORCE)
        before = snapshot(wf_linked)
        with pytest.raises(GuardError), time_machine.travel(DURING, tick=False):
            approvals.fire(wf_linked, token, "submit_force_input")
        assert snapshot(wf_linked) == before
        action_links.read(wf_linked.db, wf_linked.clock, token, action="submit_force_input")

    def test_two_submits_with_one_link_one_wins(self, wf_linked: Workflow, rid: int) -> None:
        """Two threads submit with the same link at once: exactly one moves the response,
        the other is told the link was used, and by whom."""
        token = token_of(wf_linked, FORCE)
        answer_all_by_link(wf_linked, token)
        start, outcomes = threading.Barrier(2), []

        def submit() -> None:
            start.wait()
            try:
                outcomes.append(approvals.fire(wf_linked, token, "submit_force_input").state)
            except S55Error as exc:
                outcomes.append(exc)

        with time_machine.travel(DURING, tick=False):
            threads = [threading.Thread(target=submit) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        won = [o for o in outcomes if o == "pcc_signoff"]
        lost = [o for o in outcomes if isinstance(o, action_links.LinkRefusedError)]
        assert (len(won), len(lost)) == (1, 1), outcomes
        assert lost[0].why in ("used", "superseded")
        assert lost[0].moved_by == FORCE
        with wf_linked.db.read() as s:
            submits = s.scalars(select(AuditEvent).where(
                AuditEvent.trigger == "submit_force_input")).all()
        assert len(submits) == 1


class TestRefused:
    """Each refusal says precisely why, and leaves the database as it was."""

    def unchanged(self, wf_linked: Workflow, why: str, call: Any, *args: Any,
                  **kwargs: Any) -> action_links.LinkRefusedError:
        before = snapshot(wf_linked)
        with time_machine.travel(DURING, tick=False):
            err = refused(why, call, *args, **kwargs)
        assert snapshot(wf_linked) == before
        return err

    @pytest.mark.parametrize("token", ["A" * 43, "x", "", "../../etc/passwd", "é" * 43])
    def test_a_made_up_token(self, wf_linked: Workflow, rid: int, token: str) -> None:
        err = self.unchanged(wf_linked, "unknown", approvals.fire, wf_linked, token,
                             "submit_force_input")
        assert "not one s55 sent" in str(err)
        self.unchanged(wf_linked, "unknown", action_links.read, wf_linked.db, wf_linked.clock,
                       token)

    def test_another_responses_token(self, wf_linked: Workflow, rid: int) -> None:
        err = self.unchanged(wf_linked, "other_response", action_links.read, wf_linked.db,
                             wf_linked.clock,
                             token_of(wf_linked, FORCE), response_id=rid + 1)
        assert f"for response {rid}, not response {rid + 1}" in str(err)

    def test_replayed_after_use(self, wf_linked: Workflow, rid: int) -> None:
        token = token_of(wf_linked, FORCE)
        answer_all_by_link(wf_linked, token)
        with time_machine.travel(DURING, tick=False):
            approvals.fire(wf_linked, token, "submit_force_input")
        err = self.unchanged(wf_linked, "used", approvals.edit_text, wf_linked, token,
                             "cc_response", "x")
        assert err.moved_by == FORCE
        assert err.moved_trigger == "submit_force_input"
        assert "already used on 14 October 2024 at 10:00" in str(err)
        assert err.can_resend

    def test_expired(self, wf_linked: Workflow, rid: int) -> None:
        token = token_of(wf_linked, FORCE)
        before = snapshot(wf_linked)
        # 14 days after 10:00 BST on 14 Oct is 09:00 GMT on 28 Oct (the clocks went back).
        with time_machine.travel("2024-10-28 09:00:00+00:00", tick=False):
            err = refused("expired", approvals.edit_text, wf_linked, token, "cc_response", "x")
            refused("expired", action_links.read, wf_linked.db, wf_linked.clock, token)
        assert snapshot(wf_linked) == before
        assert "expired on 28 October 2024 at 09:00" in str(err)
        with time_machine.travel("2024-10-28 08:59:59+00:00", tick=False):
            action_links.read(wf_linked.db, wf_linked.clock, token)

    def test_after_the_response_moved_on(self, wf_linked: Workflow, rid: int) -> None:
        """Returned to draft (and sent again) by the admin: the first link is superseded,
        saying who moved it and when; the new mail's link works."""
        token = token_of(wf_linked, FORCE)
        with time_machine.travel("2024-10-15 11:30:00+01:00", tick=False):
            wf_linked.fire(rid, "return_to_draft", ADMIN, reason="wrong report")
            wf_linked.fire(rid, "request_force_input", ADMIN)
        err = self.unchanged(wf_linked, "superseded", approvals.edit_text, wf_linked, token,
                             "cc_response",
                             "x")
        assert (err.moved_by, err.moved_trigger) == (ADMIN, "return_to_draft")
        assert "returned to draft by Ann Admin on 15 October 2024 at 11:30" in str(err)
        action_links.read(wf_linked.db, wf_linked.clock, token_of(wf_linked, FORCE))

    def test_a_force_token_cannot_sign_off(self, wf_linked: Workflow, rid: int) -> None:
        token = token_of(wf_linked, FORCE)
        for action in ("sign_off", "pcc_response", "pcc_note", "return_to_force"):
            self.unchanged(wf_linked, "wrong_kind", action_links.read, wf_linked.db,
                           wf_linked.clock, token,
                           action=action)
        self.unchanged(wf_linked, "wrong_kind", approvals.fire, wf_linked, token, "sign_off")
        self.unchanged(wf_linked, "wrong_kind", approvals.edit_text, wf_linked, token,
                       "pcc_response", "x")
        self.unchanged(wf_linked, "wrong_kind", approvals.sign_in, wf_linked, token)

    def test_a_disabled_persons_link_stops_at_once(self, wf_linked: Workflow, rid: int) -> None:
        token = token_of(wf_linked, FORCE)
        management.set_active(wf_linked, FORCE, ADMIN, "left the force", active=False)
        err = self.unchanged(wf_linked, "disabled", action_links.read, wf_linked.db,
                             wf_linked.clock, token)
        assert "disabled" in str(err)
        assert not err.can_resend
        self.unchanged(wf_linked, "disabled", approvals.edit_text, wf_linked, token, "cc_response",
                       "x")
        self.unchanged(wf_linked, "disabled", approvals.resend, wf_linked, token)

    def test_a_link_never_does_more_than_its_person_may(self, wf_linked: Workflow,
                                                        rid: int) -> None:
        """Role rules still apply through a link: a link can never do more than its
        person may (here a PCC link whose person lost the role)."""
        token = token_of(wf_linked, FORCE)
        answer_all_by_link(wf_linked, token)
        with time_machine.travel(DURING, tick=False):
            approvals.fire(wf_linked, token, "submit_force_input")
            management.change_roles(wf_linked, PCC, ADMIN, "moved on", add=["panel"],
                                    remove=["pcc"])
        before = snapshot(wf_linked)
        with pytest.raises(S55Error, match="pcc"), time_machine.travel(DURING, tick=False):
            approvals.fire(wf_linked, token_of(wf_linked, PCC), "sign_off")
        assert snapshot(wf_linked) == before


    def test_the_pcc_who_returned_it_signs_the_resubmission(self, wf_linked: Workflow,
                                                             rid: int) -> None:
        """The PCC who sent the response back to the force for more signs the improved
        comments off through their next link: returning it is no bar to signing."""
        answer_all_by_link(wf_linked, token_of(wf_linked, FORCE))
        approvals.fire(wf_linked, token_of(wf_linked, FORCE), "submit_force_input")
        approvals.fire(wf_linked, token_of(wf_linked, PCC), "return_to_force",
                       reason="recommendation 4")
        approvals.fire(wf_linked, token_of(wf_linked, FORCE, "return_to_force"),
                       "submit_force_input")
        second = token_of(wf_linked, PCC)
        approvals.edit_text(wf_linked, second, "pcc_response", "I welcome the fuller answer.")
        assert approvals.fire(wf_linked, second, "sign_off").state == "forwarded_to_panel"


class TestResend:
    def test_a_fresh_link_for_a_used_or_expired_one_at_most_three_an_hour(
            self, wf_linked: Workflow, rid: int) -> None:
        token = token_of(wf_linked, FORCE)
        with time_machine.travel("2024-10-29 09:00:00+00:00", tick=False):
            refused("expired", action_links.read, wf_linked.db, wf_linked.clock, token)
            for _ in range(3):
                sent = approvals.resend(wf_linked, token)
            assert sent.email == FORCE
            fresh = tokens_to(wf_linked, FORCE, "action_link")
            assert len(set(fresh)) == 3
            assert action_links.read(wf_linked.db, wf_linked.clock, fresh[-1]).person_email == FORCE
            before = snapshot(wf_linked)
            with pytest.raises(approvals.ResendRefusedError, match="ask again after 29 October "
                               "2024 at 10:00"):
                approvals.resend(wf_linked, token)
            assert snapshot(wf_linked) == before
        with time_machine.travel("2024-10-29 10:00:01+00:00", tick=False):
            approvals.resend(wf_linked, token)
        with wf_linked.db.read() as s:
            sent_events = s.scalars(select(AuditEvent).where(
                AuditEvent.action == Action.LINK_SENT.value)).all()
        assert len(sent_events) == 4
        assert all(e.actor == FORCE and e.channel == "web" for e in sent_events)

    def test_no_fresh_link_once_nothing_waits_on_the_person(self, wf_linked: Workflow,
                                                            rid: int) -> None:
        token = token_of(wf_linked, FORCE)
        answer_all_by_link(wf_linked, token)
        with time_machine.travel(DURING, tick=False):
            approvals.fire(wf_linked, token, "submit_force_input")
            before = snapshot(wf_linked)
            with pytest.raises(approvals.ResendRefusedError,
                               match="now waiting for the PCC's sign-off"):
                approvals.resend(wf_linked, token)
        assert snapshot(wf_linked) == before


class TestSignIn:
    def test_a_known_reader_gets_a_link_an_unknown_address_nothing(
            self, wf_linked: Workflow, rid: int) -> None:
        with time_machine.travel(DURING, tick=False):
            before = snapshot(wf_linked)
            for address in ("nobody@nowhere.example", FORCE, "", "x\r\nBcc: a@b.example"):
                assert approvals.request_sign_in(wf_linked, address) is None
            assert snapshot(wf_linked) == before
            assert approvals.request_sign_in(wf_linked, AUDITOR.upper()) is None
            token = token_of(wf_linked, AUDITOR, "sign_in_link")
            reader = approvals.sign_in(wf_linked, token)
            assert (reader.email, reader.roles) == (AUDITOR, ("auditor",))
            again = refused("used", approvals.sign_in, wf_linked, token)
            assert str(again) == ("this sign-in link was already used on 14 October 2024 at "
                                  "10:00: ask for a new one")
            refused("wrong_kind", approvals.fire, wf_linked, token, "sign_off")
        assert action_links.reader(wf_linked.db, reader.person_id) == reader
        management.set_active(wf_linked, AUDITOR, ADMIN, "left", active=False)
        assert action_links.reader(wf_linked.db, reader.person_id) is None

    def test_sign_in_requests_are_limited(self, wf_linked: Workflow, rid: int) -> None:
        with time_machine.travel(DURING, tick=False):
            for _ in range(5):
                approvals.request_sign_in(wf_linked, PANEL)
        assert len(tokens_to(wf_linked, PANEL, "sign_in_link")) == action_links.HOURLY_LIMIT


class TestSecret:
    def test_the_token_is_nowhere_in_the_database(self, wf_linked: Workflow, rid: int) -> None:
        """The raw token is in no table (the mail carrying it holds a placeholder, filled
        in as it is sent: test_link_tokens__never_at_rest.py), no audit event, no payload."""
        token = token_of(wf_linked, FORCE)
        answer_all_by_link(wf_linked, token)
        with time_machine.travel(DURING, tick=False):
            approvals.fire(wf_linked, token, "submit_force_input")
        dump = snapshot(wf_linked)
        assert token not in repr(dump)
        carrying = [row for row in dump["outbox"] if "s55-link." in repr(row)]
        assert len(carrying) == 2  # the liaison's mail and the PCC's
        assert [FORCE in repr(carrying[0]), PCC in repr(carrying[1])] == [True, True]

    def test_a_changed_mail_is_still_caught(self, wf_linked: Workflow, rid: int) -> None:
        """The queued mail's digest (not its body) is what the MAIL_QUEUED event holds."""
        with wf_linked.db.read() as s:
            queued = s.scalars(select(AuditEvent).where(
                AuditEvent.action == Action.MAIL_QUEUED.value)).all()
        assert queued
        assert all("/l/" not in e.payload for e in queued)


class TestDelivered:
    def test_the_delivered_mail_carries_the_persons_own_link(
            self, wf_linked: Workflow, rid: int, smtp_server: Server) -> None:
        """Through a real SMTP server: the liaison's message holds their link in both
        parts (the HTML one as an href), and that link opens as the liaison; the audit
        chain, with the queued digests, still verifies."""
        cfg = wf_linked.settings.model_copy(update={
            "smtp_host": smtp_server.host, "smtp_port": smtp_server.port,
            "smtp_security": "none", "smtp_timeout": 5.0})
        assert delivery.deliver_pending(wf_linked.db, cfg, wf_linked.clock).error is None
        got = [r for r in smtp_server.handler.received if r.recipients == [FORCE]]
        assert len(got) == 1
        text_part, html_part = (p.get_content() for p in got[0].message.get_payload())
        token = LINK.findall(text_part)
        assert len(token) == 1
        assert f'href="{BASE}/l/{token[0]}"' in html_part
        seen = action_links.read(wf_linked.db, wf_linked.clock, token[0])
        assert (seen.person_email, seen.response_id, seen.kind) == (FORCE, rid, "force")
        assert "Open your own page with the link below" in text_part
        others = [r for r in smtp_server.handler.received if r.recipients != [FORCE]]
        assert all(BASE not in r.message.as_string() for r in others)
        assert trail.verify(wf_linked.db).ok


class TestEscalated:
    def test_reminders_to_whoever_must_act_carry_their_link(self, wf_linked: Workflow,
                                                           rid: int) -> None:
        """The force-input reminder to the liaison, and the PCC's reminder a week before the
        deadline while the sign-off waits on them, each carry a new link of that person's
        own, issued by the escalation event."""
        with time_machine.travel("2024-11-06 10:00:00+00:00", tick=False):
            escalation.sweep(wf_linked.db, wf_linked.settings, wf_linked.clock)
            force_links = tokens_to(wf_linked, FORCE, "escalation_force_input")
            assert len(force_links) == 1
            assert action_links.read(wf_linked.db, wf_linked.clock, force_links[0]).kind == "force"
            answer_all_by_link(wf_linked, force_links[0])
            approvals.fire(wf_linked, force_links[0], "submit_force_input")
        with time_machine.travel("2024-11-27 10:00:00+00:00", tick=False):
            escalation.sweep(wf_linked.db, wf_linked.settings, wf_linked.clock)
            pcc_links = tokens_to(wf_linked, PCC, "escalation_publish")
            assert len(pcc_links) == 1
            seen = action_links.read(wf_linked.db, wf_linked.clock, pcc_links[0])
            assert (seen.kind, seen.person_email) == ("pcc", PCC)
            with wf_linked.db.read() as s:
                link = s.scalars(select(ActionLink).where(
                    ActionLink.id == seen.link_id)).one()
                issued_by = s.get(AuditEvent, link.event_id)
            assert issued_by is not None
            assert issued_by.action == Action.ESCALATION.value
