"""Where a refused action's error belongs on the page (GOV.UK's error pattern): the fields
to mark and link from the error summary, and the closed sections to open.

Read from what was posted and what the response holds, not from the error's wording: the
summary says the error itself, and each field gets a short message of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workflow.core.errors import StaleVersionError


@dataclass
class Marked:
    """The fields in error (their ids, in page order, and each one's message) and the
    ``<details>`` sections that hold them."""

    fields: dict[str, str] = field(default_factory=dict)
    opened: list[str] = field(default_factory=list)

    def context(self) -> dict[str, Any]:
        return {"field_errors": self.fields, "opened": self.opened,
                "problems": [{"field": k, "message": v} for k, v in self.fields.items()]}


def _empty(form: Mapping[str, str], name: str, stored: str | None) -> bool:
    value = form[name] if name in form else (stored or "")
    return not value.strip()


def _unanswered(form: Mapping[str, str], data: Mapping[str, Any]) -> Marked:
    marked = Marked()
    for rec in data.get("recommendations", []):
        name = f"force_response_{rec['number']}"
        if _empty(form, name, rec["force_response"]):
            marked.fields[name] = (f"Write the force's response to recommendation "
                                   f"{rec['number']}")
    for afi in data.get("areas", []):
        name = f"area_force_response_{afi['number']}"
        if _empty(form, name, afi["force_response"]):
            marked.fields[name] = (f"Write the force's response to area for improvement "
                                   f"{afi['number']}")
    return marked


def _sign_off(form: Mapping[str, str], data: Mapping[str, Any]) -> Marked:
    marked = Marked()
    if _empty(form, "pcc_response", data.get("pcc_response")):
        marked.fields["pcc_response"] = "Write the PCC's response to the report, and save it"
    return marked


def _return(section: str, reason_id: str, to: str) -> Any:
    def mark(form: Mapping[str, str], data: Mapping[str, Any]) -> Marked:
        marked = Marked(opened=[section])
        if not form.get("reason", "").strip():
            marked.fields[reason_id] = f"Say why it goes back to {to}"
        elif form.get("force_input_due", "").strip():
            marked.fields["force_input_due"] = "Give a date that is still to come, or none"
        return marked
    return mark


def _delegate(form: Mapping[str, str], data: Mapping[str, Any]) -> Marked:
    marked = Marked(opened=["delegate"])
    deputy = form.get("deputy", "")
    checks = (("deputy", not (deputy.isdigit() and len(deputy) <= 9), "Choose your deputy"),
              ("delegate-from", not form.get("from", "").strip(), "Give the first day"),
              ("delegate-until", not form.get("until", "").strip(), "Give the last day"),
              ("delegate-reason", not form.get("reason", "").strip(), "Say why you delegate"))
    marked.fields.update({name: words for name, missing, words in checks if missing})
    if not marked.fields:
        marked.fields["delegate-until"] = "Give a last day on or after the first day"
    return marked


_BY_ACTION = {"submit": _unanswered, "sign-off": _sign_off, "delegate": _delegate,
              "return-to-force": _return("return-force", "reason-force", "the force"),
              "return-to-draft": _return("return-draft", "reason-draft", "draft")}


def marked(action: str, error: Exception, form: Mapping[str, str],
           data: Mapping[str, Any]) -> Marked:
    """What of the page ``action``'s refusal marks (nothing for a clash of versions:
    no field is wrong then)."""
    how = _BY_ACTION.get(action)
    if how is None or isinstance(error, StaleVersionError):
        return Marked()
    found: Marked = how(form, data)
    return found
