"""A link is valid only if the audit key says so: a row written into ``action_link`` by
someone who can write the database (inserted with the hash of a token of their own, or
their own link altered into the PCC's) opens the same page as a link s55 never sent,
changes nothing, and is named by ``s55 audit verify``; a link issued before links were
recorded in the log keeps working while its token derives from the key. On both
databases."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from audit_support import sql, verify
from link_support import _during  # noqa: F401 - autouse: officers work in October 2024
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session
from web_support import BASE, LINK, Env, as_delivered, make_env, tokens

from tests.factories import ADMIN, FORCE, PCC, answer_all, norfolk, snapshot
from workflow.audit import trail
from workflow.audit.words import Action, Channel, Identity
from workflow.core.settings import Settings
from workflow.keys import link_tokens
from workflow.links import action_links
from workflow.mail.compose import prepare_messages
from workflow.mail.outbox import dedupe_key, write_prepared
from workflow.mail.recipients import Recipient
from workflow.responses import approvals, content
from workflow.responses.service import Workflow
from workflow.storage.db import KEYRING_KEY, Database
from workflow.storage.models import ActionLink, AuditEvent, OutboxMessage, Response


@pytest.fixture
def env(keyed_db: Database, settings: Settings) -> Env:
    """The response waits for the PCC's sign-off; the PCC's link is in their mail."""
    return make_env(keyed_db, settings, to_pcc=True)


def plant(db: Database, token: str, person: str, rid: int | None, **more: Any) -> int:
    """The row the attack INSERTs: the SHA-256 of a token of the attacker's own, for
    ``person``, as a PCC link on response ``rid`` as it is now; its id."""
    with db.engine.begin() as conn:
        pid = conn.execute(text("SELECT id FROM person WHERE email = :e"), {"e": person}
                           ).scalar()
        version = conn.execute(text("SELECT version FROM response WHERE id = :r"),
                               {"r": rid}).scalar()
        conn.execute(insert(ActionLink.__table__).values(  # type: ignore[attr-defined]
            token_hash=hashlib.sha256(token.encode()).hexdigest(), person_id=pid,
            response_id=rid, kind="pcc", origin="mail", state="pcc_signoff", version=version,
            event_id=conn.execute(text("SELECT max(id) FROM audit_event")).scalar(),
            issued_at=datetime.now(UTC), expires_at=datetime.now(UTC) + timedelta(days=14),
            **more))
        return int(conn.execute(text("SELECT max(id) FROM action_link")).scalar())


def unknown_page(env: Env) -> str:
    """What a link s55 never sent opens."""
    page = env.client.get(f"/l/{secrets.token_urlsafe(32)}")
    assert page.status_code == 404
    return page.text


class TestInsertedBySql:
    def test_the_pcc_sign_off_of_the_attack_is_refused_and_named(self, env: Env) -> None:
        """The issue's reproduction: a row with the hash of a random token for the PCC.
        The page is the unknown link's, saving and signing off are refused the same way,
        nothing changes, and verify names the row."""
        token = secrets.token_urlsafe(32)
        lid = plant(env.wf.db, token, PCC, env.rid)
        before = env.snap()
        page = env.client.get(f"/l/{token}")
        assert (page.status_code, page.text) == (404, unknown_page(env))
        for action in ("save", "sign-off"):
            assert env.client.post(f"/l/{token}/{action}", data={}).status_code == 404
        with pytest.raises(action_links.LinkRefusedError) as refused:
            approvals.fire(env.wf, token, "sign_off")
        assert refused.value.why == "unknown"
        assert env.snap() == before
        found = verify(env.wf.db)
        assert found.exit_code == 1
        assert (f"Error: link {lid}: no signed event issued this link (links from #1 on are "
                "recorded as issued)") in found.stderr
        assert "audit chain OK" in found.stdout  # the chain itself is whole

    def test_named_without_the_audit_key_too(self, env: Env) -> None:
        """Once links are recorded, a row with no issuing event and a later id was written
        behind s55's back: verify says so without needing the key."""
        lid = plant(env.wf.db, secrets.token_urlsafe(32), PCC, env.rid)
        found = verify(env.wf.db, keyed=False)
        assert found.exit_code == 1
        assert f"Error: link {lid}: no signed event issued this link" in found.stderr


class TestAlteredBySql:
    def test_the_force_liaisons_link_turned_into_the_pccs_opens_nothing(self, env: Env) -> None:
        """The liaison's own link (a token they hold) pointed at the PCC, as a PCC link,
        live again: the row no longer agrees with the event that issued it, so it is
        unknown; verify names each field with the row's value and the log's."""
        token = tokens(env.wf, FORCE)[-1]
        link = env.wf.db.query(lambda s: s.scalars(select(ActionLink).where(
            ActionLink.token_hash == link_tokens.token_hash(token))).one())
        with env.wf.db.read() as s:
            pcc_id = s.execute(text("SELECT id FROM person WHERE email = :e"), {"e": PCC}
                               ).scalar()
            version = s.get(Response, env.rid).version  # type: ignore[union-attr]
        sql(env.wf.db, "UPDATE action_link SET person_id = :p, kind = 'pcc', state = "
            "'pcc_signoff', version = :v, used_at = NULL WHERE id = :i", p=pcc_id, v=version,
            i=link.id)
        before = env.snap()
        page = env.client.get(f"/l/{token}")
        assert (page.status_code, page.text) == (404, unknown_page(env))
        with pytest.raises(action_links.LinkRefusedError) as refused:
            approvals.edit_text(env.wf, token, "pcc_response", "Signed by someone else.")
        assert refused.value.why == "unknown"
        assert env.snap() == before
        found = verify(env.wf.db)
        assert found.exit_code == 1
        for line in (f"link {link.id}: person_id is {pcc_id} in the row but "
                     f"{link.person_id} by its events",
                     f"link {link.id}: kind is 'pcc' in the row but 'force' by its events",
                     f"link {link.id}: state is 'pcc_signoff' in the row but 'force_input' "
                     "by its events"):
            assert f"Error: {line}" in found.stderr

    def test_a_row_pointed_at_another_links_issuing_event_opens_nothing(self, env: Env
                                                                        ) -> None:
        """A planted row naming a real ``link_issued`` event that does not record it."""
        issued_by = sql(env.wf.db, "SELECT max(issue_event_id) FROM action_link")
        token = secrets.token_urlsafe(32)
        lid = plant(env.wf.db, token, PCC, env.rid, issue_event_id=issued_by)
        with pytest.raises(action_links.LinkRefusedError, match="not one s55 sent"):
            action_links.read(env.wf.db, env.wf.clock, token)
        assert (f"Error: link {lid}: no link_issued event records this link (the row names "
                f"event #{issued_by})") in verify(env.wf.db).stderr


class TestTheRecord:
    def test_each_link_is_in_a_signed_event_and_web_events_name_it(self, env: Env) -> None:
        """The PCC's link is recorded (who, which response, kind, state, version, expiry)
        in a signed ``link_issued`` event the row points at; the sign-off through it names
        the link; verify finds everything in order."""
        token = env.pcc_token()
        with env.wf.db.read() as s:
            link = s.scalars(select(ActionLink).where(
                ActionLink.token_hash == link_tokens.token_hash(token))).one()
            issuing = s.get(AuditEvent, link.issue_event_id)
        assert issuing is not None
        assert issuing.action == Action.LINK_ISSUED.value
        assert issuing.mac is not None
        record = json.loads(issuing.payload)["links"][0]
        assert (record["link"], record["to"], record["kind"], record["state"],
                record["version"], record["response"]) == (
            link.id, PCC, "pcc", "pcc_signoff", link.version, env.rid)
        assert record["expires_at"].startswith("2024-10-28T09:00:00")
        assert token not in issuing.payload
        form = env.form(f"/l/{token}")
        assert env.client.post(f"/l/{token}/sign-off", data=form).status_code == 303
        signed = sql(env.wf.db, "SELECT payload FROM audit_event WHERE trigger = 'sign_off'")
        assert f'"link":{link.id}' in signed
        found = verify(env.wf.db)
        assert found.exit_code == 0, found.output
        assert "people, links and sent mail OK" in found.stdout


# -- links from before links were recorded --------------------------------------------------

class IssuedBeforeRecords(action_links.Issuer):
    """Writes link rows as s55 did before each link was recorded in a signed event: the
    hash and the event that caused the mail, nothing else."""

    def write(self, session: Session, event: Any, outbox: Any) -> None:
        rows = []
        for row in self.pending:
            place, email = row.pop("place"), row.pop("email")
            token = link_tokens.token_for(self.ring, place, dedupe_key(event.id, email))
            rows.append({**row, "token_hash": link_tokens.token_hash(token),
                         "event_id": event.id})
        session.connection().execute(insert(ActionLink.__table__), rows)  # type: ignore[attr-defined]
        self.pending = []


def send_as_before(wf: Workflow, rid: int, email: str) -> str:
    """A fresh PCC link mailed as ``approvals.resend`` did before links were recorded;
    its token, as the mail delivers it."""
    now = wf.clock.now()

    def work(s: Session) -> None:
        response = s.get(Response, rid)
        assert response is not None
        person = s.execute(text("SELECT id, name, roles FROM person WHERE email = :e"),
                           {"e": email}).one()
        issuer = IssuedBeforeRecords(wf.settings, now, rid, response.state, response.version,
                                     origin="resend", kind="pcc", ring=s.info[KEYRING_KEY])
        prepared = prepare_messages(
            settings=wf.settings, now=now, kind="action_link", context={
                "opcc_name": wf.settings.opcc_name, "force": wf.settings.force,
                "link_days": wf.settings.link_days, "response_id": rid, "report_title": "x",
                "state": response.state, "deadline": response.deadline},
            recipients=[Recipient(person.name, email, ("pcc",), person_id=person.id)],
            response_id=rid, actor=email, reply_to=None, links=issuer)
        event = trail.append(s, at=now, actor=email, action=Action.LINK_SENT, response_id=rid,
                             payload={"kind": "pcc", "to": email},
                             by=trail.Provenance.here(Channel.WEB).known_as(Identity.LINK))
        write_prepared(s, prepared, event)

    wf.db.run(work)
    with wf.db.read() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "action_link")).one()
    return LINK.findall(as_delivered(wf.db, row)[0])[0]


@pytest.fixture
def before_records(keyed_db: Database, settings: Settings) -> tuple[Workflow, int]:
    """A response waiting for the PCC, on a database whose only personal link was issued
    before links were recorded (the mail of the steps before carried none)."""
    plain = Workflow(keyed_db, settings.model_copy(update={
        "audit_key_file": keyed_db.audit_key_file}))
    rid = norfolk(plain)
    plain.fire(rid, "request_force_input", ADMIN)
    answer_all(plain, rid)
    plain.fire(rid, "submit_force_input", FORCE)
    content.edit_text(plain, rid, "pcc_response", "I welcome the report.", PCC)
    return Workflow(keyed_db, plain.settings.model_copy(update={"base_url": BASE})), rid


class TestIssuedBeforeRecords:
    def test_such_a_link_still_works_and_verifies(self, before_records: Any) -> None:
        """No issuing event, but its token derives from the key through the mail its
        cause event queued: it opens, signs off, and verify calls nothing forged."""
        wf, rid = before_records
        token = send_as_before(wf, rid, PCC)
        assert sql(wf.db, "SELECT count(*) FROM audit_event WHERE action = 'link_issued'") == 0
        assert action_links.read(wf.db, wf.clock, token).person_email == PCC
        assert approvals.fire(wf, token, "sign_off").state == "forwarded_to_panel"
        found = verify(wf.db)
        assert found.exit_code == 0, found.output
        assert "people, links and sent mail OK" in found.stdout

    def test_a_planted_row_looking_like_one_is_refused_and_named(
            self, before_records: Any, tmp_path: Path) -> None:
        """A row with no issuing event whose token derives from no mail s55 queued:
        refused; verify names it with the key, and without it says what it could not
        check; once a link is recorded, a later planted row is named without the key."""
        wf, rid = before_records
        send_as_before(wf, rid, PCC)
        token = secrets.token_urlsafe(32)
        lid = plant(wf.db, token, PCC, rid)
        before = snapshot(wf)
        with pytest.raises(action_links.LinkRefusedError, match="not one s55 sent"):
            approvals.fire(wf, token, "sign_off")
        assert snapshot(wf) == before
        keyed = verify(wf.db)
        assert keyed.exit_code == 1
        assert (f"Error: link {lid}: no signed event issued this link, and its token derives "
                "from no mail its cause event queued") in keyed.stderr
        unkeyed = verify(wf.db, keyed=False)
        assert unkeyed.exit_code == 0, unkeyed.output
        assert "links: 2 issued before links were recorded in the log not checked" in \
            unkeyed.stdout
        wf.fire(rid, "return_to_force", PCC, reason="Recommendation 4 needs a date.")
        later = plant(wf.db, secrets.token_urlsafe(32), PCC, rid)
        assert f"Error: link {later}: no signed event issued this link" in \
            verify(wf.db, keyed=False).stderr
