"""The transition service: one database transaction per trigger.

Load the row, check its version, the actor's role, the source state, the parameters
and the guards, move the state with a compare-and-set on the version, append the
audit event, queue the mail, commit. Nothing leaves the process before the commit;
a refusal raises before anything is written, and the transaction rolls back. A
transient database fault (deadlock, serialization failure, connection lost before the
commit) runs the whole transaction again (``Database.run``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from states import BY_TRIGGER, TRIGGERS, Param, Role, State, TransitionSpec, allowed_triggers
from states.deadlines import default_force_input_due
from states.machine import fire as machine_fire
from states.words import long_date, trigger_do
from workflow.audit import trail
from workflow.audit.words import Action, Channel
from workflow.core.characters import check_visible
from workflow.core.checks import check_portal_reference, check_url, parse_date
from workflow.core.clock import Clock, SystemClock, london_today
from workflow.core.errors import (
    GuardError,
    IdentityError,
    InvalidInputError,
    MissingReasonError,
    RoleError,
    SeparationOfDutiesError,
    StaleVersionError,
    TriggerNotAllowedError,
    UnknownTriggerError,
)
from workflow.core.limits import check_length
from workflow.core.settings import Settings
from workflow.identity.acting import Acting, Identifier, as_deputy, on_behalf
from workflow.identity.office import in_force
from workflow.storage.db import Database
from workflow.storage.loading import Loaded, read
from workflow.storage.models import AuditEvent, Person, Response
from workflow.storage.tables import RESPONSE

if TYPE_CHECKING:
    from workflow.mail.compose import Signed

__all__ = ["Workflow", "bump", "check_version", "require_role"]


def require_role(person: Person, roles: frozenset[Role] | set[Role], action: str,
                 actor: str | None = None) -> None:
    """``person`` holds one of ``roles`` (``actor``: who is named as refused, when an admin
    acts for ``person``)."""
    if not roles.intersection(Role(r) for r in person.roles):
        who = person.email if actor is None else f"{actor} (for {person.email})"
        raise RoleError(who, action, [r.value for r in roles], person.roles)


def _doing(spec: TransitionSpec, loaded: Loaded) -> str:
    """``record the publication of response 1``: what a refused trigger was to do."""
    return trigger_do(spec.trigger, f"response {loaded.response.id}")


def _clean_reason(reason: str | None) -> str | None:
    return reason.strip() if reason and reason.strip() else None


def check_version(loaded: Loaded, expected_version: int | None) -> None:
    """The caller acted on what it saw at ``expected_version``: refuse if that is gone.

    Checked before anything else, since every other verdict is about a row the caller
    has not seen.
    """
    row = loaded.response
    if expected_version is not None and expected_version != row.version:
        raise StaleVersionError(row.id or 0, expected_version, row.version)


_RESPONSE: Any = RESPONSE


@lru_cache(maxsize=64)
def _compare_and_set(columns: frozenset[str]) -> Any:
    """UPDATE response SET version and ``columns`` WHERE id and version match (bound
    parameters ``rid``, ``old``, ``new`` and ``set_<column>``)."""
    c = _RESPONSE.c
    return (update(_RESPONSE)
            .where(c.id == bindparam("rid"), c.version == bindparam("old"))
            .values(version=bindparam("new"),
                    **{k: bindparam(f"set_{k}", type_=c[k].type) for k in sorted(columns)}))


def bump(session: Session, loaded: Loaded, **values: Any) -> None:
    """Compare-and-set: write ``values`` only if the row is still at the loaded version."""
    row = loaded.response
    # A Core statement on the session's connection (no ORM bookkeeping needed: the
    # loaded object is brought in step below), built once per set of columns.
    result = session.connection().execute(
        _compare_and_set(frozenset(values)),
        {"rid": row.id, "old": row.version, "new": row.version + 1,
         **{f"set_{k}": v for k, v in values.items()}})
    if result.rowcount != 1:
        # Another writer committed between our load and this update (PostgreSQL waits
        # for its row lock, then finds the version moved on).
        raise StaleVersionError(row.id or 0, row.version, None)
    # Keep the loaded object in step with what we wrote, without another round trip.
    for key, value in {"version": row.version + 1, **values}.items():
        set_committed_value(row, key, value)


class Workflow:
    """Everything that changes a response; each public method is one transaction.

    ``identifier`` says how this process knows who acts (the identity mode it asks for,
    which the database's decides, and the channel, account and host every event records);
    by default the command line of this process.
    """

    def __init__(self, db: Database, settings: Settings, clock: Clock | None = None,
                 identifier: Identifier | None = None) -> None:
        self.db, self.settings, self.clock = db, settings, clock or SystemClock()
        self.identifier = identifier or Identifier.here(settings.identity, Channel.CLI)

    # -- who is acting -------------------------------------------------------------------

    def acting(self, session: Session, actor: str | None, *, on_behalf_of: str | None = None,
               reason: str | None = None, action: str = "act") -> Acting:
        """The active person acting (and whom for), inside the caller's transaction."""
        acting = self.identifier.resolve(session, actor)
        if on_behalf_of:
            acting = on_behalf(session, acting, on_behalf_of, reason, action)
        return acting

    def identify(self, actor: str | None) -> Acting:
        """``acting`` in a transaction of its own (for work that is not a transition)."""
        return self.db.query(lambda s: self.acting(s, actor))

    # -- what may happen now ------------------------------------------------------------

    def allowed_triggers(self, loaded: Loaded, person: Person | None) -> list[str]:
        """Triggers that start from the current state and that ``person`` may fire."""
        if person is None:
            return allowed_triggers(loaded.state, None)
        return allowed_triggers(loaded.state, person.roles, active=person.active)

    # -- transitions ---------------------------------------------------------------------

    def fire(
        self,
        response_id: int,
        trigger: str,
        actor: str | None,
        *,
        reason: str | None = None,
        params: Mapping[str, Any] | None = None,
        expected_version: int | None = None,
        on_behalf_of: str | None = None,
        expected_fingerprint: str | None = None,
    ) -> Response:
        """Fire ``trigger`` on one response as ``actor``; returns the moved row.

        ``on_behalf_of``: an admin acting for that person (needs ``reason``; never for
        ``sign_off``, the PCC's own act or their deputy's under a delegation).
        ``expected_fingerprint``: for ``sign_off``, the fingerprint of the text the signer
        was shown; refused (``SignedTextChangedError``) unless the text signed has it.
        """
        spec = BY_TRIGGER.get(trigger)
        if spec is None:
            raise UnknownTriggerError(trigger, TRIGGERS)
        if reason:
            check_visible(check_length(reason, "reason", "--reason"), "--reason")
        if on_behalf_of and spec.trigger == "sign_off":
            raise IdentityError("sign_off cannot be done on behalf of someone: it is the PCC's "
                                "own act (a PCC may delegate it to a deputy: `s55 people "
                                "delegate`)")
        taken: list[Any] = []  # the checkpoint a sign-off or publication took
        moved = self.db.run(lambda session: self._fire(session, spec, response_id, actor,
                                                       reason, params, expected_version,
                                                       on_behalf_of, expected_fingerprint,
                                                       taken))
        if taken and taken[-1] is not None:
            from workflow.responses import checkpoint

            checkpoint.file(self.settings, taken[-1])
        return moved

    def _fire(self, session: Session, spec: TransitionSpec, response_id: int,
              actor: str | None, reason: str | None, params: Mapping[str, Any] | None,
              expected_version: int | None, on_behalf_of: str | None,
              expected_fingerprint: str | None = None, taken: list[Any] | None = None
              ) -> Response:
        """The body of ``fire``: one attempt inside one transaction (may run again)."""
        trigger = spec.trigger
        acting = self.acting(session, actor, on_behalf_of=on_behalf_of, reason=reason,
                             action=trigger)
        loaded = read(session, response_id)  # written by bump's compare-and-set only
        check_version(loaded, expected_version)
        acting, extra = self._check(session, spec, loaded, acting, reason)
        values = self._parameters(spec, loaded, dict(params or {}))
        if spec.dest is State.NOT_REQUIRED:
            values["closed_reason"] = _clean_reason(reason)
        dest = machine_fire(loaded.state, trigger, loaded.snapshot())
        if dest is None:  # the machine's own guard verdict; _check should have caught it
            raise GuardError(response_id, trigger, loaded.state.value, ["a guard refused"])
        signed = self._seal(session, spec, loaded, acting, extra, expected_fingerprint)
        now = self.clock.now()
        from_state = loaded.state.value
        bump(session, loaded, state=dest.value, updated_at=now, **values)
        # Mail is rendered and checked before the audit append: the append takes the
        # chain lock, held to the commit, so only the writes happen under it.
        from workflow.links import action_links  # lazily, as the mail it gives links to
        from workflow.mail import compose, outbox  # lazily: read-only commands never load Jinja

        # Whoever the mail asks to act next gets their own link, issued here.
        issuer = action_links.issuer(session, self.settings, now, response_id, dest.value,
                              loaded.response.version)
        batches = compose.prepare_for_transition(
            session, settings=self.settings, now=now, response=loaded.response,
            report=loaded.report, trigger=trigger, actor_email=acting.email,
            reason=_clean_reason(reason), recommendations=loaded.recommendations,
            actor_name=acting.person.name, signature=signed.line if signed else None,
            links=issuer, signed=signed)
        payload = {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}
        event = trail.append(
            session, at=now, actor=acting.email, action=Action.TRANSITION,
            response_id=response_id, trigger=trigger, from_state=from_state,
            to_state=dest.value, reason=_clean_reason(reason), payload={**payload, **extra},
            by=acting.by,
        )
        for batch in batches:
            outbox.write_prepared(session, batch, event)
        if taken is not None:
            taken[:] = [self._checkpoint(session, trigger, now, acting)]
        return loaded.response

    def _checkpoint(self, session: Session, trigger: str, now: datetime, acting: Acting) -> Any:
        """After a sign-off or a publication, a checkpoint covering it, mailed to the
        auditors in this transaction (``workflow.responses.checkpoint``); else None."""
        from workflow.responses import checkpoint  # the mail it sends: lazily

        if trigger not in checkpoint.CHECKPOINTED:
            return None
        return checkpoint.after(session, self.settings, now, acting.by)

    def _check(self, session: Session, spec: TransitionSpec, loaded: Loaded, acting: Acting,
               reason: str | None) -> tuple[Acting, dict[str, Any]]:
        """Refuse the trigger unless state, role, reason, duties and guards allow it; the
        acting person (a deputy signs off for their PCC) and what the event adds."""
        rid = loaded.response.id or 0
        if loaded.state not in spec.sources:
            allowed = self.allowed_triggers(loaded, acting.roles_of)
            raise TriggerNotAllowedError(rid, spec.trigger, loaded.state.value, allowed)
        acting, extra = self._authorise(session, spec, rid, acting)
        if spec.needs_reason and _clean_reason(reason) is None:
            raise MissingReasonError(spec.trigger, rid)
        if spec.trigger == "sign_off":
            # The sign-off records the checks it was made under (the database's settings).
            office = in_force(session, self.settings)
            extra.update({"identity_mode": office.identity,
                          "separation_of_duties": office.separation_of_duties})
            if office.separation_of_duties:
                self._separate(session, rid, acting)
        problems = [p for g in spec.guards if (p := g.problem(loaded.snapshot())) is not None]
        if problems:
            raise GuardError(rid, spec.trigger, loaded.state.value, problems)
        return acting, extra

    def _authorise(self, session: Session, spec: TransitionSpec, rid: int,
                   acting: Acting) -> tuple[Acting, dict[str, Any]]:
        action = trigger_do(spec.trigger, f"response {rid}")
        if spec.trigger == "sign_off":
            # PRSRA 2011 s18: the deputy signs off in the PCC's place while it runs.
            acting = as_deputy(session, acting, spec.roles, london_today(self.clock))
        require_role(acting.roles_of, spec.roles, action,
                     actor=acting.email if acting.principal is not None else None)
        return acting, acting.under_delegation

    def _separate(self, session: Session, rid: int, acting: Acting) -> None:
        """Separation of duties at sign-off, within the current round (since the
        response was last sent to the force from draft): not the person who submitted
        the force's comments. (Whoever sent it back to the force for more may sign the
        improved comments: that is what a PCC does.)"""
        rows = session.scalars(select(AuditEvent).where(
            col(AuditEvent.response_id) == rid, col(AuditEvent.action) == Action.TRANSITION,
            col(AuditEvent.trigger).in_(("request_force_input", "submit_force_input")))
            .order_by(col(AuditEvent.id))).all()
        starts = [i for i, e in enumerate(rows) if e.trigger == "request_force_input"]
        rows = rows[starts[-1] + 1:] if starts else list(rows)
        me = acting.email
        for e in rows:
            if e.trigger == "submit_force_input" and me in (e.actor, e.on_behalf_of):
                raise SeparationOfDutiesError(me, "sign_off", rid, "submitted the force's "
                                              f"comments (event #{e.id})")

    def _seal(self, session: Session, spec: TransitionSpec, loaded: Loaded, acting: Acting,
              extra: dict[str, Any], shown: str | None = None) -> Signed | None:
        """At sign-off, fingerprint the text as it will be published (into ``extra``),
        refusing one other than the text ``shown`` (a fingerprint), if given; at publish,
        refuse a text that differs from the one signed. The sign-off as made (its signature
        line, the text as signed), or None."""
        if spec.trigger not in ("sign_off", "publish"):
            return None
        from workflow.documents import signature as sig  # Jinja and the templates: lazily

        if spec.trigger == "publish":
            sig.check_unchanged(session, loaded)
            return None
        text, seal = sig.sealed_text(session, loaded)
        extra.update({**seal, "signed_version": loaded.response.version,
                      # Kept so the document names who signed as they were named then.
                      "signer_name": acting.person.name})
        if acting.delegation is not None and acting.principal is not None:
            extra["for_name"] = acting.principal.name
        if shown is not None and shown != extra["fingerprint"]:
            raise sig.SignedTextChangedError(loaded.response.id or 0, shown, extra["fingerprint"])
        from workflow.documents.signoff import line as sign_off_line
        from workflow.mail.compose import Signed

        line = sign_off_line(acting.person.name, extra.get("for_name"), extra,
                             self.clock.now())
        pcc = acting.principal if acting.delegation is not None else None
        return Signed(acting.person, pcc, acting.delegation, text, seal["fingerprint"], line)

    def _parameters(self, spec: TransitionSpec, loaded: Loaded,
                    params: dict[str, Any]) -> dict[str, Any]:
        """Validate the trigger's parameters into column values."""
        known = {p.value for p in spec.required + spec.optional}
        unknown = sorted(set(k for k, v in params.items() if v is not None) - known)
        if unknown:
            raise InvalidInputError(_doing(spec, loaded), f"does not take {', '.join(unknown)}")
        for p in spec.required:
            if not params.get(p.value) or not str(params[p.value]).strip():
                raise InvalidInputError(_doing(spec, loaded), f"needs {p.value.replace('_', ' ')} "
                                        f"(--{p.value.replace('_', '-')})")
        today = london_today(self.clock)
        row = loaded.response
        values: dict[str, Any] = {}
        if Param.FORCE_INPUT_DUE in spec.optional:
            values["force_input_due"] = self._force_input_due(row, params, today)
        if spec.trigger == "publish":
            values["published_url"] = check_url(params[Param.URL])
            values["published_on"] = self._published_on(loaded, params, today)
        if spec.trigger == "submit_to_portal":
            values["portal_reference"] = check_portal_reference(
                str(params[Param.PORTAL_REFERENCE]))
        return values

    def _force_input_due(self, row: Response, params: Mapping[str, Any], today: date) -> date:
        raw = params.get(Param.FORCE_INPUT_DUE)
        if raw is None:
            return default_force_input_due(row.deadline, today,
                                           self.settings.force_input_days_before)
        due = parse_date(raw, "force input due date")
        if due < today:
            raise InvalidInputError("force input due date",
                                    f"{long_date(due)} is in the past")
        if due > row.deadline:
            raise InvalidInputError("force input due date",
                                    f"{long_date(due)} is after the statutory deadline, "
                                    f"{long_date(row.deadline)}")
        return due

    def _published_on(self, loaded: Loaded, params: Mapping[str, Any], today: date) -> date:
        raw = params.get(Param.PUBLISHED_ON)
        day = today if raw is None else parse_date(raw, "published on")
        if day > today:
            raise InvalidInputError("published on", f"{long_date(day)} is in the future")
        if day < loaded.report.published_on:
            raise InvalidInputError("published on", f"{long_date(day)} is before the report "
                                    "itself was published "
                                    f"({long_date(loaded.report.published_on)})")
        return day
