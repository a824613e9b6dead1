"""Mail on the workflow side: who gets what and queueing it in the caller's transaction
(``queue``), the outbox store and its delivery through ``notifications`` (``outbox``), and
the outbox as the CLI shows it (``views``).

May import ``states``, ``notifications``, ``storage`` and the core's ``audit``, ``errors``,
``clock``, ``config``, ``audit_keys`` and ``link_keys`` (the dispatcher fills in the
approvers' link tokens); never ``service``, a face, documents or escalations.
Arrows inside: ``outbox`` → ``views`` → ``queue`` → ``digest`` (what a queued message says,
bound into the audit chain).
"""
