"""Every table of the schema, described once, in SQLAlchemy Core.

Everything else uses these objects: the ORM classes (``workflow.storage.models``) are
declared over them, the read commands and the escalation planner build their queries
from them without loading the ORM, and the Alembic migrations are compared with them. A
new column is one ``Column`` here plus the migration that creates it (the ORM maps it at
once; its class names it where ORM code sets it). The migration tests upgrade empty
SQLite and PostgreSQL databases and check that they hold exactly what is written here:
columns, types, nullability, server defaults, keys, constraints and indexes.

Light: this module imports only SQLAlchemy Core, ``states`` and the column types, so the
read commands can use it without building the ORM classes.

Times are stored in UTC and come back timezone-aware on every backend (``UTCDateTime``);
dates (deadlines, due dates) are plain calendar dates in Europe/London. Input is checked
before it reaches a table: the ORM classes do not validate (sqlmodel #52).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    true,
)

from states import FINAL, State
from workflow.storage.types import UTCDateTime

METADATA = MetaData()

PERSON = Table(
    # Someone who acts in or hears from s55. Never deleted (events name them): disabled.
    "person", METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False),
    Column("email", String(254), nullable=False, unique=True),
    Column("roles", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # The operating-system account that is this person under identity mode os.
    Column("login", String(64)),
    # A server default: the column was added to a table that already had people.
    Column("active", Boolean, nullable=False, default=True, server_default=true()),
    UniqueConstraint("login", name="uq_person_login"),
)

RETIRED_EMAIL = Table(
    # An address a person used before: never given to anyone else.
    "retired_email", METADATA,
    Column("email", String(254), primary_key=True),
    Column("person_id", Integer, ForeignKey("person.id"), nullable=False, index=True),
    Column("retired_at", UTCDateTime(), nullable=False),
)

DELEGATION = Table(
    # A PCC's arrangement for a deputy to sign off in their place for a period (PRSRA
    # 2011 s18); the days are Europe/London calendar days, both ends included.
    "delegation", METADATA,
    Column("id", Integer, primary_key=True),
    Column("pcc_id", Integer, ForeignKey("person.id"), nullable=False, index=True),
    Column("deputy_id", Integer, ForeignKey("person.id"), nullable=False, index=True),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    Column("revoke_reason", Text),
)

OFFICE_SETTING = Table(
    # One of the office's own settings, which the database keeps (not the environment):
    # the force it oversees (``force``), its name (``office``), how the acting person is
    # known (``identity``: os or claimed) and whether duties are kept apart
    # (``separation_of_duties``), and how many working days a reader's sign-in link works
    # (``sign_in_link_working_days``; absent: one). ``value`` is JSON; ``event_id`` is the signed
    # ``office_set`` event that set it (workflow.people.office).
    "office_setting", METADATA,
    Column("name", String(40), primary_key=True),
    Column("value", Text, nullable=False),
    Column("event_id", Integer, ForeignKey("audit_event.id"), nullable=False),
    Column("changed_at", UTCDateTime(), nullable=False),
)

PENDING_CHANGE = Table(
    # A change that takes effect only when one person confirms it from a link mailed to
    # them (workflow.people.requests): a delegation of the PCC's powers an admin asked for
    # (``kind`` delegation, confirmed by the PCC), or a new login or address of someone
    # who signs (identity, confirmed by that person at their current address). ``asked``
    # is what would change (JSON); ``event_id`` the signed event that asked for it, which
    # issued the link.
    "pending_change", METADATA,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # delegation | identity
    Column("person_id", Integer, ForeignKey("person.id"), nullable=False, index=True),
    Column("asked", Text, nullable=False),
    Column("asked_by", String(254), nullable=False),
    Column("reason", Text, nullable=False),
    Column("asked_at", UTCDateTime(), nullable=False),
    Column("event_id", Integer, ForeignKey("audit_event.id"), nullable=False, index=True),
    # pending | confirmed | declined | replaced (by a newer request)
    Column("status", String(16), nullable=False, default="pending"),
    Column("decided_at", UTCDateTime()),
)

INSPECTION_REPORT = Table(
    "inspection_report", METADATA,
    Column("id", Integer, primary_key=True),
    Column("title", String, nullable=False),
    Column("published_on", Date, nullable=False),
    Column("publication_types", String, nullable=False, default=""),
    Column("police_forces", String, nullable=False, default=""),
    Column("link", String, nullable=False, default=""),
    Column("link_label", String, nullable=False, default=""),  # as the OPCC published it
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_report_title_published", "title", "published_on"),
)

RESPONSE = Table(
    # One OPCC's Section 55 response to one inspection report.
    "response", METADATA,
    Column("id", Integer, primary_key=True),
    Column("report_id", Integer, ForeignKey("inspection_report.id"), nullable=False,
           index=True),
    Column("force", String, nullable=False),
    Column("state", String(32), nullable=False, default="draft"),
    Column("version", Integer, nullable=False, default=1),
    # s55(5A): the last day (publication + 55), unless overridden.
    Column("deadline", Date, nullable=False),
    Column("deadline_overridden", Boolean, nullable=False, default=False),
    Column("stated_deadline", Date),  # what an imported document said, if it differed
    Column("force_input_due", Date),  # s55(4): set by request_force_input
    Column("signoff_due", Date, nullable=False),
    Column("key_findings", Text),
    Column("cc_response", Text),  # the Chief Constable's overall response
    Column("pcc_response", Text),
    Column("afi_statement", Text),  # e.g. "There are no areas for improvement made."
    Column("recommendations_intro", Text),  # "Eight recommendations are made ..."
    Column("published_url", String),
    Column("published_on", Date),
    Column("portal_reference", String),
    Column("closed_reason", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("report_id", "force", name="uq_response_report_force"),
    Index("ix_response_open_deadline", "state", "deadline"),
)

RECOMMENDATION = Table(
    "recommendation", METADATA,
    Column("id", Integer, primary_key=True),
    Column("response_id", Integer, ForeignKey("response.id"), nullable=False, index=True),
    # Exactly as published (Norfolk: 1, 2, 3, 4, 8); never renumbered.
    Column("number", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("due_date", Date),
    Column("directed_at", String, nullable=False, default="chief constables"),
    Column("force_response", Text),
    Column("pcc_note", Text),  # s55(5B): the explanation where the force's is absent
    UniqueConstraint("response_id", "number", name="uq_recommendation_number"),
)

AREA_FOR_IMPROVEMENT = Table(
    "area_for_improvement", METADATA,
    Column("id", Integer, primary_key=True),
    Column("response_id", Integer, ForeignKey("response.id"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("force_response", Text),
    UniqueConstraint("response_id", "number", name="uq_afi_number"),
)

AUDIT_EVENT = Table(
    # Append-only and hash-chained; the database refuses UPDATE and DELETE (triggers).
    "audit_event", METADATA,
    Column("id", Integer, primary_key=True),
    Column("response_id", Integer, index=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String, nullable=False),
    Column("action", String(40), nullable=False),
    Column("trigger", String),
    Column("from_state", String),
    Column("to_state", String),
    Column("reason", Text),
    Column("payload", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    # Provenance (NULL on events written before it was recorded): how the event came in
    # (cli, scheduler, dispatcher, web), the operating-system account and host that
    # wrote it, how the actor is known (os, claimed, system), whom the actor acted for.
    Column("channel", String(16)),
    Column("account", String(64)),
    Column("host", String(255)),
    Column("identity", String(16)),
    Column("on_behalf_of", String(254)),
    # The keyed chain (NULL where no audit key was configured): the id of the key and
    # the HMAC-SHA256 of ``hash`` under it (workflow.keys.audit_key).
    Column("key_id", String(16)),
    Column("mac", String(64)),
    # The events of one kind after a given one: the dispatcher's look for a message's
    # MAIL_SENT events, the daemon's last checkpoint.
    Index("ix_audit_event_action_id", "action", "id"),
)

OUTBOX = Table(
    # Mail written in the same transaction as the event that caused it.
    "outbox", METADATA,
    Column("id", Integer, primary_key=True),
    Column("event_id", Integer, ForeignKey("audit_event.id"), nullable=False, index=True),
    Column("response_id", Integer, index=True),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("message_id", String(250), nullable=False),  # stable, from the dedupe key
    Column("kind", String(60), nullable=False),  # template name, e.g. "request_force_input"
    Column("sender", String, nullable=False),
    # One row per recipient: one refusal spares the rest.
    Column("recipient", String(254), nullable=False),
    # Stored, not looked up at sending: the message sent is the one queued.
    Column("reply_to", String(254)),
    # The MAIL_QUEUED event that recorded this message's digest: the dispatcher sends
    # only a row that still matches it (workflow.mail.digest).
    Column("queued_event_id", Integer),
    Column("subject", String, nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text, nullable=False),
    # pending | sending | sent | dead
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("claimed_by", String),
    Column("claimed_until", UTCDateTime()),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)

ACTION_LINK = Table(
    # A personal single-use link mailed to a person: only the SHA-256 of its token is
    # stored, never the token. ``kind`` says what it may do (force, pcc, sign_in); it acts
    # on ``response_id`` while the response stays in ``state``, which it was in at
    # ``version`` when audit event ``event_id`` issued the link (a later transition event
    # of the response supersedes it, and says who moved it, and when).
    "action_link", METADATA,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    # No index of its own: ix_action_link_person_issued serves the look-ups.
    Column("person_id", Integer, ForeignKey("person.id"), nullable=False),
    Column("response_id", Integer, ForeignKey("response.id"), index=True),
    # force | pcc | deputy | sign_in | confirm (a change that waits for its person)
    Column("kind", String(16), nullable=False),
    Column("origin", String(16), nullable=False),  # mail | resend | sign_in | confirm
    Column("state", String(32)),  # the response's, when issued
    Column("version", Integer),  # the response's version when issued
    Column("event_id", Integer, ForeignKey("audit_event.id")),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime()),
    # The signed ``link_issued`` event that records every field of the row and what its
    # token derives from: the nonce under audit key ``key_id``, and the outbox row
    # ``outbox_id`` carrying it. A link is used only while the row agrees with that event
    # and the token presented derives from it (NULL on links issued before it existed).
    Column("issue_event_id", Integer, ForeignKey("audit_event.id")),
    Column("outbox_id", Integer, ForeignKey("outbox.id")),
    Column("key_id", String(16)),
    Column("nonce", String(32)),
    Index("ix_action_link_person_issued", "person_id", "issued_at"),
)

ESCALATION_FIRING = Table(
    # One (response, rule, occurrence) of the escalation policy, fired or superseded. The
    # unique constraint is what makes an escalation fire once, whatever the number of
    # scheduler processes: the claim is an INSERT ... ON CONFLICT DO NOTHING in the same
    # transaction as the audit event and the outbox mail. Its index also serves the
    # look-up of a response's firings (response_id comes first).
    "escalation_firing", METADATA,
    Column("id", Integer, primary_key=True),
    Column("response_id", Integer, ForeignKey("response.id"), nullable=False),
    Column("rule_id", String(60), nullable=False),
    Column("occurrence", Integer, nullable=False, default=0),
    Column("due_on", Date, nullable=False),  # the local day the rule was due
    Column("fired_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),  # fired | superseded
    Column("event_id", Integer, ForeignKey("audit_event.id")),
    UniqueConstraint("response_id", "rule_id", "occurrence", name="uq_escalation_firing"),
)

SCHEDULER_HEARTBEAT = Table(
    # One row per daemon process, beaten while it runs, and one per host for ``s55
    # escalations sweep`` (worker ``sweep@HOST``, beaten when a sweep ends); ``s55
    # doctor`` reads it.
    "scheduler_heartbeat", METADATA,
    Column("worker", String(200), primary_key=True),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("beat_at", UTCDateTime(), nullable=False, index=True),
)

FEED_ITEM = Table(
    # An item of HMICFRS's publications feed that ``s55 report watch`` has decided about,
    # once (workflow.feed.watch): ``item_key`` is the SHA-256 of its id (else its link,
    # else its title and date). ``decision``: registered (``response_id``, ``event_id`` the
    # ``created`` event), already (the force answers it already: ``response_id``), national
    # (named no force: listed to the admins in the digest of ``event_id``), other_force
    # (ignored) or expired (seen on the first run with its 56 days over).
    "feed_item", METADATA,
    Column("id", Integer, primary_key=True),
    Column("item_key", String(64), nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("link", Text, nullable=False, default=""),
    Column("published_on", Date, nullable=False),
    Column("decision", String(16), nullable=False),
    Column("response_id", Integer, ForeignKey("response.id")),
    Column("event_id", Integer, ForeignKey("audit_event.id")),
    Column("seen_at", UTCDateTime(), nullable=False),
)

#: The states in which a response is open (not final), in the lifecycle's order.
OPEN_STATES: tuple[str, ...] = tuple(s.value for s in State if s not in FINAL)
#: "The response is open": the WHERE of the partial index ``ix_response_open`` and of
#: the queries meant to use it. SQLite uses a partial index only for a query that repeats
#: its WHERE term for term, values included: so the states are written into the SQL text
#: (``literal_execute``), never sent as parameters.
IS_OPEN = RESPONSE.c.state.in_(
    bindparam("open_states", OPEN_STATES, expanding=True, literal_execute=True))

# Every open response and every date the escalation planner reads, in a partial index:
# the planner reads the few hundred open rows without touching the 100,000 finished ones
# (after ANALYZE, SQLite would otherwise scan the table for a 5-of-7-states IN list).
# SQLAlchemy only takes a partial index's WHERE as a dialect option
# (``sqlite_where``/``postgresql_where``), and naming one loads that dialect: every
# process would load PostgreSQL's (~20 ms) to import this module, SQLite or not. So the
# WHERE is kept in ``info["where"]``. Autogenerate never compares an index's WHERE
# either: the migration tests check that the database's index has exactly this one.
PARTIAL_INDEX_WHERE = "where"
Index("ix_response_open", RESPONSE.c.state, RESPONSE.c.deadline, RESPONSE.c.published_on,
      RESPONSE.c.force_input_due, RESPONSE.c.signoff_due, RESPONSE.c.id,
      info={PARTIAL_INDEX_WHERE: IS_OPEN})
