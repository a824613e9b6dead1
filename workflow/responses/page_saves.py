"""Saving a page: several fields of one response at once, as an approver's web page posts
them (the Chief Constable's response and the force's answers; the PCC's response and notes).

One transaction, refused as a whole unless the response is still at the version the page
showed; each changed field is one ``edited`` event shaped as ``content.edit_text``,
``edit_recommendation`` and ``edit_area`` write it (and one version step), so the state
log and its replay read it the same. Unchanged fields write nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from states import Role
from states.words import field_words
from workflow.audit import trail
from workflow.audit.words import Action
from workflow.core.checks import check_text
from workflow.core.errors import InvalidInputError, NotFoundError
from workflow.identity.acting import Acting
from workflow.responses.content import ITEMS, TEXT_FIELDS, check_editable, sealed
from workflow.responses.service import Workflow, bump, require_role
from workflow.storage.loading import Loaded
from workflow.storage.models import Response

#: Per numbered item (``content.ITEMS``' keys): number -> field -> text.
Items = Mapping[str, Mapping[int, Mapping[str, str]]]
#: One posted field: (field, value, its item's kind or None for the response's own, number).
Posted = list[tuple[str, str, str | None, int]]


def _roles(field: str, kind: str | None) -> frozenset[Role]:
    known = TEXT_FIELDS if kind is None else ITEMS[kind][1]
    roles = known.get(field)
    if roles is None:
        raise InvalidInputError("field", f"{field!r} is not editable here")
    return roles


def _fields(texts: Mapping[str, str], items: Items) -> Posted:
    """(field, value, item kind or None, number) of everything posted, each checked."""
    out: Posted = [(f, v, None, 0) for f, v in texts.items()]
    out += [(f, v, kind, n) for kind, numbered in items.items()
            for n, fields in numbered.items() for f, v in fields.items()]
    for field, value, kind, _n in out:
        if kind is not None and kind not in ITEMS:
            raise InvalidInputError("field", f"{kind!r} items are not editable here")
        _roles(field, kind)
        check_text(value, field)
    return out


def _needed(posted: Posted) -> frozenset[Role]:
    """The roles that may edit every field posted (so the PCC's deputy is recognised for
    a page of the PCC's fields); any role when nothing is posted."""
    needed = frozenset(Role)
    for field, _value, kind, _n in posted:
        needed &= _roles(field, kind)
    return needed


def _target(loaded: Loaded, kind: str | None, number: int) -> tuple[Any, dict[str, object]]:
    """The row a posted field belongs to, and what its event says of it."""
    if kind is None:
        return loaded.response, {}
    rows = loaded.recommendations if kind == "recommendation" else loaded.areas
    for row in rows:
        if row.number == number:
            return row, {kind: number}
    raise NotFoundError(ITEMS[kind][2], f"{number} in response {loaded.response.id}")


def _changes(acting: Acting, loaded: Loaded, posted: Posted
             ) -> list[tuple[Any, str, str | None, dict[str, object]]]:
    """(row, field, new text, where) for each field ``acting`` may edit; refuses the rest."""
    rid = loaded.response.id
    out = []
    for field, value, kind, number in posted:
        row, where = _target(loaded, kind, number)
        what = field_words(field) if kind is None else f"{ITEMS[kind][2]} {number}"
        require_role(acting.roles_of, _roles(field, kind), f"edit {what} of response {rid}",
                     actor=acting.email if acting.principal else None)
        out.append((row, field, value.strip() or None, where))
    return out


def edit_many(wf: Workflow, response_id: int, texts: Mapping[str, str],
              recs: Mapping[int, Mapping[str, str]], actor: str | None, *,
              areas: Mapping[int, Mapping[str, str]] | None = None,
              expected_version: int | None = None) -> Response:
    """Save every posted field of one response in one transaction (see the module)."""
    posted = _fields(texts, {"recommendation": recs, "area": areas or {}})

    def work(s: Session) -> Response:
        acting, loaded = check_editable(wf, s, response_id, actor, _needed(posted), "the response",
                                   expected_version)
        now = wf.clock.now()
        for target, field, text, where in _changes(acting, loaded, posted):
            if getattr(target, field) == text:
                continue
            if target is loaded.response:
                bump(s, loaded, updated_at=now, **{field: text})
            else:
                setattr(target, field, text)
                bump(s, loaded, updated_at=now)
            trail.append(s, at=now, actor=acting.email, action=Action.EDITED,
                         response_id=response_id,
                         payload=sealed(s, response_id, {**where, "field": field,
                                                         "value": text,
                                                         **acting.under_delegation}),
                         by=acting.by)
        return loaded.response

    return wf.db.run(work)
