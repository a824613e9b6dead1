"""How long each free-text input may be: one table, read by the checks at the door and by
the ``--help`` of every option that takes the text, so the two cannot drift.

Lengths are in characters. A report title is a line of a mail subject and a heading; a
reason is a sentence or two in the state log; a content field (key findings, a response,
a recommendation's answer) is a document section: 100,000 characters is some forty pages.
"""

from __future__ import annotations

from workflow.core.errors import InvalidInputError

#: field -> the most characters it takes.
LIMITS: dict[str, int] = {
    "title": 500,
    "publication_types": 500,
    "police_forces": 500,
    "link": 2_000,
    "link_label": 500,
    "url": 2_000,
    "force": 200,
    "office": 200,
    "name": 200,
    "directed_at": 200,
    "portal_reference": 100,  # HMICFRS's references are a dozen characters
    "reason": 2_000,
    "text": 20_000,  # a recommendation's or area for improvement's own text
    "key_findings": 100_000,
    "cc_response": 100_000,
    "pcc_response": 100_000,
    "afi_statement": 100_000,
    "recommendations_intro": 100_000,
    "force_response": 100_000,
    "pcc_note": 100_000,
}


def stated(field: str) -> str:
    """The limit as ``--help`` states it: ``at most 500 characters``."""
    return f"at most {LIMITS[field]:,} characters"


def check_length(value: str, field: str, what: str | None = None) -> str:
    """``value`` if it is within ``field``'s limit, else one ``InvalidInputError``."""
    limit = LIMITS.get(field)
    if limit is not None and len(value) > limit:
        raise InvalidInputError(what or field, f"is {len(value):,} characters long; "
                                f"{stated(field)}")
    return value
