"""The audit log: one append-only row per event, chained by SHA-256 and signed with
the audit key.

``trail`` appends events (serialised, chained, signed) and verifies the chain and the
signatures; ``words`` names what an event did (``Action``), how it came in (``Channel``)
and how its actor is known (``Identity``), light so the read commands can word the log.
"""
