"""A response through its life: one database transaction per trigger.

``service`` (``Workflow``: load, check roles and guards, move, audit, queue mail, commit),
``content`` (reports registered, the response's text, recommendations, areas for
improvement and deadline edited), ``page_saves`` (several fields at once, as an approver's
page posts them), ``duplicates`` (one rule for a report answered twice), ``importing`` (a
published response document brought in in one transaction), ``approvals`` (what the
approvers' web pages do through a link: the same transactions as the command line),
``checkpoint`` (a checkpoint of the audit chain taken in the caller's transaction: with
every sign-off and publication, daily, on request).
"""
