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
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from states import BY_TRIGGER, TRIGGERS, Param, Role, State, TransitionSpec
from states.deadlines import default_force_input_due
from states.guards import RecommendationView, Snapshot
from states.machine import fire as machine_fire
from workflow import audit
from workflow.audit import Action
from workflow.clock import Clock, SystemClock, london_today
from workflow.config import Settings
from workflow.errors import (
    GuardError,
    InvalidInputError,
    MissingReasonError,
    NotFoundError,
    RoleError,
    StaleVersionError,
    TriggerNotAllowedError,
    UnknownTriggerError,
)
from workflow.inputs import check_url, parse_date
from workflow.storage.db import Database
from workflow.storage.models import InspectionReport, Person, Recommendation, Response


@dataclass(frozen=True)
class Loaded:
    """A response with what the guards and mail need, loaded in one transaction."""

    response: Response
    report: InspectionReport
    recommendations: list[Recommendation]

    @property
    def state(self) -> State:
        return State(self.response.state)

    def snapshot(self) -> Snapshot:
        return Snapshot(
            pcc_response=self.response.pcc_response,
            recommendations=[
                RecommendationView(r.number, r.force_response, r.pcc_note)
                for r in self.recommendations
            ],
        )


def load(session: Session, response_id: int) -> Loaded:
    """A response with its report and recommendations (``NotFoundError`` if absent)."""
    row = session.execute(
        select(Response, InspectionReport)
        .join(InspectionReport, col(InspectionReport.id) == col(Response.report_id))
        .where(col(Response.id) == response_id)
    ).first()
    if row is None:
        raise NotFoundError("response", response_id)
    response, report = row
    recs = list(
        session.scalars(
            select(Recommendation)
            .where(col(Recommendation.response_id) == response_id)
            .order_by(col(Recommendation.number))
        )
    )
    return Loaded(response, report, recs)


def find_person(session: Session, email: str) -> Person | None:
    return session.scalars(
        select(Person).where(col(Person.email) == email.strip().lower())).first()


def person_by_email(session: Session, email: str) -> Person:
    person = find_person(session, email)
    if person is None:
        raise NotFoundError("person", email)
    return person


def require_role(person: Person, roles: frozenset[Role] | set[Role], action: str) -> None:
    if not roles.intersection(Role(r) for r in person.roles):
        raise RoleError(person.email, action, [r.value for r in roles], person.roles)


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


def bump(session: Session, loaded: Loaded, **values: Any) -> None:
    """Compare-and-set: write ``values`` only if the row is still at the loaded version."""
    row = loaded.response
    # A Core statement on the session's connection (no ORM bookkeeping needed: the
    # loaded object is brought in step below).
    result = session.connection().execute(
        update(Response)
        .where(col(Response.id) == row.id, col(Response.version) == row.version)
        .values(version=row.version + 1, **values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        # Another writer committed between our load and this update (PostgreSQL waits
        # for its row lock, then finds the version moved on).
        raise StaleVersionError(row.id or 0, row.version, None)
    # Keep the loaded object in step with what we wrote, without another round trip.
    for key, value in {"version": row.version + 1, **values}.items():
        set_committed_value(row, key, value)


class Workflow:
    """Everything that changes a response; each public method is one transaction."""

    def __init__(self, db: Database, settings: Settings, clock: Clock | None = None) -> None:
        self.db, self.settings, self.clock = db, settings, clock or SystemClock()

    # -- what may happen now ------------------------------------------------------------

    def allowed_triggers(self, loaded: Loaded, person: Person | None) -> list[str]:
        """Triggers that start from the current state and that ``person`` may fire."""
        held = {Role(r) for r in person.roles} if person else set(Role)
        return [
            t.trigger
            for t in BY_TRIGGER.values()
            if loaded.state in t.sources and t.roles & held
        ]

    # -- transitions ---------------------------------------------------------------------

    def fire(
        self,
        response_id: int,
        trigger: str,
        actor: str,
        *,
        reason: str | None = None,
        params: Mapping[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> Response:
        """Fire ``trigger`` on one response as ``actor``; returns the moved row."""
        spec = BY_TRIGGER.get(trigger)
        if spec is None:
            raise UnknownTriggerError(trigger, TRIGGERS)
        return self.db.run(lambda session: self._fire(session, spec, response_id, actor,
                                                      reason, params, expected_version))

    def _fire(self, session: Session, spec: TransitionSpec, response_id: int, actor: str,
              reason: str | None, params: Mapping[str, Any] | None,
              expected_version: int | None) -> Response:
        """The body of ``fire``: one attempt inside one transaction (may run again)."""
        trigger = spec.trigger
        person = person_by_email(session, actor)
        loaded = load(session, response_id)
        check_version(loaded, expected_version)
        self._check(spec, loaded, person, reason)
        values = self._parameters(spec, loaded, dict(params or {}))
        if spec.dest is State.NOT_REQUIRED:
            values["closed_reason"] = _clean_reason(reason)
        dest = machine_fire(loaded.state, trigger, loaded.snapshot())
        if dest is None:  # the machine's own guard verdict; _check should have caught it
            raise GuardError(response_id, trigger, loaded.state.value, ["a guard refused"])
        now = self.clock.now()
        from_state = loaded.state.value
        bump(session, loaded, state=dest.value, updated_at=now, **values)
        # Mail is rendered and checked before the audit append: the append takes the
        # chain lock, held to the commit, so only the writes happen under it.
        from workflow.mail import queue as mail  # lazily: read-only commands never load Jinja

        batches = mail.prepare_for_transition(
            session, settings=self.settings, now=now, response=loaded.response,
            report=loaded.report, trigger=trigger, actor_email=person.email,
            reason=_clean_reason(reason), recommendations=loaded.recommendations,
            actor_name=person.name)
        event = audit.append(
            session, at=now, actor=person.email, action=Action.TRANSITION,
            response_id=response_id, trigger=trigger, from_state=from_state,
            to_state=dest.value, reason=_clean_reason(reason),
            payload={k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()},
        )
        for batch in batches:
            mail.write_prepared(session, batch, event)
        return loaded.response

    def _check(self, spec: TransitionSpec, loaded: Loaded, person: Person,
               reason: str | None) -> None:
        rid = loaded.response.id or 0
        if loaded.state not in spec.sources:
            allowed = self.allowed_triggers(loaded, person)
            raise TriggerNotAllowedError(rid, spec.trigger, loaded.state.value, allowed)
        require_role(person, spec.roles, f"{spec.trigger} response {rid}")
        if spec.needs_reason and _clean_reason(reason) is None:
            raise MissingReasonError(spec.trigger, rid)
        problems = [p for g in spec.guards if (p := g.problem(loaded.snapshot())) is not None]
        if problems:
            raise GuardError(rid, spec.trigger, loaded.state.value, problems)

    def _parameters(self, spec: TransitionSpec, loaded: Loaded,
                    params: dict[str, Any]) -> dict[str, Any]:
        """Validate the trigger's parameters into column values."""
        known = {p.value for p in spec.required + spec.optional}
        unknown = sorted(set(k for k, v in params.items() if v is not None) - known)
        if unknown:
            raise InvalidInputError(spec.trigger, f"does not take {', '.join(unknown)}")
        for p in spec.required:
            if not params.get(p.value) or not str(params[p.value]).strip():
                raise InvalidInputError(spec.trigger, f"needs {p.value.replace('_', ' ')} "
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
            values["portal_reference"] = str(params[Param.PORTAL_REFERENCE]).strip()
        return values

    def _force_input_due(self, row: Response, params: Mapping[str, Any], today: date) -> date:
        raw = params.get(Param.FORCE_INPUT_DUE)
        if raw is None:
            return default_force_input_due(row.deadline, today,
                                           self.settings.force_input_days_before)
        due = parse_date(raw, "force input due date")
        if due < today:
            raise InvalidInputError("force input due date", f"{due} is in the past")
        if due > row.deadline:
            raise InvalidInputError("force input due date",
                                    f"{due} is after the Section 55 deadline {row.deadline}")
        return due

    def _published_on(self, loaded: Loaded, params: Mapping[str, Any], today: date) -> date:
        raw = params.get(Param.PUBLISHED_ON)
        day = today if raw is None else parse_date(raw, "published on")
        if day > today:
            raise InvalidInputError("published on", f"{day} is in the future")
        if day < loaded.report.published_on:
            raise InvalidInputError("published on", f"{day} is before the report itself was "
                                    f"published ({loaded.report.published_on})")
        return day
