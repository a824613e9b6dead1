"""Mail on the workflow side: who gets what and queueing it in the caller's transaction
(``queue``), the outbox store and its delivery through ``notifications`` (``delivery``),
and the outbox as the CLI shows and retries it (``outbox_admin``).

Queueing is built from ``recipients`` (who gets what, the Reply-To), ``prepare`` (render
and check; the reader's personal link from a ``LinkIssuer``), ``transition`` (a
transition's context and batches) and ``write`` (the outbox rows, the MAIL_QUEUED event, a
message dead at once). Delivery from ``store`` (``SqlOutboxStore``: claims, the "sent"
record, auditing sends), ``failures`` (after a failed send: retry, dead, the admins'
alert) and ``deliverable`` (a claimed row with its personal links filled in). The errors
are in ``errors``.

Arrows inside point down this order, never up: ``delivery`` → ``store`` → ``failures``,
``deliverable`` → ``outbox_admin`` → ``queue`` → ``transition``, ``write`` → ``prepare`` →
``recipients`` → ``errors``, ``digest`` (what a queued message says, bound into the audit
chain), ``sent`` (whether the log says a message went already: the dispatcher never sends
it twice, whatever its status column says).
"""
