"""Registering people and reports, editing a response's content, overriding its deadline.

Each public function is one transaction with its audit event (run through
``Database.run``, so a transient database fault retries it); refusals raise before
anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from states import EDITABLE, FINAL, Role, State
from states.deadlines import MilestonePolicy, statutory_deadline
from states.words import field_words
from workflow.audit import trail
from workflow.audit.trail import Provenance
from workflow.audit.words import Action
from workflow.core.checks import (
    RecommendationInput,
    ReportInput,
    check_publication_date,
    check_text,
    parse_date,
    validate,
)
from workflow.core.clock import london_today
from workflow.core.errors import (
    DuplicateError,
    InvalidInputError,
    MissingReasonError,
    NotEditableError,
    NotFoundError,
    ResponseClosedError,
)
from workflow.identity.acting import Acting, as_deputy
from workflow.identity.office import in_force
from workflow.responses import duplicates
from workflow.responses.service import Workflow, bump, check_version, require_role
from workflow.storage.loading import Loaded, load
from workflow.storage.models import (
    AreaForImprovement,
    AuditEvent,
    InspectionReport,
    Recommendation,
    Response,
)

__all__ = [
    "add_recommendation", "add_report", "edit_area", "edit_recommendation", "edit_report",
    "edit_text", "override_deadline", "register"
]

#: Response fields an officer edits as text, and who may edit each.
TEXT_FIELDS: dict[str, frozenset[Role]] = {
    "key_findings": frozenset({Role.ADMIN}),
    "cc_response": frozenset({Role.ADMIN, Role.FORCE}),
    "pcc_response": frozenset({Role.ADMIN, Role.PCC}),
    "afi_statement": frozenset({Role.ADMIN}),
}
#: Per-recommendation fields, and who may edit each.
RECOMMENDATION_FIELDS: dict[str, frozenset[Role]] = {
    "force_response": frozenset({Role.ADMIN, Role.FORCE}),
    "pcc_note": frozenset({Role.ADMIN, Role.PCC}),
}
#: Per-area-for-improvement fields, and who may edit each.
AREA_FIELDS: dict[str, frozenset[Role]] = {
    "force_response": frozenset({Role.ADMIN, Role.FORCE}),
}


def sealed(s: Session, response_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with the fingerprint of the response as this transaction leaves it
    (the one fingerprint sign-off records): replay checks it after every content change."""
    from workflow.documents import signature  # Jinja and the templates: lazily

    s.flush()
    return {**payload, **signature.seal(s, response_id)}


def milestones(wf: Workflow) -> MilestonePolicy:
    return MilestonePolicy(wf.settings.force_input_days_before, wf.settings.signoff_days_before)


def add_report(wf: Workflow, report_in: ReportInput, actor: str | None, *,
               again: str | None = None) -> Response:
    """Register a report and open its Section 55 response in ``draft``.

    A second response of the force to the same report is refused
    (``duplicates.check_new_response``) unless ``again`` gives the reason, which the
    ``created`` event keeps.
    """
    report_in.check_unique_numbers()
    check_publication_date(report_in.published_on, london_today(wf.clock))

    def work(s: Session) -> Response:
        acting = wf.acting(s, actor)
        person = acting.person
        require_role(person, {Role.ADMIN}, "register reports")
        # The office's force (the database's) unless the report names another.
        force = (report_in.force or in_force(s, wf.settings).force_or_refuse()).strip()
        again_of = duplicates.check_new_response(
            s, force=force, title=report_in.title, published_on=report_in.published_on,
            link=report_in.link, again=again)
        return register(wf, s, report_in, force=force, actor=person.email, by=acting.by,
                        reason=again, extra={"again_of": again_of})[0]

    return wf.db.run(work)


def register(wf: Workflow, s: Session, report_in: ReportInput, *, force: str, actor: str,
             by: Provenance, reason: str | None = None,
             extra: dict[str, Any] | None = None) -> tuple[Response, AuditEvent]:
    """Write the report, its response in ``draft`` and the ``created`` event (``extra``
    added to its payload), in the caller's transaction, once the caller has checked who
    acts and the duplicate-report rule; the response and the event."""
    deadline = statutory_deadline(report_in.published_on)
    now = wf.clock.now()
    report = InspectionReport(
        title=report_in.title, published_on=report_in.published_on,
        publication_types=report_in.publication_types,
        police_forces=report_in.police_forces, link=report_in.link,
        link_label=report_in.link_label, created_at=now,
    )
    s.add(report)
    s.flush()
    response = Response(
        report_id=report.id or 0, force=force, state=State.DRAFT.value, deadline=deadline,
        signoff_due=milestones(wf).signoff_due(deadline), key_findings=report_in.key_findings,
        cc_response=report_in.cc_response, pcc_response=report_in.pcc_response,
        afi_statement=report_in.afi_statement,
        recommendations_intro=report_in.recommendations_intro, created_at=now, updated_at=now,
    )
    s.add(response)
    s.flush()
    rid = response.id or 0
    s.add_all(Recommendation(response_id=rid, **r.model_dump())
              for r in report_in.recommendations)
    s.add_all(AreaForImprovement(response_id=rid, **a.model_dump())
              for a in report_in.areas_for_improvement)
    event = trail.append(s, at=now, actor=actor, action=Action.CREATED, response_id=rid,
                         to_state=State.DRAFT.value, reason=reason,
                         payload=sealed(s, rid, {
                             "report": report_in.model_dump(mode="json"),
                             "report_id": report.id, "force": force,
                             "deadline": deadline.isoformat(),
                             "signoff_due": response.signoff_due.isoformat(),
                             **(extra or {})}), by=by)
    return response, event


def check_editable(wf: Workflow, s: Session, response_id: int, actor: str | None,
              roles: frozenset[Role], what: str, expected_version: int | None = None, *,
              on_behalf_of: str | None = None, reason: str | None = None
              ) -> tuple[Acting, Loaded]:
    """The acting person (the admin acting for someone, or the PCC's deputy under a
    delegation running today, for what the PCC may edit) may edit ``what`` now; what the
    event records of a deputy is ``acting.under_delegation``."""
    acting = wf.acting(s, actor, on_behalf_of=on_behalf_of, reason=reason,
                       action=f"{what} edited")
    loaded = load(s, response_id)
    check_version(loaded, expected_version)
    acting = as_deputy(s, acting, roles, london_today(wf.clock))
    require_role(acting.roles_of, roles, f"edit {what} of response {response_id}",
                 actor=acting.email if acting.principal else None)
    if loaded.state not in EDITABLE:
        raise NotEditableError(response_id, loaded.state.value, what)
    return acting, loaded


def _reason(reason: str | None) -> str | None:
    return reason.strip() if reason and reason.strip() else None


def edit_text(wf: Workflow, response_id: int, field: str, value: str, actor: str | None,
              *, expected_version: int | None = None, on_behalf_of: str | None = None,
              reason: str | None = None) -> Response:
    """Replace one text section of a response (an ``edited`` event carries the new text)."""
    roles = TEXT_FIELDS.get(field)
    if roles is None:
        raise InvalidInputError("field", f"{field!r} is not editable; fields: "
                                f"{', '.join(TEXT_FIELDS)}")

    def change(s: Session, loaded: Loaded, now: datetime, text: str | None) -> Response:
        bump(s, loaded, updated_at=now, **{field: text})
        return loaded.response

    edited: Response = _edit(wf, response_id, field, value, actor, roles,
                             field_words(field), change, {},
                             expected_version=expected_version, on_behalf_of=on_behalf_of,
                             reason=reason)
    return edited


def _edit(wf: Workflow, response_id: int, field: str, value: str, actor: str | None,
          roles: frozenset[Role], what: str,
          change: Callable[[Session, Loaded, datetime, str | None], Any],
          about: dict[str, Any], *, expected_version: int | None,
          on_behalf_of: str | None, reason: str | None) -> Any:
    """One edit of ``field`` (``what``, in words) by someone holding one of ``roles``:
    ``change`` stores the new text (None for an empty one) and returns what the edit
    returns; one ``edited`` event carries the text, with ``about`` (which item)."""
    check_text(value, field)

    def work(s: Session) -> Any:
        acting, loaded = check_editable(wf, s, response_id, actor, roles, what,
                                        expected_version, on_behalf_of=on_behalf_of,
                                        reason=reason)
        now = wf.clock.now()
        text = value.strip() or None
        changed = change(s, loaded, now, text)
        trail.append(s, at=now, actor=acting.email, action=Action.EDITED,
                     response_id=response_id, reason=_reason(reason),
                     payload=sealed(s, response_id, {**about, "field": field, "value": text,
                                                     **acting.under_delegation}),
                     by=acting.by)
        return changed

    return wf.db.run(work)


#: The report's own fields, editable by an admin while its response is open.
REPORT_FIELDS: tuple[str, ...] = ("title", "link", "publication_types", "police_forces")


def check_report_field(field: str, value: str) -> str:
    """``value`` as ``report add`` would store it in ``field`` (the same ``ReportInput``
    rules), else one ``InvalidInputError`` naming the field."""
    if field not in REPORT_FIELDS:
        raise InvalidInputError("field", f"{field!r} is not a report field; fields: "
                                f"{', '.join(REPORT_FIELDS)}")
    # The other fields get values the rules accept, so only ``field`` is judged.
    data: dict[str, object] = {"title": "-", "published_on": date(2020, 1, 1), field: value}
    checked: str = getattr(validate(ReportInput, data), field)
    return checked


def _check_sharers(s: Session, loaded: Loaded, what: str) -> None:
    """Refuse to change a report that another force's response, signed off, states (two
    forces' imports of one document share its report row)."""
    rid = loaded.response.id
    others = s.execute(select(col(Response.id), col(Response.state)).where(
        col(Response.report_id) == loaded.report.id, col(Response.id) != rid)).all()
    for other, state in others:
        if State(state) not in EDITABLE and state != State.NOT_REQUIRED:
            raise NotEditableError(other or 0, state, f"{what} (shared with response {rid})")


def edit_report(wf: Workflow, response_id: int, field: str, value: str, actor: str | None, *,
                expected_version: int | None = None, reason: str | None = None) -> Response:
    """Correct the report's title, link, publication types or forces (admins) while its
    response is open: the response's version goes up and an ``edited`` event carries the
    field, the new value and the old. A closed response is refused, changing nothing.
    Returns the response (its new version)."""
    new = check_report_field(field, value)

    def work(s: Session) -> Response:
        acting = wf.acting(s, actor)
        loaded = load(s, response_id)
        check_version(loaded, expected_version)
        require_role(acting.person, {Role.ADMIN}, f"edit the report of response {response_id}")
        what = f"the report's {field.replace('_', ' ')}"
        if loaded.state in FINAL:
            raise ResponseClosedError(response_id, loaded.state.value, what)
        if loaded.state not in EDITABLE:  # the signed text states the report's fields
            raise NotEditableError(response_id, loaded.state.value, what)
        _check_sharers(s, loaded, what)
        report, now = loaded.report, wf.clock.now()
        old = getattr(report, field)
        if field in ("title", "link"):
            pair = (report.title, report.link)
            duplicates.check_edited_report(
                s, response_id=response_id, force=loaded.response.force,
                published_on=report.published_on, before=pair,
                after=(new, pair[1]) if field == "title" else (pair[0], new))
        setattr(report, field, new)
        bump(s, loaded, updated_at=now)
        trail.append(s, at=now, actor=acting.email, action=Action.EDITED,
                     response_id=response_id, reason=_reason(reason),
                     payload=sealed(s, response_id, {"report": report.id, "field": field,
                                                     "value": new, "was": old}), by=acting.by)
        return loaded.response

    return wf.db.run(work)


#: The numbered items of a response an officer answers: the payload key of an ``edited``
#: event, (table, fields and who may edit each, the item's name in words).
ITEMS: dict[str, tuple[Any, dict[str, frozenset[Role]], str]] = {
    "recommendation": (Recommendation, RECOMMENDATION_FIELDS, "recommendation"),
    "area": (AreaForImprovement, AREA_FIELDS, "area for improvement"),
}


def _item(s: Session, kind: str, response_id: int, number: int) -> Any:
    table, _fields, name = ITEMS[kind]
    row = s.scalars(select(table).where(col(table.response_id) == response_id,
                                        col(table.number) == number)).first()
    if row is None:
        raise NotFoundError(name, f"{number} in response {response_id}")
    return row


def _edit_item(wf: Workflow, kind: str, response_id: int, number: int, field: str, value: str,
               actor: str | None, *, expected_version: int | None,
               on_behalf_of: str | None, reason: str | None) -> Any:
    """Set ``field`` of one numbered item (``ITEMS[kind]``); one ``edited`` event."""
    _table, fields, name = ITEMS[kind]
    roles = fields.get(field)
    if roles is None:
        raise InvalidInputError("field", f"{field!r} is not a field of {name} {number}; "
                                f"fields: {', '.join(fields)}")

    def change(s: Session, loaded: Loaded, now: datetime, text: str | None) -> Any:
        row = _item(s, kind, response_id, number)
        setattr(row, field, text)
        bump(s, loaded, updated_at=now)
        return row

    return _edit(wf, response_id, field, value, actor, roles, f"{name} {number}", change,
                 {kind: number}, expected_version=expected_version,
                 on_behalf_of=on_behalf_of, reason=reason)


def edit_recommendation(wf: Workflow, response_id: int, number: int, field: str, value: str,
                        actor: str | None, *, expected_version: int | None = None,
                        on_behalf_of: str | None = None,
                        reason: str | None = None) -> Recommendation:
    """Set the force's response or the PCC's s55(5B) note on one recommendation (refused,
    as ``edit_text`` is, unless the response is still at ``expected_version``)."""
    rec: Recommendation = _edit_item(wf, "recommendation", response_id, number, field, value,
                                     actor, expected_version=expected_version,
                                     on_behalf_of=on_behalf_of, reason=reason)
    return rec


def edit_area(wf: Workflow, response_id: int, number: int, field: str, value: str,
              actor: str | None, *, expected_version: int | None = None,
              on_behalf_of: str | None = None, reason: str | None = None) -> AreaForImprovement:
    """Set the force's response to one area for improvement (as ``edit_recommendation``);
    published under the Chief Constable's response, repeating the area's text."""
    area: AreaForImprovement = _edit_item(wf, "area", response_id, number, field, value, actor,
                                          expected_version=expected_version,
                                          on_behalf_of=on_behalf_of, reason=reason)
    return area


def add_recommendation(wf: Workflow, response_id: int,
                       data: RecommendationInput | dict[str, object],
                       actor: str | None) -> Recommendation:
    """Add a recommendation with its number exactly as published (due date read from its
    text unless given)."""
    rec_in = data if isinstance(data, RecommendationInput) else validate(RecommendationInput,
                                                                         data)

    def work(s: Session) -> Recommendation:
        acting, loaded = check_editable(wf, s, response_id, actor, frozenset({Role.ADMIN}),
                                   "recommendations")
        exists = s.scalars(select(col(Recommendation.id)).where(
            col(Recommendation.response_id) == response_id,
            col(Recommendation.number) == rec_in.number)
        ).first()
        if exists:
            raise DuplicateError("recommendation", rec_in.number, f"in response {response_id}")
        now = wf.clock.now()
        rec = Recommendation(response_id=response_id, **rec_in.model_dump())
        s.add(rec)
        try:
            s.flush()
        except IntegrityError:  # raced with another writer adding the same number
            raise DuplicateError("recommendation", rec_in.number,
                                 f"in response {response_id}") from None
        bump(s, loaded, updated_at=now)
        trail.append(s, at=now, actor=acting.email, action=Action.EDITED,
                     response_id=response_id,
                     payload=sealed(s, response_id,
                                    {"added_recommendation": rec_in.model_dump(mode="json")}),
                     by=acting.by)
        return rec

    return wf.db.run(work)


@dataclass(frozen=True)
class DeadlineChange:
    response_id: int
    old: date
    new: date
    statutory: date


def override_deadline(wf: Workflow, response_id: int, new: str | date, reason: str | None,
                      actor: str | None) -> DeadlineChange:
    """Set a deadline other than the statutory one; needs a reason and is audited."""
    day = parse_date(new, "deadline")
    if not reason or not reason.strip():
        raise MissingReasonError("deadline_override", response_id)

    def work(s: Session) -> DeadlineChange:
        acting = wf.acting(s, actor)
        person = acting.person
        require_role(person, {Role.ADMIN, Role.CHIEF_EXECUTIVE},
                     f"override the deadline of response {response_id}")
        loaded = load(s, response_id)
        if loaded.state not in EDITABLE:  # the signed text states the deadline
            raise NotEditableError(response_id, loaded.state.value, "the deadline")
        published = loaded.report.published_on
        if day < published:
            raise InvalidInputError("deadline", f"{day} is before the report was published "
                                    f"({published})")
        old = loaded.response.deadline
        statutory = statutory_deadline(published)
        now = wf.clock.now()
        signoff_due = milestones(wf).signoff_due(day)
        bump(s, loaded, deadline=day, deadline_overridden=day != statutory,
             signoff_due=signoff_due, updated_at=now)
        trail.append(s, at=now, actor=person.email, action=Action.DEADLINE_OVERRIDE,
                     response_id=response_id, reason=reason.strip(),
                     payload=sealed(s, response_id, {
                         "from": old.isoformat(), "to": day.isoformat(),
                         "statutory": statutory.isoformat(),
                         "signoff_due": signoff_due.isoformat()}), by=acting.by)
        return DeadlineChange(response_id, old, day, statutory)

    return wf.db.run(work)
