"""One disagreement between a row and the replay of the signed events behind it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Difference:
    """``response_id``'s ``field`` is ``row`` in the row but ``log`` by its events; or, with
    ``subject``, the same of another row (``person 3 (x@y)``, ``delegation 2``, ``link 9``,
    ``outbox 12``: ``response_id`` is then None)."""

    response_id: int | None
    field: str
    row: Any
    log: Any
    subject: str = ""

    @classmethod
    def of(cls, subject: str, field: str, row: Any, log: Any) -> Difference:
        """A difference of a row that is not a response's."""
        return cls(None, field, row, log, subject)

    def describe(self) -> str:
        if self.subject:
            return self._of_subject()
        if self.field.startswith("fingerprint after event "):
            return (f"response {self.response_id}: event {self.field.rsplit(' ', 1)[1]} "
                    f"recorded fingerprint {self.row} but the replay of the log gives another: "
                    "the content was changed outside s55 before that event")
        if self.field.startswith("outbox "):
            return f"response {self.response_id}: {self.field}: {self.log}"
        return (f"response {self.response_id}: {self.field} is {_shown(self.row)} in the row "
                f"but {_shown(self.log)} by its events")

    def _of_subject(self) -> str:
        if self.field == "events":
            return f"{self.subject}: a row exists, but {self.log}"
        if self.field == "row":
            return f"{self.subject}: no row, but {self.log}"
        if self.field == "status":
            return f"{self.subject}: status is {_shown(self.row)} in the row, but {self.log}"
        if self.field == "issuing event":
            named = f" (the row names event {self.row})" if self.row else ""
            return f"{self.subject}: {self.log}{named}"
        return (f"{self.subject}: {self.field} is {_shown(self.row)} in the row but "
                f"{_shown(self.log)} by its events")


def _shown(value: Any) -> str:
    """A value as an auditor reads it: a day or a moment in ISO 8601, the rest as Python
    writes it (text quoted, so an empty one shows)."""
    return value.isoformat() if isinstance(value, date | datetime) else repr(value)
