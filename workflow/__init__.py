"""The s55 engine: everything between the lifecycle's declarations (``states``) and the
people who use it (the command line and the web pages).

Layers, lowest first. A package imports only packages on the lines above its own, and
``states`` and ``notifications``, which sit below every package here; never a package on its
own line or below it, not even lazily inside a function (the layering test reads every
import and holds this list to it):

    core          errors, the clock, settings, dates, working days, input checks, files
    keys          the secrets kept outside the database: the audit key, link tokens, web secret
    storage       the engine and sessions, the tables, the schema and its migrations
    audit         the append-only, chained and signed event log, and its words
    identity      who is acting: an OS account or a claim, always an active person; rosters
    documents     the published layout: reading, rendering and fingerprinting a response
    mail          who gets what, the outbox written in the caller's transaction, delivery
    links         personal single-use links: issued with mail, checked and used up
    responses     one transaction per trigger; content edits, imports, the link actions
    people        people over time: added, changed, given roles, disabled, delegated to
    assurance     what proves the record whole: replay, checkpoints, backups that restore
    feed          HMICFRS's publications feed: read safely, reports about this force registered
    escalations   the policy, planning, firing once per rule, the scheduler's clock
    reads         what list, show, log and the dashboard read, through Core only
    audit_report  the auditor's report of a period
    doctor        every check of an installation, each saying what to fix
    web           a face: the approvers' and readers' pages (Starlette)
    local         a face: officers' commands over a Unix socket, run as the caller the kernel names
    cli           a face: the ``s55`` command line (Typer); ``s55 serve`` runs ``web`` and ``local``

Light modules: the read commands (``s55 list``, ``show``, ``log``) start without the ORM.
These modules import, at module level, only the standard library, SQLAlchemy Core,
markdown-it, Typer, ``states``, ``notifications`` and other light modules; sqlmodel,
pydantic, pydantic-settings, Jinja2 and holidays only inside the functions that need them:

    workflow.core.errors workflow.core.clock workflow.core.dates workflow.core.limits
    workflow.core.os_account workflow.core.bank_holidays workflow.core.light_settings
    workflow.core.characters workflow.core.nesting workflow.core.key_path
    workflow.identity.office
    workflow.audit.words workflow.storage.db workflow.storage.types workflow.storage.tables
    workflow.documents.blocks workflow.documents.model workflow.documents.office
    workflow.documents.signoff workflow.escalations.plan workflow.reads.dashboard
    workflow.reads.detail workflow.reads.who_can_act workflow.cli workflow.cli.app
    workflow.cli.coerce workflow.cli.reading workflow.cli.table workflow.core.files
    workflow.local workflow.local.client workflow.local.protocol
"""
