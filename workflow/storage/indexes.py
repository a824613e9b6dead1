"""SQL text that a partial index and the raw queries using it must share word for word."""

from __future__ import annotations

from states import FINAL, State

OPEN_STATES: tuple[str, ...] = tuple(s.value for s in State if s not in FINAL)
#: The open states as SQL text: the WHERE of the partial index ``ix_response_open`` and
#: of the planner's query, which must say exactly this for SQLite to use the index.
OPEN_STATES_SQL = "state IN (" + ", ".join(f"'{s}'" for s in OPEN_STATES) + ")"
